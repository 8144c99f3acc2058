/**
 * The result of a run: per-chain draws of every reported quantity (constrained, in the
 * model's `names` order) in typed arrays, per-draw sampler statistics, adaptation results,
 * summaries through the diagnostics module, and the pointwise log-likelihood of the kept draws.
 */
import { flatNames } from "../compile/compile.js";
import type { BackendChoice, ModelInfo, VariableInfo } from "../compile/types.js";
import { diagnose as diagnoseInput, formatDiagnosis, type DiagnoseInput, type Diagnosis } from "../diagnostics/diagnose.js";
import { ebfmi, formatSummary, summary, type SummaryOptions, type SummaryRow } from "../diagnostics/index.js";
import type { Metric } from "../inference/metric.js";
import { noOdeFailures, type OdeFailureCounts } from "../ode/index.js";
import type { SamplerStatName, SamplerStatsArrays } from "../inference/stats.js";
import { UnknownQuantityError } from "./quantity-error.js";

export { allocateStats, type SamplerStatName, type SamplerStatsArrays } from "../inference/stats.js";

export interface ChainResult {
  readonly chain: number;
  /**
   * Sampling draws, quantity-major: `values[k * numDraws + i]` is quantity `names[k]` at
   * draw i (so each quantity's draws are one contiguous run).
   */
  readonly values: Float64Array;
  readonly stats: SamplerStatsArrays;
  /** Warmup draws in the same layout (numWarmup per quantity), when kept. */
  readonly warmupValues: Float64Array | null;
  /** Warmup sampler statistics (always kept). */
  readonly warmupStats: SamplerStatsArrays;
  /** Step size used for sampling. */
  readonly stepSize: number;
  /** Adapted inverse metric. */
  readonly metric: Metric;
  readonly gradientEvaluations: number;
  readonly warmupSeconds: number;
  readonly samplingSeconds: number;
  /**
   * CPU seconds of the threads that ran the chain's warmup and sampling (Linux; absent where
   * not measured): unlike the wall-clock seconds above, not inflated by other load.
   */
  readonly warmupCpuSeconds?: number;
  readonly samplingCpuSeconds?: number;
  /**
   * ODE solves that failed in the chain, by phase and reason (each rejected a proposal: the
   * log density is -Infinity there); absent when none failed.
   */
  readonly odeFailures?: { readonly warmup: OdeFailureCounts; readonly sampling: OdeFailureCounts };
}

export interface PosteriorInit {
  readonly names: readonly string[];
  readonly paramCount: number;
  readonly numWarmup: number;
  readonly numDraws: number;
  readonly seed: number;
  readonly metric: string;
  readonly chains: readonly ChainResult[];
  /** The model's description (variables, observed nodes, pointwise log-likelihood); absent for module models. */
  readonly model?: ModelInfo;
  /** The model's name (default: the description's, else "model"). */
  readonly modelName?: string;
  /** Which backend computed the gradients, and why (the model's `backend`). */
  readonly backend?: BackendChoice | undefined;
  /** The sampler's maximum tree depth (10), for the tree-depth check of `diagnose`. */
  readonly maxTreeDepth?: number;
}

export interface PosteriorSummaryOptions extends SummaryOptions {
  /** Put `lp__` first, as Stan's print does (false: only the quantities asked for). */
  includeLp?: boolean;
}

/** A variable's name and index from a flat name: `theta[2,1]` -> theta, [2, 1]; `mu` -> mu, []. */
function parseFlatName(name: string): { base: string; index: number[] } {
  const m = /^(.*)\[([0-9,\s]+)\]$/.exec(name);
  if (m === null) return { base: name, index: [] };
  return { base: m[1]!, index: m[2]!.split(",").map((x) => Number(x.trim())) };
}

/** Variables from flat names alone (for a model without a description): runs of one base name. */
function variablesFromNames(names: readonly string[], paramCount: number): VariableInfo[] {
  const out: VariableInfo[] = [];
  let i = 0;
  while (i < names.length) {
    const { base, index } = parseFlatName(names[i]!);
    let j = i + 1;
    while (index.length > 0 && j < names.length && parseFlatName(names[j]!).base === base) j++;
    const shape = index.length === 0 ? [] : index.map((_, a) => Math.max(...names.slice(i, j).map((n) => parseFlatName(n).index[a]!)));
    out.push({ name: base, shape, dims: undefined, offset: i, size: j - i, kind: i < paramCount ? "parameter" : "deterministic" });
    i = j;
  }
  return out;
}

export class Posterior {
  readonly names: readonly string[];
  /** How many leading `names` are parameters (the rest are deterministics). */
  readonly paramCount: number;
  readonly numChains: number;
  readonly numDraws: number;
  readonly numWarmup: number;
  readonly seed: number;
  readonly metricKind: string;
  readonly chains: readonly ChainResult[];
  /** The model's description; null for module models (no observed nodes are known then). */
  readonly model: ModelInfo | null;
  readonly modelName: string;
  /** Reported variables with their shapes and dims, in `names` order. */
  readonly variables: readonly VariableInfo[];
  /** Which backend computed the gradients ("js" or "tfjs", its device) and why; null when the model did not say. */
  readonly backend: BackendChoice | null;
  /** The sampler's maximum tree depth (the tree-depth check of `diagnose`). */
  readonly maxTreeDepth: number;
  private readonly index: Map<string, number>;

  constructor(init: PosteriorInit) {
    this.names = init.names;
    this.paramCount = init.paramCount;
    this.numChains = init.chains.length;
    this.numDraws = init.numDraws;
    this.numWarmup = init.numWarmup;
    this.seed = init.seed;
    this.metricKind = init.metric;
    this.chains = init.chains;
    this.backend = init.backend ?? null;
    this.maxTreeDepth = init.maxTreeDepth ?? 10;
    this.index = new Map(init.names.map((n, i) => [n, i]));
    this.model = init.model ?? null;
    this.modelName = init.modelName ?? init.model?.name ?? "model";
    this.variables = this.model?.variables ?? variablesFromNames(init.names, init.paramCount);
  }

  /**
   * Flat names for names as a user writes them: a variable name selects all its elements
   * (`"theta"` -> `theta[1]` ... `theta[8]`), a flat name itself (`"theta[2]"`).
   */
  selectNames(names: readonly string[]): string[] {
    return names.flatMap((name) => {
      if (this.index.has(name)) return [name];
      const v = this.variables.find((x) => x.name === name);
      if (v !== undefined) return this.names.slice(v.offset, v.offset + v.size);
      const known = this.variables.map((x) => x.name);
      throw new UnknownQuantityError({ name, known, message: `unknown variable "${name}"; variables: ${known.join(", ")}` });
    });
  }

  private observedNodes(name: string | undefined) {
    const model = this.model;
    if (model === null) {
      throw new Error(`${this.modelName}: pointwise log-likelihood needs the model's observed nodes; a module model (moduleModel) has none`);
    }
    if (model.observed.length === 0) throw new Error(`model ${this.modelName} has no observed node (m.observe), so no log-likelihood`);
    if (name === undefined) return model.observed;
    const o = model.observed.find((x) => x.name === name);
    if (o === undefined) throw new RangeError(`unknown observed node "${name}" of model ${this.modelName}; observed: ${model.observed.map((x) => x.name).join(", ")}`);
    return [o];
  }

  /**
   * Pointwise log-likelihood, `[chain][draw][observation]`, of observed node `name` or (absent)
   * of every observed node, one after another in declaration order: each observation's log
   * density with its normalising constants (Stan's `log_lik`, what loo and ArviZ use),
   * computed now from the kept draws (each mapped back to unconstrained coordinates, where the
   * generated function runs). Failed chains' placeholder draws give NaN.
   */
  logLikelihood(name?: string): Float64Array[][] {
    return this.logLikelihoodOf(name, (c) => c.values, this.numDraws);
  }

  /** The same for the warmup draws, or null when they were not kept. */
  warmupLogLikelihood(name?: string): Float64Array[][] | null {
    if (this.chains.some((c) => c.warmupValues === null)) return null;
    return this.logLikelihoodOf(name, (c) => c.warmupValues!, this.numWarmup);
  }

  /** Names of the observations of `logLikelihood(name)`: `y[1]`, `y[2]`, ... */
  logLikelihoodNames(name?: string): string[] {
    return this.observedNodes(name).flatMap((o) => flatNames(o.name, o.shape));
  }

  private logLikelihoodOf(name: string | undefined, values: (c: ChainResult) => Float64Array, n: number): Float64Array[][] {
    const nodes = this.observedNodes(name);
    const model = this.model!;
    const nq = this.names.length;
    const size = nodes.reduce((s, o) => s + o.size, 0);
    const row = new Float64Array(nq);
    const all = new Float64Array(model.logLikSize);
    return this.chains.map((c) => {
      const v = values(c);
      const buffer = new Float64Array(n * size);
      const draws: Float64Array[] = [];
      for (let i = 0; i < n; i++) {
        let placeholder = false;
        for (let k = 0; k < nq; k++) {
          row[k] = v[k * n + i]!;
          if (k < this.paramCount && Number.isNaN(row[k]!)) placeholder = true;
        }
        const out = buffer.subarray(i * size, (i + 1) * size);
        if (placeholder) {
          // A failed chain's placeholder draw: no parameter values to score.
          out.fill(NaN);
          draws.push(out);
          continue;
        }
        try {
          model.pointwiseLogLik(row, all);
        } catch (e) {
          throw new Error(`log-likelihood of ${this.modelName} at chain ${c.chain}, draw ${i}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
        let at = 0;
        for (const o of nodes) {
          out.set(all.subarray(o.offset, o.offset + o.size), at);
          at += o.size;
        }
        draws.push(out);
      }
      return draws;
    });
  }

  private indexOf(name: string): number {
    const k = this.index.get(name);
    if (k !== undefined) return k;
    const v = this.variables.find((x) => x.name === name);
    if (v !== undefined) {
      // A vector's name: its elements are the quantities.
      const elements = this.names.slice(v.offset, v.offset + v.size);
      throw new UnknownQuantityError({
        name,
        known: elements,
        message: `"${name}" is a variable of ${elements.length} elements, not one quantity: ask for one of ${elements.slice(0, 20).join(", ")}${elements.length > 20 ? ", ..." : ""} (summary("${name}") takes them all)`,
      });
    }
    const known = this.names.slice(0, 20);
    throw new UnknownQuantityError({ name, known, message: `unknown quantity "${name}"; known: ${known.join(", ")}${this.names.length > 20 ? ", ..." : ""}` });
  }

  /**
   * Sampling draws of quantity `name` (a flat name: `"mu"`, `"theta[2]"`), one array per chain
   * (views, not copies). A vector's name throws `UnknownQuantityError` naming its elements.
   */
  draws(name: string): Float64Array[] {
    const k = this.indexOf(name);
    const n = this.numDraws;
    return this.chains.map((c) => c.values.subarray(k * n, (k + 1) * n));
  }

  /** Warmup draws of `name` per chain, or null when warmup draws were not kept. */
  warmupDraws(name: string): Float64Array[] | null {
    const k = this.indexOf(name);
    const n = this.numWarmup;
    if (this.chains.some((c) => c.warmupValues === null)) return null;
    return this.chains.map((c) => c.warmupValues!.subarray(k * n, (k + 1) * n));
  }

  /** A sampler statistic per chain (sampling iterations). */
  stat<K extends SamplerStatName>(name: K): SamplerStatsArrays[K][] {
    return this.chains.map((c) => c.stats[name]);
  }

  /** Divergent sampling transitions per chain. */
  divergences(): number[] {
    return this.chains.map((c) => c.stats.divergent.reduce((a, b) => a + b, 0));
  }

  /** ODE solves that failed per chain, by phase and reason (zeros for a chain where none failed). */
  odeFailures(): { warmup: OdeFailureCounts; sampling: OdeFailureCounts }[] {
    return this.chains.map((c) => ({ warmup: { ...noOdeFailures(), ...c.odeFailures?.warmup }, sampling: { ...noOdeFailures(), ...c.odeFailures?.sampling } }));
  }

  /** Sampling transitions that hit `maxTreeDepth`, per chain. */
  treeDepthHits(maxTreeDepth: number): number[] {
    return this.chains.map((c) => c.stats.treeDepth.reduce((a, d) => a + (d >= maxTreeDepth ? 1 : 0), 0));
  }

  /** E-BFMI per chain. */
  ebfmi(): number[] {
    return this.chains.map((c) => ebfmi(c.stats.energy));
  }

  /** Chains that summaries use (all here; a run leaves out its failed chains). */
  protected summaryChains(): number[] {
    return this.chains.map((c) => c.chain);
  }

  /** Draws per chain that summaries use: null for all (a run whose chains all failed uses their real draws). */
  protected summaryLength(): number | null {
    return null;
  }

  /**
   * Summary rows (mean, sd, HDI, median, MAD, quantiles, MCSE, bulk/tail ESS, R-hat) for the
   * given variables or flat names (default: all; `"theta"` selects every `theta[i]`; one name
   * may be given as a string). `lp__` comes first only with `{ includeLp: true }` (Stan's print
   * has it). The second argument is the options, or `includeLp` alone.
   */
  summary(names: string | readonly string[] = this.names, options: PosteriorSummaryOptions | boolean = {}): SummaryRow[] {
    if (typeof names === "string") names = [names];
    const opts: PosteriorSummaryOptions = typeof options === "boolean" ? { includeLp: options } : options;
    const use = this.summaryChains();
    if (use.length === 0) return [];
    const n = this.summaryLength();
    const cut = (x: Float64Array): Float64Array => (n === null ? x : x.subarray(0, n));
    const params = this.selectNames(names).map((name) => {
      const all = this.draws(name);
      return { name, chains: use.map((c) => cut(all[c]!)) as ArrayLike<number>[] };
    });
    if (opts.includeLp ?? false) params.unshift({ name: "lp__", chains: use.map((c) => cut(this.chains[c]!.stats.lp)) });
    return summary(params, opts.hdiProb !== undefined ? { hdiProb: opts.hdiProb } : {});
  }

  /** What `diagnose` reads of this posterior (subclasses add their own: resampling, Pareto k). */
  protected diagnoseInput(): DiagnoseInput {
    const use = this.summaryChains();
    const rows = use.length === 0 ? [] : this.summary(this.names);
    const vectorMeans = new Map<string, { elements: string[]; means: number[][] }>();
    if (use.length >= 2) {
      for (const v of this.variables) {
        if (v.size < 2 || v.size > 64) continue;
        const elements = this.names.slice(v.offset, v.offset + v.size);
        const means = use.map((c) => elements.map((e) => mean(this.draws(e)[c]!)));
        vectorMeans.set(v.name, { elements, means });
      }
    }
    const pick = <T>(xs: readonly T[]) => use.map((c) => xs[c]!);
    return {
      chains: use.length,
      drawsPerChain: this.numDraws,
      rows,
      nuts: { divergences: pick(this.divergences()), treeDepthHits: pick(this.treeDepthHits(this.maxTreeDepth)), maxTreeDepth: this.maxTreeDepth, ebfmi: pick(this.ebfmi()), metric: this.metricKind },
      vectorMeans,
      odeFailures: this.chains.some((c) => c.odeFailures !== undefined)
        ? { warmup: pick(this.odeFailures().map((f) => f.warmup)), sampling: pick(this.odeFailures().map((f) => f.sampling)) }
        : null,
    };
  }

  /**
   * The checks a run should pass (divergences, tree depth, E-BFMI, R-hat, bulk and tail ESS,
   * Pareto k where there are weights, label switching), each with its threshold and advice.
   */
  diagnose(): Diagnosis {
    return diagnoseInput(this.diagnoseInput());
  }

  /** Pretty summary table (`lp__` first, as Stan prints it) and what `diagnose` found. */
  formatSummary(names?: readonly string[], options: SummaryOptions = {}): string {
    const table = formatSummary(this.summary(names, { ...options, includeLp: true }));
    const steps = this.chains.map((c) => c.stepSize.toPrecision(3)).join(", ");
    const findings = this.diagnose();
    const lines = [
      `${this.numChains} chain${this.numChains === 1 ? "" : "s"}, ${this.numWarmup} warmup + ${this.numDraws} draws each, metric ${this.metricKind}, seed ${this.seed}`,
      table,
      "",
      `step size per chain: ${steps}`,
      `diagnose: ${findings.ok ? "no problems found" : "problems found"}`,
      formatDiagnosis(findings, true),
    ];
    return lines.join("\n");
  }

  toString(): string {
    return this.formatSummary();
  }
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

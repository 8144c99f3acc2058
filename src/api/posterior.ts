/**
 * The result of a run: per-chain draws of every reported quantity (constrained, in the
 * model's `names` order) in typed arrays, per-draw sampler statistics, adaptation results,
 * and summaries through the diagnostics module.
 */
import { ebfmi, formatSummary, summary, type SummaryRow } from "../diagnostics/index.js";
import type { BackendChoice } from "../compile/types.js";
import type { Metric } from "../inference/metric.js";
import type { SamplerStatName, SamplerStatsArrays } from "../inference/stats.js";

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
}

export interface PosteriorInit {
  readonly names: readonly string[];
  readonly paramCount: number;
  readonly numWarmup: number;
  readonly numDraws: number;
  readonly seed: number;
  readonly metric: string;
  readonly chains: readonly ChainResult[];
  /** Which backend computed the gradients, and why (the model's `backend`). */
  readonly backend?: BackendChoice | undefined;
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
  /** Which backend computed the gradients ("js" or "tfjs", its device) and why; null when the model did not say. */
  readonly backend: BackendChoice | null;
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
    this.index = new Map(init.names.map((n, i) => [n, i]));
  }

  private indexOf(name: string): number {
    const k = this.index.get(name);
    if (k === undefined) {
      throw new Error(`unknown quantity "${name}"; known: ${this.names.slice(0, 20).join(", ")}${this.names.length > 20 ? ", ..." : ""}`);
    }
    return k;
  }

  /** Sampling draws of `name`, one array per chain (views, not copies). */
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

  /** Sampling transitions that hit `maxTreeDepth`, per chain. */
  treeDepthHits(maxTreeDepth: number): number[] {
    return this.chains.map((c) => c.stats.treeDepth.reduce((a, d) => a + (d >= maxTreeDepth ? 1 : 0), 0));
  }

  /** E-BFMI per chain. */
  ebfmi(): number[] {
    return this.chains.map((c) => ebfmi(c.stats.energy));
  }

  /**
   * Summary rows (mean, sd, quantiles, MCSE, bulk/tail ESS, R-hat) for the given names
   * (default: all), with `lp__` first as Stan does.
   */
  summary(names: readonly string[] = this.names, includeLp = true): SummaryRow[] {
    const params = names.map((name) => ({ name, chains: this.draws(name) as ArrayLike<number>[] }));
    if (includeLp) params.unshift({ name: "lp__", chains: this.stat("lp") });
    return summary(params);
  }

  /** Pretty summary table plus sampler diagnostics. */
  formatSummary(names?: readonly string[]): string {
    const table = formatSummary(this.summary(names));
    const div = this.divergences();
    const totalDiv = div.reduce((a, b) => a + b, 0);
    const bfmi = this.ebfmi();
    const steps = this.chains.map((c) => c.stepSize.toPrecision(3)).join(", ");
    const lines = [
      `${this.numChains} chain${this.numChains === 1 ? "" : "s"}, ${this.numWarmup} warmup + ${this.numDraws} draws each, metric ${this.metricKind}, seed ${this.seed}`,
      table,
      "",
      `divergent transitions: ${totalDiv} of ${this.numChains * this.numDraws}` + (totalDiv > 0 ? " (check the model / raise targetAccept)" : ""),
      `step size per chain: ${steps}`,
      `E-BFMI per chain: ${bfmi.map((b) => b.toFixed(2)).join(", ")}` + (bfmi.some((b) => b < 0.3) ? " (below 0.3: poor energy exploration)" : ""),
    ];
    return lines.join("\n");
  }

  toString(): string {
    return this.formatSummary();
  }
}

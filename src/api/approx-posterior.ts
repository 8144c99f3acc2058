/**
 * Results of `pathfinder`, `advi` and `smc`: the same `Posterior` (draws per chain in the
 * model's names, summaries, Stan CSV), with what each method adds. Draws carry `lp` (the
 * model's log density, Jacobians included) in the `lp` statistic; the NUTS statistics
 * (step size, tree depth, ...) are zero. There is no warmup.
 */
import type { DiagnoseInput } from "../diagnostics/diagnose.js";
import { formatSummary as formatTable } from "../diagnostics/index.js";
import type { AdviElboRecord, AdviFamily } from "../inference/advi.js";
import type { SmcStageRecord } from "../../actors/smc-coordinator.js";
import type { SmcKernelKind } from "../inference/smc.js";
import { allocateStats, Posterior, type ChainResult, type PosteriorSummaryOptions } from "./posterior.js";

/** One chain of draws from draw-major reported quantities (count x width) and their log densities. */
export function chainFromDraws(chain: number, constrained: ArrayLike<number>, count: number, width: number, lp: ArrayLike<number> | null, seconds: number): ChainResult {
  const values = new Float64Array(width * count);
  for (let s = 0; s < count; s++) for (let k = 0; k < width; k++) values[k * count + s] = constrained[s * width + k]!;
  const stats = allocateStats(count);
  if (lp !== null) for (let s = 0; s < count; s++) stats.lp[s] = lp[s]!;
  else stats.lp.fill(NaN);
  return {
    chain,
    values,
    stats,
    warmupValues: null,
    warmupStats: allocateStats(0),
    stepSize: NaN,
    metric: { kind: "diag", inverse: new Float64Array(0) },
    gradientEvaluations: 0,
    warmupSeconds: 0,
    samplingSeconds: seconds,
  };
}

export interface ApproxInit {
  readonly names: readonly string[];
  readonly paramCount: number;
  readonly seed: number;
  readonly chains: readonly ChainResult[];
  readonly numDraws: number;
  readonly method: string;
  /** Gradient evaluations and log-density-only evaluations, all actors. */
  readonly gradientEvaluations: number;
  readonly densityEvaluations: number;
  readonly seconds: number;
  readonly threads: number;
}

/** What the approximations' results share: evaluations spent, seconds, threads, and a summary with the method's header and footer. */
export abstract class ApproxPosterior extends Posterior {
  readonly gradientEvaluations: number;
  readonly densityEvaluations: number;
  readonly seconds: number;
  readonly threads: number;

  constructor(init: ApproxInit) {
    super({ names: init.names, paramCount: init.paramCount, numWarmup: 0, numDraws: init.numDraws, seed: init.seed, metric: init.method, chains: init.chains });
    this.gradientEvaluations = init.gradientEvaluations;
    this.densityEvaluations = init.densityEvaluations;
    this.seconds = init.seconds;
    this.threads = init.threads;
  }

  protected abstract header(): string;
  protected abstract footer(): string[];

  override formatSummary(names?: readonly string[]): string {
    return [this.header(), formatTable(this.summary(names, { includeLp: true })), "", ...this.footer()].join("\n");
  }

  /** No NUTS statistics: the checks on the draws only. */
  protected override diagnoseInput(): DiagnoseInput {
    return { ...super.diagnoseInput(), nuts: null };
  }
}

export interface PathInfo {
  readonly path: number;
  readonly status: "completed" | "failed";
  /** Best ELBO, its L-BFGS iteration, iterations run, why L-BFGS stopped (NaN / "" when failed). */
  readonly elbo: number;
  readonly bestIteration: number;
  readonly iterations: number;
  readonly message: string;
  readonly error: string | null;
  readonly gradientEvaluations: number;
  readonly densityEvaluations: number;
}

export class PathfinderPosterior extends ApproxPosterior {
  readonly paths: readonly PathInfo[];
  /** Pareto k of the importance weights over the paths' draws (NaN without resampling); above 0.7 the draws are unreliable. */
  readonly paretoK: number;
  readonly psisResample: boolean;
  /** Distinct draws among the resampled ones. */
  readonly distinctDraws: number;
  /** log q of each draw under its path's approximation, per chain. */
  readonly lpApprox: readonly Float64Array[];
  /** The draws on the unconstrained scale (draw-major, `dim` per draw), per chain: inits for NUTS. */
  readonly unconstrained: readonly Float64Array[];
  readonly dim: number;

  constructor(
    init: ApproxInit & {
      paths: readonly PathInfo[];
      paretoK: number;
      psisResample: boolean;
      distinctDraws: number;
      lpApprox: readonly Float64Array[];
      unconstrained: readonly Float64Array[];
      dim: number;
    },
  ) {
    super(init);
    this.paths = init.paths;
    this.paretoK = init.paretoK;
    this.psisResample = init.psisResample;
    this.distinctDraws = init.distinctDraws;
    this.lpApprox = init.lpApprox;
    this.unconstrained = init.unconstrained;
    this.dim = init.dim;
  }

  /**
   * Summary rows; with PSIS resampling, ESS, R-hat and MCSE are NaN (printed NA): they assume
   * Markov chains, and importance-resampled draws (many repeated) are not that.
   */
  override summary(names: string | readonly string[] = this.names, options: PosteriorSummaryOptions | boolean = {}) {
    const rows = super.summary(names, options);
    if (!this.psisResample) return rows;
    return rows.map((r) => ({ ...r, rhat: NaN, essBulk: NaN, essTail: NaN, mcseMean: NaN, mcseSd: NaN }));
  }

  protected override diagnoseInput(): DiagnoseInput {
    return { ...super.diagnoseInput(), ...(this.psisResample ? { resampled: { distinct: this.distinctDraws } } : {}), paretoK: this.paretoK };
  }

  protected header(): string {
    const done = this.paths.filter((p) => p.status === "completed").length;
    const how = this.psisResample ? `${this.numDraws} draws resampled by PSIS from ${done} path${done === 1 ? "" : "s"}` : `${done} paths x ${this.numDraws} draws`;
    return `Pathfinder: ${how}, seed ${this.seed}, ${this.gradientEvaluations} gradients + ${this.densityEvaluations} log densities, ${this.seconds.toFixed(2)} s`;
  }

  protected footer(): string[] {
    const lines = this.paths.map((p) =>
      p.status === "completed"
        ? `path ${p.path}: ELBO ${p.elbo.toFixed(2)} at iteration ${p.bestIteration} of ${p.iterations} (${p.message})`
        : `path ${p.path}: FAILED (${p.error})`,
    );
    if (this.psisResample) {
      const warn = this.paretoK > 0.7 ? " (above 0.7: the approximation is poor; use NUTS)" : "";
      lines.push(`Pareto k ${this.paretoK.toFixed(2)}${warn}; ${this.distinctDraws} distinct draws (ESS, R-hat and MCSE do not apply to resampled draws: NA)`);
    }
    return lines;
  }
}

export class AdviPosterior extends ApproxPosterior {
  readonly family: AdviFamily;
  readonly eta: number;
  readonly iterations: number;
  /** "mean" or "median" (relative ELBO change below tolRelObj), or "max-iterations" (not converged). */
  readonly stopReason: "mean" | "median" | "max-iterations";
  readonly elboTrace: readonly AdviElboRecord[];
  /** The approximation's mean on the unconstrained scale. */
  readonly mean: Float64Array;
  readonly lpApprox: Float64Array;

  constructor(init: ApproxInit & { family: AdviFamily; eta: number; iterations: number; stopReason: AdviPosterior["stopReason"]; elboTrace: readonly AdviElboRecord[]; mean: Float64Array; lpApprox: Float64Array }) {
    super(init);
    this.family = init.family;
    this.eta = init.eta;
    this.iterations = init.iterations;
    this.stopReason = init.stopReason;
    this.elboTrace = init.elboTrace;
    this.mean = init.mean;
    this.lpApprox = init.lpApprox;
  }

  get converged(): boolean {
    return this.stopReason !== "max-iterations";
  }

  protected header(): string {
    return `ADVI (${this.family}): ${this.numDraws} draws, seed ${this.seed}, eta ${this.eta}, ${this.iterations} iterations, ${this.gradientEvaluations} gradients + ${this.densityEvaluations} log densities, ${this.seconds.toFixed(2)} s`;
  }

  protected footer(): string[] {
    const last = this.elboTrace[this.elboTrace.length - 1];
    const how = this.converged ? `converged (${this.stopReason} relative ELBO change below tolerance)` : "NOT converged (maximum iterations reached)";
    return [`${how}; last ELBO ${last === undefined ? "NaN" : last.elbo.toFixed(2)}`];
  }
}

/** One stage of an SMC run: its inverse temperature, evidence increment, ESS, mutation steps and acceptance. */
export type SmcStage = SmcStageRecord;

export interface SmcChainInfo {
  readonly chain: number;
  readonly status: "completed" | "failed" | "aborted";
  readonly error: string | null;
  readonly logMarginalLikelihood: number;
  readonly stages: readonly SmcStage[];
}

export class SmcPosterior extends ApproxPosterior {
  readonly kernel: SmcKernelKind;
  /** Mean over the completed runs of their log marginal likelihood estimates. */
  readonly logMarginalLikelihood: number;
  /** Its Monte Carlo standard error: the runs' standard deviation over sqrt(runs) (NaN with one run). */
  readonly logMarginalLikelihoodSe: number;
  readonly chainInfo: readonly SmcChainInfo[];

  constructor(init: ApproxInit & { kernel: SmcKernelKind; chainInfo: readonly SmcChainInfo[] }) {
    super(init);
    this.kernel = init.kernel;
    this.chainInfo = init.chainInfo;
    const z = init.chainInfo.filter((c) => c.status === "completed").map((c) => c.logMarginalLikelihood);
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    this.logMarginalLikelihood = z.length === 0 ? NaN : mean;
    this.logMarginalLikelihoodSe = z.length < 2 ? NaN : Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / (z.length - 1) / z.length);
  }

  /** Chains (runs) that completed; the others' draws are NaN placeholders, left out of summaries. */
  healthyChains(): number[] {
    return this.chainInfo.filter((c) => c.status === "completed").map((c) => c.chain);
  }

  override summary(names: string | readonly string[] = this.names, includeLp: PosteriorSummaryOptions | boolean = false) {
    const healthy = this.healthyChains();
    if (healthy.length === this.numChains) return super.summary(names, includeLp);
    const sub = new Posterior({ names: this.names, paramCount: this.paramCount, numWarmup: 0, numDraws: this.numDraws, seed: this.seed, metric: this.metricKind, chains: healthy.map((c) => this.chains[c]!) });
    return sub.summary(names, includeLp);
  }

  protected header(): string {
    return `SMC (${this.kernel}): ${this.numChains} runs x ${this.numDraws} particles, seed ${this.seed}, ${this.gradientEvaluations} gradients + ${this.densityEvaluations} log densities, ${this.seconds.toFixed(2)} s`;
  }

  protected footer(): string[] {
    const lines = this.chainInfo.map((c) =>
      c.status === "completed"
        ? `chain ${c.chain}: ${c.stages.length} stages, log marginal likelihood ${c.logMarginalLikelihood.toFixed(3)}`
        : `chain ${c.chain}: ${c.status.toUpperCase()}${c.error ? ` (${c.error})` : ""}`,
    );
    lines.push(`log marginal likelihood ${this.logMarginalLikelihood.toFixed(3)} (Monte Carlo SE ${this.logMarginalLikelihoodSe.toFixed(3)})`);
    // Independent runs that disagree: the mutations did not mix (IMH on a tempered posterior far from normal, typically).
    const worst = this.healthyChains().length < 2 ? NaN : Math.max(...this.summary(this.names.slice(0, this.paramCount), false).map((r) => r.rhat).filter((r) => Number.isFinite(r)));
    if (worst >= 1.01) {
      lines.push(`WARNING: the runs disagree (max R-hat ${worst.toFixed(3)}): the mutations did not mix${this.kernel === "imh" ? '; try kernel: "nuts"' : "; try more particles or steps"}`);
    }
    return lines;
  }
}

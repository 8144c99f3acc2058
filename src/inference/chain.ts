/**
 * A NUTS chain as explicit, plain-data state: `initChainState` makes it, `runIterations`
 * advances it by n iterations (warmup as Stan: dual averaging + windowed metric
 * adaptation, then sampling) and returns the next state. Nothing else is kept between
 * calls, so running a chain in one call or in chunks (with a `structuredClone` of the
 * state in between) gives the same draws bit for bit.
 *
 * Window ends are exposed for a coordinator: with `metricUpdate: "external"`,
 * `runIterations` stops after the last iteration of a slow window with
 * `awaitingMetric = true`; the coordinator pools the chains' `accumulator`s
 * (`mergeWindowAccumulators`), turns them into a metric (`metricFromAccumulator`) and
 * hands it to every chain with `setMetricAtWindowEnd`. With `metricUpdate: "self"` (the
 * default) the chain does exactly that with its own accumulator, in place.
 */
import type { LogDensity } from "../compile/types.js";
import { Rng, type RngState } from "../rng/index.js";
import {
  finalStepSize,
  initDualAveraging,
  learnStepSize,
  restartDualAveraging,
  type DualAveragingState,
} from "./dual-averaging.js";
import { findInitialPoint, type ConstrainedInit } from "./init.js";
import { cloneMetric, identityMetric, lowRankFromDiagonal, validateMetric, type Metric } from "./metric.js";
import {
  compactEstimator,
  drawMoved,
  estimateMetric,
  estimatorCount,
  fisherStep,
  fisherSwitch,
  gradientInitVariance,
  initFisherSchedule,
  nextFisherSwitch,
  NUTPIE_SCHEDULE,
  sharedFisherSwitch,
  initReparam,
  learnedLambda,
  newEstimator,
  reparamAdd,
  type ReparamState,
  type FisherEstimator,
  type FisherScheduleSettings,
  type FisherScheduleState,
} from "./adaptation/index.js";
import { finiteRow, metricProblem } from "./adaptation/guard.js";
import { emptyStats, NutsKernel, type TransitionStats } from "./nuts.js";
import {
  fisherDiagonal,
  regularizedCovariance,
  regularizedVariance,
  welfordDense,
  welfordDenseAdd,
  welfordDiag,
  welfordDiagAdd,
  welfordMerge,
  welfordReset,
  type WelfordDense,
  type WelfordDiag,
} from "./welford.js";
import {
  warmupSchedule,
  computeNextWindow,
  endOfAdaptationWindow,
  inAdaptationWindow,
  initWindowState,
  STAN_WINDOW_DEFAULTS,
  type WindowConfig,
  type WindowState,
} from "./windows.js";

/**
 * How the metric is adapted during warmup:
 * - `"diag"`: Stan's diagonal metric from the draws' variances;
 * - `"dense"`: Stan's dense metric from the draws' covariance;
 * - `"diag-fisher"`: diagonal from draws and gradients, sqrt(var(q_i) / var(grad_i))
 *   (nutpie's Fisher-divergence estimate), on either schedule;
 * - `"low-rank"`: low-rank plus diagonal Fisher-divergence estimate (nutpie's schedule only).
 */
export type MetricKind = "diag" | "dense" | "diag-fisher" | "low-rank";

/** The warmup schedule: Stan's windows (75 / 25 doubling / 50) or nutpie's (`NUTPIE_SCHEDULE`). */
export type ScheduleKind = "stan" | "nutpie";

export interface SamplerSettings {
  /** Warmup iterations (adaptation); later iterations are sampling. */
  readonly numWarmup: number;
  readonly metric: MetricKind;
  /** Target acceptance statistic of dual averaging (Stan's adapt_delta). */
  readonly targetAccept: number;
  readonly maxTreeDepth: number;
  /** Energy error above which a leaf is divergent. */
  readonly maxDeltaH: number;
  readonly gamma: number;
  readonly kappa: number;
  readonly t0: number;
  /** Initial step size; also sets dual averaging's first mu = log(10 * initStepSize). */
  readonly initStepSize: number;
  readonly windows: WindowConfig;
  /** `"self"`: each chain updates its metric at window ends; `"external"`: a coordinator does. */
  readonly metricUpdate: "self" | "external";
  /**
   * nutpie's schedule with `metricUpdate: "external"`: the switches the coordinator makes.
   * `"all"`: every switch ends the chain's chunk; `"main"`: only those `sharedFisherSwitch`
   * names (the main phase's, the early phase's last, the one that learns the parameterisation),
   * and the early phase's other switches are the chain's own, made inside the chunk.
   */
  readonly sharedSwitches: "all" | "main";
  /** Warmup schedule; "nutpie" needs metric "diag-fisher" or "low-rank". */
  readonly schedule: ScheduleKind;
  /** nutpie's schedule and low-rank estimator settings. */
  readonly fisher: FisherScheduleSettings;
}

export const DEFAULT_SETTINGS: SamplerSettings = {
  numWarmup: 1000,
  metric: "diag",
  targetAccept: 0.8,
  maxTreeDepth: 10,
  maxDeltaH: 1000,
  gamma: 0.05,
  kappa: 0.75,
  t0: 10,
  initStepSize: 1,
  windows: STAN_WINDOW_DEFAULTS,
  metricUpdate: "self",
  sharedSwitches: "all",
  schedule: "stan",
  fisher: NUTPIE_SCHEDULE,
};

export function samplerSettings(partial: Partial<SamplerSettings> = {}): SamplerSettings {
  const schedule: ScheduleKind = partial.schedule ?? (partial.metric === "low-rank" ? "nutpie" : "stan");
  const s: SamplerSettings = {
    ...DEFAULT_SETTINGS,
    ...partial,
    schedule,
    windows: { ...STAN_WINDOW_DEFAULTS, ...partial.windows },
    fisher: { ...NUTPIE_SCHEDULE, ...partial.fisher },
  };
  if (!Number.isInteger(s.numWarmup) || s.numWarmup < 0) throw new RangeError(`numWarmup must be a non-negative integer, got ${s.numWarmup}`);
  if (!(s.targetAccept > 0 && s.targetAccept < 1)) throw new RangeError(`targetAccept must be in (0, 1), got ${s.targetAccept}`);
  if (!Number.isInteger(s.maxTreeDepth) || s.maxTreeDepth < 1 || s.maxTreeDepth > 30) {
    throw new RangeError(`maxTreeDepth must be an integer in [1, 30], got ${s.maxTreeDepth}`);
  }
  if (!(s.maxDeltaH > 0) || !Number.isFinite(s.maxDeltaH)) throw new RangeError(`maxDeltaH must be finite and > 0, got ${s.maxDeltaH}`);
  if (!(s.initStepSize > 0) || !Number.isFinite(s.initStepSize)) throw new RangeError(`initStepSize must be finite and > 0, got ${s.initStepSize}`);
  if (!(s.gamma > 0 && s.kappa > 0 && s.t0 > 0)) throw new RangeError("gamma, kappa and t0 must be > 0");
  if (s.metric !== "diag" && s.metric !== "dense" && s.metric !== "diag-fisher" && s.metric !== "low-rank") {
    throw new RangeError(`metric must be "diag", "dense", "diag-fisher" or "low-rank", got ${String(s.metric)}`);
  }
  if (s.sharedSwitches !== "all" && s.sharedSwitches !== "main") throw new RangeError(`sharedSwitches must be "all" or "main", got ${String(s.sharedSwitches)}`);
  if (s.schedule !== "stan" && s.schedule !== "nutpie") throw new RangeError(`schedule must be "stan" or "nutpie", got ${String(s.schedule)}`);
  if (s.schedule === "nutpie" && s.metric !== "diag-fisher" && s.metric !== "low-rank") {
    throw new RangeError(`schedule "nutpie" adapts a Fisher-divergence metric: metric must be "diag-fisher" or "low-rank", got "${s.metric}"`);
  }
  if (s.schedule === "stan" && s.metric === "low-rank") throw new RangeError('metric "low-rank" needs schedule "nutpie"');
  const f = s.fisher;
  if (!(f.earlyFraction >= 0 && f.finalFraction >= 0 && f.earlyFraction + f.finalFraction < 1)) {
    throw new RangeError(`fisher.earlyFraction and fisher.finalFraction must be >= 0 with a sum below 1, got ${f.earlyFraction} and ${f.finalFraction}`);
  }
  if (!(Number.isInteger(f.earlySwitchEvery) && f.earlySwitchEvery >= 1 && Number.isInteger(f.firstWindow) && f.firstWindow >= 1)) {
    throw new RangeError("fisher.earlySwitchEvery and fisher.firstWindow must be positive integers");
  }
  if (!(f.growth >= 1)) throw new RangeError(`fisher.growth must be >= 1, got ${f.growth}`);
  if (f.updateEvery !== null && !(Number.isInteger(f.updateEvery) && f.updateEvery >= 1)) throw new RangeError("fisher.updateEvery must be a positive integer or null");
  if (!(f.lowRank.gamma > 0 && f.lowRank.cutoff > 1)) throw new RangeError("fisher.lowRank needs gamma > 0 and cutoff > 1");
  return s;
}

/** The draws (and, for "diag-fisher", gradients) of the current slow window. */
export type WindowAccumulator =
  | { readonly kind: "diag"; readonly draws: WelfordDiag }
  | { readonly kind: "dense"; readonly draws: WelfordDense }
  | { readonly kind: "diag-fisher"; readonly draws: WelfordDiag; readonly grads: WelfordDiag };

export const CHAIN_STATE_FORMAT = "bayests-nuts-chain/1";

/** Everything a chain needs to continue: a checkpoint. Plain data. */
export interface ChainState {
  readonly format: typeof CHAIN_STATE_FORMAT;
  readonly dim: number;
  /** Chain index (its RNG stream). */
  readonly chain: number;
  readonly metricKind: MetricKind;
  readonly schedule: ScheduleKind;
  readonly numWarmup: number;
  /** Iterations completed (warmup and sampling). */
  iteration: number;
  /** Current point (unconstrained), its gradient and log density. */
  position: Float64Array;
  gradient: Float64Array;
  logDensity: number;
  /** Step size of the next transition. */
  stepSize: number;
  metric: Metric;
  dualAveraging: DualAveragingState;
  windows: WindowState;
  /** Stan's schedule: null when the metric is not adapted (numWarmup < 20), and with nutpie's. */
  accumulator: WindowAccumulator | null;
  /** nutpie's schedule: its estimators and counters (null with Stan's, or numWarmup < 20). */
  fisher: FisherScheduleState | null;
  /** Learned parameterisation (models with `noncentered: "learn"` nodes; nutpie's schedule learns it). */
  reparam: ReparamState | null;
  /** A slow window has ended and the metric has not been set yet ("external" mode). */
  awaitingMetric: boolean;
  rng: RngState;
  gradientEvaluations: number;
  /**
   * Metrics the adaptation computed but did not apply (not finite and positive definite, or no
   * step size could be found with them): how many, and the last one's iteration and reason.
   * Absent until the first (and in checkpoints written before it existed).
   */
  keptMetrics?: KeptMetrics;
}

/** Metrics a chain's adaptation rejected, keeping the previous one (`ChainState.keptMetrics`). */
export interface KeptMetrics {
  readonly count: number;
  readonly iteration: number;
  readonly reason: string;
}

export interface InitChainOptions {
  readonly seed: number;
  /** Chain index: selects an independent RNG stream of `seed`. */
  readonly chain?: number;
  /** Initial values in constrained space (by name); random inits when absent. */
  readonly init?: ConstrainedInit;
  /** Random inits are uniform(-initRadius, initRadius) on the unconstrained scale (2). */
  readonly initRadius?: number;
  /** Initial metric (default identity). */
  readonly metric?: Metric;
}

function newAccumulator(kind: MetricKind, dim: number): WindowAccumulator {
  if (kind === "dense") return { kind, draws: welfordDense(dim) };
  if (kind === "diag-fisher") return { kind, draws: welfordDiag(dim), grads: welfordDiag(dim) };
  if (kind === "low-rank") throw new Error('metric "low-rank" has no Stan-schedule accumulator');
  return { kind, draws: welfordDiag(dim) };
}

function resetAccumulator(acc: WindowAccumulator): void {
  welfordReset(acc.draws);
  if (acc.kind === "diag-fisher") welfordReset(acc.grads);
}

// One kernel (workspace) per model, reused across calls; a fresh one if it is busy.
const kernels = new WeakMap<LogDensity, NutsKernel>();
const busy = new WeakSet<NutsKernel>();

function acquireKernel(model: LogDensity, metric: Metric): NutsKernel {
  let k = kernels.get(model);
  if (k === undefined || busy.has(k)) {
    k = new NutsKernel(model, metric);
    if (!kernels.has(model)) kernels.set(model, k);
  } else {
    k.setMetric(metric);
  }
  busy.add(k);
  return k;
}

function releaseKernel(k: NutsKernel): void {
  busy.delete(k);
}

/** Makes the initial state of a chain: inits, identity metric, Stan's initial step size search. */
export function initChainState(model: LogDensity, settingsIn: Partial<SamplerSettings>, options: InitChainOptions): ChainState {
  const settings = samplerSettings(settingsIn);
  const chain = options.chain ?? 0;
  const d = model.dim;
  const rng = Rng.fromSeed(options.seed, chain);
  // The model instance may be shared with other chains: start from the initial lambdas.
  const rp = model.reparam;
  if (rp !== undefined) rp.lambda.set(rp.nodes.map((n) => n.initial));
  const init = findInitialPoint(model, rng, {
    ...(options.init !== undefined ? { values: options.init } : {}),
    ...(options.initRadius !== undefined ? { radius: options.initRadius } : {}),
  });
  const metricKind = settings.metric;
  const metricShape = metricKind === "dense" ? "dense" : metricKind === "low-rank" ? "low-rank" : "diag";
  const nutpie = settings.schedule === "nutpie";
  let metric: Metric;
  if (options.metric !== undefined) {
    if (options.metric.kind !== metricShape) throw new Error(`metric "${metricKind}" needs a ${metricShape} initial metric`);
    validateMetric(options.metric, d);
    metric = cloneMetric(options.metric);
  } else if (nutpie && settings.numWarmup > 0) {
    // nutpie: the initial metric from the gradient at the initial point (variance 1 / |g|).
    const v = gradientInitVariance(init.gradient);
    metric = metricShape === "low-rank" ? lowRankFromDiagonal(v) : { kind: "diag", inverse: v };
  } else {
    metric = identityMetric(metricShape, d);
  }
  const kernel = acquireKernel(model, metric);
  let stepSize = settings.initStepSize;
  let evals = 1; // the init's gradient (last attempt)
  try {
    kernel.setPoint(init.position, init.gradient, init.logDensity);
    kernel.gradientEvaluations = 0;
    // Stan runs init_stepsize when adaptation is engaged (warmup > 0); without warmup
    // the given step size is used as is.
    if (settings.numWarmup > 0) stepSize = kernel.findStepSize(rng, stepSize);
    evals += kernel.gradientEvaluations;
  } finally {
    releaseKernel(kernel);
  }
  const windows = initWindowState(nutpie ? 0 : settings.numWarmup, settings.windows);
  const fisher =
    nutpie && settings.numWarmup >= 20
      ? initFisherSchedule(
          metricKind === "low-rank" ? "low-rank" : "diag",
          settings.numWarmup,
          settings.fisher,
          settings.metricUpdate === "self",
          Float64Array.from(init.position),
          Float64Array.from(init.gradient),
        )
      : null;
  return {
    format: CHAIN_STATE_FORMAT,
    dim: d,
    chain,
    metricKind,
    schedule: settings.schedule,
    numWarmup: settings.numWarmup,
    iteration: 0,
    position: Float64Array.from(init.position),
    gradient: Float64Array.from(init.gradient),
    logDensity: init.logDensity,
    stepSize,
    metric,
    dualAveraging: initDualAveraging(Math.log(10 * settings.initStepSize)),
    windows,
    accumulator: windows.enabled ? newAccumulator(metricKind, d) : null,
    fisher,
    reparam: rp === undefined ? null : initReparam(rp.lambda, rp.nodes.map((n) => n.size)),
    awaitingMetric: false,
    rng: rng.getState(),
    gradientEvaluations: evals,
  };
}

/** What `runIterations` reports for each iteration. Reused between calls: copy what you keep. */
export interface DrawInfo {
  chain: number;
  /** 0-based index over warmup and sampling iterations. */
  iteration: number;
  warmup: boolean;
  /** Unconstrained position of the draw (a view into the kernel: copy to keep). */
  position: Float64Array;
  /** Gradient of the log density at the draw (a view: copy to keep). */
  gradient: Float64Array;
  stats: TransitionStats;
}

export type OnDraw = (draw: DrawInfo) => void;

/**
 * A switch of nutpie's schedule the chain made on its own inside a chunk (`sharedSwitches:
 * "main"`): the window that ended (iterations [start, end)), the chain's log density there and
 * its window estimator (a copy), for a coordinator that watches the windows (adaptive warmup).
 */
export interface LocalSwitch {
  readonly start: number;
  readonly end: number;
  readonly logDensity: number;
  readonly window: FisherEstimator;
}

export type OnLocalSwitch = (w: LocalSwitch) => void;

export interface RunResult {
  readonly state: ChainState;
  /** Iterations actually run (fewer than asked when stopped at a window end). */
  readonly iterations: number;
  /** True when stopped because a slow window ended and the metric must be set externally. */
  readonly awaitingMetric: boolean;
}

export function cloneChainState(state: ChainState): ChainState {
  return structuredClone(state);
}

/** The metric a chain would set from its own accumulator at a window end. */
export function metricFromAccumulator(acc: WindowAccumulator, previous: Metric): Metric {
  if (acc.kind === "dense") {
    if (previous.kind !== "dense") throw new Error("dense accumulator needs a dense previous metric");
    return { kind: "dense", inverse: regularizedCovariance(acc.draws, previous.inverse) };
  }
  if (previous.kind !== "diag") throw new Error("diagonal accumulator needs a diagonal previous metric");
  if (acc.kind === "diag") return { kind: "diag", inverse: regularizedVariance(acc.draws, previous.inverse) };
  return { kind: "diag", inverse: fisherDiagonal(acc.draws, acc.grads, previous.inverse) };
}

/** Pools the window accumulators of several chains (parallel Welford merge). */
export function mergeWindowAccumulators(accs: readonly WindowAccumulator[]): WindowAccumulator {
  if (accs.length === 0) throw new Error("mergeWindowAccumulators: nothing to merge");
  let out = accs[0]!;
  for (let k = 1; k < accs.length; k++) {
    const b = accs[k]!;
    if (b.kind !== out.kind) throw new Error("mergeWindowAccumulators: accumulators of different kinds");
    if (out.kind === "dense") out = { kind: "dense", draws: welfordMerge(out.draws, (b as typeof out).draws) };
    else if (out.kind === "diag") out = { kind: "diag", draws: welfordMerge(out.draws, (b as typeof out).draws) };
    else {
      const bb = b as typeof out;
      out = { kind: "diag-fisher", draws: welfordMerge(out.draws, bb.draws), grads: welfordMerge(out.grads, bb.grads) };
    }
  }
  return structuredClone(out);
}

/**
 * Iteration count after which the next slow window ends (run `nextWindowEnd - iteration`
 * iterations to reach it), or null when no metric update is ahead.
 */
export function nextWindowEnd(state: ChainState, settings: Partial<SamplerSettings> = {}): number | null {
  if (state.fisher !== null) {
    if (state.iteration >= state.numWarmup) return null;
    const fisher = { ...NUTPIE_SCHEDULE, ...settings.fisher };
    const onlyShared = settings.sharedSwitches === "main" ? { learnAt: learnsParameterisationAt(state, fisher) } : null;
    const it = nextFisherSwitch(state.fisher, state.iteration, fisher, onlyShared);
    return it === null ? null : it + 1;
  }
  const w = state.windows;
  if (!w.enabled || state.iteration >= state.numWarmup) return null;
  if (w.nextWindow < w.counter || w.nextWindow >= w.numWarmup) return null;
  return w.nextWindow + 1;
}

/** The iteration count at which the first window ends (before a chain has a state), or null. */
export function firstWindowEnd(settingsIn: Partial<SamplerSettings>): number | null {
  const settings = samplerSettings(settingsIn);
  if (settings.schedule === "nutpie") {
    if (settings.numWarmup < 20) return null;
    const none = new Float64Array(0);
    const fs = initFisherSchedule("diag", settings.numWarmup, settings.fisher, settings.metricUpdate === "self", none, none);
    // Before the chain exists, whether it learns a parameterisation is unknown: the earliest switch where it could is shared.
    const learnAt = fs.earlyEnd >= settings.fisher.reparamAt ? settings.fisher.reparamAt : null;
    const it = nextFisherSwitch(fs, 0, settings.fisher, settings.sharedSwitches === "main" ? { learnAt } : null);
    return it === null ? null : it + 1;
  }
  return warmupSchedule(settings.numWarmup, settings.windows).windows[0]?.end ?? null;
}

export function isWarmup(state: ChainState): boolean {
  return state.iteration < state.numWarmup;
}

/** Records a metric the adaptation did not apply (the chain keeps its previous one). */
function keepMetric(s: ChainState, iteration: number, reason: string): void {
  s.keptMetrics = { count: (s.keptMetrics?.count ?? 0) + 1, iteration, reason };
}

/**
 * Sets `metric` and searches a step size for it; when the metric is not finite and positive
 * definite, or no step size can be found with it, the previous metric (and step size) stay and
 * the reason is recorded. Returns whether the metric was applied.
 */
function tryMetric(kernel: NutsKernel, rng: Rng, s: ChainState, metric: Metric | null, iteration: number, search: boolean): boolean {
  const problem = metricProblem(metric, s.dim);
  if (problem !== null) {
    keepMetric(s, iteration, problem);
    return false;
  }
  const previous = s.metric;
  s.metric = cloneMetric(metric!);
  kernel.setMetric(s.metric);
  if (!search) return true;
  try {
    s.stepSize = kernel.findStepSize(rng, s.stepSize);
    return true;
  } catch (e) {
    s.metric = previous;
    kernel.setMetric(previous);
    keepMetric(s, iteration, `no step size found with the new metric (${e instanceof Error ? e.message : String(e)})`);
    return false;
  }
}

// The metric update at a window end, shared by "self" and "external" modes.
function applyWindowMetric(kernel: NutsKernel, rng: Rng, s: ChainState, metric: Metric): void {
  if ((metric.kind === "dense") !== (s.metricKind === "dense") || (metric.kind === "low-rank") !== (s.metricKind === "low-rank")) {
    throw new Error(`a ${metric.kind} metric cannot be set on a chain adapting a "${s.metricKind}" metric`);
  }
  tryMetric(kernel, rng, s, metric, s.iteration, true);
  if (s.accumulator !== null) resetAccumulator(s.accumulator);
  restartDualAveraging(s.dualAveraging, Math.log(10 * s.stepSize));
  s.awaitingMetric = false;
  // If the window ended on the very last warmup iteration (term buffer 0), keep the
  // searched step size; Stan would fall back to exp(0) = 1 here (stan-dev/stan#3023).
}

function loadKernel(model: LogDensity, s: ChainState): NutsKernel {
  if (model.dim !== s.dim) throw new Error(`model has dimension ${model.dim}, chain state ${s.dim}`);
  if (s.reparam !== null && model.reparam !== undefined) model.reparam.lambda.set(s.reparam.lambda);
  const kernel = acquireKernel(model, s.metric);
  kernel.setPoint(s.position, s.gradient, s.logDensity);
  kernel.gradientEvaluations = 0;
  return kernel;
}

function storeKernel(kernel: NutsKernel, rng: Rng, s: ChainState): void {
  s.position.set(kernel.q);
  s.gradient.set(kernel.g);
  s.logDensity = kernel.lp;
  s.rng = rng.getState();
  s.gradientEvaluations += kernel.gradientEvaluations;
}

/**
 * Sets the metric at a window end (a chain with `awaitingMetric`), then, as Stan: search a
 * new initial step size and restart dual averaging with mu = log(10 * step size).
 * Returns the next state; the input is not modified.
 */
export function setMetricAtWindowEnd(model: LogDensity, state: ChainState, metric: Metric): ChainState {
  if (!state.awaitingMetric) throw new Error("setMetricAtWindowEnd: the chain is not at a window end");
  const s = cloneChainState(state);
  const kernel = loadKernel(model, s);
  try {
    const rng = Rng.fromState(s.rng);
    applyWindowMetric(kernel, rng, s, metric);
    storeKernel(kernel, rng, s);
  } finally {
    releaseKernel(kernel);
  }
  return s;
}

/** nutpie: the metric re-estimated from the foreground; after the first change, a new step size search. */
function updateFisherMetric(kernel: NutsKernel, rng: Rng, s: ChainState, it: number, fs: FisherScheduleState, settings: FisherScheduleSettings): void {
  if (estimatorCount(fs.foreground) < 3) return;
  fs.lastUpdate = it;
  let m: Metric | null;
  try {
    m = estimateMetric(fs.foreground, s.metric, settings.lowRank);
  } catch {
    // A numerical failure inside the estimate (e.g. an eigendecomposition of non-finite moments).
    m = null;
  }
  // As nutpie: the step size is searched again (and dual averaging restarted) only after the
  // first change of the metric; later changes keep dual averaging going.
  if (!tryMetric(kernel, rng, s, m, it, fs.initialMetric) || !fs.initialMetric) return;
  fs.initialMetric = false;
  restartDualAveraging(s.dualAveraging, Math.log(10 * s.stepSize));
}

/** Whether the switch the chain stands at is where its parameterisation is learned. */
export function learnsParameterisationNow(s: ChainState, settings: FisherScheduleSettings): boolean {
  const at = learnsParameterisationAt(s, settings);
  return at !== null && s.iteration >= at;
}

/** The iteration count from which the chain's next switch learns its parameterisation; null when it learns none. */
function learnsParameterisationAt(s: ChainState, settings: FisherScheduleSettings): number | null {
  return s.reparam !== null && !s.reparam.learned && s.fisher !== null && s.fisher.earlyEnd >= settings.reparamAt ? settings.reparamAt : null;
}

/** nutpie: the switch (the foreground becomes `foreground`, or the chain's own background), then the metric. */
function applyFisherSwitch(
  model: LogDensity,
  kernel: NutsKernel,
  rng: Rng,
  s: ChainState,
  foreground: FisherEstimator | null,
  lambda: Float64Array | null,
  settings: FisherScheduleSettings,
): void {
  const fs = s.fisher!;
  fisherSwitch(fs, foreground, s.dim);
  const rp = s.reparam;
  const next = rp !== null && learnsParameterisationNow(s, settings) ? (lambda ?? learnedLambda(rp.stats, rp.sizes, rp.lambda)) : null;
  // The lambdas stay where they were: nothing moves, adaptation goes on undisturbed.
  if (next !== null && next.every((l, k) => l === rp!.lambda[k])) rp!.learned = true;
  if (next !== null && !rp!.learned) {
    changeParameterisation(model, kernel, s, next);
    // The estimators hold draws of the old coordinates: both start again, and the metric stays
    // (rescaled) until the next switch.
    fs.foreground = newEstimator(fs.kind, s.dim);
    fs.background = newEstimator(fs.kind, s.dim);
    fs.hold = true;
  } else {
    updateFisherMetric(kernel, rng, s, s.iteration - 1, fs, settings);
  }
  s.awaitingMetric = false;
}

/**
 * Moves the chain to new lambdas: the point keeps its constrained values (z' = lambda' loc +
 * scale^(lambda' - 1) (x - loc)); the metric's entries of those coordinates are rescaled by the
 * typical scale^(lambda' - lambda) (from the collected log scales).
 */
function changeParameterisation(model: LogDensity, kernel: NutsKernel, s: ChainState, lambda: Float64Array): void {
  const rp = s.reparam!;
  const re = model.reparam!;
  const q = Float64Array.from(kernel.q);
  const ls = re.locScale(q);
  const inverse = Float64Array.from(s.metric.inverse);
  const n = Math.max(1, rp.stats.n);
  let e = 0;
  re.nodes.forEach((node, k) => {
    const from = rp.lambda[k]!;
    const to = lambda[k]!;
    for (let i = 0; i < node.size; i++, e++) {
      const j = node.offset + i;
      const loc = ls[k]!.loc[i]!;
      const sc = ls[k]!.scale[i]!;
      const x = loc + Math.pow(sc, 1 - from) * (q[j]! - from * loc);
      q[j] = to * loc + Math.pow(sc, to - 1) * (x - loc);
      if (s.metric.kind !== "dense") inverse[j] = inverse[j]! * Math.exp(2 * (to - from) * (rp.stats.n > 0 ? rp.stats.sumLogS[e]! / n : 0));
    }
  });
  rp.lambda.set(lambda);
  rp.learned = true;
  re.lambda.set(lambda);
  const g = new Float64Array(s.dim);
  const lp = model.logDensityGradient(q, g);
  kernel.gradientEvaluations++;
  kernel.setPoint(q, g, lp);
  if (s.metric.kind === "diag") s.metric = { kind: "diag", inverse };
  else if (s.metric.kind === "low-rank") s.metric = { ...s.metric, inverse };
  kernel.setMetric(s.metric);
}

/**
 * What a coordinator hands a chain standing at a window end: Stan's schedule, the metric;
 * nutpie's, the foreground estimator to switch to (pooled), or null for the chain's own.
 */
export type WindowUpdate =
  | { readonly kind: "metric"; readonly metric: Metric }
  | {
      readonly kind: "fisher";
      readonly foreground: FisherEstimator | null;
      /** Learned lambdas to move to (pooled), null for the chain's own (where it learns its parameterisation). */
      readonly lambda?: Float64Array | null;
    };

/** Applies a `WindowUpdate` at a window end (the chain is `awaitingMetric`); returns the next state. */
export function applyWindowUpdate(model: LogDensity, state: ChainState, update: WindowUpdate, settingsIn: Partial<SamplerSettings> = {}): ChainState {
  if (update.kind === "metric") return setMetricAtWindowEnd(model, state, update.metric);
  if (!state.awaitingMetric || state.fisher === null) throw new Error("applyWindowUpdate: the chain is not at a nutpie switch");
  const settings = samplerSettings(settingsIn);
  const s = cloneChainState(state);
  const kernel = loadKernel(model, s);
  try {
    const rng = Rng.fromState(s.rng);
    applyFisherSwitch(model, kernel, rng, s, update.foreground === null ? null : structuredClone(update.foreground), update.lambda ?? null, settings.fisher);
    storeKernel(kernel, rng, s);
  } finally {
    releaseKernel(kernel);
  }
  return s;
}

/**
 * Ends warmup's metric adaptation now (adaptive warmup length): the chain, standing at a
 * window end, adapts its step size only for `finalLength` more iterations, then samples.
 * Returns the edited checkpoint (the window update is still to be applied).
 */
export function shortenWarmup(state: ChainState, finalLength: number): ChainState {
  if (!Number.isInteger(finalLength) || finalLength < 1) throw new RangeError(`finalLength must be a positive integer, got ${finalLength}`);
  if (!state.awaitingMetric) throw new Error("shortenWarmup: the chain is not at a window end");
  const s = structuredClone(state) as { -readonly [K in keyof ChainState]: ChainState[K] };
  const numWarmup = Math.min(state.numWarmup, state.iteration + finalLength);
  s.numWarmup = numWarmup;
  if (s.fisher !== null) {
    s.fisher.ended = true;
    s.fisher.finalStart = state.iteration;
  } else {
    // Stan's windows: no slow window is left (the term buffer runs to the new end).
    s.windows = { ...s.windows, numWarmup, termBuffer: numWarmup - state.iteration, nextWindow: -1 };
  }
  return s as ChainState;
}

/**
 * Runs up to `n` iterations from `state` and returns the next state (the input is not
 * modified). Calls `onDraw` after every iteration. With `metricUpdate: "external"` it
 * stops early after the last iteration of a slow window (`awaitingMetric`); with
 * `sharedSwitches: "main"` it makes the early switches that are the chain's own itself and
 * reports each to `onLocalSwitch`.
 * The warmup length and the metric kind are the state's (fixed by `initChainState`);
 * `settings` supplies the rest (tree depth, target acceptance, ...) and must be the same
 * for every chunk of a run for chunked and unchunked runs to agree.
 */
export function runIterations(
  model: LogDensity,
  state: ChainState,
  n: number,
  settingsIn: Partial<SamplerSettings>,
  onDraw?: OnDraw,
  onLocalSwitch?: OnLocalSwitch,
  ownState = false,
): RunResult {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (state.format !== CHAIN_STATE_FORMAT) throw new Error(`unknown chain state format ${String(state.format)}`);
  const settings = samplerSettings(settingsIn);
  if (state.awaitingMetric) {
    throw new Error("the chain is at a window end waiting for its metric: call setMetricAtWindowEnd first");
  }
  // A worker's state arrived as its own copy (structured clone): copying it again cost a
  // quarter of a worker's time where a pooled window's rows are large (DECISIONS.md D236).
  const s = ownState ? state : cloneChainState(state);
  const kernel = loadKernel(model, s);
  const rng = Rng.fromState(s.rng);
  const stats = emptyStats();
  const draw: DrawInfo = {
    chain: s.chain,
    iteration: 0,
    warmup: true,
    position: kernel.q,
    gradient: kernel.g,
    stats,
  };
  const da = s.dualAveraging;
  const daSettings = { delta: settings.targetAccept, gamma: settings.gamma, kappa: settings.kappa, t0: settings.t0 };
  const w = s.windows;
  const acc = s.accumulator;
  const fs = s.fisher;
  let done = 0;
  try {
    while (done < n) {
      const it = s.iteration;
      const warmup = it < s.numWarmup;
      kernel.transition(rng, s.stepSize, settings.maxTreeDepth, settings.maxDeltaH, stats);
      s.iteration = it + 1;
      done++;
      if (warmup && fs !== null) {
        s.stepSize = learnStepSize(da, stats.acceptStat, daSettings);
        // A draw that did not move, or with a non-finite entry, feeds no estimator.
        const moved = drawMoved(kernel.lastDrawIndex, stats.divergent) && finiteRow(kernel.q, kernel.g);
        const rp = s.reparam;
        if (rp !== null && !rp.learned && moved && it >= settings.fisher.reparamFrom && it < settings.fisher.reparamAt) {
          reparamAdd(rp, kernel.g, model.reparam!.nodes.map((n) => n.offset), model.reparam!.locScale(kernel.q));
        }
        const action = fisherStep(fs, it, moved, kernel.q, kernel.g, settings.fisher);
        if (action === "switch") {
          s.awaitingMetric = true;
          if (settings.metricUpdate === "self") applyFisherSwitch(model, kernel, rng, s, null, null, settings.fisher);
          else if (settings.sharedSwitches === "main" && !sharedFisherSwitch(fs, it, settings.fisher, learnsParameterisationAt(s, settings.fisher))) {
            onLocalSwitch?.({ start: Math.max(0, it + 1 - fs.sinceSwitch), end: it + 1, logDensity: kernel.lp, window: compactEstimator(fs.background, s.dim) });
            applyFisherSwitch(model, kernel, rng, s, null, null, settings.fisher);
          }
        } else if (action === "update") {
          updateFisherMetric(kernel, rng, s, it, fs, settings.fisher);
        }
        if (s.iteration === s.numWarmup && !s.awaitingMetric && da.counter > 0) s.stepSize = finalStepSize(da);
      } else if (warmup) {
        s.stepSize = learnStepSize(da, stats.acceptStat, daSettings);
        if (acc !== null && inAdaptationWindow(w) && finiteRow(kernel.q, kernel.g)) {
          if (acc.kind === "dense") welfordDenseAdd(acc.draws, kernel.q, kernel.work);
          else {
            welfordDiagAdd(acc.draws, kernel.q);
            if (acc.kind === "diag-fisher") welfordDiagAdd(acc.grads, kernel.g);
          }
        }
        if (endOfAdaptationWindow(w)) {
          computeNextWindow(w);
          w.counter++;
          s.awaitingMetric = true;
          if (settings.metricUpdate === "self") {
            applyWindowMetric(kernel, rng, s, metricFromAccumulator(acc!, s.metric));
          }
        } else {
          w.counter++;
        }
        if (s.iteration === s.numWarmup && !s.awaitingMetric && da.counter > 0) {
          // End of warmup: fix the step size to dual averaging's x-bar.
          s.stepSize = finalStepSize(da);
        }
      }
      draw.iteration = it;
      draw.warmup = warmup;
      if (onDraw !== undefined) onDraw(draw);
      if (s.awaitingMetric) break;
    }
    storeKernel(kernel, rng, s);
  } finally {
    releaseKernel(kernel);
  }
  return { state: s, iterations: done, awaitingMetric: s.awaitingMetric };
}

// ------------------------------------------------------------------------------------
// JSON checkpoints (structuredClone needs nothing: the state is plain data).

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function encode(x: unknown): Json {
  if (x instanceof Float64Array) return { $f64: Array.from(x, encodeNumber) };
  if (typeof x === "number") return Number.isFinite(x) ? x : { $num: String(x) };
  if (Array.isArray(x)) return x.map(encode);
  if (x !== null && typeof x === "object") {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(x)) out[k] = encode(v);
    return out;
  }
  return x as Json;
}

function encodeNumber(v: number): Json {
  return Number.isFinite(v) ? v : String(v);
}

function decode(x: Json): unknown {
  if (Array.isArray(x)) return x.map(decode);
  if (x !== null && typeof x === "object") {
    if ("$f64" in x && Array.isArray(x.$f64)) return Float64Array.from(x.$f64, (v) => (typeof v === "string" ? Number(v) : (v as number)));
    if ("$num" in x && typeof x.$num === "string" && Object.keys(x).length === 1) return Number(x.$num);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = decode(v);
    return out;
  }
  return x;
}

/** JSON text of a chain state; `chainStateFromJSON` restores it exactly (all doubles round-trip). */
export function chainStateToJSON(state: ChainState): string {
  return JSON.stringify(encode(state));
}

export function chainStateFromJSON(text: string): ChainState {
  const s = decode(JSON.parse(text) as Json) as ChainState;
  if (s.format !== CHAIN_STATE_FORMAT) throw new Error(`unknown chain state format ${String(s.format)}`);
  return s;
}

/**
 * ADVI (Kucukelbir, Tran, Ranganath, Gelman, Blei 2017) as Stan's variational/advi.hpp with
 * its families normal_meanfield.hpp and normal_fullrank.hpp:
 * - a Gaussian in the unconstrained space: mean-field N(mu, diag(exp(omega))^2) or full-rank
 *   N(mu, L L') with L lower-triangular; initialised at the initial point with omega = 0
 *   (L = I);
 * - ELBO gradients by reparameterisation from `gradSamples` draws (Stan's default 1), plus the
 *   entropy's gradient (1 per omega, 1 / L_ii on L's diagonal);
 * - Stan's adaptive step-size sequence: eta / sqrt(t) * g / (1 + sqrt(s_t)), with
 *   s_1 = g^2, s_t = 0.9 s_{t-1} + 0.1 g^2 (elementwise);
 * - Stan's eta search: eta in 100, 10, 1, 0.1, 0.01, each run for `adaptIterations` (50)
 *   from the initial approximation; the search stops at the first eta whose ELBO is worse
 *   than the previous one's (once that one beat the initial ELBO) and keeps the previous
 *   (`chooseEta`). Each trial (`adviEtaTrial`) starts from the initial approximation with a
 *   fresh step-size history, so the trials are independent: here they run at once, each with
 *   its own RNG stream, and the rule is applied to their ELBOs in Stan's order (Stan runs them
 *   one after another and stops early: the chosen eta is the same rule's, the trials past the
 *   stopping point are extra work);
 * - convergence every `evalElbo` (100) iterations: the relative ELBO change goes into a
 *   circular buffer of max(0.1 maxIterations / evalElbo, 2) entries; converged when its mean
 *   or its (upper) median is below `tolRelObj` (0.01);
 * - the ELBO from `elboSamples` (100) draws, non-finite ones dropped (as many as draws at most).
 * The RNG is this project's, so the numbers are not Stan's; the algorithm is.
 *
 * The optimisation's state is plain data (`AdviState`); `adviIterate` runs some iterations
 * from a checkpoint and returns the next one, so a run may go in chunks and restart from its
 * last checkpoint with the same result.
 */
import type { LogDensity } from "../compile/types.js";
import { Rng, type RngState } from "../rng/index.js";
import type { ApproxDraws } from "./approx-draws.js";
import { findInitialPoint } from "./init.js";
import { dot, LOG_2PI, normalLogDensityFromStandard, triangularLogDet } from "./linalg.js";

export type AdviFamily = "meanfield" | "fullrank";

export interface AdviSettings {
  readonly family: AdviFamily;
  readonly gradSamples: number;
  readonly elboSamples: number;
  readonly evalElbo: number;
  readonly tolRelObj: number;
  readonly maxIterations: number;
  readonly adaptIterations: number;
  /** Run the eta search (true), or use `eta` as given. */
  readonly adaptEngaged: boolean;
  readonly eta: number;
  /** Draws returned from the fitted approximation. */
  readonly outputSamples: number;
  readonly initRadius: number;
}

/** rstan 2.21 `vb()`'s defaults. */
export const ADVI_DEFAULTS: AdviSettings = {
  family: "meanfield",
  gradSamples: 1,
  elboSamples: 100,
  evalElbo: 100,
  tolRelObj: 0.01,
  maxIterations: 10000,
  adaptIterations: 50,
  adaptEngaged: true,
  eta: 1,
  outputSamples: 1000,
  initRadius: 2,
};

export const ETA_SEQUENCE: readonly number[] = [100, 10, 1, 0.1, 0.01];

export const ADVI_STATE_FORMAT = "bayests-advi/1";

export interface AdviElboRecord {
  readonly iteration: number;
  readonly elbo: number;
  readonly relativeMean: number;
  readonly relativeMedian: number;
}

export interface AdviState {
  readonly format: typeof ADVI_STATE_FORMAT;
  readonly dim: number;
  readonly family: AdviFamily;
  /** The initial point (where every eta trial restarts). */
  readonly init: Float64Array;
  /** Variational parameters: mu then omega (mean-field, 2d) or mu then L (full-rank, d + d^2, row-major lower). */
  params: Float64Array;
  /** Running mean of squared gradients (the step-size sequence). */
  historySq: Float64Array;
  phase: "optimise" | "done";
  eta: number;
  /** Optimisation: iteration counter (1-based after the first), ELBO tracking. */
  iteration: number;
  elbo: number;
  elboBest: number;
  relativeChanges: number[];
  trace: AdviElboRecord[];
  /** How the optimisation ended: "mean" or "median" (converged) or "max-iterations". */
  stopReason: "mean" | "median" | "max-iterations" | null;
  rng: RngState;
  gradientEvaluations: number;
  densityEvaluations: number;
}

export class AdviError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdviError";
  }
}

function paramCount(family: AdviFamily, d: number): number {
  return family === "meanfield" ? 2 * d : d + d * d;
}

function initialParams(family: AdviFamily, init: Float64Array): Float64Array {
  const d = init.length;
  const p = new Float64Array(paramCount(family, d));
  p.set(init);
  if (family === "fullrank") for (let i = 0; i < d; i++) p[d + i * d + i] = 1;
  return p;
}

/** The initial point: Stan's random inits (uniform(-R, R)) or `init`, checked to have a finite ELBO there. */
export interface AdviStart {
  readonly init: Float64Array;
  readonly elboInit: number;
  readonly densityEvaluations: number;
}

export function adviStart(model: LogDensity, settings: AdviSettings, rng: Rng, init?: Float64Array): AdviStart {
  const x0 = init !== undefined ? Float64Array.from(init) : findInitialPoint(model, rng, { radius: settings.initRadius }).position;
  const state = initAdvi(settings, x0, 1, rng.getState());
  let elboInit: number;
  try {
    elboInit = elboOf(model, state, settings, rng, new Workspace(model.dim));
  } catch (e) {
    throw new AdviError(`cannot compute the ELBO of the initial approximation (${(e as Error).message})`);
  }
  return { init: x0, elboInit, densityEvaluations: state.densityEvaluations };
}

/** The optimisation's first state: the initial approximation at `init` with step-size scale `eta`. */
export function initAdvi(settings: AdviSettings, init: Float64Array, eta: number, rng: RngState): AdviState {
  const params = initialParams(settings.family, init);
  return {
    format: ADVI_STATE_FORMAT,
    dim: init.length,
    family: settings.family,
    init: Float64Array.from(init),
    params,
    historySq: new Float64Array(params.length),
    phase: "optimise",
    eta,
    iteration: 0,
    elbo: 0,
    elboBest: -Number.MAX_VALUE,
    relativeChanges: [],
    trace: [],
    stopReason: null,
    rng,
    gradientEvaluations: 0,
    densityEvaluations: 0,
  };
}

/** A draw zeta = mu + scale(eta) into `zeta` from standard normals `eta`. */
function transform(family: AdviFamily, d: number, params: Float64Array, eta: Float64Array, zeta: Float64Array): void {
  if (family === "meanfield") {
    for (let i = 0; i < d; i++) zeta[i] = params[i]! + Math.exp(params[d + i]!) * eta[i]!;
  } else {
    for (let i = 0; i < d; i++) {
      let v = params[i]!;
      for (let j = 0; j <= i; j++) v += params[d + i * d + j]! * eta[j]!;
      zeta[i] = v;
    }
  }
}

/** log |det| of the approximation's scale: the log standard deviations (meanfield), or log |det L| (fullrank). */
function logDetScale(family: AdviFamily, d: number, params: Float64Array): number {
  if (family === "fullrank") return triangularLogDet(params.subarray(d, d + d * d), d);
  let s = 0;
  for (let i = 0; i < d; i++) s += params[d + i]!;
  return s;
}

/** Entropy of the approximation. */
export function adviEntropy(family: AdviFamily, d: number, params: Float64Array): number {
  return 0.5 * d * (1 + LOG_2PI) + logDetScale(family, d, params);
}

class Workspace {
  readonly eta: Float64Array;
  readonly zeta: Float64Array;
  readonly grad: Float64Array;
  constructor(d: number) {
    this.eta = new Float64Array(d);
    this.zeta = new Float64Array(d);
    this.grad = new Float64Array(d);
  }
}

/** Stan's calc_ELBO: mean log p over `elboSamples` draws plus the entropy; throws when every draw fails. */
function elboOf(model: LogDensity, state: AdviState, settings: AdviSettings, rng: Rng, ws: Workspace): number {
  const d = state.dim;
  let sum = 0;
  let dropped = 0;
  for (let i = 0; i < settings.elboSamples; ) {
    rng.fillNormal(ws.eta);
    transform(state.family, d, state.params, ws.eta, ws.zeta);
    state.densityEvaluations++;
    const lp = model.logDensity(ws.zeta);
    if (Number.isFinite(lp)) {
      sum += lp;
      i++;
    } else if (++dropped >= settings.elboSamples) {
      throw new AdviError(
        `the ELBO could not be computed: ${dropped} draws from the approximation gave a non-finite log density. The model may be ` +
          "severely ill-conditioned or misspecified.",
      );
    }
  }
  return sum / settings.elboSamples + adviEntropy(state.family, d, state.params);
}

/** Stan's calc_grad into `out` (same layout as params); returns false when the gradient is not finite. */
function elboGradient(model: LogDensity, state: AdviState, settings: AdviSettings, rng: Rng, ws: Workspace, out: Float64Array): boolean {
  const d = state.dim;
  const fam = state.family;
  const p = state.params;
  out.fill(0);
  for (let s = 0; s < settings.gradSamples; s++) {
    rng.fillNormal(ws.eta);
    transform(fam, d, p, ws.eta, ws.zeta);
    state.gradientEvaluations++;
    model.logDensityGradient(ws.zeta, ws.grad);
    for (let i = 0; i < d; i++) {
      const g = ws.grad[i]!;
      out[i] = out[i]! + g;
      if (fam === "meanfield") out[d + i] = out[d + i]! + g * ws.eta[i]!;
      else for (let j = 0; j <= i; j++) out[d + i * d + j] = out[d + i * d + j]! + g * ws.eta[j]!;
    }
  }
  const n = settings.gradSamples;
  for (let k = 0; k < out.length; k++) out[k] = out[k]! / n;
  for (let k = 0; k < out.length; k++) if (!Number.isFinite(out[k]!)) return false;
  if (fam === "meanfield") {
    for (let i = 0; i < d; i++) out[d + i] = out[d + i]! * Math.exp(p[d + i]!) + 1;
  } else {
    for (let i = 0; i < d; i++) out[d + i * d + i] = out[d + i * d + i]! + 1 / p[d + i * d + i]!;
  }
  return true;
}

/**
 * One step of the adaptive sequence at counter t (1-based) with step scale eta. (L's upper
 * triangle has zero gradients, so it stays zero.)
 */
function ascend(state: AdviState, grad: Float64Array, t: number, eta: number): void {
  const h = state.historySq;
  const p = state.params;
  const scaled = eta / Math.sqrt(t);
  for (let k = 0; k < p.length; k++) {
    const g2 = grad[k]! * grad[k]!;
    h[k] = t === 1 ? h[k]! + g2 : 0.9 * h[k]! + 0.1 * g2;
    p[k] = p[k]! + (scaled * grad[k]!) / (1 + Math.sqrt(h[k]!));
  }
}

/** The upper median of Stan's circ_buff_median (the element at size/2 after sorting). */
function upperMedian(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface EtaTrial {
  /** ELBO after `adaptIterations` steps with this eta (-Number.MAX_VALUE when it diverged). */
  readonly elbo: number;
  readonly gradientEvaluations: number;
  readonly densityEvaluations: number;
}

/**
 * One trial of Stan's eta search: `adaptIterations` steps from the initial approximation
 * with step-size scale `eta` (a diverging gradient counts as zero), then the ELBO.
 */
export function adviEtaTrial(model: LogDensity, settings: AdviSettings, init: Float64Array, eta: number, rng: Rng): EtaTrial {
  const state = initAdvi(settings, init, eta, rng.getState());
  const ws = new Workspace(state.dim);
  const grad = new Float64Array(state.params.length);
  for (let t = 1; t <= settings.adaptIterations; t++) {
    if (!elboGradient(model, state, settings, rng, ws, grad)) grad.fill(0);
    ascend(state, grad, t, eta);
  }
  let elbo: number;
  try {
    elbo = elboOf(model, state, settings, rng, ws);
  } catch {
    elbo = -Number.MAX_VALUE;
  }
  if (Number.isNaN(elbo)) elbo = -Number.MAX_VALUE;
  return { elbo, gradientEvaluations: state.gradientEvaluations, densityEvaluations: state.densityEvaluations };
}

/**
 * Stan's choice of eta (advi::adapt_eta) from the trials' ELBOs in `ETA_SEQUENCE` order: the
 * eta before the first one whose ELBO is worse than its predecessor's (once that one beat the
 * initial ELBO); else the last one if it beat the initial ELBO. Returns null while more
 * trials are needed to decide; throws an `AdviError` when every eta failed.
 */
export function chooseEta(elboInit: number, elbos: readonly number[]): number | null {
  let best = -Number.MAX_VALUE;
  const last = ETA_SEQUENCE.length - 1;
  for (let k = 0; k < elbos.length && k <= last; k++) {
    const elbo = elbos[k]!;
    if (elbo < best && best > elboInit) return ETA_SEQUENCE[k - 1]!;
    if (k < last) best = elbo;
    else if (elbo > elboInit) return ETA_SEQUENCE[k]!;
    else {
      throw new AdviError(
        `every step size of the eta search (${ETA_SEQUENCE.join(", ")}) failed to improve the ELBO of the initial approximation. ` +
          "The model may be severely ill-conditioned or misspecified.",
      );
    }
  }
  return null;
}

/**
 * Runs up to `maxSteps` stochastic-gradient iterations from `stateIn` (Stan's
 * stochastic_gradient_ascent) and returns the next state (the input is not modified).
 * Throws an `AdviError` where Stan's ADVI fails: a non-finite gradient, or an ELBO that
 * cannot be computed.
 */
export function adviIterate(model: LogDensity, stateIn: AdviState, settings: AdviSettings, maxSteps = Infinity): AdviState {
  const state = structuredClone(stateIn);
  const rng = Rng.fromState(state.rng);
  const ws = new Workspace(state.dim);
  const grad = new Float64Array(state.params.length);
  let steps = 0;
  while (state.phase !== "done" && steps < maxSteps) {
    state.iteration++;
    steps++;
    const t = state.iteration;
    if (!elboGradient(model, state, settings, rng, ws, grad)) {
      throw new AdviError(`the ELBO gradient is not finite at iteration ${t} (eta ${state.eta}); the model may be ill-conditioned, or try a smaller eta`);
    }
    ascend(state, grad, t, state.eta);
    if (t % settings.evalElbo === 0) {
      const previous = state.elbo;
      state.elbo = elboOf(model, state, settings, rng, ws);
      if (state.elbo > state.elboBest) state.elboBest = state.elbo;
      const size = Math.max(Math.trunc((0.1 * settings.maxIterations) / settings.evalElbo), 2);
      state.relativeChanges.push(Math.abs((previous - state.elbo) / state.elbo));
      if (state.relativeChanges.length > size) state.relativeChanges.shift();
      const mean = state.relativeChanges.reduce((a, b) => a + b, 0) / state.relativeChanges.length;
      const median = upperMedian(state.relativeChanges);
      state.trace.push({ iteration: t, elbo: state.elbo, relativeMean: mean, relativeMedian: median });
      if (mean < settings.tolRelObj) state.stopReason = "mean";
      if (median < settings.tolRelObj) state.stopReason = "median";
      if (state.stopReason !== null) state.phase = "done";
    }
    if (state.phase !== "done" && t >= settings.maxIterations) {
      state.stopReason = "max-iterations";
      state.phase = "done";
    }
  }
  state.rng = rng.getState();
  return state;
}

/** `outputSamples` draws (see ApproxDraws) and the approximation's mean. */
export interface AdviResult extends ApproxDraws {
  /** The approximation's mean (unconstrained). */
  readonly mean: Float64Array;
}

/** `outputSamples` draws from the fitted approximation (Stan's output sample), with log p and log q. */
export function adviDraws(model: LogDensity, state: AdviState, settings: AdviSettings): AdviResult {
  const rng = Rng.fromState(state.rng);
  const d = state.dim;
  const n = settings.outputSamples;
  const draws = new Float64Array(n * d);
  const lp = new Float64Array(n);
  const lpApprox = new Float64Array(n);
  const eta = new Float64Array(d);
  const zeta = new Float64Array(d);
  const logDet = logDetScale(state.family, d, state.params);
  for (let s = 0; s < n; s++) {
    rng.fillNormal(eta);
    transform(state.family, d, state.params, eta, zeta);
    draws.set(zeta, s * d);
    lpApprox[s] = normalLogDensityFromStandard(dot(eta, eta), d, logDet);
    lp[s] = model.logDensity(zeta);
  }
  return { draws, lp, lpApprox, count: n, mean: state.params.slice(0, d) };
}

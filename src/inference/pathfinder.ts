/**
 * Single-path Pathfinder (Zhang, Carpenter, Gelman, Vehtari 2022), as Stan's
 * services/pathfinder/single.hpp:
 * 1. L-BFGS (lbfgs.ts) from a random initialisation, uniform(-2, 2) on the unconstrained scale;
 * 2. at every iterate, the last `historySize` differences of position and gradient (s, y)
 *    give a normal approximation N(x + H grad log p, H) with H the L-BFGS inverse Hessian,
 *    diagonal plus low rank: the diagonal updated by Gilbert & Lemaréchal's formula on pairs
 *    that pass the curvature check (s'y > 0, y'y / s'y <= 1e12), the low-rank part in the
 *    compact form of Byrd, Nocedal & Schnabel; dense when 2 x history >= dimension, else by a
 *    thin QR of the low-rank factors;
 * 3. the ELBO of each approximation from `elboDraws` draws, E_q[log p - log q];
 * 4. the approximation with the best ELBO gives `draws` draws (its ELBO draws first), each
 *    with log p and log q, for multi-path importance resampling (`psis`).
 * One deliberate difference: Stan's sparse branch draws with the transposed Cholesky factor,
 * whose covariance is not H; here the draws have covariance H exactly.
 *
 * The state is plain data (`PathfinderState`): `pathfinderIterate` runs some L-BFGS
 * iterations from a checkpoint and returns the next one, so a path may run in chunks (the
 * same draws either way) and restart from its last checkpoint.
 */
import type { LogDensity } from "../compile/types.js";
import { Rng, type RngState } from "../rng/index.js";
import type { ApproxDraws } from "./approx-draws.js";
import { findInitialPoint } from "./init.js";
import { lbfgsInit, lbfgsStep, LBFGS_CODES, type LbfgsCode, type LbfgsSettings, type LbfgsState, type Objective } from "./lbfgs.js";
import { dot, lowerTimes, normalLogDensityFromStandard, thinQr, triangularLogDet, tryCholesky, upperSolveMatrix } from "./linalg.js";

export interface PathfinderSettings extends LbfgsSettings {
  /** Draws per iterate for the ELBO (Stan's num_elbo_draws, K). */
  readonly elboDraws: number;
  /** Draws returned by the path (Stan's num_draws, M). */
  readonly draws: number;
  /** Random inits are uniform(-initRadius, initRadius) on the unconstrained scale. */
  readonly initRadius: number;
}

/** Stan's defaults (CmdStan 2.33 `pathfinder`), with the history size of the paper and the issue (6). */
export const PATHFINDER_DEFAULTS: PathfinderSettings = {
  historySize: 6,
  initAlpha: 0.001,
  tolObj: 1e-12,
  tolRelObj: 1e4,
  tolGrad: 1e-8,
  tolRelGrad: 1e7,
  tolParam: 1e-8,
  maxIterations: 1000,
  elboDraws: 25,
  draws: 1000,
  initRadius: 2,
};

/** A normal approximation N(center, H) with H = diag + low rank (plain data). */
export type NormalApproximation =
  | {
      readonly kind: "dense";
      readonly center: Float64Array;
      /** Lower Cholesky factor of H (d x d, row-major). */
      readonly chol: Float64Array;
      readonly logDetChol: number;
    }
  | {
      readonly kind: "sparse";
      readonly center: Float64Array;
      /** Diagonal of the initial inverse Hessian. */
      readonly alpha: Float64Array;
      /** Orthonormal columns (d x r, column-major). */
      readonly q: Float64Array;
      readonly rank: number;
      /** Lower Cholesky factor of R M R' + I (r x r). */
      readonly chol: Float64Array;
      readonly logDetChol: number;
    };

export const PATHFINDER_STATE_FORMAT = "bayests-pathfinder/1";

export interface PathfinderBest {
  readonly iteration: number;
  readonly elbo: number;
  readonly approximation: NormalApproximation;
  /** Its ELBO draws (elboDraws x d, draw-major), with log p and log q. */
  readonly draws: Float64Array;
  readonly lp: Float64Array;
  readonly lpApprox: Float64Array;
}

export interface PathfinderState {
  readonly format: typeof PATHFINDER_STATE_FORMAT;
  readonly dim: number;
  readonly path: number;
  readonly lbfgs: LbfgsState;
  /** Pathfinder's own history (not reset with L-BFGS's), oldest first. */
  readonly s: Float64Array[];
  readonly y: Float64Array[];
  /** Diagonal of the initial inverse Hessian estimate. */
  readonly alpha: Float64Array;
  /** Position and gradient of the last iterate used (Stan's prev_params / prev_grads). */
  readonly prevX: Float64Array;
  readonly prevG: Float64Array;
  best: PathfinderBest | null;
  /** ELBO of each iterate, in order (-Infinity where the approximation failed). */
  readonly elbos: number[];
  /** L-BFGS's last code; the path is done when it is not 0. */
  code: LbfgsCode;
  done: boolean;
  rng: RngState;
  /** Gradient evaluations (L-BFGS) and log-density evaluations (ELBO and draws). */
  gradientEvaluations: number;
  densityEvaluations: number;
}

export class PathfinderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PathfinderError";
  }
}

function objective(model: LogDensity): Objective {
  return (x, g) => {
    const lp = model.logDensityGradient(x, g);
    for (let i = 0; i < g.length; i++) g[i] = -g[i]!;
    return -lp;
  };
}

/** Starts path `path` of `seed` (its RNG stream): random init, L-BFGS at the initial point. */
export function initPathfinder(model: LogDensity, settings: PathfinderSettings, seed: number, path: number, stream = path, init?: Float64Array): PathfinderState {
  const rng = Rng.fromSeed(seed, stream);
  const x0 = init ?? findInitialPoint(model, rng, { radius: settings.initRadius }).position;
  const lbfgs = lbfgsInit(objective(model), x0);
  const d = model.dim;
  return {
    format: PATHFINDER_STATE_FORMAT,
    dim: d,
    path,
    lbfgs,
    s: [],
    y: [],
    alpha: new Float64Array(d).fill(1),
    prevX: Float64Array.from(lbfgs.x),
    prevG: Float64Array.from(lbfgs.g),
    best: null,
    elbos: [],
    code: 0,
    done: false,
    rng: rng.getState(),
    gradientEvaluations: lbfgs.evaluations,
    densityEvaluations: 0,
  };
}

/** Gilbert & Lemaréchal's update of the diagonal (Stan's form_diag, eq. 4.9). */
function updateDiagonal(alpha: Float64Array, y: Float64Array, s: Float64Array): void {
  const d = alpha.length;
  let yay = 0;
  let sas = 0;
  for (let i = 0; i < d; i++) {
    yay += y[i]! * alpha[i]! * y[i]!;
    sas += (s[i]! * s[i]!) / alpha[i]!;
  }
  const ys = dot(y, s);
  for (let i = 0; i < d; i++) {
    const r = s[i]! / alpha[i]!;
    alpha[i] = ys / (yay / alpha[i]! + y[i]! * y[i]! - (yay / sas) * r * r);
  }
}

/** s'y > 0 and |y'y / s'y| <= 1e12 (Stan's check_curve). */
function curvatureOk(y: Float64Array, s: Float64Array): boolean {
  const sy = dot(y, s);
  return sy > 0 && Math.abs(dot(y, y) / sy) <= 1e12;
}

/**
 * The normal approximation at iterate x (gradient g of -log p) from the history (Y, S: m
 * pairs) and the diagonal alpha. Null when it is not numerically positive definite.
 */
export function taylorApproximation(ys: readonly Float64Array[], ss: readonly Float64Array[], alpha: Float64Array, x: Float64Array, g: Float64Array): NormalApproximation | null {
  const d = x.length;
  const m = ys.length;
  // R = upper triangle of S'Y; N = -R^-1 S' (m x d).
  const r = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = i; j < m; j++) r[i * m + j] = dot(ss[i]!, ys[j]!);
  const sT = new Float64Array(m * d);
  for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) sT[i * d + k] = -ss[i]![k]!;
  const n = upperSolveMatrix(r, m, sT, d);
  // T = Y' diag(alpha) Y + diag(R).
  const t = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let v = 0;
      for (let k = 0; k < d; k++) v += ys[i]![k]! * alpha[k]! * ys[j]![k]!;
      t[i * m + j] = v;
      t[j * m + i] = v;
    }
    t[i * m + i] = t[i * m + i]! + r[i * m + i]!;
  }
  // H g = alpha g + alpha (Y (N g)) + N' (Y' (alpha g) + T (N g)).
  const ag = Float64Array.from(g, (v, k) => alpha[k]! * v);
  const ng = new Float64Array(m);
  for (let i = 0; i < m; i++) ng[i] = dot(n.subarray(i * d, (i + 1) * d), g);
  const inner = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let v = dot(ys[i]!, ag);
    for (let j = 0; j < m; j++) v += t[i * m + j]! * ng[j]!;
    inner[i] = v;
  }
  const center = new Float64Array(d);
  for (let k = 0; k < d; k++) {
    let hg = ag[k]!;
    let yng = 0;
    for (let i = 0; i < m; i++) {
      yng += ys[i]![k]! * ng[i]!;
      hg += n[i * d + k]! * inner[i]!;
    }
    hg += alpha[k]! * yng;
    center[k] = x[k]! - hg;
  }
  for (let k = 0; k < d; k++) if (!Number.isFinite(center[k]!)) return null;

  if (2 * m >= d) {
    // H = diag(alpha) + (alpha Y) N + N' (Y' alpha) + N' T N, then its Cholesky factor.
    const h = new Float64Array(d * d);
    const tn = new Float64Array(m * d);
    for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) {
      let v = 0;
      for (let j = 0; j < m; j++) v += t[i * m + j]! * n[j * d + k]!;
      tn[i * d + k] = v;
    }
    for (let a = 0; a < d; a++) {
      for (let b = 0; b <= a; b++) {
        let v = a === b ? alpha[a]! : 0;
        for (let i = 0; i < m; i++) {
          v += alpha[a]! * ys[i]![a]! * n[i * d + b]! + n[i * d + a]! * alpha[b]! * ys[i]![b]! + n[i * d + a]! * tn[i * d + b]!;
        }
        h[a * d + b] = v;
        h[b * d + a] = v;
      }
    }
    const chol = tryCholesky(h, d);
    if (chol === null) return null;
    return { kind: "dense", center, chol, logDetChol: triangularLogDet(chol, d) };
  }

  // Sparse: H = sqrt(alpha) (I + W' M W) sqrt(alpha), W' = [sqrt(alpha) Y, N' / sqrt(alpha)] = Q R.
  const cols: Float64Array[] = [];
  for (let i = 0; i < m; i++) cols.push(Float64Array.from(ys[i]!, (v, k) => Math.sqrt(alpha[k]!) * v));
  for (let i = 0; i < m; i++) cols.push(Float64Array.from({ length: d }, (_, k) => n[i * d + k]! / Math.sqrt(alpha[k]!)));
  const rank = 2 * m;
  const { q, r: rq } = thinQr(cols, d);
  // M = [[0, I], [I, T]]; A = R M R' + I.
  const mm = new Float64Array(rank * rank);
  for (let i = 0; i < m; i++) {
    mm[i * rank + (m + i)] = 1;
    mm[(m + i) * rank + i] = 1;
    for (let j = 0; j < m; j++) mm[(m + i) * rank + (m + j)] = t[i * m + j]!;
  }
  const rm = new Float64Array(rank * rank);
  for (let i = 0; i < rank; i++) for (let j = 0; j < rank; j++) {
    let v = 0;
    for (let k = i; k < rank; k++) v += rq[i * rank + k]! * mm[k * rank + j]!;
    rm[i * rank + j] = v;
  }
  const a = new Float64Array(rank * rank);
  for (let i = 0; i < rank; i++) for (let j = 0; j < rank; j++) {
    let v = i === j ? 1 : 0;
    for (let k = j; k < rank; k++) v += rm[i * rank + k]! * rq[j * rank + k]!;
    a[i * rank + j] = v;
  }
  // Symmetrise against rounding before the factorisation.
  for (let i = 0; i < rank; i++) for (let j = 0; j < i; j++) {
    const v = 0.5 * (a[i * rank + j]! + a[j * rank + i]!);
    a[i * rank + j] = v;
    a[j * rank + i] = v;
  }
  const chol = tryCholesky(a, rank);
  if (chol === null) return null;
  let logDet = triangularLogDet(chol, rank);
  for (let k = 0; k < d; k++) logDet += 0.5 * Math.log(alpha[k]!);
  return { kind: "sparse", center, alpha: Float64Array.from(alpha), q, rank, chol, logDetChol: logDet };
}

/**
 * Draws `count` points from the approximation into `out` (count x d, draw-major) with
 * log q of each into `lpApprox`.
 */
export function drawApproximation(approx: NormalApproximation, rng: Rng, count: number, out: Float64Array, lpApprox: Float64Array): void {
  const d = approx.center.length;
  const u = new Float64Array(d);
  const x = new Float64Array(d);
  for (let s = 0; s < count; s++) {
    rng.fillNormal(u);
    lpApprox[s] = normalLogDensityFromStandard(dot(u, u), d, approx.logDetChol);
    if (approx.kind === "dense") {
      lowerTimes(approx.chol, d, u, x);
      for (let k = 0; k < d; k++) out[s * d + k] = x[k]! + approx.center[k]!;
    } else {
      // x = sqrt(alpha) (Q (L - I) Q' u + u) + center
      const r = approx.rank;
      const qu = new Float64Array(r);
      for (let j = 0; j < r; j++) {
        let v = 0;
        for (let k = 0; k < d; k++) v += approx.q[j * d + k]! * u[k]!;
        qu[j] = v;
      }
      const lqu = new Float64Array(r);
      lowerTimes(approx.chol, r, qu, lqu);
      for (let j = 0; j < r; j++) lqu[j] = lqu[j]! - qu[j]!;
      for (let k = 0; k < d; k++) {
        let v = u[k]!;
        for (let j = 0; j < r; j++) v += approx.q[j * d + k]! * lqu[j]!;
        out[s * d + k] = Math.sqrt(approx.alpha[k]!) * v + approx.center[k]!;
      }
    }
  }
}

/** log p at each draw (NaN counts as -Infinity), returning the number of evaluations. */
function logDensities(model: LogDensity, draws: Float64Array, count: number, lp: Float64Array): void {
  const d = model.dim;
  for (let s = 0; s < count; s++) {
    const v = model.logDensity(draws.subarray(s * d, (s + 1) * d));
    lp[s] = Number.isNaN(v) ? -Infinity : v;
  }
}

/**
 * Runs up to `maxIterations` L-BFGS iterations of the path (fewer when it converges or its
 * line search fails), building and scoring the approximation at each iterate. Returns the
 * next state; the input is not modified.
 */
export function pathfinderIterate(model: LogDensity, stateIn: PathfinderState, settings: PathfinderSettings, maxIterations = Infinity): PathfinderState {
  const state = structuredClone(stateIn);
  if (state.done) return state;
  const fn = objective(model);
  const rng = Rng.fromState(state.rng);
  const d = state.dim;
  const k = settings.elboDraws;
  const lbfgs = state.lbfgs;
  for (let it = 0; it < maxIterations && !state.done; it++) {
    const before = lbfgs.evaluations;
    const code = lbfgsStep(fn, lbfgs, settings);
    state.gradientEvaluations += lbfgs.evaluations - before;
    state.code = code;
    if (code === -1) {
      state.done = true;
      break;
    }
    if (code !== 0) state.done = true;
    const s = Float64Array.from(lbfgs.x, (v, i) => v - state.prevX[i]!);
    const y = Float64Array.from(lbfgs.g, (v, i) => v - state.prevG[i]!);
    state.s.push(s);
    state.y.push(y);
    if (state.s.length > settings.historySize) {
      state.s.shift();
      state.y.shift();
    }
    state.prevX.set(lbfgs.x);
    state.prevG.set(lbfgs.g);
    if (curvatureOk(y, s)) updateDiagonal(state.alpha, y, s);
    const approx = taylorApproximation(state.y, state.s, state.alpha, lbfgs.x, lbfgs.g);
    let elbo = -Infinity;
    if (approx !== null) {
      const draws = new Float64Array(k * d);
      const lpApprox = new Float64Array(k);
      const lp = new Float64Array(k);
      drawApproximation(approx, rng, k, draws, lpApprox);
      logDensities(model, draws, k, lp);
      state.densityEvaluations += k;
      let sum = 0;
      for (let i = 0; i < k; i++) sum += lp[i]! - lpApprox[i]!;
      elbo = sum / k;
      if (Number.isNaN(elbo)) elbo = -Infinity;
      if (state.best === null ? elbo > -Infinity : elbo > state.best.elbo) {
        state.best = { iteration: lbfgs.iteration, elbo, approximation: approx, draws, lp, lpApprox };
      }
    }
    state.elbos.push(elbo);
  }
  state.rng = rng.getState();
  return state;
}

/** A path's draws (see ApproxDraws) and how the path went. */
export interface PathResult extends ApproxDraws {
  readonly path: number;
  readonly elbo: number;
  readonly bestIteration: number;
  readonly iterations: number;
  readonly code: LbfgsCode;
  readonly message: string;
  readonly gradientEvaluations: number;
  readonly densityEvaluations: number;
}

/**
 * The path's draws from its best approximation: its ELBO draws, then `draws - elboDraws`
 * new ones. Throws a `PathfinderError` when no iterate gave a usable approximation.
 */
export function pathfinderDraws(model: LogDensity, state: PathfinderState, settings: PathfinderSettings): PathResult {
  const best = state.best;
  const message = LBFGS_CODES[state.code];
  if (best === null) {
    const why = state.lbfgs.iteration < 2 && state.code === -1 ? `L-BFGS could not start (${message})` : "no L-BFGS iterate gave an approximation with a finite ELBO";
    throw new PathfinderError(`path ${state.path}: ${why}; check the model (is the log density finite around the initial values?)`);
  }
  const d = state.dim;
  const total = Math.max(settings.draws, 1);
  const draws = new Float64Array(total * d);
  const lp = new Float64Array(total);
  const lpApprox = new Float64Array(total);
  const kept = Math.min(best.lp.length, total);
  draws.set(best.draws.subarray(0, kept * d));
  lp.set(best.lp.subarray(0, kept));
  lpApprox.set(best.lpApprox.subarray(0, kept));
  const more = total - kept;
  let densityEvaluations = state.densityEvaluations;
  if (more > 0) {
    const rng = Rng.fromState(state.rng);
    drawApproximation(best.approximation, rng, more, draws.subarray(kept * d), lpApprox.subarray(kept));
    logDensities(model, draws.subarray(kept * d), more, lp.subarray(kept));
    densityEvaluations += more;
  }
  return {
    path: state.path,
    draws,
    lp,
    lpApprox,
    count: total,
    elbo: best.elbo,
    bestIteration: best.iteration,
    iterations: state.lbfgs.iteration,
    code: state.code,
    message,
    gradientEvaluations: state.gradientEvaluations,
    densityEvaluations,
  };
}

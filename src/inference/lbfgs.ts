/**
 * L-BFGS as Stan's optimizer (stan/optimization/bfgs.hpp, bfgs_linesearch.hpp,
 * lbfgs_update.hpp): minimises f = -log p over the unconstrained space with
 * - a line search for the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9): the first trial
 *   step from a cubic interpolation of the previous step (or `initAlpha` on the first
 *   iteration and after a reset), bracketing by factors of 10, zoom by safeguarded cubic
 *   interpolation (bisection every fifth try); a failed evaluation halves the step;
 * - the two-loop recursion over the last `historySize` (s, y) pairs, initial Hessian scaled
 *   by s'y / y'y; on the first iteration (and when a line search fails, after which the
 *   history is dropped and the search retried along the gradient) the history restarts;
 * - Stan's convergence tests, in its order: absolute change of f, gradient norm, step norm,
 *   iteration limit, relative change of f, relative gradient magnitude.
 * Stan's one oddity is kept: the sufficient-decrease test of the bracketing phase compares
 * against the *initial* trial step, not the current one.
 *
 * State is plain data (`LbfgsState`), advanced in place by `lbfgsStep`: callers that need the
 * previous state (checkpoints) clone it first.
 */

/** f and its gradient at x: writes g, returns f; NaN or an infinite f (or g) marks a failure. */
export type Objective = (x: Float64Array, g: Float64Array) => number;

export interface LbfgsSettings {
  /** Pairs (s, y) kept for the inverse Hessian (Stan's history_size). */
  readonly historySize: number;
  /** First trial step of the first line search (Stan's init_alpha). */
  readonly initAlpha: number;
  readonly tolObj: number;
  /** Relative change of f, in units of machine epsilon (Stan's tol_rel_obj). */
  readonly tolRelObj: number;
  readonly tolGrad: number;
  /** Relative gradient magnitude, in units of machine epsilon (Stan's tol_rel_grad). */
  readonly tolRelGrad: number;
  readonly tolParam: number;
  readonly maxIterations: number;
}

/** Stan's termination codes (TerminationCondition). */
export const LBFGS_CODES = {
  0: "successful step",
  10: "absolute parameter change below tolerance",
  20: "absolute change in objective below tolerance",
  21: "relative change in objective below tolerance",
  30: "gradient norm below tolerance",
  31: "relative gradient magnitude below tolerance",
  40: "maximum number of iterations reached",
  [-1]: "line search failed to achieve a sufficient decrease",
} as const;
export type LbfgsCode = keyof typeof LBFGS_CODES;

const C1 = 1e-4;
const C2 = 0.9;
const MIN_ALPHA = 1e-12;
const MAX_LS_ITERATIONS = 20;
const MAX_LS_RESTARTS = 10;
const EPS = Number.EPSILON;

export interface LbfgsState {
  readonly dim: number;
  x: Float64Array;
  f: number;
  g: Float64Array;
  /** Search direction of the next step. */
  p: Float64Array;
  xPrev: Float64Array;
  fPrev: number;
  gPrev: Float64Array;
  /** Direction of the last step (scaled after a history restart, as Stan's). */
  pPrev: Float64Array;
  /** Step length of the last line search, in units of `pPrev`. */
  alphaPrev: number;
  alpha: number;
  iteration: number;
  /** History, oldest first: s = x_k - x_{k-1}, y = g_k - g_{k-1}, rho = 1 / s'y. */
  s: Float64Array[];
  y: Float64Array[];
  rho: number[];
  /** s'y / y'y of the newest pair. */
  gamma: number;
  /** Evaluations of f and its gradient. */
  evaluations: number;
}

function evaluate(fn: Objective, x: Float64Array, g: Float64Array, state: LbfgsState): number {
  state.evaluations++;
  const f = fn(x, g);
  if (!Number.isFinite(f)) return NaN;
  for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) return NaN;
  return f;
}

/** Starts at x0; throws when f or its gradient is not finite there. */
export function lbfgsInit(fn: Objective, x0: ArrayLike<number>): LbfgsState {
  const d = x0.length;
  const state: LbfgsState = {
    dim: d,
    x: Float64Array.from(x0),
    f: 0,
    g: new Float64Array(d),
    p: new Float64Array(d),
    xPrev: new Float64Array(d),
    fPrev: 0,
    gPrev: new Float64Array(d),
    pPrev: new Float64Array(d),
    alphaPrev: 0,
    alpha: 0,
    iteration: 0,
    s: [],
    y: [],
    rho: [],
    gamma: 1,
    evaluations: 0,
  };
  state.f = evaluate(fn, state.x, state.g, state);
  if (Number.isNaN(state.f)) throw new Error("L-BFGS: the objective or its gradient is not finite at the initial point");
  for (let i = 0; i < d; i++) state.p[i] = -state.g[i]!;
  return state;
}

/** Minimiser on [loX, hiX] of the cubic with g(0) = 0, g'(0) = df0, g(x1) = f1, g'(x1) = df1 (Stan's CubicInterp). */
function cubicInterp(df0: number, x1: number, f1: number, df1: number, loX: number, hiX: number): number {
  const c3 = (-12 * f1 + 6 * x1 * (df0 + df1)) / (x1 * x1 * x1);
  const c2 = -(4 * df0 + 2 * df1) / x1 + (6 * f1) / (x1 * x1);
  const c1 = df0;
  const ts = Math.sqrt(c2 * c2 - 2 * c1 * c3);
  const s1 = -(c2 + ts) / c3;
  const s2 = -(c2 - ts) / c3;
  const value = (x: number) => x * (x * ((x * c3) / 3 + c2) / 2 + c1);
  let minF = value(loX);
  let minX = loX;
  let t = value(hiX);
  if (t < minF) {
    minF = t;
    minX = hiX;
  }
  if (loX < s1 && s1 < hiX) {
    t = value(s1);
    if (t < minF) {
      minF = t;
      minX = s1;
    }
  }
  if (loX < s2 && s2 < hiX) {
    t = value(s2);
    if (t < minF) minX = s2;
  }
  return minX;
}

interface Trial {
  x: Float64Array;
  f: number;
  g: Float64Array;
  alpha: number;
}

function setPoint(out: Float64Array, x0: Float64Array, alpha: number, p: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = x0[i]! + alpha * p[i]!;
}

/** Stan's WolfLSZoom: narrows [alo, ahi] until the strong Wolfe conditions hold. Returns false on failure. */
function zoom(
  fn: Objective,
  state: LbfgsState,
  out: Trial,
  p: Float64Array,
  f0: number,
  c1dfp: number,
  c2dfp: number,
  aloIn: number,
  aloFIn: number,
  aloDfpIn: number,
  ahiIn: number,
  ahiFIn: number,
  ahiDfpIn: number,
): boolean {
  let [alo, aloF, aloDfp, ahi, ahiF, ahiDfp] = [aloIn, aloFIn, aloDfpIn, ahiIn, ahiFIn, ahiDfpIn];
  const minRange = 1e-16;
  const x0 = state.x;
  for (let it = 1; ; it++) {
    if (Math.abs(alo - ahi) < minRange) return false;
    let alpha: number;
    if (it % 5 === 0) alpha = 0.5 * (alo + ahi);
    else {
      const d1 = aloDfp + ahiDfp - (3 * (aloF - ahiF)) / (alo - ahi);
      let d2 = Math.sqrt(d1 * d1 - aloDfp * ahiDfp);
      if (ahi < alo) d2 = -d2;
      alpha = ahi - ((ahi - alo) * (ahiDfp + d2 - d1)) / (ahiDfp - aloDfp + 2 * d2);
      const lo = Math.min(alo, ahi);
      const hi = Math.max(alo, ahi);
      const margin = 0.01 * Math.abs(alo - ahi);
      if (!Number.isFinite(alpha) || alpha < lo + margin || alpha > hi - margin) alpha = 0.5 * (alo + ahi);
    }
    setPoint(out.x, x0, alpha, p);
    let f = evaluate(fn, out.x, out.g, state);
    while (Number.isNaN(f)) {
      alpha = 0.5 * (alpha + Math.min(alo, ahi));
      if (Math.abs(Math.min(alo, ahi) - alpha) < minRange) return false;
      setPoint(out.x, x0, alpha, p);
      f = evaluate(fn, out.x, out.g, state);
    }
    out.f = f;
    out.alpha = alpha;
    const dfp = dotOf(out.g, p);
    if (f > f0 + alpha * c1dfp || f >= aloF) {
      ahi = alpha;
      ahiF = f;
      ahiDfp = dfp;
    } else {
      if (Math.abs(dfp) <= -c2dfp) return true;
      if (dfp * (ahi - alo) >= 0) {
        ahi = alo;
        ahiF = aloF;
        ahiDfp = aloDfp;
      }
      alo = alpha;
      aloF = f;
      aloDfp = dfp;
    }
  }
}

function dotOf(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Stan's WolfeLineSearch from state.x along p with first trial `alpha`. Returns false on failure. */
function wolfeLineSearch(fn: Objective, state: LbfgsState, p: Float64Array, alpha: number, out: Trial): boolean {
  const f0 = state.f;
  const dfp = dotOf(state.g, p);
  const c1dfp = C1 * dfp;
  const c2dfp = C2 * dfp;
  let alpha0 = MIN_ALPHA;
  let alpha1 = alpha;
  let prevF = f0;
  let prevDfp = dfp;
  let restarts = 0;
  for (let nits = 0; ; ) {
    if (nits >= MAX_LS_ITERATIONS) return false;
    setPoint(out.x, state.x, alpha1, p);
    const f1 = evaluate(fn, out.x, out.g, state);
    if (Number.isNaN(f1)) {
      if (restarts >= MAX_LS_RESTARTS) return false;
      alpha1 = 0.5 * (alpha0 + alpha1);
      restarts++;
      continue;
    }
    restarts = 0;
    out.f = f1;
    out.alpha = alpha1;
    const newDfp = dotOf(out.g, p);
    if (f1 > f0 + alpha * c1dfp || (f1 >= prevF && nits > 0)) {
      return zoom(fn, state, out, p, f0, c1dfp, c2dfp, alpha0, prevF, prevDfp, alpha1, f1, newDfp);
    }
    if (Math.abs(newDfp) <= -c2dfp) return true;
    if (newDfp >= 0) return zoom(fn, state, out, p, f0, c1dfp, c2dfp, alpha1, f1, newDfp, alpha0, prevF, prevDfp);
    alpha0 = alpha1;
    prevF = f1;
    prevDfp = newDfp;
    alpha1 *= 10;
    nits++;
  }
}

/** Adds (y, s) to the history (Stan's LBFGSUpdate::update); returns the initial Hessian scale on a reset. */
function updateHistory(state: LbfgsState, y: Float64Array, s: Float64Array, historySize: number, reset: boolean): number {
  const sy = dotOf(y, s);
  const yy = dotOf(y, y);
  let b0 = 1;
  if (reset) {
    b0 = yy / sy;
    state.s = [];
    state.y = [];
    state.rho = [];
  }
  state.gamma = sy / yy;
  state.s.push(Float64Array.from(s));
  state.y.push(Float64Array.from(y));
  state.rho.push(1 / sy);
  while (state.s.length > historySize) {
    state.s.shift();
    state.y.shift();
    state.rho.shift();
  }
  return b0;
}

/** p = -H g by the two-loop recursion (Stan's LBFGSUpdate::search_direction). */
function searchDirection(state: LbfgsState, p: Float64Array, g: Float64Array): void {
  const n = state.s.length;
  const alphas = new Float64Array(n);
  for (let i = 0; i < p.length; i++) p[i] = -g[i]!;
  for (let k = n - 1; k >= 0; k--) {
    const a = state.rho[k]! * dotOf(state.s[k]!, p);
    const y = state.y[k]!;
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - a * y[i]!;
    alphas[k] = a;
  }
  for (let i = 0; i < p.length; i++) p[i] = p[i]! * state.gamma;
  for (let k = 0; k < n; k++) {
    const b = state.rho[k]! * dotOf(state.y[k]!, p);
    const s = state.s[k]!;
    const c = alphas[k]! - b;
    for (let i = 0; i < p.length; i++) p[i] = p[i]! + c * s[i]!;
  }
}

/**
 * One iteration (Stan's BFGSMinimizer::step): a line search along p, then the history
 * update, the next direction and the convergence tests. Returns 0 to go on, a positive code
 * when converged (the new iterate is valid), -1 when the line search failed (the state is
 * unchanged but for `iteration` and `evaluations`).
 */
export function lbfgsStep(fn: Objective, state: LbfgsState, settings: LbfgsSettings): LbfgsCode {
  const d = state.dim;
  state.iteration++;
  let reset = state.iteration === 1 ? 1 : 0;
  const trial: Trial = { x: new Float64Array(d), f: NaN, g: new Float64Array(d), alpha: 0 };
  let alpha: number;
  for (;;) {
    if (reset) for (let i = 0; i < d; i++) state.p[i] = -state.g[i]!;
    if (state.iteration > 1 && reset !== 2) {
      alpha = Math.min(1, 1.01 * cubicInterp(dotOf(state.gPrev, state.pPrev), state.alphaPrev, state.f - state.fPrev, dotOf(state.g, state.pPrev), MIN_ALPHA, 1));
    } else {
      alpha = settings.initAlpha;
    }
    if (wolfeLineSearch(fn, state, state.p, alpha, trial)) break;
    if (reset) return -1;
    reset = 2;
  }
  alpha = trial.alpha;
  // The new iterate becomes current; the old one previous.
  [state.xPrev, state.x] = [state.x, trial.x];
  [state.gPrev, state.g] = [state.g, trial.g];
  state.fPrev = state.f;
  state.f = trial.f;
  [state.pPrev, state.p] = [state.p, state.pPrev];
  const s = new Float64Array(d);
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    s[i] = state.x[i]! - state.xPrev[i]!;
    y[i] = state.g[i]! - state.gPrev[i]!;
  }
  const gradNorm = Math.sqrt(dotOf(state.g, state.g));
  const stepNorm = Math.sqrt(dotOf(s, s));
  if (reset) {
    const b0 = updateHistory(state, y, s, settings.historySize, true);
    for (let i = 0; i < d; i++) state.pPrev[i] = state.pPrev[i]! / b0;
    state.alphaPrev = alpha * b0;
  } else {
    updateHistory(state, y, s, settings.historySize, false);
    state.alphaPrev = alpha;
  }
  state.alpha = alpha;
  searchDirection(state, state.p, state.g);

  if (Math.abs(state.fPrev - state.f) < settings.tolObj) return 20;
  if (gradNorm < settings.tolGrad) return 30;
  if (stepNorm < settings.tolParam) return 10;
  if (state.iteration >= settings.maxIterations) return 40;
  const relObj = Math.abs(state.fPrev - state.f) / Math.max(Math.abs(state.fPrev), Math.abs(state.f), 1);
  if (relObj < settings.tolRelObj * EPS) return 21;
  const relGrad = -dotOf(state.p, state.g) / Math.max(Math.abs(state.f), 1);
  if (relGrad < settings.tolRelGrad * EPS) return 31;
  return 0;
}

/**
 * Variable-order (1-5), variable-step BDF for stiff systems, in the quasi-constant-step
 * form of Shampine & Reichelt (1997) (the scheme of MATLAB's ode15s and SciPy's `BDF`; plain
 * BDF coefficients, as CVODES uses, not the NDF modification): backward differences D of the
 * interpolating polynomial, rescaled when the step changes; a simplified Newton iteration on
 * (I - c J) with J = df/dy from the compiled gradient code, refreshed only when Newton fails
 * to converge; local error from the next difference; order raised or lowered to the one
 * allowing the longest next step.
 *
 * With sensitivities the vector z = (y, S) shares one step-size and order control and one
 * error test (errconS on, as Stan sets it), with CVODES's staggered corrector (Stan's
 * CV_STAGGERED): Newton converges on y alone, then the sensitivity equations, linear in S,
 * are solved exactly at the new y with the Jacobian there: (I - c J(t, y)) dS = c F_S(S_pred) - psi_S.
 * A solve allocates nothing: its buffers are a workspace made once per system.
 */
import type { AugmentedSystem } from "./augmented.js";
import type { Failure } from "./erk.js";
import { luFactor, luSolve } from "./linalg.js";
import type { OdeOutput } from "./output.js";
import type { OdeTolerances } from "./types.js";

const MAX_ORDER = 5;
const NEWTON_MAXITER = 4;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10;
/**
 * CVODES's limits on one step (MXNCF, MXNEF): a step whose Newton iteration fails this many
 * times, or whose error test fails this many times, ends the solve (CV_CONV_FAILURE,
 * CV_ERR_FAILURE) rather than halving on towards a step too small to count (D191).
 */
const MAX_CONVERGENCE_FAILURES = 10;
const MAX_ERROR_FAILURES = 7;
/** gamma_k = sum_{j<=k} 1/j; BDF's alpha is gamma (no NDF kappa). */
const GAMMA = [0, 1, 1.5, 11 / 6, 25 / 12, 137 / 60];
/** The error constant of order k: 1 / (k + 1). */
const ERROR_CONST = [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 7];

/** Root mean square of factor * x / scale over the first `length` entries. */
function rmsNorm(x: Float64Array, scale: Float64Array, factor = 1, length = x.length): number {
  let s = 0;
  for (let k = 0; k < length; k++) {
    const v = (factor * x[k]!) / scale[k]!;
    s += v * v;
  }
  return Math.sqrt(s / length);
}

/** Scratch for `changeD` (k1 x k1 at most, k1 = MAX_ORDER + 1): solves never run concurrently. */
const R_SCRATCH = new Float64Array((MAX_ORDER + 1) ** 2);
const U_SCRATCH = new Float64Array((MAX_ORDER + 1) ** 2);
const RU_SCRATCH = new Float64Array((MAX_ORDER + 1) ** 2);

/**
 * Re-expresses the differences D[0..order] for a step `factor` times the current one (the
 * same interpolating polynomial on the new grid): D <- (R U)' D. Allocates nothing (it runs
 * at every step-size change).
 */
function changeD(D: Float64Array[], order: number, factor: number, tmp: Float64Array[]): void {
  const R = rMatrix(order, factor, R_SCRATCH);
  const U = rMatrix(order, 1, U_SCRATCH);
  const RU = RU_SCRATCH;
  const k1 = order + 1;
  for (let i = 0; i < k1; i++) for (let j = 0; j < k1; j++) {
    let s = 0;
    for (let l = 0; l < k1; l++) s += R[i * k1 + l]! * U[l * k1 + j]!;
    RU[i * k1 + j] = s;
  }
  const N = D[0]!.length;
  for (let j = 0; j < k1; j++) {
    const out = tmp[j]!;
    out.fill(0);
    for (let l = 0; l < k1; l++) {
      const w = RU[l * k1 + j]!;
      if (w === 0) continue;
      const d = D[l]!;
      for (let c = 0; c < N; c++) out[c]! += w * d[c]!;
    }
  }
  for (let j = 0; j < k1; j++) D[j]!.set(tmp[j]!);
}

/** R(order, factor) into `M` (row-major, k1 = order + 1): cumulative products of M with M[0] = 1, M[i][j] = (i - 1 - factor j) / i. */
function rMatrix(order: number, factor: number, M: Float64Array): Float64Array {
  const k1 = order + 1;
  for (let j = 0; j < k1; j++) M[j] = 1;
  for (let i = 1; i < k1; i++) {
    M[i * k1] = 0;
    for (let j = 1; j < k1; j++) M[i * k1 + j] = (i - 1 - factor * j) / i;
  }
  for (let i = 1; i < k1; i++) for (let j = 0; j < k1; j++) M[i * k1 + j]! *= M[(i - 1) * k1 + j]!;
  return M;
}

/** The buffers of BDF solves of one system (size N, n states), made once and reused by every solve. */
export class BdfWorkspace {
  /** Backward differences D[0 .. MAX_ORDER + 2], and scratch of the same shape for `changeD`. */
  readonly D: Float64Array[];
  readonly tmp: Float64Array[];
  readonly f: Float64Array;
  readonly f0: Float64Array;
  readonly y: Float64Array;
  readonly d: Float64Array;
  readonly dy: Float64Array;
  readonly yPredict: Float64Array;
  readonly psi: Float64Array;
  readonly scale: Float64Array;
  readonly zOut: Float64Array;
  /** Newton's Jacobian and matrix, and the sensitivities' matrix (n x n). */
  readonly J: Float64Array;
  readonly LU: Float64Array;
  readonly piv: Int32Array;
  readonly luS: Float64Array;
  readonly pivS: Int32Array;

  constructor(
    N: number,
    readonly n: number,
  ) {
    const vec = () => new Float64Array(N);
    this.D = Array.from({ length: MAX_ORDER + 3 }, vec);
    this.tmp = Array.from({ length: MAX_ORDER + 3 }, vec);
    [this.f, this.f0, this.y, this.d, this.dy, this.yPredict, this.psi, this.scale, this.zOut] = [vec(), vec(), vec(), vec(), vec(), vec(), vec(), vec(), vec()];
    this.J = new Float64Array(n * n);
    this.LU = new Float64Array(n * n);
    this.piv = new Int32Array(n);
    this.luS = new Float64Array(n * n);
    this.pivS = new Int32Array(n);
  }
}

/**
 * Integrates `sys` from (t0, z0) and records the state at each `ts[i]` (strictly after t0,
 * non-decreasing) into `out`. Returns null on success or why it stopped.
 */
export function integrateBdf(sys: AugmentedSystem, work: BdfWorkspace, z0: Float64Array, t0: number, ts: ArrayLike<number>, tol: OdeTolerances, out: OdeOutput): Failure | null {
  const N = sys.size;
  const n = work.n;
  const blocks = N / n;
  const { rtol, atol, maxSteps } = tol;
  const tBound = ts[ts.length - 1]!;
  const newtonTol = Math.max((10 * Number.EPSILON) / rtol, Math.min(0.03, Math.sqrt(rtol)));
  const { D, tmp, f, f0, y, d, dy, yPredict, psi, scale, zOut, J, LU, piv, luS, pivS } = work;
  let luValid = false;

  let t = t0;
  if (!sys.eval(t, z0, f, 0)) return { reason: "non-finite", t };
  f0.set(f);
  J.set(sys.stateJacobian(t, z0));
  let hAbs = initialStep(sys, work, t0, z0, f0, tBound - t0, rtol, atol);
  for (const Dj of D) Dj.fill(0);
  D[0]!.set(z0);
  for (let c = 0; c < N; c++) D[1]![c] = f0[c]! * hAbs;
  let order = 1;
  let nEqual = 0;
  let steps = 0;
  let i = 0;
  let nonFinite = false;

  /** Iterations the last Newton solve took. */
  let newtonIterations = 0;
  /** Newton on the states y = yPredict + d (the first n entries): whether it converged (iterations in `newtonIterations`). */
  const newton = (tNew: number, c: number): boolean => {
    d.fill(0);
    y.set(yPredict);
    let dyNormOld = -1;
    for (let k = 0; k < NEWTON_MAXITER; k++) {
      newtonIterations = k + 1;
      if (!sys.evalStates(tNew, y, f)) {
        nonFinite = true;
        return false;
      }
      for (let q = 0; q < n; q++) dy[q] = c * f[q]! - psi[q]! - d[q]!;
      luSolve(LU, n, piv, dy, 0);
      const dyNorm = rmsNorm(dy, scale, 1, n);
      const rate = dyNormOld < 0 ? -1 : dyNorm / dyNormOld;
      if (rate >= 0 && (rate >= 1 || (Math.pow(rate, NEWTON_MAXITER - k) / (1 - rate)) * dyNorm > newtonTol)) return false;
      for (let q = 0; q < n; q++) {
        y[q]! += dy[q]!;
        d[q]! += dy[q]!;
      }
      if (dyNorm === 0 || (rate >= 0 && (rate / (1 - rate)) * dyNorm < newtonTol)) return true;
      dyNormOld = dyNorm;
    }
    return false;
  };

  /** The sensitivities at the converged y: one linear solve per column with (I - c J(tNew, y)). */
  const sensitivities = (tNew: number, c: number): boolean => {
    const jy = sys.stateJacobian(tNew, y);
    const jp = sys.paramJacobian;
    const np = (N - n * (1 + sys.n0)) / n;
    for (let a = 0; a < n * n; a++) luS[a] = -c * jy[a]!;
    for (let a = 0; a < n; a++) luS[a * n + a]! += 1;
    if (!luFactor(luS, n, pivS)) return false;
    for (let b = 1; b < blocks; b++) {
      const col = b * n;
      const j = b - 1;
      for (let s = 0; s < n; s++) {
        let acc = j >= sys.n0 ? jp[s * np + j - sys.n0]! : 0;
        for (let k = 0; k < n; k++) acc += jy[s * n + k]! * yPredict[col + k]!;
        dy[col + s] = c * acc - psi[col + s]!;
      }
      luSolve(luS, n, pivS, dy, col);
      for (let s = 0; s < n; s++) {
        d[col + s] = dy[col + s]!;
        y[col + s] = yPredict[col + s]! + dy[col + s]!;
      }
    }
    for (let q = n; q < N; q++) if (!Number.isFinite(y[q]!)) return false;
    // The fresh Jacobian serves the next step's Newton matrix.
    J.set(jy);
    luValid = false;
    return true;
  };

  while (i < ts.length) {
    // Ten units in the last place of t, as SciPy's (at t = 0 the smallest subnormal's: the
    // product with EPSILON underflowed to 0 there, and a zero step could be taken 1e8 times).
    const minStep = 10 * Math.max(Number.EPSILON * Math.abs(t), Number.MIN_VALUE);
    if (hAbs < minStep) {
      changeD(D, order, minStep / hAbs, tmp);
      hAbs = minStep;
      luValid = false;
    }
    let accepted = false;
    let errorNorm = 0;
    let safety = 0;
    let tNew = t;
    let convergenceFailures = 0;
    let errorFailures = 0;
    while (!accepted) {
      if (hAbs < minStep || !Number.isFinite(hAbs)) return { reason: nonFinite ? "non-finite" : "step-too-small", t };
      tNew = t + hAbs;
      if (tNew >= tBound) {
        tNew = tBound;
        changeD(D, order, (tNew - t) / hAbs, tmp);
        nEqual = 0;
        luValid = false;
      }
      const h = tNew - t;
      hAbs = h;
      yPredict.set(D[0]!);
      for (let j = 1; j <= order; j++) for (let q = 0; q < N; q++) yPredict[q]! += D[j]![q]!;
      for (let q = 0; q < N; q++) scale[q] = atol + rtol * Math.abs(yPredict[q]!);
      psi.fill(0);
      for (let j = 1; j <= order; j++) {
        const g = GAMMA[j]! / GAMMA[order]!;
        for (let q = 0; q < N; q++) psi[q]! += D[j]![q]! * g;
      }
      const c = h / GAMMA[order]!;
      let converged = false;
      let currentJac = false;
      for (;;) {
        if (!luValid) {
          for (let a = 0; a < n * n; a++) LU[a] = -c * J[a]!;
          for (let a = 0; a < n; a++) LU[a * n + a]! += 1;
          luValid = luFactor(LU, n, piv);
        }
        if (luValid) converged = newton(tNew, c);
        if (converged || currentJac) break;
        J.set(sys.stateJacobian(tNew, yPredict));
        if (!allFinite(J)) break;
        luValid = false;
        currentJac = true;
      }
      if (converged && blocks > 1 && !sensitivities(tNew, c)) {
        nonFinite = true;
        converged = false;
      }
      if (!converged) {
        if (++convergenceFailures >= MAX_CONVERGENCE_FAILURES) return { reason: nonFinite ? "non-finite" : "step-too-small", t };
        hAbs *= 0.5;
        changeD(D, order, 0.5, tmp);
        nEqual = 0;
        luValid = false;
        continue;
      }
      nonFinite = false;
      safety = (0.9 * (2 * NEWTON_MAXITER + 1)) / (2 * NEWTON_MAXITER + newtonIterations);
      for (let q = 0; q < N; q++) scale[q] = atol + rtol * Math.abs(y[q]!);
      errorNorm = rmsNorm(d, scale, ERROR_CONST[order]!);
      if (errorNorm > 1) {
        if (++errorFailures >= MAX_ERROR_FAILURES) return { reason: "step-too-small", t };
        const factor = Math.max(MIN_FACTOR, safety * Math.pow(errorNorm, -1 / (order + 1)));
        hAbs *= factor;
        changeD(D, order, factor, tmp);
        nEqual = 0;
      } else accepted = true;
    }
    if (++steps > maxSteps) return { reason: "max-steps", t: tNew };
    nEqual++;
    t = tNew;
    // D^{j+1} y_n = D^j y_n - D^j y_{n-1}, with d = D^{order+1} y_n.
    for (let q = 0; q < N; q++) {
      D[order + 2]![q] = d[q]! - D[order + 1]![q]!;
      D[order + 1]![q] = d[q]!;
    }
    for (let j = order; j >= 0; j--) for (let q = 0; q < N; q++) D[j]![q]! += D[j + 1]![q]!;
    // Output times passed by this step, from the interpolating polynomial.
    while (i < ts.length && ts[i]! <= t) {
      if (ts[i] === t) out.record(i, D[0]!);
      else {
        zOut.set(D[0]!);
        let p = 1;
        for (let j = 0; j < order; j++) {
          p *= (ts[i]! - (t - hAbs * j)) / (hAbs * (j + 1));
          for (let q = 0; q < N; q++) zOut[q]! += D[j + 1]![q]! * p;
        }
        out.record(i, zOut);
      }
      i++;
      steps = 0;
    }
    if (nEqual < order + 1) continue;
    const errorM = order > 1 ? rmsNorm(D[order]!, scale, ERROR_CONST[order - 1]!) : Infinity;
    const errorP = order < MAX_ORDER ? rmsNorm(D[order + 2]!, scale, ERROR_CONST[order + 1]!) : Infinity;
    // The order (order - 1, order, order + 1) allowing the longest next step.
    const factorM = Math.pow(errorM, -1 / order);
    const factorSame = Math.pow(errorNorm, -1 / (order + 1));
    const factorP = Math.pow(errorP, -1 / (order + 2));
    let best = factorM;
    let change = -1;
    if (factorSame > best) {
      best = factorSame;
      change = 0;
    }
    if (factorP > best) {
      best = factorP;
      change = 1;
    }
    order += change;
    const factor = Math.min(MAX_FACTOR, safety * best);
    hAbs *= factor;
    changeD(D, order, factor, tmp);
    nEqual = 0;
    luValid = false;
  }
  return null;
}

function allFinite(a: Float64Array): boolean {
  for (let k = 0; k < a.length; k++) if (!Number.isFinite(a[k]!)) return false;
  return true;
}

/** Hairer-Wanner's starting step for a first-order method (as SciPy's `select_initial_step`); uses the workspace's y, dy, d and scale as scratch. */
function initialStep(sys: AugmentedSystem, work: BdfWorkspace, t0: number, z0: Float64Array, f0: Float64Array, interval: number, rtol: number, atol: number): number {
  const N = z0.length;
  const { scale, y: z1, dy: f1, d: diff } = work;
  for (let q = 0; q < N; q++) scale[q] = atol + rtol * Math.abs(z0[q]!);
  const d0 = rmsNorm(z0, scale);
  const d1 = rmsNorm(f0, scale);
  let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
  h0 = Math.min(h0, interval);
  for (let q = 0; q < N; q++) z1[q] = z0[q]! + h0 * f0[q]!;
  if (!sys.eval(t0 + h0, z1, f1, 0)) return h0 * 1e-3;
  for (let q = 0; q < N; q++) diff[q] = f1[q]! - f0[q]!;
  const d2 = rmsNorm(diff, scale) / h0;
  const h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : Math.pow(0.01 / Math.max(d1, d2), 1 / 2);
  return Math.min(100 * h0, h1, interval);
}

/** One entry point for every solver: checks, the coupled system, the method's integrator. */
import { AugmentedSystem } from "./augmented.js";
import { integrateBdf } from "./bdf.js";
import { CASH_KARP, DORMAND_PRINCE, integrateExplicit } from "./erk.js";
import { defaultTolerances, type OdeMethod, type OdeProblem, type OdeResult, type OdeTolerances } from "./types.js";

/** What a solve needs besides the problem. */
export interface OdeSolveOptions extends Partial<OdeTolerances> {
  readonly method: OdeMethod;
  /** Also integrate the sensitivities dy/d(y0, p). Default false. */
  readonly sensitivities?: boolean;
  /** With sensitivities, whether to include y0 (false where y0 is data: theta = p). Default true. */
  readonly initialSensitivities?: boolean;
}

/**
 * Solves dy/dt = f(t, y, p), y(t0) = y0, and returns y (and, when asked, its sensitivities
 * to y0 and p) at the output times `ts` (each after t0, non-decreasing); a solve that fails
 * (too many steps, a non-finite state) returns `{ ok: false }` rather than throwing, so that
 * a log density can reject the proposal. `adams` is integrated by Dormand-Prince at the
 * Adams tolerances (DECISIONS.md D131). Arguments are the caller's to check (`checkOdeTimes`).
 */
export function solveOde(problem: OdeProblem, y0: ArrayLike<number>, t0: number, ts: ArrayLike<number>, p: Float64Array, options: OdeSolveOptions): OdeResult {
  const defaults = defaultTolerances(options.method);
  const tol: OdeTolerances = {
    rtol: options.rtol ?? defaults.rtol,
    atol: options.atol ?? defaults.atol,
    maxSteps: options.maxSteps ?? defaults.maxSteps,
  };
  const sens = options.sensitivities === true;
  const sys = new AugmentedSystem(problem, p, sens, options.initialSensitivities !== false);
  const n = problem.n;
  const T = ts.length;
  const m = sys.m;
  const y = new Float64Array(T * n);
  const s = sens ? new Float64Array(T * n * m) : null;
  const record = (i: number, z: Float64Array) => {
    for (let k = 0; k < n; k++) y[i * n + k] = z[k]!;
    if (s !== null) for (let k = 0; k < n * m; k++) s[i * n * m + k] = z[n + k]!;
  };
  const z0 = sys.initial(y0);
  const failure =
    options.method === "bdf"
      ? integrateBdf(sys, n, z0, t0, ts, tol, record)
      : integrateExplicit(sys, options.method === "ckrk" ? CASH_KARP : DORMAND_PRINCE, z0, t0, ts, tol, record);
  if (failure !== null) return { ok: false, reason: failure.reason, t: failure.t };
  return { ok: true, y, sens: s, evaluations: sys.evaluations };
}

/** A description of what is wrong with these times (t0 finite; ts finite, after t0, non-decreasing), or null. */
export function checkOdeTimes(t0: number, ts: ArrayLike<number>): string | null {
  if (!Number.isFinite(t0)) return `t0 is ${t0}; it must be finite`;
  if (ts.length === 0) return "ts is empty";
  for (let i = 0; i < ts.length; i++) {
    const v = ts[i]!;
    if (!Number.isFinite(v)) return `ts[${i}] is ${v}; output times must be finite`;
    if (i === 0 && !(v > t0)) return `ts[0] = ${v} is not after t0 = ${t0}`;
    if (i > 0 && v < ts[i - 1]!) return `ts is not sorted: ts[${i}] = ${v} < ts[${i - 1}] = ${ts[i - 1]}`;
  }
  return null;
}

/** A description of what is wrong with these tolerances, or null. */
export function checkOdeTolerances(tol: Partial<OdeTolerances>): string | null {
  for (const key of ["rtol", "atol"] as const) {
    const v = tol[key];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v > 0)) return `${key} must be a positive finite number, got ${String(v)}`;
  }
  const m = tol.maxSteps;
  if (m !== undefined && !(typeof m === "number" && Number.isInteger(m) && m > 0)) return `maxSteps must be a positive integer, got ${String(m)}`;
  return null;
}

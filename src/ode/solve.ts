/** One entry point for every solver: checks, the coupled system, the method's integrator. */
import { AugmentedSystem } from "./augmented.js";
import { BdfWorkspace, integrateBdf } from "./bdf.js";
import { CASH_KARP, DORMAND_PRINCE, ExplicitWorkspace, integrateExplicit, type Failure } from "./erk.js";
import { OdeOutput } from "./output.js";
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
 * Repeated solves of one problem with one method and one choice of sensitivities: the coupled
 * system and every buffer are made once here, so that a solve allocates nothing (a log
 * density solves its ODE at every gradient; DECISIONS.md D189).
 */
export class OdeSolver {
  readonly tolerances: OdeTolerances;
  private readonly sys: AugmentedSystem;
  private readonly output: OdeOutput;
  private readonly z0: Float64Array;
  private readonly explicit: ExplicitWorkspace | null;
  private readonly bdf: BdfWorkspace | null;

  constructor(problem: OdeProblem, options: OdeSolveOptions) {
    const defaults = defaultTolerances(options.method);
    this.tolerances = {
      rtol: options.rtol ?? defaults.rtol,
      atol: options.atol ?? defaults.atol,
      maxSteps: options.maxSteps ?? defaults.maxSteps,
    };
    this.sys = new AugmentedSystem(problem, new Float64Array(problem.np), options.sensitivities === true, options.initialSensitivities !== false);
    this.output = new OdeOutput(problem.n, this.sys.m);
    this.z0 = new Float64Array(this.sys.size);
    const bdf = options.method === "bdf";
    this.bdf = bdf ? new BdfWorkspace(this.sys.size, problem.n) : null;
    this.explicit = bdf ? null : new ExplicitWorkspace(this.sys.size, options.method === "ckrk" ? CASH_KARP : DORMAND_PRINCE);
  }

  /** Sensitivity columns per state and time: n + np, np where y0 is data, 0 without sensitivities. */
  get columns(): number {
    return this.sys.m;
  }

  /** Right-hand side evaluations of every solve so far (each Jacobian counts n more). */
  get evaluations(): number {
    return this.sys.evaluations;
  }

  /**
   * Solves from (t0, y0) with parameters p and writes y (`ts.length * n`) and, with
   * sensitivities, `sens` (`ts.length * n * columns`, the layout of `OdeResult.sens`); null on
   * success, else why it stopped.
   */
  solveInto(y0: ArrayLike<number>, t0: number, ts: ArrayLike<number>, p: Float64Array, y: Float64Array, sens: Float64Array | null): Failure | null {
    const sys = this.sys;
    sys.setParameters(p);
    this.output.target(y, sens);
    const z0 = sys.initial(y0, this.z0);
    return this.bdf !== null
      ? integrateBdf(sys, this.bdf, z0, t0, ts, this.tolerances, this.output)
      : integrateExplicit(sys, this.explicit!, z0, t0, ts, this.tolerances, this.output);
  }
}

/**
 * Solves dy/dt = f(t, y, p), y(t0) = y0, and returns y (and, when asked, its sensitivities
 * to y0 and p) at the output times `ts` (each after t0, non-decreasing); a solve that fails
 * (too many steps, a non-finite state) returns `{ ok: false }` rather than throwing, so that
 * a log density can reject the proposal. `adams` is integrated by Dormand-Prince at the
 * Adams tolerances (DECISIONS.md D131). Arguments are the caller's to check (`checkOdeTimes`).
 */
export function solveOde(problem: OdeProblem, y0: ArrayLike<number>, t0: number, ts: ArrayLike<number>, p: Float64Array, options: OdeSolveOptions): OdeResult {
  const solver = new OdeSolver(problem, options);
  const n = problem.n;
  const T = ts.length;
  const y = new Float64Array(T * n);
  const sens = options.sensitivities === true ? new Float64Array(T * n * solver.columns) : null;
  const failure = solver.solveInto(y0, t0, ts, p, y, sens);
  if (failure !== null) return { ok: false, reason: failure.reason, t: failure.t };
  return { ok: true, y, sens, evaluations: solver.evaluations };
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

/**
 * What generated code calls (`rt.ode`): a problem made once per ode node from its compiled
 * right-hand side and vector-Jacobian product, and solves that write into the caller's
 * buffers and answer whether they succeeded (a failure rejects the proposal).
 */
import type { Failure } from "./erk.js";
import { checkOdeTimes, OdeSolver } from "./solve.js";
import { noOdeFailures, ODE_FAILURE_REASONS, ODE_METHODS, type CoupledDerivative, type OdeFailureCounts, type OdeFailureReason, type OdeMethod, type OdeProblem, type OdeTolerances } from "./types.js";

/** One ode node of a compiled model: its problem, settings, and how its solves went. */
export interface CompiledOde extends OdeProblem {
  readonly method: OdeMethod;
  /** The initial time (one element): generated code writes it before each solve where it varies. */
  readonly t0: Float64Array;
  readonly ts: Float64Array;
  readonly tolerances: OdeTolerances;
  /** Whether y0's sensitivities are integrated: y0 or t0 depends on parameters. */
  readonly y0Sensitivities: boolean;
  /** Whether ts depends on parameters: generated code writes it before each solve, which checks it. */
  readonly timesVary: boolean;
  /** Whether t0 depends on parameters: checked against ts before each solve, as varying times are. */
  readonly startVaries: boolean;
  /** Solves that failed, by reason, since this instance was made. */
  readonly failures: OdeFailureCounts;
  /** The solvers (without and with sensitivities), made at the first solve of each kind and reused. */
  solver: OdeSolver | null;
  sensSolver: OdeSolver | null;
  /** Scratch for `timeAdjoints`: one state and its derivative. */
  readonly row: Float64Array;
  readonly slope: Float64Array;
}

/**
 * Failed solves of every compiled model on this thread, by reason. A thread runs one chain's
 * chunk at a time from start to end without yielding, so what this tally gains across a chunk
 * is that chunk's (the worker reads it before and after: `odeFailuresSince`).
 */
const threadFailures: OdeFailureCounts = noOdeFailures();

/** A copy of this thread's tally of failed solves. */
export function odeFailureTally(): OdeFailureCounts {
  return { ...threadFailures };
}

/** The failed solves of this thread since `before` (a tally taken earlier), or null when there were none. */
export function odeFailuresSince(before: OdeFailureCounts): OdeFailureCounts | null {
  const since = noOdeFailures();
  let any = false;
  for (const r of ODE_FAILURE_REASONS) {
    since[r] = threadFailures[r] - before[r];
    if (since[r] !== 0) any = true;
  }
  return any ? since : null;
}

function recordFailure(problem: CompiledOde, reason: OdeFailureReason): void {
  problem.failures[reason]++;
  threadFailures[reason]++;
}

type Rhs = OdeProblem["rhs"];
type Jacobian = NonNullable<OdeProblem["jacobian"]>;
type Coupled = CoupledDerivative["evaluate"];

/** Generated code's entry points. */
export const odeRuntime = {
  /**
   * The problem of an ode node from its compiled right-hand side, Jacobian and (where the
   * compiler made one) coupled system's derivative, whose sensitivities include y0's when
   * `y0Sensitivities`.
   */
  problem(
    n: number,
    np: number,
    rhs: Rhs,
    jacobian: Jacobian,
    coupled: Coupled | null,
    method: number,
    t0: Float64Array,
    ts: Float64Array,
    rtol: number,
    atol: number,
    maxSteps: number,
    y0Sensitivities: boolean,
    timesVary: boolean,
    startVaries: boolean,
  ): CompiledOde {
    return {
      n,
      np,
      rhs,
      jacobian,
      ...(coupled === null ? {} : { coupled: { initialSensitivities: y0Sensitivities, evaluate: coupled } }),
      method: ODE_METHODS[method]!,
      t0,
      ts,
      tolerances: { rtol, atol, maxSteps },
      y0Sensitivities,
      timesVary,
      startVaries,
      failures: noOdeFailures(),
      solver: null,
      sensSolver: null,
      row: new Float64Array(n),
      slope: new Float64Array(n),
    };
  },
  /** y (length ts.length * n) at the output times; false when the solve failed. */
  solve(problem: CompiledOde, y0: Float64Array, p: Float64Array, y: Float64Array): boolean {
    if (!timesValid(problem, y)) return false;
    const solver = (problem.solver ??= new OdeSolver(problem, { method: problem.method, ...problem.tolerances }));
    return finish(problem, solver.solveInto(y0, problem.t0[0]!, problem.ts, p, y, null), y);
  },
  /** As `solve`, with the sensitivities written into `s` (layout of `OdeResult.sens`). */
  solveSens(problem: CompiledOde, y0: Float64Array, p: Float64Array, y: Float64Array, s: Float64Array): boolean {
    if (!timesValid(problem, y)) return false;
    const solver = (problem.sensSolver ??= new OdeSolver(problem, {
      method: problem.method,
      ...problem.tolerances,
      sensitivities: true,
      initialSensitivities: problem.y0Sensitivities,
    }));
    return finish(problem, solver.solveInto(y0, problem.t0[0]!, problem.ts, p, y, s), y);
  },
  /**
   * The adjoints of the output times from the solution's adjoint `gy`: dy(ts[i])/dts[i] is
   * f(ts[i], y(ts[i]), p), so `out[i]` = sum over states of gy[i, s] f_s (Stan's
   * ode_store_sensitivities for var times). `y` and `p` are the successful solve's.
   */
  timeAdjoints(problem: CompiledOde, y: Float64Array, p: Float64Array, gy: Float64Array, out: Float64Array): void {
    const { n, ts, row, slope } = problem;
    for (let i = 0; i < ts.length; i++) {
      for (let s = 0; s < n; s++) row[s] = y[i * n + s]!;
      problem.rhs(ts[i]!, row, p, slope);
      let acc = 0;
      for (let s = 0; s < n; s++) acc += gy[i * n + s]! * slope[s]!;
      out[i] = acc;
    }
  },
  /**
   * The adjoint of a t0 that depends on parameters: dy(ts[i])/dt0 = -S_y0(ts[i]) f(t0, y0), so
   * it is -sum over states of y0Adjoint[s] f_s(t0, y0, p), where `y0Adjoint` (first n entries)
   * is the solution's adjoint carried to y0 through the sensitivities (D208's formula).
   */
  startAdjoint(problem: CompiledOde, y0: Float64Array, p: Float64Array, y0Adjoint: Float64Array): number {
    const { n, slope } = problem;
    problem.rhs(problem.t0[0]!, y0, p, slope);
    let acc = 0;
    for (let s = 0; s < n; s++) acc += y0Adjoint[s]! * slope[s]!;
    return -acc;
  },
};

/**
 * Whether the output times can be solved for: always for data times and t0 (checked when the
 * model was built); where times or t0 depend on parameters, t0 must be finite and the times
 * finite, after t0 and non-decreasing, or the solve fails as Stan's domain error does
 * (counted, y NaN).
 */
function timesValid(problem: CompiledOde, y: Float64Array): boolean {
  if ((!problem.timesVary && !problem.startVaries) || checkOdeTimes(problem.t0[0]!, problem.ts) === null) return true;
  recordFailure(problem, "invalid-times");
  y.fill(NaN);
  return false;
}

/** Whether the solve succeeded; a failure is counted and leaves y NaN. */
function finish(problem: CompiledOde, failure: Failure | null, y: Float64Array): boolean {
  if (failure === null) return true;
  recordFailure(problem, failure.reason);
  y.fill(NaN);
  return false;
}

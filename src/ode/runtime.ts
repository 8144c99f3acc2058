/**
 * What generated code calls (`rt.ode`): a problem made once per ode node from its compiled
 * right-hand side and vector-Jacobian product, and solves that write into the caller's
 * buffers and answer whether they succeeded (a failure rejects the proposal).
 */
import type { Failure } from "./erk.js";
import { OdeSolver } from "./solve.js";
import { noOdeFailures, ODE_FAILURE_REASONS, ODE_METHODS, type OdeFailureCounts, type OdeFailureReason, type OdeMethod, type OdeProblem, type OdeTolerances } from "./types.js";

/** One ode node of a compiled model: its problem, settings, and how its solves went. */
export interface CompiledOde extends OdeProblem {
  readonly method: OdeMethod;
  readonly t0: number;
  readonly ts: Float64Array;
  readonly tolerances: OdeTolerances;
  /** Whether y0 depends on parameters (its sensitivities are then integrated too). */
  readonly y0Varies: boolean;
  /** Solves that failed, by reason, since this instance was made. */
  readonly failures: OdeFailureCounts;
  /** The solvers (without and with sensitivities), made at the first solve of each kind and reused. */
  solver: OdeSolver | null;
  sensSolver: OdeSolver | null;
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

/** Generated code's entry points. */
export const odeRuntime = {
  /** The problem of an ode node from its compiled right-hand side and Jacobian. */
  problem(n: number, np: number, rhs: Rhs, jacobian: Jacobian, method: number, t0: number, ts: Float64Array, rtol: number, atol: number, maxSteps: number, y0Varies: boolean): CompiledOde {
    return {
      n,
      np,
      rhs,
      jacobian,
      method: ODE_METHODS[method]!,
      t0,
      ts,
      tolerances: { rtol, atol, maxSteps },
      y0Varies,
      failures: noOdeFailures(),
      solver: null,
      sensSolver: null,
    };
  },
  /** y (length ts.length * n) at the output times; false when the solve failed. */
  solve(problem: CompiledOde, y0: Float64Array, p: Float64Array, y: Float64Array): boolean {
    const solver = (problem.solver ??= new OdeSolver(problem, { method: problem.method, ...problem.tolerances }));
    return finish(problem, solver.solveInto(y0, problem.t0, problem.ts, p, y, null), y);
  },
  /** As `solve`, with the sensitivities written into `s` (layout of `OdeResult.sens`). */
  solveSens(problem: CompiledOde, y0: Float64Array, p: Float64Array, y: Float64Array, s: Float64Array): boolean {
    const solver = (problem.sensSolver ??= new OdeSolver(problem, {
      method: problem.method,
      ...problem.tolerances,
      sensitivities: true,
      initialSensitivities: problem.y0Varies,
    }));
    return finish(problem, solver.solveInto(y0, problem.t0, problem.ts, p, y, s), y);
  },
};

/** Whether the solve succeeded; a failure is counted and leaves y NaN. */
function finish(problem: CompiledOde, failure: Failure | null, y: Float64Array): boolean {
  if (failure === null) return true;
  recordFailure(problem, failure.reason);
  y.fill(NaN);
  return false;
}

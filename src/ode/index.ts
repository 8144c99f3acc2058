/** Pure ODE solvers with forward sensitivities (no IR): the `ode` node's numerical core. */
export { solveOde, checkOdeTimes, checkOdeTolerances, type OdeSolveOptions } from "./solve.js";
export { ODE_METHODS, defaultTolerances, type OdeMethod, type OdeProblem, type OdeResult, type OdeTolerances, type OdeFailureReason, type OdeFailureCounts, ODE_FAILURE_REASONS, describeOdeFailures, noOdeFailures, totalOdeFailures } from "./types.js";
export { odeFailureTally, odeFailuresSince } from "./runtime.js";

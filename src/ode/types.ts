/**
 * The problem an ODE solver sees: a right-hand side dy/dt = f(t, y, p) over flat typed arrays,
 * and its Jacobian or vector-Jacobian product (from the compiled gradient code), so that forward
 * sensitivities need no hand-written derivatives.
 */

/** The solvers: Stan's `ode_rk45`, `ode_ckrk`, `ode_bdf` and `ode_adams`. */
export type OdeMethod = "rk45" | "ckrk" | "bdf" | "adams";

export const ODE_METHODS: readonly OdeMethod[] = ["rk45", "ckrk", "bdf", "adams"];

/** dy/dt = f(t, y, p): `n` states, `np` parameters (everything the right-hand side reads that may vary). */
export interface OdeProblem {
  readonly n: number;
  readonly np: number;
  /** Writes f(t, y, p) into `dy`. */
  rhs(t: number, y: Float64Array, p: Float64Array, dy: Float64Array): void;
  /**
   * Writes w' df/dy into `gy` (length n) and w' df/dp into `gp` (length np), overwriting both:
   * one row of the Jacobian per unit `w`. A problem gives this or `jacobian` (or both).
   */
  vjp?(t: number, y: Float64Array, p: Float64Array, w: Float64Array, gy: Float64Array, gp: Float64Array): void;
  /**
   * Writes the whole Jacobian, J_y (row-major n x n) into `jy` and J_p (n x np) into `jp`, in
   * one call; solvers use it rather than n vector-Jacobian products where it is given.
   */
  jacobian?(t: number, y: Float64Array, p: Float64Array, jy: Float64Array, jp: Float64Array): void;
  /**
   * The coupled system's derivative in one call (compiled models give it): for z = (y, S) with
   * S's columns for y0 (when `initialSensitivities`) then p, writes (f, J_y S + [0 | J_p]) into
   * dz[at ..), equal term for term to what `rhs` and `jacobian` give.
   */
  readonly coupled?: CoupledDerivative;
}

/** A problem's coupled system (states and forward sensitivities) evaluated in one call. */
export interface CoupledDerivative {
  /** Whether S has columns for y0 (n of them before p's np), as where y0 depends on parameters. */
  readonly initialSensitivities: boolean;
  evaluate(t: number, z: Float64Array, p: Float64Array, dz: Float64Array, at: number): void;
}

/** Error control and work limit (Stan's names: relative_tolerance, absolute_tolerance, max_num_steps). */
export interface OdeTolerances {
  readonly rtol: number;
  readonly atol: number;
  /** Most steps between two output times (Stan counts them the same way). */
  readonly maxSteps: number;
}

/** Stan's defaults: `ode_rk45`/`ode_ckrk` 1e-6, 1e-6, 1e6; `ode_bdf`/`ode_adams` 1e-10, 1e-10, 1e8. */
export function defaultTolerances(method: OdeMethod): OdeTolerances {
  return method === "rk45" || method === "ckrk" ? { rtol: 1e-6, atol: 1e-6, maxSteps: 1e6 } : { rtol: 1e-10, atol: 1e-10, maxSteps: 1e8 };
}

/**
 * Why a solve gave up: too many steps, a non-finite state or derivative, a step too small to
 * make progress, or output times (depending on parameters) that are not finite, after t0 and
 * non-decreasing at this point.
 */
export type OdeFailureReason = "max-steps" | "non-finite" | "step-too-small" | "invalid-times";

/** Failed solves by reason. */
export type OdeFailureCounts = Record<OdeFailureReason, number>;

/** The reasons in a fixed order (for printing and for summing counts). */
export const ODE_FAILURE_REASONS: readonly OdeFailureReason[] = ["max-steps", "non-finite", "step-too-small", "invalid-times"];

/** Failed solves in words, e.g. "3 over max steps, 1 non-finite" (only the reasons that occurred). */
export function describeOdeFailures(counts: OdeFailureCounts): string {
  const words: Record<OdeFailureReason, string> = { "max-steps": "over max steps", "non-finite": "non-finite", "step-too-small": "step too small", "invalid-times": "with output times out of order" };
  return ODE_FAILURE_REASONS.filter((r) => counts[r] > 0)
    .map((r) => `${counts[r]} ${words[r]}`)
    .join(", ");
}

/** No failed solve: a zero count for every reason. */
export function noOdeFailures(): OdeFailureCounts {
  return { "max-steps": 0, "non-finite": 0, "step-too-small": 0, "invalid-times": 0 };
}

/** Failed solves of all reasons. */
export function totalOdeFailures(counts: OdeFailureCounts): number {
  return ODE_FAILURE_REASONS.reduce((sum, r) => sum + counts[r], 0);
}

/**
 * A solve's result: `y[i * n + s]` is state s at `ts[i]`; with sensitivities,
 * `sens[(i * m + j) * n + s]` is d y_s(ts[i]) / d theta_j for theta = (y0, p), m = n + np
 * (theta = p, m = np, when the solve was asked for no sensitivities to y0).
 */
export type OdeResult =
  | { readonly ok: true; readonly y: Float64Array; readonly sens: Float64Array | null; readonly evaluations: number }
  | { readonly ok: false; readonly reason: OdeFailureReason; readonly t: number };

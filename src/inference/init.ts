/**
 * Initial values, as Stan: uniform(-R, R) on the unconstrained scale (R = 2), retried up
 * to 100 times while the log density or its gradient is not finite; or user values in
 * constrained space, mapped through `model.unconstrain`. As in Stan's initialize, a point
 * must also have a finite `logDensity`: the two differ where an ODE is solved (the value pass
 * solves the states alone, as Stan's double log_prob does; DECISIONS.md D226).
 */
import type { LogDensity } from "../compile/types.js";
import type { Rng } from "../rng/index.js";

export type ConstrainedInit = Record<string, number | ArrayLike<number>>;

export interface InitOptions {
  /** Constrained values by variable name (all parameters). */
  readonly values?: ConstrainedInit;
  /** Half-width R of the uniform(-R, R) random inits; 0 puts every coordinate at 0. */
  readonly radius?: number;
  /** Attempts before giving up (Stan: 100). */
  readonly maxAttempts?: number;
}

export interface InitialPoint {
  readonly position: Float64Array;
  readonly gradient: Float64Array;
  readonly logDensity: number;
  /** Attempts used (1 for user values). */
  readonly attempts: number;
}

export class InitializationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InitializationError";
  }
}

/** What is not finite at q: the log density or its gradient (the `text` names it), or null. */
function problem(model: LogDensity, q: Float64Array, g: Float64Array, lp: number): { readonly density: boolean; readonly text: string } | null {
  if (!Number.isFinite(lp)) return { density: true, text: `the log density is ${lp}` };
  for (let i = 0; i < g.length; i++) {
    if (!Number.isFinite(g[i]!)) {
      const name = model.unconstrainedNames[i] ?? `q[${i}]`;
      return { density: false, text: `the gradient with respect to ${name} is ${g[i]} (at ${name} = ${q[i]})` };
    }
  }
  // Checked last, so that it costs one more evaluation only at a point that passed the rest.
  const value = model.logDensity(q);
  if (!Number.isFinite(value)) return { density: true, text: `the log density is ${value} (without its gradient; with it, ${lp})` };
  return null;
}

export function findInitialPoint(model: LogDensity, rng: Rng, options: InitOptions = {}): InitialPoint {
  const d = model.dim;
  const g = new Float64Array(d);
  if (options.values !== undefined) {
    const q = Float64Array.from(model.unconstrain(options.values));
    if (q.length !== d) {
      throw new InitializationError(`user inits map to ${q.length} unconstrained values, the model has ${d}`);
    }
    const lp = model.logDensityGradient(q, g);
    const why = problem(model, q, g, lp);
    if (why !== null) {
      throw new InitializationError(
        `Rejecting the user-specified initial values: ${why.text}. Give values inside the support where the ` +
          "log density and its gradient are finite.",
      );
    }
    return { position: q, gradient: g, logDensity: lp, attempts: 1 };
  }
  const radius = options.radius ?? 2;
  const maxAttempts = options.maxAttempts ?? 100;
  if (!(radius >= 0) || !Number.isFinite(radius)) throw new RangeError(`init radius must be finite and >= 0, got ${radius}`);
  const q = new Float64Array(d);
  let nonFiniteDensity = 0;
  let nonFiniteGradient = 0;
  let last = "";
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    for (let i = 0; i < d; i++) q[i] = radius === 0 ? 0 : radius * (2 * rng.uniform() - 1);
    const lp = model.logDensityGradient(q, g);
    const why = problem(model, q, g, lp);
    if (why === null) return { position: q, gradient: g, logDensity: lp, attempts: attempt };
    if (why.density) nonFiniteDensity++;
    else nonFiniteGradient++;
    last = why.text;
    if (radius === 0) break;
  }
  const tries = nonFiniteDensity + nonFiniteGradient;
  throw new InitializationError(
    `Initialization failed after ${tries} attempt${tries === 1 ? "" : "s"}: random inits uniform(-${radius}, ${radius}) ` +
      `on the unconstrained scale gave a non-finite log density ${nonFiniteDensity} time(s) and a non-finite ` +
      `gradient ${nonFiniteGradient} time(s) (last attempt: ${last}). Try specifying initial values, ` +
      "reducing ranges of constrained values, or reparameterizing the model.",
  );
}

/**
 * What a distribution is (its interface, support, random source), on its own so that the
 * distributions (distributions.ts), their random draws (random.ts) and the combinators over them
 * (combinators.ts) share it without importing each other.
 */
import type { Expr, ExprLike } from "./expr.js";
import type { Shape } from "./shape.js";
import type { TransformSpec } from "./transforms.js";

/** What values a distribution puts mass on; drives the default transform and data checks. */
export type Support =
  | "real"
  | "positive"
  | "nonNegative"
  | "unit"
  | "interval"
  | "binary"
  | "count"
  | "boundedCount"
  | "vector"
  | "simplex";

/** The random source a draw needs (the sampler's RNG satisfies it). */
export interface RandomSource {
  uniform(): number;
  normal(): number;
}

export type ArgCheck = "real" | "positive" | "nonNegative" | "unit" | "count" | "cholesky";

export interface Distribution {
  readonly name: string;
  readonly args: Readonly<Record<string, Expr>>;
  /** Shape of one draw of the whole (batch) distribution. */
  readonly shape: Shape;
  readonly support: Support;
  readonly discrete: boolean;
  /** What each argument must be (the builder warns where an argument that must be positive may not be). */
  readonly argChecks?: Readonly<Record<string, ArgCheck>>;
  /** Log-density of `x` (broadcast to `shape`), summed to a scalar expression. */
  logp(x: ExprLike): Expr;
  /** Log-density per element (univariate) or per draw (multivariate), not summed: Stan's `*_lpdf` inside `log_sum_exp`. */
  logpdf(x: ExprLike): Expr;
  /**
   * The log-density's additive terms (univariate distributions; their sum is `logp`, or with
   * `pointwise` `logpdf`), as Stan's densities group them, so that a term free of parameters
   * folds to a constant: Stan's `~` and `_lupdf` leave those out (`withoutConstantTerms`).
   */
  logpTerms?(x: ExprLike, pointwise: boolean): Expr[];
  /** Transform for a parameter with this prior when the user gives no bounds. */
  defaultTransform(): TransformSpec;
  /** Throws a ModelError naming the offending entry when data lie outside the support. */
  checkValue(values: Float64Array, label: string): void;
  /** A draw of shape `shape`; the arguments must be constants (data). */
  sample(rng: RandomSource): Float64Array;
  /**
   * Log CDF per element, log P(X <= x) (Stan's `_lcdf`), for univariate distributions; with
   * `lccdf`, log P(X > x), what censoring, truncation and random draws by inversion use.
   */
  lcdf?(x: ExprLike): Expr;
  lccdf?(x: ExprLike): Expr;
  /**
   * A draw of shape `shape` at argument values `args` (in `args` key order, each of its
   * argument's own shape): predictive draws evaluate the arguments, then call this.
   */
  drawWith?(rng: RandomSource, args: readonly Float64Array[]): Float64Array;
  /** Element i of such a draw (univariate distributions: elements are independent). */
  drawElement?(rng: RandomSource, args: readonly Float64Array[], i: number): number;
  /** The same distribution with other arguments (same keys, shapes that broadcast). */
  withArgs?(args: Readonly<Record<string, Expr>>): Distribution;
  /**
   * The non-centred form, for distributions that have one and whose scale is not constant:
   * the value as a function of standard-normal coordinates z, and its inverse.
   */
  noncentered?: NoncenteredForm;
}

export interface NoncenteredForm {
  /** Expressions the inverse needs (location, scale), evaluated by `unconstrain`. */
  readonly context: readonly Expr[];
  value(z: Expr): Expr;
  /** Constrained values (flat) to z, given the context values. */
  invert(x: Float64Array, context: Float64Array[]): Float64Array;
}

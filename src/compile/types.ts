/**
 * The one interface between compiled models and everything above them (samplers, actors,
 * benchmarks). A backend turns a model into this; kernels only ever see this.
 */
export interface LogDensity {
  /** Dimension of the unconstrained parameter vector `q`. */
  readonly dim: number;
  /**
   * Flattened names of the unconstrained coordinates, one per entry of `q`
   * (e.g. `sigma__log`, `theta1__simplex[1]`). For messages and debugging.
   */
  readonly unconstrainedNames: readonly string[];
  /**
   * Flattened names, in Stan's form (`theta[1]`, 1-based, row-major for matrices), of every
   * reported quantity: the parameters in constrained space, then the deterministics.
   */
  readonly names: readonly string[];
  /** How many leading entries of `names` are parameters (the rest are deterministics). */
  readonly paramCount: number;
  /**
   * Log-density (up to a constant) at unconstrained `q`, including every transform's
   * log-Jacobian; writes d(log-density)/dq into `grad` (overwritten, not accumulated).
   * Returns -Infinity (or NaN) outside the support; never throws for numeric reasons.
   */
  logDensityGradient(q: Float64Array, grad: Float64Array): number;
  /** Log-density only (same value as `logDensityGradient`). */
  logDensity(q: Float64Array): number;
  /** Writes the reported quantities (`names` order) for unconstrained `q` into `out`. */
  constrainFlat(q: Float64Array, out: Float64Array): void;
  /** Reported quantities by variable name, with their shapes. */
  constrain(q: Float64Array): Record<string, ShapedValue>;
  /** Inverse of the parameter part of `constrain`: constrained values by name -> `q`. */
  unconstrain(values: Record<string, number | ArrayLike<number>>): Float64Array;
  /**
   * What the model declared beyond the density (variables with shapes and dims, observed nodes
   * and their pointwise log-likelihood, data): present for models from the builder, absent for
   * module models.
   */
  readonly model?: ModelInfo;
  /** Which backend computes the gradient and why (absent for hand-written module models). */
  readonly backend?: BackendChoice;
  /** Learned parameterisations (`noncentered: "learn"`), when the model has any. */
  readonly reparam?: Reparameterisation;
}

/** A reported variable: its entries are `names[offset .. offset + size)`, row-major. */
export interface VariableInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dims: readonly string[] | undefined;
  readonly offset: number;
  readonly size: number;
  readonly kind: "parameter" | "deterministic";
}

/** An observed node: its pointwise log-likelihood is `out[offset .. offset + size)` of `pointwiseLogLik`. */
export interface ObservedInfo {
  readonly name: string;
  /** Shape of the log-likelihood: the observed values' shape, or fewer axes for a multivariate distribution. */
  readonly shape: readonly number[];
  readonly size: number;
  readonly offset: number;
  /** The observed values. */
  readonly value: ShapedValue;
  /** Dimension names of the observed values (`observe(..., { dims })`). */
  readonly dims: readonly string[] | undefined;
}

export interface ModelInfo {
  readonly name: string;
  readonly variables: readonly VariableInfo[];
  readonly observed: readonly ObservedInfo[];
  /** Total number of pointwise log-likelihood values (all observed nodes). */
  readonly logLikSize: number;
  /** Named data (`m.data`). */
  readonly data: readonly (ShapedValue & { readonly name: string })[];
  /**
   * Writes every observed node's log density per observation, normalising constants included
   * (Stan's `log_lik`), into `out` (`observed[k].offset` onwards), given one draw of the reported
   * quantities in `names` order (a kept draw: no unconstrained coordinates needed).
   */
  pointwiseLogLik(values: Float64Array, out: Float64Array): void;
}

/** The backend a model was compiled for, and why: recorded in the posterior's metadata. */
export interface BackendChoice {
  readonly backend: "js" | "tfjs";
  /** What was asked for in `compile(model, { backend })`. */
  readonly requested: "js" | "tfjs" | "auto";
  /** The tfjs device ("tensorflow", "wasm", "cpu"; "auto" until instantiated). */
  readonly device?: string;
  /** Data elements the log-density reads per gradient (what "auto" compares). */
  readonly dataSize?: number;
  readonly reason: string;
}

/**
 * Partially non-centred nodes: x = loc + scale^(1 - lambda) (z - lambda loc), z in
 * q[offset .. offset + size), one lambda per node. A sampler sets `lambda` (this instance's)
 * before it evaluates the density; draws are reported as x whatever lambda is.
 */
export interface Reparameterisation {
  readonly nodes: readonly { readonly param: string; readonly index: number; readonly initial: number; readonly offset: number; readonly size: number }[];
  /** The lambdas this instance uses now (one per node, in `nodes` order): write to change them. */
  readonly lambda: Float64Array;
  /** Each node's location and scale (per element) at q, in `nodes` order. */
  locScale(q: Float64Array): { loc: Float64Array; scale: Float64Array }[];
}

/** A reported value: a scalar is shape [], a vector [n], a matrix [r, c] (row-major). */
export interface ShapedValue {
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

/**
 * Euclidean metrics. We store the *inverse* metric M^-1 (the covariance estimate), as Stan
 * does: velocity = M^-1 p, kinetic energy = p' M^-1 p / 2, p ~ N(0, M).
 */

export interface DiagMetric {
  readonly kind: "diag";
  /** Diagonal of M^-1 (length d). */
  readonly inverse: Float64Array;
}

export interface DenseMetric {
  readonly kind: "dense";
  /** M^-1, row-major d x d, symmetric positive definite. */
  readonly inverse: Float64Array;
}

export type Metric = DiagMetric | DenseMetric;

export function identityMetric(kind: "diag" | "dense", dim: number): Metric {
  if (kind === "diag") return { kind, inverse: new Float64Array(dim).fill(1) };
  const inv = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) inv[i * dim + i] = 1;
  return { kind, inverse: inv };
}

export function cloneMetric(m: Metric): Metric {
  return { kind: m.kind, inverse: Float64Array.from(m.inverse) } as Metric;
}

/** Checks shape, finiteness and positivity (diag) of a metric; throws a clear error. */
export function validateMetric(m: Metric, dim: number): void {
  const want = m.kind === "diag" ? dim : dim * dim;
  if (m.inverse.length !== want) {
    throw new Error(`${m.kind} metric for dimension ${dim} needs ${want} entries, got ${m.inverse.length}`);
  }
  for (let i = 0; i < m.inverse.length; i++) {
    if (!Number.isFinite(m.inverse[i]!)) {
      throw new Error(
        "Numerical overflow in metric adaptation: the inverse metric has non-finite entries. This happens " +
          "when the sampler meets extreme values on the unconstrained space (a posterior that is too wide " +
          "or improper); check the model.",
      );
    }
  }
  if (m.kind === "diag") {
    for (let i = 0; i < dim; i++) {
      if (!(m.inverse[i]! > 0)) throw new Error(`diag inverse metric entry ${i} is not positive: ${m.inverse[i]}`);
    }
  }
}

/**
 * Lower Cholesky factor L (row-major, upper part zero) with L L' = A. Throws if A is not
 * numerically positive definite.
 */
export function cholesky(a: Float64Array, d: number, out: Float64Array = new Float64Array(d * d)): Float64Array {
  out.fill(0);
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j]!;
    for (let k = 0; k < j; k++) s -= out[j * d + k]! * out[j * d + k]!;
    if (!(s > 0)) throw new Error("dense inverse metric is not positive definite");
    const ljj = Math.sqrt(s);
    out[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j]!;
      for (let k = 0; k < j; k++) t -= out[i * d + k]! * out[j * d + k]!;
      out[i * d + j] = t / ljj;
    }
  }
  return out;
}

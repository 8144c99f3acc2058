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

/**
 * Low-rank plus diagonal (the Fisher-divergence estimator's form, nuts-rs / nutpie):
 * M^-1 = D^1/2 (I + U (Lambda - I) U^T) D^1/2, with D = diag(`inverse`), U (d x k, orthonormal
 * columns) and Lambda = diag(`values`). Applying it costs O(d k).
 */
export interface LowRankMetric {
  readonly kind: "low-rank";
  /** The diagonal D (length d): the inverse metric where the low-rank part is the identity. */
  readonly inverse: Float64Array;
  /** U, row-major d x k: `vectors[i * k + j]` is entry i of eigenvector j. */
  readonly vectors: Float64Array;
  /** Lambda (length k), the eigenvalues of the correction, all positive. */
  readonly values: Float64Array;
}

export type Metric = DiagMetric | DenseMetric | LowRankMetric;

export function identityMetric(kind: "diag" | "dense" | "low-rank", dim: number): Metric {
  if (kind === "diag") return { kind, inverse: new Float64Array(dim).fill(1) };
  if (kind === "low-rank") return lowRankFromDiagonal(new Float64Array(dim).fill(1));
  const inv = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) inv[i * dim + i] = 1;
  return { kind, inverse: inv };
}

export function cloneMetric(m: Metric): Metric {
  if (m.kind === "low-rank") return { kind: m.kind, inverse: Float64Array.from(m.inverse), vectors: Float64Array.from(m.vectors), values: Float64Array.from(m.values) };
  return { kind: m.kind, inverse: Float64Array.from(m.inverse) } as Metric;
}

/** A low-rank metric without a low-rank part (k = 0): the diagonal `inverse`. */
export function lowRankFromDiagonal(inverse: Float64Array): LowRankMetric {
  return { kind: "low-rank", inverse: Float64Array.from(inverse), vectors: new Float64Array(0), values: new Float64Array(0) };
}

/** The rank k of a low-rank metric's correction. */
export function metricRank(m: LowRankMetric): number {
  return m.values.length;
}

/** The inverse metric as a dense row-major d x d matrix (any kind). */
export function denseInverse(m: Metric, dim: number): Float64Array {
  if (m.kind === "dense") return Float64Array.from(m.inverse);
  const out = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) out[i * dim + i] = m.inverse[i]!;
  if (m.kind === "diag") return out;
  const k = m.values.length;
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let r = 0; r < k; r++) s += m.vectors[i * k + r]! * (m.values[r]! - 1) * m.vectors[j * k + r]!;
      out[i * dim + j] = out[i * dim + j]! + Math.sqrt(m.inverse[i]! * m.inverse[j]!) * s;
    }
  }
  return out;
}

/** Checks shape, finiteness and positivity (diag) of a metric; throws a clear error. */
export function validateMetric(m: Metric, dim: number): void {
  const want = m.kind === "dense" ? dim * dim : dim;
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
  if (m.kind !== "dense") {
    for (let i = 0; i < dim; i++) {
      if (!(m.inverse[i]! > 0)) throw new Error(`${m.kind} inverse metric entry ${i} is not positive: ${m.inverse[i]}`);
    }
  }
  if (m.kind === "low-rank") {
    const k = m.values.length;
    if (m.vectors.length !== dim * k) throw new Error(`low-rank metric of rank ${k} needs ${dim * k} vector entries, got ${m.vectors.length}`);
    for (let j = 0; j < k; j++) {
      if (!(m.values[j]! > 0) || !Number.isFinite(m.values[j]!)) throw new Error(`low-rank metric eigenvalue ${j} is not positive and finite: ${m.values[j]}`);
    }
    for (let i = 0; i < m.vectors.length; i++) {
      if (!Number.isFinite(m.vectors[i]!)) throw new Error("low-rank metric has non-finite eigenvector entries");
    }
  }
}

/**
 * Lower Cholesky factor L (row-major, upper part zero) with L L' = A. Throws if A is not
 * numerically positive definite.
 */
export function cholesky(a: Float64Array, d: number, out: Float64Array = new Float64Array(d * d)): Float64Array {
  if (!choleskyInto(a, d, out)) throw new Error("dense inverse metric is not positive definite");
  return out;
}

/**
 * As `cholesky`, into the first d x d entries of `out`, without throwing: false (with `out`
 * partly written) when A is not numerically positive definite.
 */
export function choleskyInto(a: Float64Array, d: number, out: Float64Array): boolean {
  out.fill(0, 0, d * d);
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j]!;
    for (let k = 0; k < j; k++) s -= out[j * d + k]! * out[j * d + k]!;
    if (!(s > 0)) return false;
    const ljj = Math.sqrt(s);
    out[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j]!;
      for (let k = 0; k < j; k++) t -= out[i * d + k]! * out[j * d + k]!;
      out[i * d + j] = t / ljj;
    }
  }
  return true;
}

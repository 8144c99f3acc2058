/**
 * Small dense linear algebra for the approximation kernels (Pathfinder's low-rank updates,
 * full-rank ADVI, SMC proposals): row-major `Float64Array`s, sizes up to a few hundred.
 * Cholesky comes from `metric.ts` (the NUTS dense metric's); the rest is here.
 */
import { cholesky } from "./metric.js";

export const LOG_2PI = Math.log(2 * Math.PI);

/** log |det L| of a triangular n x n factor (row-major): the sum of the logs of its |diagonal|. */
export function triangularLogDet(L: Float64Array, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.log(Math.abs(L[k * n + k]!));
  return s;
}

/**
 * log density of x = m + L z under N(m, L L'), from z'z and log |det L| (z: the standard
 * normal point that maps to x).
 */
export function normalLogDensityFromStandard(zz: number, d: number, logDetL: number): number {
  return -logDetL - 0.5 * (zz + d * LOG_2PI);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

/** Lower Cholesky factor of the n x n matrix `a`, or null when it is not numerically positive definite. */
export function tryCholesky(a: Float64Array, n: number): Float64Array | null {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return null;
  try {
    return cholesky(a, n);
  } catch {
    return null;
  }
}

/** y = L x for lower-triangular L (n x n, row-major). */
export function lowerTimes(L: Float64Array, n: number, x: ArrayLike<number>, y: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j <= i; j++) s += L[i * n + j]! * x[j]!;
    y[i] = s;
  }
  return y;
}

/** Solves L x = b (forward substitution) for lower-triangular L; writes x into `out` (which may be `b`). */
export function lowerSolve(L: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let j = 0; j < i; j++) s -= L[i * n + j]! * out[j]!;
    out[i] = s / L[i * n + i]!;
  }
  return out;
}

/**
 * Solves U X = B for the upper-triangular part U of the m x m matrix `u` (row-major; entries
 * below the diagonal are ignored), B m x k row-major; returns X (m x k).
 */
export function upperSolveMatrix(u: Float64Array, m: number, b: Float64Array, k: number): Float64Array {
  const x = Float64Array.from(b);
  for (let i = m - 1; i >= 0; i--) {
    const uii = u[i * m + i]!;
    for (let c = 0; c < k; c++) {
      let s = x[i * k + c]!;
      for (let j = i + 1; j < m; j++) s -= u[i * m + j]! * x[j * k + c]!;
      x[i * k + c] = s / uii;
    }
  }
  return x;
}

/**
 * Thin QR of the n x k matrix whose columns are `cols[j]` (each length n): Q (n x k,
 * column-major: column j at q[j*n .. j*n+n)) with orthonormal columns and R (k x k upper,
 * row-major), A = Q R. Classical Gram-Schmidt with one reorthogonalisation pass (CGS2),
 * accurate to machine precision for the well-separated columns met here. A column that is
 * (numerically) in the span of the earlier ones gets a zero Q column and a zero R diagonal.
 */
export function thinQr(cols: readonly Float64Array[], n: number): { q: Float64Array; r: Float64Array } {
  const k = cols.length;
  const q = new Float64Array(n * k);
  const r = new Float64Array(k * k);
  const v = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    v.set(cols[j]!);
    const original = Math.sqrt(dot(v, v));
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        let s = 0;
        for (let t = 0; t < n; t++) s += q[i * n + t]! * v[t]!;
        r[i * k + j] = r[i * k + j]! + s;
        for (let t = 0; t < n; t++) v[t] = v[t]! - s * q[i * n + t]!;
      }
    }
    const norm = Math.sqrt(dot(v, v));
    if (!(norm > 1e-13 * Math.max(original, Number.MIN_VALUE))) {
      r[j * k + j] = 0;
      continue;
    }
    r[j * k + j] = norm;
    for (let t = 0; t < n; t++) q[j * n + t] = v[t]! / norm;
  }
  return { q, r };
}

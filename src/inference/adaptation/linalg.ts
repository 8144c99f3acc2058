/**
 * The small dense kernels the low-rank estimator needs: symmetric eigendecompositions come from
 * ml-matrix (JAMA's tred2/tql2, DECISIONS.md D67); the rest are plain loops over row-major
 * Float64Arrays (m x m with m at most a few hundred).
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /** Eigenvectors as columns, row-major m x m: `vectors[i * m + j]` is entry i of vector j. */
  readonly vectors: Float64Array;
}

/** Eigendecomposition of a symmetric m x m matrix (row-major). */
export function symmetricEigen(a: Float64Array, m: number): SymmetricEigen {
  const mat = new Matrix(m, m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) mat.set(i, j, 0.5 * (a[i * m + j]! + a[j * m + i]!));
  const evd = new EigenvalueDecomposition(mat, { assumeSymmetric: true });
  const vals = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = vals.map((_, i) => i).sort((x, y) => vals[x]! - vals[y]!);
  const values = new Float64Array(m);
  const vectors = new Float64Array(m * m);
  order.forEach((src, j) => {
    values[j] = vals[src]!;
    for (let i = 0; i < m; i++) vectors[i * m + j] = vecs.get(i, src);
  });
  return { values, vectors };
}

/** V f(values) V' for a symmetric eigendecomposition (a matrix function). */
export function eigenFunction(e: SymmetricEigen, m: number, f: (x: number) => number): Float64Array {
  const fv = e.values.map(f);
  const out = new Float64Array(m * m);
  const V = e.vectors;
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += V[i * m + k]! * fv[k]! * V[j * m + k]!;
      out[i * m + j] = s;
      out[j * m + i] = s;
    }
  }
  return out;
}

/** a b, both row-major m x m. */
export function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = out[i * m + j]! + aik * b[k * m + j]!;
    }
  }
  return out;
}

/**
 * The SPD geometric mean of A and B^-1: the unique SPD S with S B S = A,
 * S = B^-1/2 (B^1/2 A B^1/2)^1/2 B^-1/2 (the Fisher-divergence minimiser for draw
 * covariance A and gradient covariance B).
 */
export function spdSolveSBS(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const eb = symmetricEigen(b, m);
  const bHalf = eigenFunction(eb, m, Math.sqrt);
  const bInvHalf = eigenFunction(eb, m, (x) => 1 / Math.sqrt(x));
  const inner = matmul(matmul(bHalf, a, m), bHalf, m);
  const innerHalf = eigenFunction(symmetricEigen(inner, m), m, (x) => Math.sqrt(Math.max(x, 0)));
  return matmul(matmul(bInvHalf, innerHalf, m), bInvHalf, m);
}

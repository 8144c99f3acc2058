/**
 * The small dense kernels the low-rank estimator needs, as plain loops over row-major
 * Float64Arrays (m x m with m at most a few hundred), writing into buffers the caller owns or
 * into this module's scratch (one per thread: modules are per worker), so that an estimate
 * allocates nothing but its result (DECISIONS.md D200).
 *
 * Symmetric eigendecompositions: Householder tridiagonalisation and the implicit QL iteration
 * (the EISPACK algorithms tred2 and tql2, as Wilkinson and Reinsch give them and as JAMA and
 * ml-matrix implement them, in the same order of operations, so the same results to the bit)
 * on flat buffers. Cyclic Jacobi was measured too and lost from m = 4 up (D200).
 */
import { choleskyInto } from "../metric.js";

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /** Eigenvectors as columns, row-major m x m: `vectors[i * m + j]` is entry i of vector j. */
  readonly vectors: Float64Array;
}

const EPS = 2 ** -52;
/** QL iterations per eigenvalue before it gives up (EISPACK's limit). */
const MAX_QL_ITERATIONS = 30;

/**
 * Named scratch buffers, grown as needed (at least doubling) and reused between calls. Each
 * module makes its own pool once, so there is one per worker thread (modules are per worker).
 */
export function scratchBuffers<K extends string>(keys: readonly K[]): (key: K, size: number) => Float64Array {
  const pool = Object.fromEntries(keys.map((k) => [k, new Float64Array(0)])) as Record<K, Float64Array>;
  return (key, size) => {
    if (pool[key].length < size) pool[key] = new Float64Array(Math.max(size, 2 * pool[key].length));
    return pool[key];
  };
}

const buffer = scratchBuffers(["off", "values", "vectors", "values2", "vectors2", "p1", "p2", "p3"]);

/** sqrt(a^2 + b^2) without overflow or underflow (Math.hypot is several times slower). */
function hypot(a: number, b: number): number {
  const x = Math.abs(a);
  const y = Math.abs(b);
  if (x > y) {
    const r = y / x;
    return x * Math.sqrt(1 + r * r);
  }
  if (y === 0) return 0;
  const r = x / y;
  return y * Math.sqrt(1 + r * r);
}

/** Eigendecomposition of a symmetric m x m matrix (row-major; the symmetric part of `a` is read); new arrays, NaN values on failure (`symmetricEigenInto`). */
export function symmetricEigen(a: Float64Array, m: number): SymmetricEigen {
  const values = new Float64Array(m);
  const vectors = new Float64Array(m * m);
  symmetricEigenInto(a, m, values, vectors);
  return { values, vectors };
}

/**
 * Eigendecomposition of the symmetric part of the m x m row-major `a` into `values` (m,
 * ascending) and `vectors` (m x m, eigenvectors as columns); `a` is left as it is. Returns
 * false, with every value NaN, when `a` holds a non-finite entry or the iteration does not
 * converge.
 */
export function symmetricEigenInto(a: Float64Array, m: number, values: Float64Array, vectors: Float64Array): boolean {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      const s = 0.5 * (a[i * m + j]! + a[j * m + i]!);
      if (!Number.isFinite(s)) return failed(values, m);
      vectors[i * m + j] = s;
      vectors[j * m + i] = s;
    }
  }
  if (!tridiagonalQl(vectors, m, values)) return failed(values, m);
  sortAscending(values, vectors, m);
  return true;
}

function failed(values: Float64Array, m: number): false {
  values.fill(NaN, 0, m);
  return false;
}

/**
 * Householder reduction to tridiagonal form with the transformations accumulated (tred2),
 * then the implicit QL iteration with Wilkinson's shift (tql2). `v` holds the symmetric matrix
 * on entry and the eigenvectors (columns) on return; `d` the eigenvalues, unsorted.
 */
function tridiagonalQl(v: Float64Array, m: number, d: Float64Array): boolean {
  const e = buffer("off", m);
  tridiagonalise(v, m, d, e);
  return implicitQl(v, m, d, e);
}

/** tred2: on return v is the orthogonal Q with Q' A Q tridiagonal, d its diagonal, e[1..m) its subdiagonal. */
function tridiagonalise(v: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = v[(n - 1) * n + j]!;
  // Rows from the last up: a Householder reflection zeroes row i left of its subdiagonal.
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = v[(i - 1) * n + j]!;
        v[i * n + j] = 0;
        v[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // p = A u / h, accumulated in e, from the lower triangle.
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        v[j * n + i] = f;
        g = e[j]! + v[j * n + j]! * f;
        for (let k = j + 1; k < i; k++) {
          g += v[k * n + j]! * d[k]!;
          e[k] = e[k]! + v[k * n + j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      // A <- A - u q' - q u' on the lower triangle.
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k < i; k++) v[k * n + j] = v[k * n + j]! - (f * e[k]! + g * d[k]!);
        d[j] = v[(i - 1) * n + j]!;
        v[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the reflections into Q.
  for (let i = 0; i < n - 1; i++) {
    v[(n - 1) * n + i] = v[i * n + i]!;
    v[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[k * n + i + 1]! * v[k * n + j]!;
        for (let k = 0; k <= i; k++) v[k * n + j] = v[k * n + j]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) v[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[(n - 1) * n + j]!;
    v[(n - 1) * n + j] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** tql2: the tridiagonal (d, e) diagonalised by implicit QL steps, each rotation applied to v's columns. */
function implicitQl(v: Float64Array, n: number, d: Float64Array, e: Float64Array): boolean {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let shift = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    // The first negligible subdiagonal entry at or after l splits off the block [l, m].
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > EPS * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > MAX_QL_ITERATIONS) return false;
        // Wilkinson's shift from the leading 2 x 2 block.
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        shift += h;
        // The QL sweep from the bottom of the block up, by Givens rotations.
        p = d[m]!;
        let c = 1;
        let c2 = 1;
        let c3 = 1;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let k = 0; k < n; k++) {
            const at = k * n + i;
            const vi1 = v[at + 1]!;
            const vi = v[at]!;
            v[at + 1] = s * vi + c * vi1;
            v[at] = c * vi - s * vi1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + shift;
    e[l] = 0;
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(d[i]!)) return false;
  return true;
}

/**
 * Sorts the eigenvalues ascending, moving the eigenvector columns with them: selection sort,
 * as tql2 ends (so equal eigenvalues come out in the order ml-matrix gave them).
 */
function sortAscending(values: Float64Array, vectors: Float64Array, m: number): void {
  for (let j = 0; j < m - 1; j++) {
    let at = j;
    for (let k = j + 1; k < m; k++) if (values[k]! < values[at]!) at = k;
    if (at === j) continue;
    const t = values[j]!;
    values[j] = values[at]!;
    values[at] = t;
    for (let i = 0; i < m; i++) {
      const x = vectors[i * m + j]!;
      vectors[i * m + j] = vectors[i * m + at]!;
      vectors[i * m + at] = x;
    }
  }
}

/** V f(values) V' for a symmetric eigendecomposition (a matrix function), into `out` (m x m). */
export function eigenFunctionInto(values: Float64Array, vectors: Float64Array, m: number, f: (x: number) => number, out: Float64Array): Float64Array {
  const fv = buffer("off", m);
  for (let k = 0; k < m; k++) fv[k] = f(values[k]!);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += vectors[i * m + k]! * fv[k]! * vectors[j * m + k]!;
      out[i * m + j] = s;
      out[j * m + i] = s;
    }
  }
  return out;
}

/** V f(values) V' for a symmetric eigendecomposition (a matrix function); a new array. */
export function eigenFunction(e: SymmetricEigen, m: number, f: (x: number) => number): Float64Array {
  return eigenFunctionInto(e.values, e.vectors, m, f, new Float64Array(m * m));
}

/** a b, both row-major m x m, into `out` (which must not be `a` or `b`). */
export function matmulInto(a: Float64Array, b: Float64Array, m: number, out: Float64Array): Float64Array {
  out.fill(0, 0, m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = out[i * m + j]! + aik * b[k * m + j]!;
    }
  }
  return out;
}

/** a b, both row-major m x m; a new array. */
export function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  return matmulInto(a, b, m, new Float64Array(m * m));
}

const sqrtPositive = (x: number): number => Math.sqrt(Math.max(x, 0));
const inverseSqrt = (x: number): number => 1 / Math.sqrt(x);

/**
 * The SPD geometric mean of A and B^-1: the unique SPD S with S B S = A,
 * S = B^-1/2 (B^1/2 A B^1/2)^1/2 B^-1/2 (the Fisher-divergence minimiser for draw
 * covariance A and gradient covariance B), into `out` (m x m, not `a` or `b`), through this
 * module's scratch: nothing is allocated once the buffers have grown.
 */
export function spdSolveSBSInto(a: Float64Array, b: Float64Array, m: number, out: Float64Array): Float64Array {
  if (choleskySolveSBS(a, b, m, out)) return out;
  const values = buffer("values", m);
  const vectors = buffer("vectors", m * m);
  const bHalf = buffer("p1", m * m);
  const bInvHalf = buffer("p2", m * m);
  const t = buffer("p3", m * m);
  symmetricEigenInto(b, m, values, vectors);
  eigenFunctionInto(values, vectors, m, Math.sqrt, bHalf);
  eigenFunctionInto(values, vectors, m, inverseSqrt, bInvHalf);
  matmulInto(bHalf, a, m, out);
  const inner = matmulInto(out, bHalf, m, t);
  const innerValues = buffer("values2", m);
  const innerVectors = buffer("vectors2", m * m);
  symmetricEigenInto(inner, m, innerValues, innerVectors);
  const innerHalf = eigenFunctionInto(innerValues, innerVectors, m, sqrtPositive, bHalf);
  matmulInto(bInvHalf, innerHalf, m, t);
  return matmulInto(t, bInvHalf, m, out);
}

/**
 * S B S = A through B's Cholesky factor L: L' S L squared is L' A L, so
 * S = L^-T (L' A L)^1/2 L^-1. One symmetric eigendecomposition instead of two, and no matrix
 * inverse square root (DECISIONS.md D235). Returns false, leaving `out` undefined, when B is
 * not numerically positive definite or the eigensolver fails; the caller then takes the
 * eigendecomposition route.
 */
function choleskySolveSBS(a: Float64Array, b: Float64Array, m: number, out: Float64Array): boolean {
  const L = buffer("p1", m * m);
  const t = buffer("p2", m * m);
  const h = buffer("p3", m * m);
  if (!choleskyInto(b, m, L)) return false;
  // h = A L (L lower triangular: column j of L is zero above row j).
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let x = 0;
      for (let k = j; k < m; k++) x += a[i * m + k]! * L[k * m + j]!;
      h[i * m + j] = x;
    }
  }
  // t = L' h, symmetric: the lower triangle, mirrored.
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let x = 0;
      for (let k = i; k < m; k++) x += L[k * m + i]! * h[k * m + j]!;
      t[i * m + j] = x;
      t[j * m + i] = x;
    }
  }
  const values = buffer("values", m);
  const vectors = buffer("vectors", m * m);
  if (!symmetricEigenInto(t, m, values, vectors)) return false;
  const root = eigenFunctionInto(values, vectors, m, sqrtPositive, h);
  // t = root L^-1: row r solves x L = root_r, i.e. L' x' = root_r' (back substitution).
  for (let r = 0; r < m; r++) {
    for (let j = m - 1; j >= 0; j--) {
      let x = root[r * m + j]!;
      for (let k = j + 1; k < m; k++) x -= t[r * m + k]! * L[k * m + j]!;
      t[r * m + j] = x / L[j * m + j]!;
    }
  }
  // out = L^-T t: column c solves L' y = t_c (back substitution).
  for (let c = 0; c < m; c++) {
    for (let i = m - 1; i >= 0; i--) {
      let x = t[i * m + c]!;
      for (let k = i + 1; k < m; k++) x -= L[k * m + i]! * out[k * m + c]!;
      out[i * m + c] = x / L[i * m + i]!;
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < i; j++) {
      const x = 0.5 * (out[i * m + j]! + out[j * m + i]!);
      out[i * m + j] = x;
      out[j * m + i] = x;
    }
  }
  return true;
}

/** As `spdSolveSBSInto`, into a new array. */
export function spdSolveSBS(a: Float64Array, b: Float64Array, m: number): Float64Array {
  return spdSolveSBSInto(a, b, m, new Float64Array(m * m));
}

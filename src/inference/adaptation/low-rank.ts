/**
 * The low-rank plus diagonal Fisher-divergence estimator (Seyboldt, Carlson and Carpenter,
 * arXiv 2603.18845, as nuts-rs implements it), from n stored draws and gradients:
 *
 * 1. rescale each coordinate by the diagonal estimate sigma_i^2 = sqrt(Var(x_i) / Var(g_i)):
 *    x' = (x - mean) / sigma, g' = (g - mean) * sigma;
 * 2. a subspace holding the leading directions of the centred draws and gradients: all of R^d
 *    when d is small, the span of both when n is small, and otherwise the leading `rank`
 *    (plus oversampling) right singular vectors of each, found by a randomised range finder
 *    (Halko, Martinsson and Tropp 2011, one power iteration): O(n d k), never a d x d matrix;
 * 3. in that subspace, the SPD S with S B S = A, A and B the draws' and gradients' second
 *    moments plus gamma I (the Fisher-divergence minimiser over dense transforms);
 * 4. S's eigenvalues outside [1/c, c] are kept with their eigenvectors (mapped back to R^d),
 *    the rest count as 1.
 *
 * nuts-rs keeps the whole span of the draws and gradients (a thin SVD, O(n^2 d), and m x m
 * work with m = 2n): with pooled windows n reaches thousands and that cost stalled warmup
 * (issue 27, DECISIONS.md D100). The directions outside the leading ones are those whose
 * eigenvalues lie near 1, which the cutoff drops anyway.
 *
 * The metric is M^-1 = D^1/2 (I + U (Lambda - I) U^T) D^1/2 with D = diag(sigma^2).
 */
import type { LowRankMetric } from "../metric.js";
import { FISHER_LOWER, FISHER_UPPER } from "../welford.js";
import { scratchBuffers, spdSolveSBSInto, symmetricEigenInto } from "./linalg.js";

export interface LowRankSettings {
  /** Regulariser added to both second-moment matrices (nuts-rs: 1e-5, relative to unscaled sums). */
  readonly gamma: number;
  /** Eigenvalues in [1/cutoff, cutoff] are dropped (nuts-rs: 2). */
  readonly cutoff: number;
  /**
   * Leading directions sought in each of the draws and the gradients (plus oversampling);
   * the subspace is exact (nuts-rs) while its dimension stays below about 2 (rank + 8).
   * Default 16.
   */
  readonly rank?: number;
}

export const LOW_RANK_DEFAULTS: LowRankSettings = { gamma: 1e-5, cutoff: 2, rank: 16 };

/** Extra columns of the range finder beyond `rank` (Halko et al.'s p). */
const OVERSAMPLE = 8;

/** Scratch reused between estimates, so that an estimate allocates only the metric it returns. */
const buffer = scratchBuffers(["xs", "gs", "z", "q", "projected", "momentX", "momentG", "s", "values", "vectors"]);

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, d: number): number {
  let s = 0;
  let i = 0;
  for (; i + 3 < d; i += 4) s += a[ao + i]! * b[bo + i]! + a[ao + i + 1]! * b[bo + i + 1]! + a[ao + i + 2]! * b[bo + i + 2]! + a[ao + i + 3]! * b[bo + i + 3]!;
  for (; i < d; i++) s += a[ao + i]! * b[bo + i]!;
  return s;
}

/** y += w x over d entries. */
function axpy(w: number, x: Float64Array, xo: number, y: Float64Array, yo: number, d: number): void {
  for (let i = 0; i < d; i++) y[yo + i] = y[yo + i]! + w * x[xo + i]!;
}

/**
 * Orthonormalises the `cols` columns of `q` from offset `base` (column-major: column c is
 * q[base + c d .. base + (c+1) d)) in place by modified Gram-Schmidt, twice; a column left
 * with under 1e-10 of its norm is dropped. Returns how many columns remain (packed at the front).
 */
function orthonormalise(q: Float64Array, base: number, cols: number, d: number): number {
  let m = 0;
  for (let c = 0; c < cols; c++) {
    const at = base + c * d;
    const norm0 = Math.sqrt(dot(q, at, q, at, d));
    if (!(norm0 > 0) || !Number.isFinite(norm0)) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < m; j++) axpy(-dot(q, base + j * d, q, at, d), q, base + j * d, q, at, d);
    }
    const norm = Math.sqrt(dot(q, at, q, at, d));
    if (!(norm > 1e-10 * norm0)) continue;
    const inv = 1 / norm;
    const to = base + m * d;
    for (let i = 0; i < d; i++) q[to + i] = q[at + i]! * inv;
    m++;
  }
  return m;
}

/** Y = A' Z into q's `cols` columns from offset `base`: A n x d row-major, Z n x cols row-major. */
function transposeTimes(a: Float64Array, n: number, d: number, z: Float64Array, cols: number, q: Float64Array, base: number): void {
  q.fill(0, base, base + cols * d);
  for (let t = 0; t < n; t++) for (let c = 0; c < cols; c++) axpy(z[t * cols + c]!, a, t * d, q, base + c * d, d);
}

/**
 * Writes into q (from column `at`, column-major) an orthonormal basis of the leading right
 * singular subspace of the n x d row-major `a`, `cols` columns: Y = A' Omega (Omega n x cols,
 * Rademacher from a fixed seed, so the estimate is a function of its input), one power
 * iteration Y = A' (A Y); O(n d cols + d cols^2). Returns the columns kept.
 */
function rangeFinder(a: Float64Array, n: number, d: number, cols: number, q: Float64Array, at: number): number {
  let state = 0x9e3779b9;
  const z = buffer("z", n * cols);
  for (let k = 0; k < n * cols; k++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    z[k] = state & 1 ? 1 : -1;
  }
  const base = at * d;
  transposeTimes(a, n, d, z, cols, q, base);
  // One power iteration, Y = A'(A Y): the columns need no orthonormalising before it (with a
  // single iteration their scales stay within range); A Y is computed row by row.
  for (let t = 0; t < n; t++) for (let c = 0; c < cols; c++) z[t * cols + c] = dot(a, t * d, q, base + c * d, d);
  transposeTimes(a, n, d, z, cols, q, base);
  return orthonormalise(q, base, cols, d);
}

/** Whether an eigenvalue of the Fisher solution is kept: finite, positive and outside [1/cutoff, cutoff]. */
function keptValue(l: number, cutoff: number): boolean {
  return Number.isFinite(l) && l > 0 && (l > cutoff || l < 1 / cutoff);
}

/**
 * The m x m second moment of the n rows of `src` (row-major n x d) projected onto Q's m
 * columns (Q null: the rows as they are, m = d), plus gamma I, into `out`; O(n d m + n m^2).
 * Each entry is one strided dot product over the rows, summed in row order.
 */
function secondMoment(src: Float64Array, n: number, d: number, Q: Float64Array | null, m: number, gamma: number, out: Float64Array): Float64Array {
  let rows = src;
  let stride = d;
  if (Q !== null) {
    rows = buffer("projected", n * m);
    stride = m;
    for (let t = 0; t < n; t++) for (let c = 0; c < m; c++) rows[t * m + c] = dot(src, t * d, Q, c * d, d);
  }
  const end = n * stride;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let at = 0; at < end; at += stride) s += rows[at + a]! * rows[at + b]!;
      out[a * m + b] = s;
      out[b * m + a] = s;
    }
    out[a * m + a] = out[a * m + a]! + gamma;
  }
  return out;
}

/**
 * The estimate from `n` draws and gradients (row-major n x d), or null when there are fewer
 * than 3. `previous` supplies the diagonal where a coordinate's variances are degenerate.
 */
export function lowRankEstimate(
  draws: Float64Array,
  grads: Float64Array,
  n: number,
  d: number,
  previous: Float64Array,
  settings: LowRankSettings = LOW_RANK_DEFAULTS,
): LowRankMetric | null {
  if (n < 3) return null;
  const diag = new Float64Array(d);
  const xs = buffer("xs", n * d);
  const gs = buffer("gs", n * d);
  for (let i = 0; i < d; i++) {
    let mx = 0;
    let mg = 0;
    for (let t = 0; t < n; t++) {
      mx += draws[t * d + i]!;
      mg += grads[t * d + i]!;
    }
    mx /= n;
    mg /= n;
    let vx = 0;
    let vg = 0;
    for (let t = 0; t < n; t++) {
      const a = draws[t * d + i]! - mx;
      const b = grads[t * d + i]! - mg;
      vx += a * a;
      vg += b * b;
    }
    let s2 = Math.sqrt(vx / vg);
    s2 = Number.isFinite(s2) && s2 > 0 ? Math.min(FISHER_UPPER, Math.max(FISHER_LOWER, s2)) : previous[i]!;
    diag[i] = s2;
    const s = Math.sqrt(s2);
    for (let t = 0; t < n; t++) {
      xs[t * d + i] = (draws[t * d + i]! - mx) / s;
      gs[t * d + i] = (grads[t * d + i]! - mg) * s;
    }
  }

  // Orthonormal basis Q of the subspace, column-major (column c is Q[c d .. (c+1) d)); null: R^d.
  const cols = (settings.rank ?? LOW_RANK_DEFAULTS.rank!) + OVERSAMPLE;
  let m: number;
  let Q: Float64Array | null;
  if (d <= 2 * cols) {
    m = d;
    Q = null;
  } else if (n <= cols) {
    // The whole span of the 2n rescaled draws and gradients.
    Q = buffer("q", 2 * n * d);
    Q.set(xs.subarray(0, n * d));
    Q.set(gs.subarray(0, n * d), n * d);
    m = orthonormalise(Q, 0, 2 * n, d);
  } else {
    Q = buffer("q", 2 * cols * d);
    const kx = rangeFinder(xs, n, d, cols, Q, 0);
    const kg = rangeFinder(gs, n, d, cols, Q, kx);
    m = orthonormalise(Q, 0, kx + kg, d);
  }
  if (m === 0) return { kind: "low-rank", inverse: diag, vectors: new Float64Array(0), values: new Float64Array(0) };

  const A = secondMoment(xs, n, d, Q, m, settings.gamma, buffer("momentX", m * m));
  const B = secondMoment(gs, n, d, Q, m, settings.gamma, buffer("momentG", m * m));
  return fromSecondMoments(A, B, m, Q, d, diag, settings);
}

/**
 * Running means and co-moment sums (sum of (x - mean)(x - mean)', row-major d x d, lower
 * triangle only: entry (i, j) for j <= i) of an estimator's draws and gradients.
 */
export interface CoMoments {
  readonly meanX: Float64Array;
  readonly comX: Float64Array;
  readonly meanG: Float64Array;
  readonly comG: Float64Array;
}

/**
 * Whether the estimate works in all of R^d at dimension d with the default rank (no range
 * finder), so that running co-moments stand in for the stored rows. The estimate from
 * co-moments is the full-space one whatever `rank` says (rank only sizes the range finder).
 */
export function momentsFit(d: number): boolean {
  return d <= 2 * (LOW_RANK_DEFAULTS.rank! + OVERSAMPLE);
}

/**
 * `lowRankEstimate` from running co-moments instead of the rows, for dimensions where the
 * subspace is all of R^d (`momentsFit`): the rescaled second moments are the co-moments divided
 * (draws) or multiplied (gradients) by sigma_a sigma_b, so an estimate costs O(d^3) whatever the
 * window's length. The same estimate up to rounding.
 */
export function lowRankFromMoments(mo: CoMoments, d: number, previous: Float64Array, settings: LowRankSettings = LOW_RANK_DEFAULTS): LowRankMetric | null {
  const diag = new Float64Array(d);
  const sd = buffer("xs", d);
  for (let i = 0; i < d; i++) {
    let s2 = Math.sqrt(mo.comX[i * d + i]! / mo.comG[i * d + i]!);
    s2 = Number.isFinite(s2) && s2 > 0 ? Math.min(FISHER_UPPER, Math.max(FISHER_LOWER, s2)) : previous[i]!;
    diag[i] = s2;
    sd[i] = Math.sqrt(s2);
  }
  const A = buffer("momentX", d * d);
  const B = buffer("momentG", d * d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b <= a; b++) {
      const x = mo.comX[a * d + b]! / (sd[a]! * sd[b]!);
      const g = mo.comG[a * d + b]! * (sd[a]! * sd[b]!);
      A[a * d + b] = x;
      A[b * d + a] = x;
      B[a * d + b] = g;
      B[b * d + a] = g;
    }
    A[a * d + a] = A[a * d + a]! + settings.gamma;
    B[a * d + a] = B[a * d + a]! + settings.gamma;
  }
  return fromSecondMoments(A, B, d, null, d, diag, settings);
}

/**
 * Steps 3 and 4: S with S B S = A in the m-dimensional subspace Q (null: R^d), its eigenvalues
 * outside [1/c, c] and their eigenvectors mapped back to R^d.
 */
function fromSecondMoments(A: Float64Array, B: Float64Array, m: number, Q: Float64Array | null, d: number, diag: Float64Array, settings: LowRankSettings): LowRankMetric | null {
  const S = spdSolveSBSInto(A, B, m, buffer("s", m * m));
  const esValues = buffer("values", m);
  const esVectors = buffer("vectors", m * m);
  if (!symmetricEigenInto(S, m, esValues, esVectors)) return null;
  let k = 0;
  for (let j = 0; j < m; j++) if (keptValue(esValues[j]!, settings.cutoff)) k++;
  const vectors = new Float64Array(d * k);
  const values = new Float64Array(k);
  for (let j = 0, c = 0; j < m; j++) {
    if (!keptValue(esValues[j]!, settings.cutoff)) continue;
    values[c] = esValues[j]!;
    if (Q === null) {
      for (let i = 0; i < d; i++) vectors[i * k + c] = esVectors[i * m + j]!;
    } else {
      for (let a = 0; a < m; a++) {
        const w = esVectors[a * m + j]!;
        if (w === 0) continue;
        const col = a * d;
        for (let i = 0; i < d; i++) vectors[i * k + c] = vectors[i * k + c]! + w * Q[col + i]!;
      }
    }
    c++;
  }
  for (let i = 0; i < vectors.length; i++) if (!Number.isFinite(vectors[i]!)) return null;
  return { kind: "low-rank", inverse: diag, vectors, values };
}

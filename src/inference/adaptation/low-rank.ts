/**
 * The low-rank plus diagonal Fisher-divergence estimator (Seyboldt, Carlson and Carpenter,
 * arXiv 2603.18845, as nuts-rs implements it), from n stored draws and gradients:
 *
 * 1. rescale each coordinate by the diagonal estimate sigma_i^2 = sqrt(Var(x_i) / Var(g_i)):
 *    x' = (x - mean) / sigma, g' = (g - mean) * sigma;
 * 2. the subspace spanned by the centred draws and gradients (the left singular vectors of
 *    both; all of R^d when 2n >= d), found here from the eigendecomposition of their Gram matrix;
 * 3. in that subspace, the SPD S with S B S = A, A and B the draws' and gradients' second
 *    moments plus gamma I (the Fisher-divergence minimiser over dense transforms);
 * 4. S's eigenvalues outside [1/c, c] are kept with their eigenvectors (mapped back to R^d),
 *    the rest count as 1.
 *
 * The metric is M^-1 = D^1/2 (I + U (Lambda - I) U^T) D^1/2 with D = diag(sigma^2).
 */
import type { LowRankMetric } from "../metric.js";
import { FISHER_LOWER, FISHER_UPPER } from "../welford.js";
import { spdSolveSBS, symmetricEigen } from "./linalg.js";

export interface LowRankSettings {
  /** Regulariser added to both second-moment matrices (nuts-rs: 1e-5, relative to unscaled sums). */
  readonly gamma: number;
  /** Eigenvalues in [1/cutoff, cutoff] are dropped (nuts-rs: 2). */
  readonly cutoff: number;
}

export const LOW_RANK_DEFAULTS: LowRankSettings = { gamma: 1e-5, cutoff: 2 };

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
  const xs = new Float64Array(n * d);
  const gs = new Float64Array(n * d);
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

  // Orthonormal basis Q (d x m, row-major) of the span of the rescaled draws and gradients.
  let m: number;
  let Q: Float64Array | null;
  if (2 * n >= d) {
    m = d;
    Q = null; // the identity
  } else {
    const r = 2 * n;
    const row = (j: number): Float64Array => (j < n ? xs.subarray(j * d, (j + 1) * d) : gs.subarray((j - n) * d, (j - n + 1) * d));
    const gram = new Float64Array(r * r);
    for (let a = 0; a < r; a++) {
      const ra = row(a);
      for (let b = 0; b <= a; b++) {
        const rb = row(b);
        let s = 0;
        for (let i = 0; i < d; i++) s += ra[i]! * rb[i]!;
        gram[a * r + b] = s;
        gram[b * r + a] = s;
      }
    }
    const e = symmetricEigen(gram, r);
    const top = e.values[r - 1]!;
    const keep: number[] = [];
    for (let j = r - 1; j >= 0; j--) if (e.values[j]! > 1e-10 * top && e.values[j]! > 0) keep.push(j);
    m = keep.length;
    Q = new Float64Array(d * m);
    keep.forEach((j, c) => {
      const scale = 1 / Math.sqrt(e.values[j]!);
      for (let a = 0; a < r; a++) {
        const w = e.vectors[a * r + j]! * scale;
        if (w === 0) continue;
        const ra = row(a);
        for (let i = 0; i < d; i++) Q![i * m + c] = Q![i * m + c]! + w * ra[i]!;
      }
    });
  }
  if (m === 0) return { kind: "low-rank", inverse: diag, vectors: new Float64Array(0), values: new Float64Array(0) };

  // Second moments of the projected draws and gradients, plus gamma I.
  const project = (src: Float64Array): Float64Array => {
    if (Q === null) return src;
    const out = new Float64Array(n * m);
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < d; i++) {
        const v = src[t * d + i]!;
        if (v === 0) continue;
        for (let c = 0; c < m; c++) out[t * m + c] = out[t * m + c]! + v * Q[i * m + c]!;
      }
    }
    return out;
  };
  const moment = (p: Float64Array): Float64Array => {
    const out = new Float64Array(m * m);
    for (let t = 0; t < n; t++) {
      for (let a = 0; a < m; a++) {
        const pa = p[t * m + a]!;
        for (let b = 0; b <= a; b++) out[a * m + b] = out[a * m + b]! + pa * p[t * m + b]!;
      }
    }
    for (let a = 0; a < m; a++) {
      for (let b = 0; b < a; b++) out[b * m + a] = out[a * m + b]!;
      out[a * m + a] = out[a * m + a]! + settings.gamma;
    }
    return out;
  };
  const S = spdSolveSBS(moment(project(xs)), moment(project(gs)), m);
  const es = symmetricEigen(S, m);
  const kept: number[] = [];
  for (let j = 0; j < m; j++) {
    const l = es.values[j]!;
    if (Number.isFinite(l) && l > 0 && (l > settings.cutoff || l < 1 / settings.cutoff)) kept.push(j);
  }
  const k = kept.length;
  const vectors = new Float64Array(d * k);
  const values = new Float64Array(k);
  kept.forEach((j, c) => {
    values[c] = es.values[j]!;
    for (let i = 0; i < d; i++) {
      let s = 0;
      if (Q === null) s = es.vectors[i * m + j]!;
      else for (let a = 0; a < m; a++) s += Q[i * m + a]! * es.vectors[a * m + j]!;
      vectors[i * k + c] = s;
    }
  });
  for (let i = 0; i < vectors.length; i++) if (!Number.isFinite(vectors[i]!)) return null;
  return { kind: "low-rank", inverse: diag, vectors, values };
}

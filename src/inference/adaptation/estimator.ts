/**
 * Window estimators of the Fisher-divergence adaptation, as plain data (they live in the chain
 * checkpoint and travel to the coordinator, which merges those of all chains):
 * - diagonal: running means and variances of draws and gradients (Welford, Chan's merge);
 * - low-rank, where the estimate works in all of R^d (d up to 48, `momentsFit`): running means
 *   and co-moments of draws and gradients (Welford, Chan's merge), so that an estimate costs
 *   O(d^3) whatever the window's length and the estimator O(d^2) whatever its draws
 *   (DECISIONS.md D235);
 * - low-rank above that: the draws and gradients themselves (row-major, capacity doubling),
 *   since the estimator needs their subspace.
 */
import type { Metric } from "../metric.js";
import { welfordDiag, welfordDiagAdd, welfordMerge, type WelfordDiag } from "../welford.js";
import { fisherVariance } from "./fisher.js";
import { LOW_RANK_DEFAULTS, lowRankEstimate, lowRankFromMoments, momentsFit, type CoMoments, type LowRankSettings } from "./low-rank.js";

export type FisherEstimator =
  | { readonly kind: "diag"; readonly draws: WelfordDiag; readonly grads: WelfordDiag }
  | {
      readonly kind: "low-rank";
      /** Draws added. */
      n: number;
      /** Stored rows (row-major n x d); empty when `moments` stands in for them. */
      draws: Float64Array;
      grads: Float64Array;
      /** Running means and co-moments, in place of the rows (d up to 48). */
      moments?: CoMoments;
    };

export type FisherKind = FisherEstimator["kind"];

export function newEstimator(kind: FisherKind, dim: number): FisherEstimator {
  if (kind === "diag") return { kind, draws: welfordDiag(dim), grads: welfordDiag(dim) };
  return { kind, n: 0, draws: new Float64Array(0), grads: new Float64Array(0), ...(momentsFit(dim) ? { moments: newCoMoments(dim) } : {}) };
}

/** Empty running means and co-moments of dimension d. */
function newCoMoments(d: number): CoMoments {
  return { meanX: new Float64Array(d), comX: new Float64Array(d * d), meanG: new Float64Array(d), comG: new Float64Array(d * d) };
}

/**
 * Welford's update of a mean and co-moment sum with row x, the n-th: C += ((n - 1) / n) dd'
 * with d = x - the previous mean; only the lower triangle (j <= i) is kept.
 */
function coMomentAdd(mean: Float64Array, com: Float64Array, x: Float64Array, n: number, delta: Float64Array): void {
  const d = x.length;
  const f = (n - 1) / n;
  for (let i = 0; i < d; i++) {
    const di = x[i]! - mean[i]!;
    delta[i] = di;
    mean[i] = mean[i]! + di / n;
  }
  for (let i = 0; i < d; i++) {
    const di = delta[i]!;
    const row = i * d;
    for (let j = 0; j <= i; j++) com[row + j] = com[row + j]! + f * (di * delta[j]!);
  }
}

/** Chan's merge of co-moments: `into` (na rows) absorbs `from` (nb rows). */
function coMomentMerge(intoMean: Float64Array, intoCom: Float64Array, na: number, fromMean: Float64Array, fromCom: Float64Array, nb: number): void {
  const d = intoMean.length;
  const n = na + nb;
  if (nb === 0) return;
  const w = (na * nb) / n;
  for (let i = 0; i < d; i++) {
    const di = fromMean[i]! - intoMean[i]!;
    const row = i * d;
    for (let j = 0; j <= i; j++) intoCom[row + j] = intoCom[row + j]! + fromCom[row + j]! + w * (di * (fromMean[j]! - intoMean[j]!));
  }
  for (let i = 0; i < d; i++) intoMean[i] = intoMean[i]! + ((fromMean[i]! - intoMean[i]!) * nb) / n;
}

/** Scratch for the co-moment update's deltas (one estimator update at a time per thread). */
let deltaScratch = new Float64Array(0);

export function estimatorCount(e: FisherEstimator): number {
  return e.kind === "diag" ? e.draws.n : e.n;
}

/** Adds a draw and its gradient. */
export function estimatorAdd(e: FisherEstimator, x: Float64Array, g: Float64Array): void {
  if (e.kind === "diag") {
    welfordDiagAdd(e.draws, x);
    welfordDiagAdd(e.grads, g);
    return;
  }
  const d = x.length;
  if (e.moments !== undefined) {
    e.n++;
    if (deltaScratch.length !== d) deltaScratch = new Float64Array(d);
    coMomentAdd(e.moments.meanX, e.moments.comX, x, e.n, deltaScratch);
    coMomentAdd(e.moments.meanG, e.moments.comG, g, e.n, deltaScratch);
    return;
  }
  if ((e.n + 1) * d > e.draws.length) {
    const cap = Math.max(16, 2 * e.n) * d;
    const dr = new Float64Array(cap);
    const gr = new Float64Array(cap);
    dr.set(e.draws.subarray(0, e.n * d));
    gr.set(e.grads.subarray(0, e.n * d));
    e.draws = dr;
    e.grads = gr;
  }
  e.draws.set(x, e.n * d);
  e.grads.set(g, e.n * d);
  e.n++;
}

/** The estimator of the union of the inputs' draws (in order); a new object. */
export function mergeEstimators(list: readonly FisherEstimator[], dim: number): FisherEstimator {
  if (list.length === 0) throw new Error("mergeEstimators: nothing to merge");
  const kind = list[0]!.kind;
  if (list.some((e) => e.kind !== kind)) throw new Error("mergeEstimators: estimators of different kinds");
  if (kind === "diag") {
    const ds = list as readonly Extract<FisherEstimator, { kind: "diag" }>[];
    let draws = welfordDiag(dim);
    let grads = welfordDiag(dim);
    for (const e of ds) {
      draws = welfordMerge(draws, e.draws);
      grads = welfordMerge(grads, e.grads);
    }
    return { kind, draws, grads };
  }
  const ls = list as readonly LowRankEstimator[];
  const n = ls.reduce((s, e) => s + e.n, 0);
  if (ls.some((e) => e.moments !== undefined)) {
    // Co-moments (a chain restored from a checkpoint made before D235 holds rows: its rows are
    // summarised first).
    const moments = newCoMoments(dim);
    let count = 0;
    for (const e of ls) {
      const m = e.moments ?? momentsOfRows(e, dim);
      coMomentMerge(moments.meanX, moments.comX, count, m.meanX, m.comX, e.n);
      coMomentMerge(moments.meanG, moments.comG, count, m.meanG, m.comG, e.n);
      count += e.n;
    }
    return { kind, n, draws: new Float64Array(0), grads: new Float64Array(0), moments };
  }
  const draws = new Float64Array(n * dim);
  const grads = new Float64Array(n * dim);
  let at = 0;
  for (const e of ls) {
    draws.set(e.draws.subarray(0, e.n * dim), at);
    grads.set(e.grads.subarray(0, e.n * dim), at);
    at += e.n * dim;
  }
  return { kind, n, draws, grads };
}

type LowRankEstimator = Extract<FisherEstimator, { kind: "low-rank" }>;

/** The co-moments of an estimator's stored rows. */
function momentsOfRows(e: LowRankEstimator, d: number): CoMoments {
  const m = newCoMoments(d);
  if (deltaScratch.length !== d) deltaScratch = new Float64Array(d);
  for (let t = 0; t < e.n; t++) {
    coMomentAdd(m.meanX, m.comX, e.draws.subarray(t * d, (t + 1) * d), t + 1, deltaScratch);
    coMomentAdd(m.meanG, m.comG, e.grads.subarray(t * d, (t + 1) * d), t + 1, deltaScratch);
  }
  return m;
}

/**
 * At most `maxRows` of a low-rank estimator's rows, evenly spaced in order (so rows of every
 * chain of a pooled window stay); the estimator itself when it holds no more. A diagonal
 * estimator, or a low-rank one of co-moments, is returned as it is (its size does not grow with
 * draws).
 */
export function thinEstimator(e: FisherEstimator, dim: number, maxRows: number): FisherEstimator {
  if (e.kind === "diag" || e.moments !== undefined || e.n <= maxRows) return e;
  const draws = new Float64Array(maxRows * dim);
  const grads = new Float64Array(maxRows * dim);
  for (let j = 0; j < maxRows; j++) {
    const t = Math.floor((j * e.n) / maxRows);
    draws.set(e.draws.subarray(t * dim, (t + 1) * dim), j * dim);
    grads.set(e.grads.subarray(t * dim, (t + 1) * dim), j * dim);
  }
  return { kind: e.kind, n: maxRows, draws, grads };
}

/** A copy holding only the stored rows (no spare capacity): what goes into messages. */
export function compactEstimator(e: FisherEstimator, dim: number): FisherEstimator {
  if (e.kind === "diag") return structuredClone(e);
  return { kind: e.kind, n: e.n, draws: e.draws.slice(0, e.n * dim), grads: e.grads.slice(0, e.n * dim), ...(e.moments !== undefined ? { moments: structuredClone(e.moments) } : {}) };
}

/** The metric the estimator gives, or null with fewer than 3 draws. `previous` fills degenerate coordinates. */
export function estimateMetric(e: FisherEstimator, previous: Metric, settings: LowRankSettings = LOW_RANK_DEFAULTS): Metric | null {
  if (estimatorCount(e) < 3) return null;
  if (e.kind === "diag") return { kind: "diag", inverse: fisherVariance(e.draws, e.grads, previous.inverse) };
  const d = previous.inverse.length;
  if (e.moments !== undefined) return lowRankFromMoments(e.moments, d, previous.inverse, settings);
  return lowRankEstimate(e.draws, e.grads, e.n, d, previous.inverse, settings);
}

/** The diagonal Fisher estimate of any estimator (the low-rank's draws summarised per coordinate). */
export function estimatorDiagonal(e: FisherEstimator, previous: Float64Array): Float64Array {
  if (e.kind === "diag") return fisherVariance(e.draws, e.grads, previous);
  const d = previous.length;
  if (e.moments !== undefined) {
    const diagonal = (mean: Float64Array, com: Float64Array): WelfordDiag => ({ kind: "diag", n: e.n, mean, m2: Float64Array.from({ length: d }, (_, i) => com[i * d + i]!) });
    return fisherVariance(diagonal(e.moments.meanX, e.moments.comX), diagonal(e.moments.meanG, e.moments.comG), previous);
  }
  const draws = welfordDiag(d);
  const grads = welfordDiag(d);
  for (let t = 0; t < e.n; t++) {
    welfordDiagAdd(draws, e.draws.subarray(t * d, (t + 1) * d));
    welfordDiagAdd(grads, e.grads.subarray(t * d, (t + 1) * d));
  }
  return fisherVariance(draws, grads, previous);
}

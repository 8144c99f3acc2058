/**
 * Window estimators of the Fisher-divergence adaptation, as plain data (they live in the chain
 * checkpoint and travel to the coordinator, which merges those of all chains):
 * - diagonal: running means and variances of draws and gradients (Welford, Chan's merge);
 * - low-rank: the draws and gradients themselves (row-major, capacity doubling), since the
 *   estimator needs their subspace.
 */
import type { Metric } from "../metric.js";
import { welfordDiag, welfordDiagAdd, welfordMerge, type WelfordDiag } from "../welford.js";
import { fisherVariance } from "./fisher.js";
import { LOW_RANK_DEFAULTS, lowRankEstimate, type LowRankSettings } from "./low-rank.js";

export type FisherEstimator =
  | { readonly kind: "diag"; readonly draws: WelfordDiag; readonly grads: WelfordDiag }
  | { readonly kind: "low-rank"; n: number; draws: Float64Array; grads: Float64Array };

export type FisherKind = FisherEstimator["kind"];

export function newEstimator(kind: FisherKind, dim: number): FisherEstimator {
  if (kind === "diag") return { kind, draws: welfordDiag(dim), grads: welfordDiag(dim) };
  return { kind, n: 0, draws: new Float64Array(0), grads: new Float64Array(0) };
}

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
  const ls = list as readonly Extract<FisherEstimator, { kind: "low-rank" }>[];
  const n = ls.reduce((s, e) => s + e.n, 0);
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

/**
 * At most `maxRows` of a low-rank estimator's rows, evenly spaced in order (so rows of every
 * chain of a pooled window stay); the estimator itself when it holds no more. A diagonal
 * estimator is returned as it is (its size does not grow with draws).
 */
export function thinEstimator(e: FisherEstimator, dim: number, maxRows: number): FisherEstimator {
  if (e.kind === "diag" || e.n <= maxRows) return e;
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
  return { kind: e.kind, n: e.n, draws: e.draws.slice(0, e.n * dim), grads: e.grads.slice(0, e.n * dim) };
}

/** The metric the estimator gives, or null with fewer than 3 draws. `previous` fills degenerate coordinates. */
export function estimateMetric(e: FisherEstimator, previous: Metric, settings: LowRankSettings = LOW_RANK_DEFAULTS): Metric | null {
  if (estimatorCount(e) < 3) return null;
  if (e.kind === "diag") return { kind: "diag", inverse: fisherVariance(e.draws, e.grads, previous.inverse) };
  const d = previous.inverse.length;
  return lowRankEstimate(e.draws, e.grads, e.n, d, previous.inverse, settings);
}

/** The diagonal Fisher estimate of any estimator (the low-rank's draws summarised per coordinate). */
export function estimatorDiagonal(e: FisherEstimator, previous: Float64Array): Float64Array {
  if (e.kind === "diag") return fisherVariance(e.draws, e.grads, previous);
  const d = previous.length;
  const draws = welfordDiag(d);
  const grads = welfordDiag(d);
  for (let t = 0; t < e.n; t++) {
    welfordDiagAdd(draws, e.draws.subarray(t * d, (t + 1) * d));
    welfordDiagAdd(grads, e.grads.subarray(t * d, (t + 1) * d));
  }
  return fisherVariance(draws, grads, previous);
}

/**
 * Rank normalisation (posterior's z_scale): average ranks for ties, Blom's
 * fractional offset c = 3/8, then the normal quantile:
 *   z = qnorm((r - c) / (S - 2c + 1)).
 * Both functions work from one argsort of the split draws (SortedView), so
 * ranking is linear after the sort. Normal scores for integer ranks are
 * cached per S because the same S recurs for every parameter.
 */
import type { SplitView } from "./draws.js";
import { qnorm } from "./normal.js";
import { argsortInPlace } from "./sort.js";

const OFFSET = 3 / 8;

/** The view's draws in ascending order: sorted[k] = x[order[k]] (flat offsets). */
export interface SortedView {
  readonly sorted: Float64Array;
  readonly order: Int32Array;
}

const scoreCache = new Map<number, Float64Array>();

function normalScores(S: number): Float64Array {
  let t = scoreCache.get(S);
  if (t !== undefined) return t;
  t = new Float64Array(S);
  const denom = S - 2 * OFFSET + 1;
  for (let r = 1; r <= S; r++) t[r - 1] = qnorm((r - OFFSET) / denom);
  if (scoreCache.size >= 8) scoreCache.delete(scoreCache.keys().next().value as number);
  scoreCache.set(S, t);
  return t;
}

/** Normal score of the average rank of positions g0 .. g1-1 (0-based). */
function scoreOfRun(scores: Float64Array, S: number, g0: number, g1: number): number {
  const r = (g0 + 1 + g1) / 2;
  return Number.isInteger(r) ? scores[r - 1]! : qnorm((r - OFFSET) / (S - 2 * OFFSET + 1));
}

/** Argsort the view's elements of src into the given buffers (no NaN allowed). */
export function sortView(src: Float64Array, view: SplitView, sortedBuf: Float64Array, orderBuf: Int32Array): SortedView {
  const { starts, count, len, stride } = view;
  const S = count * len;
  const order = orderBuf.subarray(0, S);
  const sorted = sortedBuf.subarray(0, S);
  let k = 0;
  for (let s = 0; s < count; s++) {
    for (let i = starts[s]!, end = i + len * stride; i < end; i += stride) order[k++] = i;
  }
  argsortInPlace(src, order, S, sorted);
  return { sorted, order };
}

/** Rank-normalise the sorted view's draws into out at their flat offsets. */
export function zScaleSorted(sv: SortedView, out: Float64Array): void {
  const { sorted, order } = sv;
  const S = sorted.length;
  const scores = normalScores(S);
  let g0 = 0;
  while (g0 < S) {
    const v = sorted[g0]!;
    let g1 = g0 + 1;
    while (g1 < S && sorted[g1] === v) g1++;
    if (g1 === g0 + 1) {
      out[order[g0]!] = scores[g0]!;
    } else {
      const z = scoreOfRun(scores, S, g0, g1);
      for (let t = g0; t < g1; t++) out[order[t]!] = z;
    }
    g0 = g1;
  }
}

/**
 * z_scale of the folded draws |x - median(x)| over the view, written to out
 * at the draws' flat offsets. pa, pb are the middle order statistics of all
 * draws (pa = pb for an odd count), finite.
 *
 * Follows posterior's floating-point steps: R's median (the mean of the two
 * middle draws, which for two doubles is their sum rounded once and halved),
 * then abs(x - median) in double, then average ranks over runs of equal
 * folded doubles. Two draws either side of an even-count median are
 * mathematically equidistant, but whether their rounded folds tie depends on
 * their last bits; R ranks the rounded values, and so do we.
 *
 * Rounding is monotone, so the folded values of the draws below the median,
 * taken downwards, and of those above it, taken upwards, are both
 * non-decreasing: folded order is a linear merge of the two runs.
 */
export function foldZScaleSorted(
  sv: SortedView,
  pa: number,
  pb: number,
  out: Float64Array,
  mergedBuf: Int32Array,
): void {
  const { sorted, order } = sv;
  const S = sorted.length;
  if (S === 0) return;
  const sum = pa + pb;
  const median = Number.isFinite(sum) ? sum / 2 : pa / 2 + pb / 2;
  const fold = (x: number) => Math.abs(x - median);
  // sorted = [below median | equal to it | above it]
  let p = 0;
  let hi = S;
  while (p < hi) {
    const mid = (p + hi) >>> 1;
    if (sorted[mid]! < median) p = mid + 1;
    else hi = mid;
  }
  let q = p;
  hi = S;
  while (q < hi) {
    const mid = (q + hi) >>> 1;
    if (sorted[mid]! <= median) q = mid + 1;
    else hi = mid;
  }
  // Sorted positions by ascending folded value: zeros, then outward from the median.
  const merged = mergedBuf;
  let k = 0;
  for (let t = p; t < q; t++) merged[k++] = t;
  let i = p - 1;
  let j = q;
  while (i >= 0 && j < S) {
    if (fold(sorted[i]!) <= fold(sorted[j]!)) merged[k++] = i--;
    else merged[k++] = j++;
  }
  while (i >= 0) merged[k++] = i--;
  while (j < S) merged[k++] = j++;

  // Average ranks over runs of equal folded values.
  const scores = normalScores(S);
  let g0 = 0;
  while (g0 < S) {
    const first = merged[g0]!;
    const vf = fold(sorted[first]!);
    let g1 = g0 + 1;
    while (g1 < S && fold(sorted[merged[g1]!]!) === vf) g1++;
    if (g1 === g0 + 1) {
      out[order[first]!] = scores[g0]!;
    } else {
      const z = scoreOfRun(scores, S, g0, g1);
      for (let t = g0; t < g1; t++) out[order[merged[t]!]!] = z;
    }
    g0 = g1;
  }
}

/**
 * Pareto-smoothed importance sampling (Vehtari, Simpson, Gelman, Yao, Gabry 2024), as the R
 * package loo 2.5.1 computes it: the largest importance ratios are replaced by the expected
 * order statistics of a generalised Pareto distribution fitted to them (Zhang & Stephens 2009,
 * with loo's weakly informative prior), then truncated at the largest raw ratio. The shape
 * estimate k is the diagnostic: above 0.7 the importance weights are unreliable.
 *
 * Pure functions over arrays. Pathfinder's multi-path resampling uses them; PSIS-LOO can too.
 */
import { logSumExpOf } from "./logsumexp.js";

export interface GpdFit {
  /** Shape k (Inf when the fit fails). */
  readonly k: number;
  /** Scale sigma. */
  readonly sigma: number;
}

/**
 * Fits a generalised Pareto distribution to `x` (ascending, positive exceedances) by Zhang &
 * Stephens' empirical Bayes estimate, with loo's weakly informative prior on k (`wip`: k is
 * shrunk toward 0.5 as if from 10 more observations). loo's `gpdfit(x, sort_x = FALSE)`.
 */
export function gpdFit(x: ArrayLike<number>, wip = true, minGridPoints = 30): GpdFit {
  const n = x.length;
  const prior = 3;
  const m = minGridPoints + Math.floor(Math.sqrt(n));
  // First quartile of the sample (R's x[floor(N / 4 + 0.5)], 1-based).
  const xStar = x[Math.floor(n / 4 + 0.5) - 1]!;
  const xMax = x[n - 1]!;
  const theta = new Float64Array(m);
  const logLik = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    theta[j] = 1 / xMax + (1 - Math.sqrt(m / (j + 1 - 0.5))) / prior / xStar;
    // Profile log-likelihood of theta (loo's lx): a = -theta, k = mean(log1p(a x)).
    const a = -theta[j]!;
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.log1p(a * x[i]!);
    const k = s / n;
    logLik[j] = n * (Math.log(a / k) - k - 1);
  }
  const lse = logSumExpOf(logLik);
  let thetaHat = 0;
  for (let j = 0; j < m; j++) thetaHat += theta[j]! * Math.exp(logLik[j]! - lse);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log1p(-thetaHat * x[i]!);
  let k = s / n;
  const sigma = -k / thetaHat;
  if (wip) k = (k * n) / (n + 10) + (10 * 0.5) / (n + 10);
  if (Number.isNaN(k)) k = Infinity;
  return { k, sigma };
}

/** Quantile function of the generalised Pareto distribution (location 0). */
export function qgpd(p: number, k: number, sigma: number): number {
  if (Number.isNaN(sigma) || sigma <= 0) return NaN;
  return (sigma * Math.expm1(-k * Math.log1p(-p))) / k;
}

/**
 * Draws in the smoothed tail: loo's `n_pareto`, ceiling(min(0.2 S, 3 sqrt(S / r_eff))), where
 * `rEff` is the relative efficiency of the draws (1 for independent draws).
 */
export function psisTailLength(draws: number, rEff = 1): number {
  return Math.ceil(Math.min(0.2 * draws, 3 * Math.sqrt(draws / rEff)));
}

export interface PsisResult {
  /** Smoothed log weights (not normalised), on the scale of the log ratios given. */
  readonly logWeights: Float64Array;
  /** Pareto shape of the tail (Inf when the tail could not be fitted or is too short). */
  readonly paretoK: number;
}

/**
 * PSIS of one vector of log importance ratios (loo's `do_psis_i`): the `tailLength` largest
 * are smoothed (at least 5 are needed), every log weight is then truncated at the largest raw
 * one. `tailLength` defaults to `psisTailLength(n)` (independent draws).
 */
export function psis(logRatios: ArrayLike<number>, tailLength = psisTailLength(logRatios.length)): PsisResult {
  const n = logRatios.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logRatios[i]! > max) max = logRatios[i]!;
  const lw = Float64Array.from(logRatios, (v) => v - max);
  let paretoK = Infinity;
  if (tailLength >= 5 && tailLength < n) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => lw[a]! - lw[b]! || a - b);
    const first = n - tailLength;
    const tail = Float64Array.from({ length: tailLength }, (_, j) => lw[order[first + j]!]!);
    if (Math.abs(tail[tailLength - 1]! - tail[0]!) >= Number.EPSILON / 100) {
      // Largest log ratio below the tail.
      const cutoff = lw[order[first - 1]!]!;
      const expCutoff = Math.exp(cutoff);
      const fit = gpdFit(Float64Array.from(tail, (v) => Math.exp(v) - expCutoff), true);
      paretoK = fit.k;
      if (Number.isFinite(fit.k)) {
        for (let j = 0; j < tailLength; j++) {
          const p = (j + 1 - 0.5) / tailLength;
          lw[order[first + j]!] = Math.log(qgpd(p, fit.k, fit.sigma) + expCutoff);
        }
      }
    }
  }
  for (let i = 0; i < n; i++) {
    if (lw[i]! > 0) lw[i] = 0;
    lw[i] = lw[i]! + max;
  }
  return { logWeights: lw, paretoK };
}

/** Normalised weights (summing to 1) from log weights. */
export function normalizeLogWeights(logWeights: ArrayLike<number>): Float64Array {
  const lse = logSumExpOf(logWeights);
  return Float64Array.from(logWeights, (v) => Math.exp(v - lse));
}

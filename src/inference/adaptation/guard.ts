/**
 * What keeps a bad window from breaking warmup (DECISIONS.md D95): the checks around the
 * estimators, apart from their algorithms.
 *
 * - A draw whose position or gradient has a non-finite entry feeds no estimator (`finiteRow`).
 * - A metric is applied only if it is finite and positive definite (`metricProblem`); otherwise
 *   the chain keeps its previous one and says so.
 * - Chains pool their window statistics only with chains near the same level of log density
 *   (`poolableChains`): a chain far below the best one (still in the tails, or stuck where the
 *   gradients explode, as a moving-average recursion outside its invertible region) would make
 *   the pooled metric of every chain from its extreme draws and gradients. Such a chain adapts
 *   on its own window instead, as Stan's per-chain adaptation does.
 */
import { cholesky, validateMetric, type Metric } from "../metric.js";

/** Whether every entry of `x` (and `g`, when given) is finite. */
export function finiteRow(x: ArrayLike<number>, g?: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return false;
  if (g !== undefined) for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) return false;
  return true;
}

/**
 * Why `metric` cannot be used for dimension `dim` (not finite, not positive definite, wrong
 * shape), or null when it can. Never throws.
 */
export function metricProblem(metric: Metric | null, dim: number): string | null {
  if (metric === null) return "the estimate could not be computed";
  try {
    validateMetric(metric, dim);
    if (metric.kind === "dense") cholesky(metric.inverse, dim);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * The gap in log density below the best chain beyond which a chain's window is not pooled:
 * max(50, 10 sqrt(d)). Two draws of a d-dimensional posterior's typical set differ in log
 * density by about sqrt(d) (the log density of a Gaussian is -chi2_d / 2, sd sqrt(d / 2)); the
 * gap is 10 such spreads, and at least 50 (e^-50 in density).
 */
export function poolingGap(dim: number): number {
  return Math.max(50, 10 * Math.sqrt(dim));
}

/**
 * Which chains' windows go into the pooled metric, from each chain's log density at the window
 * end: those within `poolingGap(dim)` of the highest (a chain with a non-finite log density is
 * left out). At least the best chain is always in.
 */
export function poolableChains(logDensities: readonly number[], dim: number): boolean[] {
  let best = -Infinity;
  for (const lp of logDensities) if (Number.isFinite(lp) && lp > best) best = lp;
  if (best === -Infinity) return logDensities.map(() => true);
  const gap = poolingGap(dim);
  return logDensities.map((lp) => Number.isFinite(lp) && lp >= best - gap);
}

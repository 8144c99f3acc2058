/**
 * Effective sample size from averaged autocovariances (posterior's .ess):
 * combined within/between variance, Geyer's initial positive then initial
 * monotone sequence, the improved (antithetic-friendly) truncation, and the
 * cap ESS <= N log10(N) that posterior applies.
 */
import type { SplitView } from "./draws.js";
import { varianceOf } from "./draws.js";
import { centreSequences, LazyAutocovariance } from "./autocovariance.js";
import type { Workspace } from "./workspace.js";

/**
 * ESS from the mean autocovariance of `count` sequences of length n (lags
 * fetched on demand) and their means. Mirrors posterior 1.4.0 step by step,
 * including its 1-based indexing quirks (noted where they matter).
 */
export function geyerEss(lazy: LazyAutocovariance, means: Float64Array, count: number, n: number, rho: Float64Array): number {
  lazy.ensure(1);
  const acov = lazy.acov;
  const meanVar = (acov[0]! * n) / (n - 1);
  let varPlus = (meanVar * (n - 1)) / n;
  if (count > 1) varPlus += varianceOf(means, 0, count);

  rho.fill(0, 0, n);
  // Geyer's initial positive sequence over pairs (rho[t], rho[t+1]), t even.
  let t = 0;
  let rhoEven = 1;
  rho[0] = rhoEven;
  let rhoOdd = 1 - (meanVar - acov[1]!) / varPlus;
  rho[1] = rhoOdd;
  while (t < n - 5 && rhoEven + rhoOdd > 0) {
    t += 2;
    lazy.ensure(t + 1);
    rhoEven = 1 - (meanVar - acov[t]!) / varPlus;
    rhoOdd = 1 - (meanVar - acov[t + 1]!) / varPlus;
    if (rhoEven + rhoOdd >= 0) {
      rho[t] = rhoEven;
      rho[t + 1] = rhoOdd;
    }
  }
  const maxT = t;
  // The last even lag is kept for the improved estimate (even if its pair was dropped).
  if (rhoEven > 0) rho[maxT] = rhoEven;

  // Geyer's initial monotone sequence.
  t = 0;
  while (t <= maxT - 4) {
    t += 2;
    if (rho[t]! + rho[t + 1]! > rho[t - 2]! + rho[t - 1]!) {
      rho[t] = (rho[t - 2]! + rho[t - 1]!) / 2;
      rho[t + 1] = rho[t]!;
    }
  }

  // tau = -1 + 2 * sum(rho[1:max_t]) + rho[max_t + 1] in R. With max_t = 0,
  // R's 1:0 is c(1, 0), which selects rho[1]: the sum is then rho[0], not 0.
  let sum = 0;
  if (maxT === 0) sum = rho[0]!;
  else for (let k = 0; k < maxT; k++) sum += rho[k]!;
  let tau = -1 + 2 * sum + rho[maxT]!;

  const total = count * n;
  // Antithetic chains can drive tau towards 0; posterior bounds ESS by N log10 N.
  const tauBound = 1 / Math.log10(total);
  if (tau < tauBound) tau = tauBound;
  return total / tau;
}

/**
 * posterior's .ess on the view's sequences of x: NaN for fewer than 3 draws
 * per sequence, for non-finite or constant input.
 */
export function essView(x: Float64Array, view: SplitView, ws: Workspace): number {
  const { count, len } = view;
  if (len < 3) return Number.NaN;
  const means = ws.get("ess.means", count);
  const yc = ws.get("ess.centred", count * len);
  if (centreSequences(x, view, yc, means)) return Number.NaN;
  const lazy = new LazyAutocovariance(ws.get("ess.acov", len), yc, count, len, ws);
  return geyerEss(lazy, means, count, len, ws.get("ess.rho", len));
}

/**
 * Energy Bayesian fraction of missing information for one chain, as Stan's
 * diagnostics compute it: sum of squared successive energy differences over
 * the sum of squared deviations from the mean energy. Values below ~0.3 flag
 * momentum resampling that explores the energy distribution poorly.
 * (arviz divides the two sums by n-1 and n; the difference is O(1/n).)
 */
import { meanOf } from "./draws.js";

export function ebfmi(energy: ArrayLike<number>): number {
  const n = energy.length;
  if (n < 2) return Number.NaN;
  const mu = meanOf(energy);
  let num = 0;
  let den = 0;
  let prev = energy[0]!;
  den += (prev - mu) * (prev - mu);
  for (let i = 1; i < n; i++) {
    const e = energy[i]!;
    const d = e - prev;
    num += d * d;
    den += (e - mu) * (e - mu);
    prev = e;
  }
  // Constant energy gives 0 / 0: undefined, reported as NaN.
  return num / den;
}

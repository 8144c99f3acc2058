/**
 * Statistical checks in units of Monte Carlo standard error (MCSE from the diagnostics
 * module: sd / sqrt(ESS)). A check passes when the estimate is within 4 MCSE of the exact
 * value. For variances we use the draws (x - mu)^2 with the exact mean mu: their mean
 * estimates the variance and its MCSE is that of a mean.
 */
import { expect } from "vitest";
import { mcseMean, mean } from "../../src/diagnostics/index.js";

export interface ZScore {
  readonly label: string;
  readonly estimate: number;
  readonly exact: number;
  readonly mcse: number;
  readonly z: number;
}

export function zMean(chains: ArrayLike<number>[], exact: number, label = "mean"): ZScore {
  const estimate = mean(chains);
  const mcse = mcseMean(chains);
  return { label, estimate, exact, mcse, z: (estimate - exact) / mcse };
}

/** z-score of the variance estimate mean((x - mu)^2) against the exact variance. */
export function zVariance(chains: ArrayLike<number>[], exactMean: number, exactVar: number, label = "var"): ZScore {
  const sq = chains.map((c) => Float64Array.from(c as ArrayLike<number>, (x) => (x - exactMean) ** 2));
  return { ...zMean(sq, exactVar, label), label };
}

/** z-score of E[(x - mx)(y - my)] against the exact covariance. */
export function zCovariance(
  xs: ArrayLike<number>[],
  ys: ArrayLike<number>[],
  mx: number,
  my: number,
  exact: number,
  label = "cov",
): ZScore {
  const prod = xs.map((x, c) => Float64Array.from(x as ArrayLike<number>, (v, i) => (v - mx) * (ys[c]![i]! - my)));
  return { ...zMean(prod, exact, label), label };
}

export function expectWithin4Mcse(scores: readonly ZScore[]): void {
  const bad = scores.filter((s) => !(Math.abs(s.z) < 4));
  const show = (s: ZScore) =>
    `${s.label}: estimate ${s.estimate.toPrecision(6)} exact ${s.exact.toPrecision(6)} mcse ${s.mcse.toPrecision(3)} z ${s.z.toFixed(2)}`;
  expect(bad.map(show), bad.map(show).join("\n")).toEqual([]);
}

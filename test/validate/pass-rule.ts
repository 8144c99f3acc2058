/**
 * posteriordb's pass rule (test/posteriordb/README.md): every reference parameter's mean, sd,
 * 5% and 95% quantiles within four of our own Monte Carlo standard errors (plus 2% of the
 * reference sd), no divergent transitions after warmup, R-hat < 1.01.
 */
import { mcseMean, mcseQuantile, mcseSd, quantile, rhat, essBulk } from "../../src/diagnostics/index.js";
import type { Posterior } from "../../src/api/posterior.js";
import type { ReferenceStats } from "../posteriordb/models.js";

export interface ParameterCheck {
  readonly name: string;
  /** |mean - ref| in units of the allowed error (<= 1 passes), and likewise below. */
  readonly meanScore: number;
  readonly sdRatio: number;
  readonly sdScore: number;
  readonly q05Score: number;
  readonly q95Score: number;
  /** (mean - ref.mean) / mcse_mean: the signed z of the mean. */
  readonly meanZ: number;
  readonly rhat: number;
  readonly essBulk: number;
}

export interface PosteriorCheck {
  readonly passed: boolean;
  readonly parameters: readonly ParameterCheck[];
  readonly divergences: number;
  readonly failures: readonly string[];
  readonly worstMeanZ: number;
  readonly worstSdRatio: number;
  readonly minEss: number;
  readonly maxRhat: number;
}

const meanOf = (chains: ArrayLike<number>[]) => {
  let s = 0;
  let n = 0;
  for (const c of chains) for (let i = 0; i < c.length; i++, n++) s += c[i]!;
  return s / n;
};
const sdOf = (chains: ArrayLike<number>[], m: number) => {
  let s = 0;
  let n = 0;
  for (const c of chains) for (let i = 0; i < c.length; i++, n++) s += (c[i]! - m) ** 2;
  return Math.sqrt(s / (n - 1));
};

export function checkAgainstReference(posterior: Posterior, reference: Record<string, ReferenceStats>): PosteriorCheck {
  const failures: string[] = [];
  const parameters: ParameterCheck[] = [];
  for (const [name, ref] of Object.entries(reference)) {
    if (!posterior.names.includes(name)) {
      failures.push(`${name}: not reported by the model`);
      continue;
    }
    const chains = posterior.draws(name);
    const m = meanOf(chains);
    const sd = sdOf(chains, m);
    const allow = 0.02 * ref.sd;
    const meanScore = Math.abs(m - ref.mean) / (4 * mcseMean(chains) + allow);
    const sdScore = Math.abs(sd / ref.sd - 1) / (0.1 + (4 * mcseSd(chains)) / ref.sd);
    const q05Score = Math.abs(quantile(chains, 0.05) - ref.q05) / (4 * mcseQuantile(chains, 0.05) + allow);
    const q95Score = Math.abs(quantile(chains, 0.95) - ref.q95) / (4 * mcseQuantile(chains, 0.95) + allow);
    const check: ParameterCheck = {
      name,
      meanScore,
      sdRatio: sd / ref.sd,
      sdScore,
      q05Score,
      q95Score,
      meanZ: (m - ref.mean) / mcseMean(chains),
      rhat: rhat(chains),
      essBulk: essBulk(chains),
    };
    parameters.push(check);
    // NaN scores (a constant draw) fail too: `!(x <= 1)`.
    if (!(meanScore <= 1)) failures.push(`${name}: mean ${m.toPrecision(5)} vs ${ref.mean.toPrecision(5)} (score ${meanScore.toFixed(2)})`);
    if (!(sdScore <= 1)) failures.push(`${name}: sd ${sd.toPrecision(4)} vs ${ref.sd.toPrecision(4)} (score ${sdScore.toFixed(2)})`);
    if (!(q05Score <= 1)) failures.push(`${name}: q05 score ${q05Score.toFixed(2)}`);
    if (!(q95Score <= 1)) failures.push(`${name}: q95 score ${q95Score.toFixed(2)}`);
    if (!(check.rhat < 1.01)) failures.push(`${name}: R-hat ${check.rhat.toFixed(4)}`);
  }
  const divergences = posterior.divergences().reduce((a, b) => a + b, 0);
  if (divergences > 0) failures.push(`${divergences} divergent transitions after warmup`);
  const pick = (f: (p: ParameterCheck) => number) => parameters.map(f);
  return {
    passed: failures.length === 0,
    parameters,
    divergences,
    failures,
    worstMeanZ: Math.max(0, ...pick((p) => Math.abs(p.meanZ))),
    worstSdRatio: pick((p) => p.sdRatio).reduce((w, r) => (Math.abs(r - 1) > Math.abs(w - 1) ? r : w), 1),
    minEss: Math.min(...pick((p) => p.essBulk)),
    maxRhat: Math.max(...pick((p) => p.rhat)),
  };
}

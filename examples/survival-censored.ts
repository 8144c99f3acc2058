/**
 * Survival with right censoring: a Weibull regression on 100 subjects, 24 of them still
 * event-free at the end of their follow-up (`dist.censored`: log P(T >= c) for those, Stan's
 * `weibull_lccdf`). Sampled by the supervised runtime, then a posterior predictive check: the
 * replicated data are censored the same way, so the share of censored subjects can be compared.
 */
import { posteriorPredictive, sample } from "../src/index.js";
import { loadReferenceData, survivalModel } from "./likelihoods.js";

const data = loadReferenceData("survival_weibull_censored");
const survival = survivalModel(data);
const posterior = await sample(survival, { chains: 4, warmup: 1000, draws: 1000, seed: 1 }).result;
console.log(posterior.formatSummary(["alpha", "beta0", "beta1"]));

// Replicated follow-up: each subject's time drawn from the fitted Weibull, censored at c[n].
const c = data.c as number[];
const replicated = posteriorPredictive(survival, posterior, { seed: 2 });
const t = replicated.variable("t");
const draws = replicated.numChains * replicated.numDraws;
const shares = Array.from({ length: draws }, (_, d) => t.values.subarray(d * c.length, (d + 1) * c.length).filter((v, i) => v >= c[i]!).length / c.length);
const observed = (data.t as number[]).filter((v, i) => v >= c[i]!).length / c.length;
const pValue = shares.filter((s) => s >= observed).length / draws;
console.log(`\ncensored share: observed ${observed.toFixed(2)}, replicated mean ${(shares.reduce((a, b) => a + b, 0) / draws).toFixed(3)}, P(replicated >= observed) = ${pValue.toFixed(2)}`);

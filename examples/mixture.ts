/**
 * A two-component normal mixture with ordered means (`dist.normalMixture`; Stan's `log_mix`
 * with the label marginalised out). After sampling, each observation's posterior probability
 * of belonging to the first component, averaged over the draws (what Stan users compute in
 * generated quantities).
 */
import { posteriorPredictive, sample } from "../src/index.js";
import { loadReferenceData, mixtureModel } from "./likelihoods.js";

const data = loadReferenceData("normal_mixture_two");
const y = data.y as number[];
const mixture = mixtureModel(data);
const posterior = await sample(mixture, { chains: 4, warmup: 1000, draws: 1000, seed: 1 }).result;
console.log(posterior.formatSummary(["mu[1]", "mu[2]", "sigma[1]", "sigma[2]", "theta"]));

// p(z_n = 1 | y_n, draw) = theta N(y_n | mu1, s1) / (theta N(y_n | mu1, s1) + (1 - theta) N(y_n | mu2, s2))
const normal = (x: number, m: number, s: number) => Math.exp(-0.5 * ((x - m) / s) ** 2) / s;
const [mu1, mu2, s1, s2, theta] = ["mu[1]", "mu[2]", "sigma[1]", "sigma[2]", "theta"].map((n) => posterior.draws(n).flatMap((c) => Array.from(c)));
const membership = y.map((yn) => {
  let total = 0;
  theta!.forEach((t, d) => {
    const a = t * normal(yn, mu1![d]!, s1![d]!);
    total += a / (a + (1 - t) * normal(yn, mu2![d]!, s2![d]!));
  });
  return total / theta!.length;
});
console.log(`\nobservations more likely in the first component: ${membership.filter((p) => p > 0.5).length} of ${y.length} (simulated with weight 0.35)`);

// A posterior predictive draw of the whole data set: its share below 0.5 against the data's.
const replicated = posteriorPredictive(mixture, posterior, { seed: 3 }).variable("y").values;
const below = (v: ArrayLike<number>) => Array.prototype.filter.call(v, (x: number) => x < 0.5).length / v.length;
console.log(`share below 0.5: data ${below(y).toFixed(3)}, replicated ${below(replicated).toFixed(3)}`);

/**
 * A prior and a posterior predictive check of a Poisson regression, with a generated quantity
 * that needs random numbers (Stan's `poisson_rng` in generated quantities).
 *
 * 1. Prior predictive: do the priors produce plausible counts? (quantiles of the simulated counts)
 * 2. Fit, then posterior predictive: replicated counts, test statistics (mean, max, zeros)
 *    against the data's, as posterior predictive p-values.
 */
import { add, dist, exp, model, mul, posteriorPredictive, priorPredictive, sampleSync, compile } from "../src/index.js";

const x = [-1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, -2, 0.2, 0.8, -0.3];
const y = [0, 1, 1, 2, 3, 4, 7, 10, 0, 3, 4, 1];
const counts = model("poisson_regression", (b) => {
  const alpha = b.param("alpha", dist.normal(0, 1));
  const beta = b.param("beta", dist.normal(0, 0.5));
  const rate = exp(add(alpha, mul(beta, b.data("x", x))));
  b.observe("y", dist.poisson(rate), y, { dims: ["obs"] });
  // generated quantities: the count expected at x = 3, and a draw of it (poisson_rng)
  const rateAt3 = b.generated("rate_at_3", exp(add(alpha, mul(beta, 3))));
  b.generated("y_at_3", dist.poisson(rateAt3));
});

const quantiles = (v: ArrayLike<number>, ps: number[]) => {
  const s = Float64Array.from(v).sort();
  return ps.map((p) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!);
};

const prior = priorPredictive(counts, { draws: 4000, seed: 1 });
console.log(`prior predictive counts: 5%, 50%, 95%, 99% quantiles ${quantiles(prior.variable("y").values, [0.05, 0.5, 0.95, 0.99]).join(", ")}`);

const posterior = sampleSync(compile(counts), { chains: 4, warmup: 1000, draws: 1000, seed: 2 });
console.log(posterior.formatSummary(["alpha", "beta"]));
const replicated = posteriorPredictive(counts, posterior, { seed: 3 });
const yRep = replicated.variable("y").values;
const draws = replicated.numChains * replicated.numDraws;
const stats: Record<string, (v: ArrayLike<number>) => number> = {
  mean: (v) => Array.from(v).reduce((a, b) => a + b, 0) / v.length,
  max: (v) => Math.max(...Array.from(v)),
  zeros: (v) => Array.prototype.filter.call(v, (c: number) => c === 0).length,
};
for (const [name, stat] of Object.entries(stats)) {
  const observed = stat(y);
  let above = 0;
  for (let d = 0; d < draws; d++) if (stat(yRep.subarray(d * y.length, (d + 1) * y.length)) >= observed) above++;
  console.log(`T = ${name}: observed ${observed.toFixed(2)}, P(T(y_rep) >= T(y)) = ${(above / draws).toFixed(2)}`);
}
const at3 = replicated.variable("y_at_3").values;
console.log(`predicted count at x = 3: median ${quantiles(at3, [0.5])[0]}, 90% interval ${quantiles(at3, [0.05, 0.95]).join("-")}`);

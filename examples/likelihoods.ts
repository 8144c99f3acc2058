/**
 * The three models of the censored / truncated / mixture examples, as functions of their data
 * (Stan's JSON format: test/stan-references/<name>/data.json). Each is the Stan program in
 * test/stan-references/<name>/model.stan, written with the model API; `npm run
 * validate:references` checks them against rstan's posteriors.
 */
import { join } from "node:path";
import { projectRoot } from "../bench/paths.js";
import { int, loadStanJson, scalar, vector, type StanData } from "../src/data/stan-json.js";
import { add, dist, exp, model, mul, stack, sub, type Model } from "../src/index.js";

/** Stan's parameterisation, no automatic non-centring: the same unconstrained space as Stan. */
const STAN = { noncentered: false } as const;

/** Weibull survival regression, right-censored at each subject's end of follow-up c[n]. */
export function survivalModel(d: StanData): Model {
  const n = int(d, "N");
  return model(
    "survival_weibull_censored",
    (b) => {
      const alpha = b.param("alpha", dist.gamma(2, 1));
      const beta0 = b.param("beta0", dist.normal(0, 5));
      const beta1 = b.param("beta1", dist.normal(0, 2));
      const x = b.data("x", vector(d, "x", n));
      // t[n] >= c[n]: still alive at the end of follow-up, log P(T >= c[n]) (Stan's weibull_lccdf)
      const scale = exp(add(beta0, mul(beta1, x)));
      b.observe("t", dist.censored(dist.weibull(alpha, scale), { upper: vector(d, "c", n) }), vector(d, "t", n), { dims: ["subject"] });
    },
    STAN,
  );
}

/** Normal regression whose outcomes were only recorded inside [L, U]: Stan's `T[L, U]`. */
export function truncatedRegressionModel(d: StanData): Model {
  const n = int(d, "N");
  return model(
    "truncated_normal_regression",
    (b) => {
      const a = b.param("a", dist.normal(0, 5));
      const slope = b.param("b", dist.normal(0, 5));
      const sigma = b.param("sigma", dist.normal(0, 3), { lower: 0 });
      const x = b.data("x", vector(d, "x", n));
      const mu = add(a, mul(slope, x));
      b.observe("y", dist.truncated(dist.normal(mu, sigma), { lower: scalar(d, "L"), upper: scalar(d, "U") }), vector(d, "y", n));
    },
    STAN,
  );
}

/** Two normal components with ordered means and weight theta: Stan's `log_mix`. */
export function mixtureModel(d: StanData): Model {
  return model(
    "normal_mixture_two",
    (b) => {
      const mu = b.param("mu", dist.normal(0, 5), { shape: [2], constraint: "ordered" });
      const sigma = b.param("sigma", dist.logNormal(0, 1), { shape: [2] });
      const theta = b.param("theta", dist.beta(2, 2));
      b.observe("y", dist.normalMixture(stack([theta, sub(1, theta)]), mu, sigma), vector(d, "y", int(d, "N")));
    },
    STAN,
  );
}

export const likelihoodModels: Record<string, (d: StanData) => Model> = {
  survival_weibull_censored: survivalModel,
  truncated_normal_regression: truncatedRegressionModel,
  normal_mixture_two: mixtureModel,
};

/** test/stan-references/<name>/data.json, from sources or from dist/. */
export function loadReferenceData(name: string): StanData {
  return loadStanJson(join(projectRoot(), "test", "stan-references", name, "data.json"));
}

/**
 * The Gaussian targets of `bench:adaptation-scaling` (issue 27), any dimension, built with the
 * model DSL so that they run on the worker pool like users' models.
 */
import { add, dist, model, mul, slice, type Model } from "../../src/model/index.js";
import { Rng } from "../../src/rng/index.js";

/** Independent normals, scales 10^(-1.5) .. 10^(1.5). */
export function diagGaussian(d: number): Model {
  const scales = Float64Array.from({ length: d }, (_, i) => Math.pow(10, -1.5 + (3 * i) / Math.max(1, d - 1)));
  return model(`diag_gauss_${d}`, (b) => {
    const s = b.data("s", scales);
    b.param("x", dist.normal(0, s), { shape: [d] });
  });
}

/** AR(1) with rho = 0.9: x[0] ~ normal(0, 1), x[t] ~ normal(rho x[t-1], sqrt(1 - rho^2)). */
export function correlatedGaussian(d: number, rho = 0.9): Model {
  return model(`ar1_gauss_${d}`, (b) => {
    const x = b.param("x", dist.normal(0, 1), { shape: [d] });
    // The prior above counts x[1:] once as normal(0, 1): remove it, then add the AR(1) terms.
    const rest = slice(x, 1);
    b.potential("undo", mul(-1, dist.normal(0, 1).logp(rest)));
    b.potential("ar1", dist.normal(mul(rho, slice(x, 0, d - 1)), Math.sqrt(1 - rho * rho)).logp(rest));
  });
}

/** Centred hierarchical normal with d - 2 groups, one unit-noise observation each. */
export function hierarchicalGaussian(d: number): Model {
  const J = Math.max(1, d - 2);
  const rng = Rng.fromSeed(1);
  const y = Float64Array.from({ length: J }, () => 1 + 2 * rng.normal() + rng.normal());
  return model(`hier_gauss_${d}`, (b) => {
    const mu = b.param("mu", dist.normal(0, 5));
    const tau = b.param("tau", dist.normal(0, 5), { lower: 0 });
    const theta = b.param("theta", dist.normal(mu, tau), { shape: [J] });
    b.observe("y", dist.normal(add(theta, 0), 1), y);
  });
}

export const SCALING_TARGETS: Readonly<Record<string, (d: number) => Model>> = {
  diag: diagGaussian,
  corr: correlatedGaussian,
  hier: hierarchicalGaussian,
};

/**
 * Prior and posterior predictive draws: prior predictive moments against their analytic
 * values, posterior predictive draws of conjugate models against the analytic predictive
 * distribution (within Monte Carlo standard errors), generated quantities with random numbers,
 * determinism (same seed, same draws; the same through 1 or 2 worker threads), bad input.
 */
import { describe, expect, test } from "vitest";
import { sample } from "../src/api/sample.js";
import { sampleSync } from "../src/api/sample-sync.js";
import { posteriorPredictive, priorPredictive } from "../src/api/predictive.js";
import { InvalidOptionError } from "../src/api/errors.js";
import { compile } from "../src/compile/compile.js";
import { mcseMean, mcseSd } from "../src/diagnostics/index.js";
import { constant, dist, gather, model, stack, sub, ModelError } from "../src/model/index.js";

const mean = (v: ArrayLike<number>) => Array.prototype.reduce.call(v, (a: number, b: number) => a + b, 0) as number / v.length;
const variance = (v: ArrayLike<number>) => {
  const m = mean(v);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i]! - m) ** 2;
  return s / (v.length - 1);
};
/** |sample mean - mu| within 4 standard errors of independent draws. */
function expectMean(v: ArrayLike<number>, mu: number) {
  const se = Math.sqrt(variance(v) / v.length);
  expect(Math.abs(mean(v) - mu), `mean ${mean(v)} vs ${mu} (se ${se})`).toBeLessThan(4 * se);
}
/** Sample variance within 4 standard errors of sigma2 (its se from the fourth central moment). */
function expectVariance(v: ArrayLike<number>, sigma2: number) {
  const m = mean(v);
  let m4 = 0;
  for (let i = 0; i < v.length; i++) m4 += (v[i]! - m) ** 4;
  m4 /= v.length;
  const se = Math.sqrt((m4 - sigma2 * sigma2) / v.length);
  expect(Math.abs(variance(v) - sigma2), `variance ${variance(v)} vs ${sigma2} (se ${se})`).toBeLessThan(4 * se);
}
/** Element k of every draw of a variable (one chain). */
const element = (values: Float64Array, size: number, k: number) => values.filter((_, i) => i % size === k);

describe("prior predictive", () => {
  test("normal hierarchy: parameters from their priors (bounds honoured), y from them; moments analytic", () => {
    const m = model("normal", (b) => {
      const mu = b.param("mu", dist.normal(1, 2));
      const sigma = b.param("sigma", dist.halfNormal(1));
      b.observe("y", dist.normal(mu, sigma), [0.1, 0.5, -0.3], { dims: ["obs"] });
    });
    const pp = priorPredictive(m, { draws: 20000, seed: 7 });
    expect(pp.kind).toBe("prior");
    const y = pp.variable("y");
    expect(y.shape).toEqual([3]);
    expect(y.dims).toEqual(["obs"]);
    expect(y.group).toBe("observed");
    expectMean(pp.variable("mu").values, 1);
    expectVariance(pp.variable("mu").values, 4);
    expectMean(pp.variable("sigma").values, Math.sqrt(2 / Math.PI));
    expect(pp.variable("sigma").values.every((s) => s > 0)).toBe(true);
    // y = mu + sigma z: mean 1, variance 4 + E[sigma^2] = 5
    const y0 = element(y.values, 3, 0);
    expectMean(y0, 1);
    expectVariance(y0, 5);
    expect(pp.draws("y[2]")[0]).toHaveLength(20000);
  });

  test("Poisson-gamma, a truncated prior, a mixture and a censored likelihood", () => {
    const m = model("mixed", (b) => {
      const lambda = b.param("lambda", dist.gamma(3, 2));
      b.observe("counts", dist.poisson(lambda), [1, 2]);
      const s = b.param("s", dist.normal(0, 1), { lower: 0.5 }); // a normal truncated to [0.5, inf)
      b.observe("z", dist.mixture(constant([0.3, 0.7]), [dist.normal(-2, s), dist.normal(3, 0.5)]), [0]);
      b.observe("c", dist.censored(dist.normal(0, 1), { upper: 1 }), [0.2]);
    });
    const pp = priorPredictive(m, { draws: 20000, seed: 3 });
    const counts = element(pp.variable("counts").values, 2, 0);
    expectMean(counts, 1.5);
    expectVariance(counts, 1.5 + 3 / 4);
    // E[s] for a standard normal truncated below at 0.5: phi(0.5) / (1 - Phi(0.5))
    const s = pp.variable("s").values;
    expect(Math.min(...s)).toBeGreaterThanOrEqual(0.5);
    expectMean(s, Math.exp(-0.125) / Math.sqrt(2 * Math.PI) / 0.3085375387259869);
    expectMean(pp.variable("z").values, 0.3 * -2 + 0.7 * 3);
    // censored at 1: the replicate is 1 with probability 1 - Phi(1)
    const c = pp.variable("c").values;
    const atBound = c.filter((v) => v === 1).length / c.length;
    const p = 0.15865525393145707;
    expect(Math.abs(atBound - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / c.length));
    expect(Math.max(...c)).toBe(1);
  });

  test("ordered and simplex parameters; same seed, same draws; another seed, others", () => {
    const m = model("mix", (b) => {
      const mu = b.param("mu", dist.normal(0, 3), { shape: [3], constraint: "ordered" });
      const w = b.param("w", dist.dirichlet(constant([1, 2, 3])));
      b.observe("y", dist.normalMixture(w, mu, 1), [0, 1]);
    });
    const a = priorPredictive(m, { draws: 600, seed: 11 });
    const mu = a.variable("mu").values;
    for (let i = 0; i < 600; i++) expect(mu[3 * i]! < mu[3 * i + 1]! && mu[3 * i + 1]! < mu[3 * i + 2]!).toBe(true);
    expectMean(element(a.variable("w").values, 3, 2), 0.5);
    expect(priorPredictive(m, { draws: 600, seed: 11 }).variable("y").values).toEqual(a.variable("y").values);
    expect(priorPredictive(m, { draws: 600, seed: 12 }).variable("y").values).not.toEqual(a.variable("y").values);
  });

  test("bad input: draws, seed, a parameter without a proper prior, potentials", () => {
    const ok = model("ok", (b) => {
      const mu = b.param("mu", dist.normal(0, 1));
      b.observe("y", dist.normal(mu, 1), [0]);
    });
    expect(() => priorPredictive(ok, { draws: 0 })).toThrow(InvalidOptionError);
    expect(() => priorPredictive(ok, { draws: 10, seed: 1.5 })).toThrow(/seed must be an integer/);
    const flat = model("flat", (b) => {
      const mu = b.param("mu");
      b.observe("y", dist.normal(mu, 1), [0]);
    });
    expect(() => priorPredictive(flat, { draws: 10, seed: 1 })).toThrow(/mu has no prior/);
    const withPotential = model("pot", (b) => {
      const mu = b.param("mu", dist.normal(0, 1));
      b.potential("extra", dist.normal(0, 1).logp(mu));
      b.observe("y", dist.normal(mu, 1), [0]);
    });
    expect(() => priorPredictive(withPotential, { draws: 10, seed: 1 })).toThrow(ModelError);
    expect(priorPredictive(withPotential, { draws: 10, seed: 1, ignorePotentials: true }).numDraws).toBe(10);
  });
});

describe("posterior predictive", () => {
  // y_i ~ normal(mu, 1), mu ~ normal(0, 10): mu | y ~ normal(m, s), y_rep ~ normal(m, sqrt(s^2 + 1)).
  const data = [1.2, 0.4, 2.2, 1.9, 0.7, 1.5, 0.9, 1.1, 2.4, 1.6];
  const precision = 1 / 100 + data.length;
  const postMean = data.reduce((a, b) => a + b, 0) / precision;
  const predSd = Math.sqrt(1 / precision + 1);
  const normalModel = model("normal_known_sigma", (b) => {
    const mu = b.param("mu", dist.normal(0, 10));
    b.observe("y", dist.normal(mu, 1), data, { dims: ["obs"] });
    // Stan: real y_new = normal_rng(mu, 1); real above = y_new > 2 (an expression of a draw)
    const yNew = b.generated("y_new", dist.normal(mu, 1));
    b.generated("y_new_shifted", sub(yNew, mu));
  });

  test("normal with known sigma: replicates and a generated _rng quantity match the analytic predictive", () => {
    const posterior = sampleSync(compile(normalModel), { chains: 4, warmup: 500, draws: 1500, seed: 5 });
    const pp = posteriorPredictive(normalModel, posterior, { seed: 9 });
    expect(pp.kind).toBe("posterior");
    expect(pp.numChains).toBe(4);
    expect(pp.numDraws).toBe(1500);
    expect(pp.variable("y").shape).toEqual([data.length]);
    expect(pp.variable("y").dims).toEqual(["obs"]);
    for (const name of ["y[1]", "y[7]", "y_new"]) {
      const chains = pp.draws(name);
      const all = Float64Array.from(chains.flatMap((c) => Array.from(c)));
      expect(Math.abs(mean(all) - postMean), name).toBeLessThan(4 * mcseMean(chains));
      expect(Math.abs(Math.sqrt(variance(all)) - predSd), name).toBeLessThan(4 * mcseSd(chains));
    }
    // y_new - mu ~ normal(0, 1) exactly, whatever mu's posterior
    const shifted = pp.variable("y_new_shifted").values;
    expectMean(shifted, 0);
    expectVariance(shifted, 1);
  });

  test("beta-binomial: replicated counts have the beta-binomial predictive mean and variance", () => {
    const successes = [3, 5, 4, 6];
    const m = model("binomial", (b) => {
      const p = b.param("p", dist.beta(2, 3));
      b.observe("k", dist.binomial(10, p), successes);
    });
    const posterior = sampleSync(compile(m), { chains: 4, warmup: 500, draws: 1500, seed: 2 });
    const pp = posteriorPredictive(m, posterior, { seed: 4 });
    const [a, bb, n] = [2 + 18, 3 + 22, 10];
    const predMean = (n * a) / (a + bb);
    const predVar = (n * a * bb * (a + bb + n)) / ((a + bb) ** 2 * (a + bb + 1));
    const chains = pp.draws("k[2]");
    const all = Float64Array.from(chains.flatMap((c) => Array.from(c)));
    expect(all.every((v) => Number.isInteger(v) && v >= 0 && v <= 10)).toBe(true);
    expect(Math.abs(mean(all) - predMean)).toBeLessThan(4 * mcseMean(chains));
    expect(Math.abs(Math.sqrt(variance(all)) - Math.sqrt(predVar))).toBeLessThan(4 * mcseSd(chains));
  });

  test("deterministic: the same draws from runs on 1 and 2 worker threads, and for the same seed", async () => {
    const options = { chains: 2, warmup: 200, draws: 200, seed: 13 };
    const [one, two] = [await sample(normalModel, { ...options, threads: 1 }).result, await sample(normalModel, { ...options, threads: 2 }).result];
    const [a, b] = [posteriorPredictive(normalModel, one, { seed: 1 }), posteriorPredictive(normalModel, two, { seed: 1 })];
    expect(b.variable("y").values).toEqual(a.variable("y").values);
    expect(b.variable("y_new").values).toEqual(a.variable("y_new").values);
    expect(posteriorPredictive(normalModel, one, { seed: 2 }).variable("y").values).not.toEqual(a.variable("y").values);
  });

  test("bad input: not a posterior of this model", () => {
    const other = model("other", (b) => {
      const theta = b.param("theta", dist.normal(0, 1));
      b.observe("y", dist.normal(theta, 1), [0]);
    });
    const posterior = sampleSync(compile(other), { chains: 1, warmup: 20, draws: 20, seed: 1 });
    expect(() => posteriorPredictive(normalModel, posterior, { seed: 1 })).toThrow(/no draws of mu/);
    expect(() => posteriorPredictive(normalModel, {} as never)).toThrow(InvalidOptionError);
  });

  test("a generated draw cannot enter the density", () => {
    expect(() =>
      model("bad", (b) => {
        const mu = b.param("mu", dist.normal(0, 1));
        const draw = b.generated("d", dist.normal(mu, 1));
        b.observe("y", dist.normal(draw, 1), [0]);
      }),
    ).toThrow(/only later generated quantities may use it/);
  });
});

void gather;
void stack;

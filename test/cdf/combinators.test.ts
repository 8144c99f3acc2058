/**
 * Censored, truncated and mixture likelihoods against the same models written by hand with
 * potentials (log CDF expressions, logMix, logSumExp): equal log densities and gradients at
 * random points; gradients against finite differences; bad input rejected with a ModelError.
 */
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import {
  add,
  constant,
  dist,
  exp,
  gather,
  log,
  logDiffExp,
  logMix,
  logPhi,
  logSumExp,
  model,
  mul,
  neg,
  pow,
  stack,
  sub,
  sum,
  ModelError,
  type Expr,
  type Model,
} from "../../src/model/index.js";
import { gradientError, randomPoints } from "../helpers/finite-diff.js";

/** Both models have one density (up to an additive constant: constant terms are dropped) and one gradient. */
function expectSameDensity(a: Model, b: Model, seed = 1) {
  const [da, db] = [compile(a), compile(b)];
  expect(da.dim).toBe(db.dim);
  let offset: number | null = null;
  for (const q of randomPoints(da.dim, 5, seed)) {
    const [ga, gb] = [new Float64Array(da.dim), new Float64Array(db.dim)];
    const [la, lb] = [da.logDensityGradient(q, ga), db.logDensityGradient(q, gb)];
    offset ??= la - lb;
    expect(Math.abs(la - lb - offset)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(lb)));
    ga.forEach((g, i) => expect(Math.abs(g - gb[i]!)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(gb[i]!))));
    expect(gradientError(da, q).worst).toBeLessThan(1e-6);
  }
}

const y = [0.3, -1.2, 2.5, 2.5, -2, 0.8, 3.1, -2];

describe("censored", () => {
  test("normal, left and right censored at fixed bounds: lcdf / lccdf terms (Stan's semantics)", () => {
    const withCensored = model("c", (b) => {
      const mu = b.param("mu", dist.normal(0, 3));
      const sigma = b.param("sigma", dist.halfNormal(2));
      b.observe("y", dist.censored(dist.normal(mu, sigma), { lower: -2, upper: 2.5 }), y);
    });
    const byHand = model("h", (b) => {
      const mu = b.param("mu", dist.normal(0, 3));
      const sigma = b.param("sigma", dist.halfNormal(2));
      const exact = y.filter((v) => v > -2 && v < 2.5);
      b.observe("y", dist.normal(mu, sigma), exact);
      // two at -2 (left), three at or above 2.5 (right)
      b.potential("left", mul(2, logPhi(sub(-2, mu).div(sigma))));
      b.potential("right", mul(3, logPhi(neg(sub(2.5, mu).div(sigma)))));
    });
    expectSameDensity(withCensored, byHand);
  });

  test("per-observation bounds (±Infinity where none) and the pointwise log-likelihood", () => {
    const upper = [1, Infinity, 2, 2.4, Infinity, 0.5, 3, Infinity];
    const m = model("c", (b) => {
      const mu = b.param("mu", dist.normal(0, 3));
      b.observe("y", dist.censored(dist.normal(mu, 1.5), { upper }), y);
    });
    const byHand = model("h", (b) => {
      const mu = b.param("mu", dist.normal(0, 3));
      const terms = y.map((v, i) => (v >= upper[i]! ? dist.normal(mu, 1.5).lccdf!(upper[i]!) : dist.normal(mu, 1.5).logpdf(v)));
      b.potential("y", sum(stack(terms)));
    });
    expectSameDensity(m, byHand);
    const obs = m.observed[0]!;
    expect(obs.logLik.shape).toEqual([8]);
  });

  test("counts: right censoring at U contributes log P(Y >= U) = lccdf(U - 1)", () => {
    const counts = [0, 3, 5, 5, 2, 7];
    const m = model("c", (b) => {
      const lambda = b.param("lambda", dist.gamma(2, 0.5));
      b.observe("y", dist.censored(dist.poisson(lambda), { upper: 5 }), counts);
    });
    const byHand = model("h", (b) => {
      const lambda = b.param("lambda", dist.gamma(2, 0.5));
      b.observe("y", dist.poisson(lambda), [0, 3, 2]);
      // P(Y >= 5) = P(5, lambda), the regularised lower incomplete gamma function
      b.potential("right", mul(3, dist.poisson(lambda).lccdf!(4)));
    });
    expectSameDensity(m, byHand);
    // and lccdf(4) of a Poisson is log(1 - sum_{k<=4} pmf), at a constant rate:
    const lambda = 3.7;
    const tail = dist.poisson(lambda).lccdf!(4).constValues[0]!;
    let cdf = 0;
    for (let k = 0; k <= 4; k++) cdf += Math.exp(-lambda + k * Math.log(lambda) - Math.log([1, 1, 2, 6, 24][k]!));
    expect(tail).toBeCloseTo(Math.log(1 - cdf), 12);
  });

  test("interval censoring: log(F(upper) - F(lower)), exact where the ends agree, right-censored at +Infinity", () => {
    const t = [0.5, 1.0, 2.0, 0.7];
    const upper = [0.5, 1.8, Infinity, 1.1];
    const m = model("ic", (b) => {
      const k = b.param("k", dist.gamma(2, 1));
      const s = b.param("s", dist.gamma(2, 1));
      b.observe("t", dist.intervalCensored(dist.weibull(k, s), { upper }), t);
    });
    const byHand = model("h", (b) => {
      const k = b.param("k", dist.gamma(2, 1));
      const s = b.param("s", dist.gamma(2, 1));
      const surv = (x: number) => neg(pow(constant(x).div(s), k)); // log S(x)
      b.observe("t", dist.weibull(k, s), [0.5]);
      b.potential("i1", logDiffExp(surv(1.0), surv(1.8)));
      b.potential("r", surv(2.0));
      b.potential("i2", logDiffExp(surv(0.7), surv(1.1)));
    });
    expectSameDensity(m, byHand);
  });

  test("bad input: bounds that are parameters, no bound, a distribution without CDF", () => {
    expect(() =>
      model("c", (b) => {
        const mu = b.param("mu", dist.normal(0, 1));
        b.observe("y", dist.censored(dist.normal(0, 1), { upper: mu }), y);
      }),
    ).toThrow(/bound upper must be data/);
    expect(() => dist.censored(dist.normal(0, 1), {})).toThrow(ModelError);
    expect(() => dist.censored(dist.dirichlet(constant([1, 1])), { upper: 1 })).toThrow(/dirichlet has no log CDF/);
    expect(() => dist.censored(dist.normal(0, 1), { lower: 2, upper: 1 })).toThrow(/not below/);
  });
});

describe("truncated", () => {
  test("normal with parameter bounds: the density over log(Phi(U) - Phi(L)), as Stan's T[L, U]", () => {
    const data = [0.2, 0.9, 1.7, 0.4];
    const m = model("t", (b) => {
      const mu = b.param("mu", dist.normal(0, 2));
      const sigma = b.param("sigma", dist.halfNormal(2));
      const upper = b.param("U", dist.normal(3, 0.5), { lower: 1.7 });
      b.observe("y", dist.truncated(dist.normal(mu, sigma), { lower: 0, upper }), data);
    });
    const byHand = model("h", (b) => {
      const mu = b.param("mu", dist.normal(0, 2));
      const sigma = b.param("sigma", dist.halfNormal(2));
      const upper = b.param("U", dist.normal(3, 0.5), { lower: 1.7 });
      b.observe("y", dist.normal(mu, sigma), data);
      const mass = logDiffExp(logPhi(sub(upper, mu).div(sigma)), logPhi(sub(0, mu).div(sigma)));
      b.potential("norm", mul(-4, mass));
    });
    expectSameDensity(m, byHand);
  });

  test("far in the upper tail the normaliser stays finite (the CCDF difference)", () => {
    const lp = dist.truncated(dist.normal(0, 1), { lower: 30, upper: 31 }).logpdf(constant(30.01)).constValues[0]!;
    // density at 30.01 / (Phi(-30) - Phi(-31)): mpmath gives 3.268...
    const expected = -0.5 * 30.01 ** 2 - 0.5 * Math.log(2 * Math.PI) - (logPhiRef(-30) + Math.log(1 - Math.exp(logPhiRef(-31) - logPhiRef(-30))));
    expect(lp).toBeCloseTo(expected, 9);
    expect(Number.isFinite(lp)).toBe(true);
  });

  test("counts: T[L, U] keeps both ends, P(L <= Y <= U) = F(U) - F(L - 1)", () => {
    const counts = [2, 3, 6, 4];
    const m = model("t", (b) => {
      const lambda = b.param("lambda", dist.gamma(2, 0.5));
      b.observe("y", dist.truncated(dist.poisson(lambda), { lower: 2, upper: 6 }), counts);
    });
    const byHand = model("h", (b) => {
      const lambda = b.param("lambda", dist.gamma(2, 0.5));
      b.observe("y", dist.poisson(lambda), counts);
      const pmf = (k: number) => dist.poisson(lambda).logpdf(k);
      b.potential("norm", mul(-4, logSumExp(stack([2, 3, 4, 5, 6].map(pmf)))));
    });
    expectSameDensity(m, byHand);
  });

  test("as a prior: the truncation bounds become the parameter's constraint", () => {
    const m = model("p", (b) => {
      b.param("s", dist.truncated(dist.normal(0, 1), { lower: 0 }));
    });
    const byHand = model("h", (b) => {
      b.param("s", dist.halfNormal(1));
    });
    expectSameDensity(m, byHand);
    expect(m.params[0]!.transform).toBe("lower");
  });

  test("bad input", () => {
    expect(() =>
      model("t", (b) => {
        const l = b.param("l", dist.normal(0, 1));
        b.observe("y", dist.truncated(dist.poisson(3), { lower: l }), [1, 2]);
      }),
    ).toThrow(/must be data/);
    expect(() => model("t", (b) => b.observe("y", dist.truncated(dist.normal(0, 1), { lower: 0 }), [1, -1]))).toThrow(/outside the truncation interval/);
  });
});

describe("mixture", () => {
  const data = [-1.2, -0.8, 2.1, 1.9, 2.5, -1.1, 0.3];
  test("two normals with a scalar weight: Stan's log_mix, and normalMixture with ordered means", () => {
    const viaMixture = model("m", (b) => {
      const mu = b.param("mu", dist.normal(0, 3), { shape: [2], constraint: "ordered" });
      const sigma = b.param("sigma", dist.logNormal(0, 1), { shape: [2] });
      const theta = b.param("theta", dist.beta(2, 2));
      b.observe("y", dist.mixture(stack([theta, sub(1, theta)]), [dist.normal(gather(mu, 0), gather(sigma, 0)), dist.normal(gather(mu, 1), gather(sigma, 1))]), data);
    });
    const viaNormalMixture = model("n", (b) => {
      const mu = b.param("mu", dist.normal(0, 3), { shape: [2], constraint: "ordered" });
      const sigma = b.param("sigma", dist.logNormal(0, 1), { shape: [2] });
      const theta = b.param("theta", dist.beta(2, 2));
      b.observe("y", dist.normalMixture(stack([theta, sub(1, theta)]), mu, sigma), data);
    });
    const byHand = model("h", (b) => {
      const mu = b.param("mu", dist.normal(0, 3), { shape: [2], constraint: "ordered" });
      const sigma = b.param("sigma", dist.logNormal(0, 1), { shape: [2] });
      const theta = b.param("theta", dist.beta(2, 2));
      const lp = (k: number) => dist.normal(gather(mu, k), gather(sigma, k)).logpdf(constant(data));
      b.potential("y", sum(logMix(theta, lp(0), lp(1))));
    });
    expectSameDensity(viaMixture, byHand);
    expectSameDensity(viaNormalMixture, byHand);
  });

  test("three components of different families with a simplex weight: logSumExp by hand", () => {
    const pos = [0.5, 1.2, 3.3, 0.1];
    const m = model("m", (b) => {
      const w = b.param("w", { shape: [3], constraint: "simplex" });
      const a = b.param("a", dist.gamma(2, 1));
      b.observe("y", dist.mixture(w, [dist.gamma(a, 1), dist.logNormal(0, 1), dist.exponential(2)]), pos);
    });
    const byHand = model("h", (b) => {
      const w = b.param("w", { shape: [3], constraint: "simplex" });
      const a = b.param("a", dist.gamma(2, 1));
      const x = constant(pos);
      const parts = [dist.gamma(a, 1).logpdf(x), dist.logNormal(0, 1).logpdf(x), dist.exponential(2).logpdf(x)].map((lp, k) => add(log(gather(w, k)), lp));
      b.potential("y", sum(parts.slice(1).reduce((acc, p) => logAddExpHand(acc, p), parts[0]!)));
    });
    expectSameDensity(m, byHand);
  });

  test("bad input: weights that are not a simplex, a single component", () => {
    expect(() => dist.mixture(constant([0.5, 0.6]), [dist.normal(0, 1), dist.normal(1, 1)])).toThrow(/not a simplex/);
    expect(() => dist.mixture(constant([1]), [dist.normal(0, 1)])).toThrow(/at least 2/);
    expect(() => dist.mixture(constant([0.5, 0.5]), [dist.normal(0, 1), dist.normal(1, 1), dist.normal(2, 1)])).toThrow(/3 entries/);
  });
});

/** log(exp(a) + exp(b)) written with exp and log (a hand form, not the library's logAddExp). */
function logAddExpHand(a: Expr, b: Expr) {
  return log(add(exp(a), exp(b)));
}

/** log Phi(z) for z < -1 from the continued fraction of the Mills ratio (an independent form). */
function logPhiRef(z: number): number {
  const x = -z;
  let cf = x;
  for (let k = 60; k >= 1; k--) cf = x + k / cf;
  return -0.5 * x * x - 0.5 * Math.log(2 * Math.PI) - Math.log(cf);
}

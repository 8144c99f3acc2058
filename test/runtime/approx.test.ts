/**
 * Pathfinder, ADVI and SMC on the runtime (worker threads, supervision): SMC's evidence
 * against analytic values and its mode weights, the same result on 1 and 2 threads for all
 * three, restarts from checkpoints, streams, typed errors, and the posteriordb pass rule.
 */
import gammaln from "@stdlib/math-base-special-gammaln";
import { firstValueFrom, lastValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { advi, ApproxFailedError, pathfinder, smc } from "../../src/api/approx.js";
import { InvalidModelError, InvalidOptionError } from "../../src/api/errors.js";
import { compile } from "../../src/compile/compile.js";
import { moduleModel } from "../../src/compile/index.js";
import { constant, dist, log, logMix, matvec, model, mul, sqrt, square } from "../../src/model/index.js";
import { Rng } from "../../src/rng/index.js";
import { loadPosterior } from "../posteriordb/models.js";
import { checkAgainstReference } from "../validate/pass-rule.js";
import { expectSameDraws } from "./helpers.js";

const fixture = new URL("./fixtures/faulty-normal.mjs", import.meta.url).pathname;

/** y_i ~ normal(mu, 1), mu ~ normal(0, 2): y ~ N(0, I + 4 11'). */
const Y = [1.2, 0.3, 2.1, 1.7, 0.9, 1.4, 2.5, 0.1];
const conjugate = model("conjugate_normal", (b) => {
  const mu = b.param("mu", dist.normal(0, 2));
  b.observe("y", dist.normal(mu, 1), Y);
});
function conjugateEvidence(): number {
  const n = Y.length;
  const s0 = 2;
  const sum = Y.reduce((a, b) => a + b, 0);
  const sq = Y.reduce((a, b) => a + b * b, 0);
  const quad = sq - (s0 ** 2 * sum * sum) / (1 + n * s0 ** 2);
  return -0.5 * (n * Math.log(2 * Math.PI) + Math.log(1 + n * s0 ** 2) + quad);
}

/**
 * Bayesian linear regression, normal-inverse-gamma conjugate: sigma2 ~ inverse-gamma(a0, b0),
 * beta | sigma2 ~ normal(0, sigma2 v0 I), y ~ normal(X beta, sigma2 I). Its evidence is
 * known in closed form (multivariate Student-t).
 */
function regression() {
  const rng = Rng.fromSeed(42);
  const [n, p] = [30, 3];
  const X = Array.from({ length: n }, () => Array.from({ length: p }, () => rng.normal()));
  const beta = [1, -0.5, 0.25];
  const y = X.map((row) => row.reduce((s, x, j) => s + x * beta[j]!, 0) + 0.8 * rng.normal());
  const [a0, b0, v0] = [3, 2, 4];
  const m = model("nig_regression", (b) => {
    const sigma2 = b.param("sigma2", dist.inverseGamma(a0, b0));
    const sigma = sqrt(sigma2);
    const coef = b.param("beta", dist.normal(0, mul(sigma, Math.sqrt(v0))), { shape: [p] });
    b.observe("y", dist.normal(matvec(constant(X.flat(), [n, p]), coef), sigma), y);
  });
  // log p(y) = -n/2 log(2 pi) + 1/2 log|Vn|/|V0| + a0 log b0 - an log bn + lgamma(an) - lgamma(a0),
  // Vn = (V0^-1 + X'X)^-1, mn = Vn X'y, an = a0 + n/2, bn = b0 + (y'y - mn' Vn^-1 mn) / 2.
  const prec = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => X.reduce((s, r) => s + r[i]! * r[j]!, 0) + (i === j ? 1 / v0 : 0)));
  const xty = Array.from({ length: p }, (_, i) => X.reduce((s, r, k) => s + r[i]! * y[k]!, 0));
  // Cholesky of the precision.
  const L = prec.map(() => new Array<number>(p).fill(0));
  for (let j = 0; j < p; j++) {
    let s = prec[j]![j]!;
    for (let k = 0; k < j; k++) s -= L[j]![k]! ** 2;
    L[j]![j] = Math.sqrt(s);
    for (let i = j + 1; i < p; i++) {
      let t = prec[i]![j]!;
      for (let k = 0; k < j; k++) t -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = t / L[j]![j]!;
    }
  }
  // mn' Vn^-1 mn = xty' prec^-1 xty = |L^-1 xty|^2.
  const z = new Array<number>(p).fill(0);
  for (let i = 0; i < p; i++) z[i] = (xty[i]! - z.slice(0, i).reduce((s, v, k) => s + L[i]![k]! * v, 0)) / L[i]![i]!;
  const logDetPrec = 2 * L.reduce((s, row, i) => s + Math.log(row[i]!), 0);
  const an = a0 + n / 2;
  const bn = b0 + 0.5 * (y.reduce((s, v) => s + v * v, 0) - z.reduce((s, v) => s + v * v, 0));
  const evidence = -0.5 * n * Math.log(2 * Math.PI) + 0.5 * (-logDetPrec - p * Math.log(v0)) + a0 * Math.log(b0) - an * Math.log(bn) + gammaln(an) - gammaln(a0);
  return { model: m, evidence };
}

function expectEvidence(estimate: number, se: number, exact: number): void {
  expect(Number.isFinite(se) && se > 0).toBe(true);
  const msg = `estimate ${estimate.toFixed(4)} exact ${exact.toFixed(4)} se ${se.toFixed(4)}`;
  expect(Math.abs(estimate - exact), msg).toBeLessThan(3 * se);
  expect(Math.abs(estimate - exact), msg).toBeLessThan(0.1);
}

describe("SMC", () => {
  it("log marginal likelihood of a conjugate normal model: within 3 SE and 0.1 of the exact value", async () => {
    const p = await smc(conjugate, { seed: 1 }).result;
    expectEvidence(p.logMarginalLikelihood, p.logMarginalLikelihoodSe, conjugateEvidence());
  });

  it("log marginal likelihood of a Bayesian linear regression (normal-inverse-gamma): within 3 SE and 0.1", async () => {
    const { model: m, evidence } = regression();
    const p = await smc(m, { seed: 2 }).result;
    expectEvidence(p.logMarginalLikelihood, p.logMarginalLikelihoodSe, evidence);
  });

  it("recovers both modes of a two-mode target with their weights (0.3 / 0.7) within 0.05", async () => {
    // x ~ normal(0, 10) times a mixture 0.3 N(-4, 0.5) + 0.7 N(4, 0.5): symmetric in the prior,
    // so the posterior weights are exactly 0.3 and 0.7.
    const m = model("two_modes", (b) => {
      const x = b.param("x", dist.normal(0, 10));
      b.potential("mixture", logMix(0.3, dist.normal(-4, 0.5).logpdf(x), dist.normal(4, 0.5).logpdf(x)));
    });
    const p = await smc(m, { seed: 3 }).result;
    for (const c of p.draws("x")) {
      const left = c.filter((v) => v < 0).length / c.length;
      expect(Math.abs(left - 0.3)).toBeLessThan(0.05);
    }
  });

  it("passes posteriordb's rule on eight_schools_noncentered", async () => {
    const { model: m, reference } = loadPosterior("eight_schools-eight_schools_noncentered");
    const p = await smc(m, { seed: 1 }).result;
    const check = checkAgainstReference(p, reference.parameters);
    expect(check.failures).toEqual([]);
  });
});

describe("the same result on 1 and 2 threads", () => {
  const { model: es } = loadPosterior("eight_schools-eight_schools_noncentered");
  it("pathfinder", async () => {
    const a = await pathfinder(es, { seed: 5, threads: 1 }).result;
    const b = await pathfinder(es, { seed: 5, threads: 2 }).result;
    expect(b.threads).toBe(2);
    expectSameDraws(a, b);
    expect(b.paretoK).toBe(a.paretoK);
  });
  it("advi (the eta trials run side by side)", async () => {
    const a = await advi(es, { seed: 5, threads: 1 }).result;
    const b = await advi(es, { seed: 5, threads: 2 }).result;
    expect(b.threads).toBe(2);
    expectSameDraws(a, b);
    expect(b.eta).toBe(a.eta);
  });
  it("smc", async () => {
    const a = await smc(conjugate, { seed: 5, threads: 1, particles: 500 }).result;
    const b = await smc(conjugate, { seed: 5, threads: 2, particles: 500 }).result;
    expectSameDraws(a, b);
    expect(b.logMarginalLikelihood).toBe(a.logMarginalLikelihood);
  });
});

describe("supervision, streams and errors", () => {
  it("a task whose thread dies is re-run from its checkpoint: the same result", async () => {
    const clean = await advi(moduleModel(fixture, "default", { dim: 3 }), { seed: 8, threads: 1 }).result;
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const run = advi(moduleModel(fixture, "default", { dim: 3, mode: "exit-once", every: 3000, flag }), { seed: 8, threads: 1 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const crashed = await run.result;
    expect(Atomics.load(flag, 0)).toBe(1);
    expect((await events).some((e) => e.type === "task-restarted")).toBe(true);
    expectSameDraws(clean, crashed);
  });

  it("streams progress and events; the result is a Posterior with summaries", async () => {
    const run = pathfinder(conjugate, { seed: 4 });
    const first = firstValueFrom(run.progress$);
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const p = await run.result;
    expect((await first).method).toBe("pathfinder");
    const types = (await events).map((e) => e.type);
    expect(types).toContain("run-started");
    expect(types.filter((t) => t === "path-done")).toHaveLength(4);
    expect(types).toContain("psis");
    expect(p.summary(["mu"])[1]!.name).toBe("mu");
    expect(p.formatSummary()).toMatch(/Pareto k/);
  });

  it("typed errors before any worker starts", () => {
    expect(() => pathfinder(conjugate, { paths: 0 })).toThrow(InvalidOptionError);
    expect(() => advi(conjugate, { family: "dense" as never })).toThrow(/option family/);
    expect(() => smc(conjugate, { kernel: "hmc" as never })).toThrow(InvalidOptionError);
    expect(() => smc(conjugate, { particelz: 10 } as never)).toThrow(/particelz/);
    // SMC needs the prior and likelihood apart, and a proper prior.
    expect(() => smc(compile(conjugate))).toThrow(InvalidModelError);
    const flat = model("flat", (b) => {
      const m = b.param("m");
      b.observe("y", dist.normal(m, 1), [1]);
    });
    expect(() => smc(flat)).toThrow(/parameter m/);
  });

  it("a model ADVI cannot fit fails with ApproxFailedError", async () => {
    const broken = model("broken", (b) => {
      const x = b.param("x", dist.normal(0, 1));
      // log(0): -Infinity everywhere.
      b.potential("never", log(mul(0, square(x))));
    });
    await expect(advi(broken, { seed: 1 }).result).rejects.toBeInstanceOf(ApproxFailedError);
  });
});

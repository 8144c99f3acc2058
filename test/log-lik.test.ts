/**
 * Pointwise log-likelihood: the generated `pointwiseLogLik` against densities by hand and
 * against Stan's own `log_lik` for the posteriordb models (test/posteriordb/<name>/stan-loglik.json,
 * written by scripts/stan-loglik.R), and `Posterior.logLikelihood` from kept draws.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { sampleSync } from "../src/api/sample-sync.js";
import { compile } from "../src/compile/compile.js";
import { loadModuleModel, moduleModel } from "../src/compile/module-model.js";
import { loo, waic } from "../src/diagnostics/loo.js";
import { ModelError } from "../src/model/errors.js";
import { constant, dist, model } from "../src/model/index.js";
import { loadPosterior, posteriordbDir, posteriordbModels } from "./posteriordb/models.js";

const LOG_2PI = Math.log(2 * Math.PI);
const Y = [28, 8, -3, 7, -1, 1, 18, 12];
const SIGMA = [15, 10, 16, 11, 9, 11, 10, 18];

/** Eight schools (automatically non-centred: theta is reported as mu + tau * z) with a second likelihood. */
const schools = (extra = false) =>
  model("eight_schools", (m) => {
    const sigma = m.data("sigma", SIGMA);
    const mu = m.param("mu", dist.normal(0, 5));
    const tau = m.param("tau", dist.halfCauchy(5));
    const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
    m.observe("y", dist.normal(theta, sigma), Y, { dims: ["school"] });
    if (extra) m.observe("z", dist.poissonLog(mu.mul(0.1)), [3, 0, 2]);
  });

const normalLpdf = (y: number, mu: number, s: number) => -0.5 * LOG_2PI - Math.log(s) - 0.5 * ((y - mu) / s) ** 2;
const poissonLogLpmf = (k: number, eta: number, lgammaK1: number) => k * eta - Math.exp(eta) - lgammaK1;

describe("the generated pointwise log-likelihood", () => {
  test("equals each observation's density, normalising constants included, at any draw", () => {
    const d = compile(schools(true));
    const info = d.model!;
    expect(info.observed.map((o) => [o.name, o.shape, o.size, o.offset, o.dims])).toEqual([
      ["y", [8], 8, 0, ["school"]],
      ["z", [3], 3, 8, undefined],
    ]);
    expect(Array.from(info.observed[0]!.value.values)).toEqual(Y);
    expect(info.logLikSize).toBe(11);
    expect(info.data.map((x) => x.name)).toEqual(["sigma"]);
    expect(info.variables.map((v) => [v.name, v.kind, v.dims])).toEqual([
      ["mu", "parameter", undefined],
      ["tau", "parameter", undefined],
      ["theta", "parameter", ["school"]],
    ]);
    const x = new Float64Array(d.names.length);
    const out = new Float64Array(info.logLikSize);
    for (let p = 0; p < 5; p++) {
      const q = Float64Array.from({ length: d.dim }, (_, i) => Math.sin(3 * p + i));
      d.constrainFlat(q, x);
      info.pointwiseLogLik(x, out);
      Y.forEach((y, i) => expect(out[i]).toBeCloseTo(normalLpdf(y, x[2 + i]!, SIGMA[i]!), 12));
      [3, 0, 2].forEach((k, i) => expect(out[8 + i]).toBeCloseTo(poissonLogLpmf(k, 0.1 * x[0]!, [Math.log(6), 0, Math.log(2)][i]!), 12));
    }
    expect(() => info.pointwiseLogLik(new Float64Array(3), out)).toThrow(/3 values for the 10 reported quantities/);
  });

  test("a multivariate likelihood gives one value per observed vector", () => {
    const m = model("mvn", (b) => {
      const mu = b.param("mu", dist.normal(0, 1), { shape: [2] });
      b.observe("y", dist.mvNormalCholesky(mu, constant([1, 0, 0.5, 2], [2, 2])), [0.3, -1]);
    });
    const d = compile(m);
    expect(d.model!.observed[0]!.shape).toEqual([]);
    const out = new Float64Array(1);
    d.model!.pointwiseLogLik(Float64Array.of(0.1, 0.2), out);
    // mu = (0.1, 0.2): y - mu = (0.2, -1.2).
    // z = L^-1 (y - mu) = [0.2, (-1.2 - 0.1) / 2]; log N = -0.5 |z|^2 - log det L - log 2pi.
    const z = [0.2, -0.65];
    expect(out[0]).toBeCloseTo(-0.5 * (z[0]! ** 2 + z[1]! ** 2) - Math.log(2) - LOG_2PI, 12);
  });

  test("observe checks its dims", () => {
    expect(() => model("bad", (b) => b.observe("y", dist.normal(b.param("mu", dist.normal(0, 1)), 1), [1, 2], { dims: ["a", "b"] }))).toThrow(ModelError);
    expect(() => model("bad", (b) => b.observe("y", dist.normal(b.param("mu", dist.normal(0, 1)), 1), [1, 2], { dims: ["a", "b"] }))).toThrow(
      /observed y: 2 dims \(a, b\) for shape \[2\]/,
    );
  });
});

describe("Posterior.logLikelihood", () => {
  const post = sampleSync(compile(schools(true)), { chains: 2, warmup: 150, draws: 100, seed: 3, saveWarmup: true });

  test("chain x draw x observation from the kept draws, every observed node or one by name", () => {
    const all = post.logLikelihood();
    expect(all.length).toBe(2);
    expect(all[0]!.length).toBe(100);
    expect(all[0]![0]!.length).toBe(11);
    const y = post.logLikelihood("y");
    const z = post.logLikelihood("z");
    expect(y[1]![7]!.length).toBe(8);
    expect(z[1]![7]!.length).toBe(3);
    expect(Array.from(all[1]![7]!)).toEqual([...y[1]![7]!, ...z[1]![7]!]);
    const theta3 = post.draws("theta[3]");
    for (const [c, i] of [[0, 0], [1, 99], [0, 42]] as const) {
      expect(y[c]![i]![2]).toBeCloseTo(normalLpdf(Y[2]!, theta3[c]![i]!, SIGMA[2]!), 12);
    }
    expect(post.logLikelihoodNames("y")).toEqual(Y.map((_, i) => `y[${i + 1}]`));
    expect(post.logLikelihoodNames()).toHaveLength(11);
    const warm = post.warmupLogLikelihood("y")!;
    expect(warm[0]!.length).toBe(150);
    expect(warm[0]![10]![0]).toBeCloseTo(normalLpdf(Y[0]!, post.warmupDraws("theta[1]")![0]![10]!, SIGMA[0]!), 12);
  });

  test("loo and waic take the posterior itself", () => {
    const silent = { onWarning: () => {} };
    const direct = loo(post, { ...silent, variable: "y" });
    const viaArray = loo(post.logLikelihood("y"), silent);
    expect(direct.elpdLoo).toBe(viaArray.elpdLoo);
    expect(direct.observations).toBe(8);
    expect(loo(post, silent).observations).toBe(11);
    expect(waic(post, { variable: "z" }).observations).toBe(3);
  });

  test("a placeholder draw (a failed chain's) scores NaN, and loo names it", () => {
    const p = sampleSync(compile(schools()), { chains: 2, warmup: 100, draws: 30, seed: 4 });
    const values = p.chains[1]!.values;
    for (let k = 0; k < p.names.length; k++) values[k * 30 + 12] = NaN;
    const ll = p.logLikelihood();
    expect(Array.from(ll[1]![12]!).every(Number.isNaN)).toBe(true);
    expect(Number.isFinite(ll[1]![11]![0]!)).toBe(true);
    expect(() => loo(p, { onWarning: () => {} })).toThrow(/chain 1, draw 12, observation 0 is NaN/);
  });

  test("errors name the problem", () => {
    expect(() => post.logLikelihood("w")).toThrow(/unknown observed node "w" of model eight_schools; observed: y, z/);
    const noData = sampleSync(compile(model("prior", (b) => void b.param("mu", dist.normal(0, 1)))), { chains: 1, warmup: 10, draws: 10, seed: 1 });
    expect(() => noData.logLikelihood()).toThrow(/model prior has no observed node/);
  });

  test("a module model has no observed nodes to score", async () => {
    const path = join(import.meta.dirname, "fixtures", "module-model.mjs");
    const density = await loadModuleModel(moduleModel(path, "default", { dim: 2 }));
    const p = sampleSync(density, { chains: 1, warmup: 10, draws: 10, seed: 1 });
    expect(() => p.logLikelihood()).toThrow(/a module model \(moduleModel\) has none/);
    expect(p.variables.map((v) => [v.name, v.shape])).toEqual([["x", [2]]]);
  });
});

interface StanLogLik {
  points: { upars: number[]; log_lik: number[] }[];
}

let worstOverall = 0;

describe("posteriordb models: pointwise log-likelihood equals Stan's log_lik", () => {
  const names = Object.keys(posteriordbModels);
  const withLikelihood = names.filter((n) => loadPosterior(n).model.observed.length > 0);

  test("every model with an observed node has Stan's log_lik (scripts/stan-loglik.R); the others marginalise by hand", () => {
    expect(names.filter((n) => !withLikelihood.includes(n)).sort()).toEqual(["hmm_example-hmm_example", "low_dim_gauss_mix-low_dim_gauss_mix"]);
    for (const n of withLikelihood) expect(existsSync(join(posteriordbDir, n, "stan-loglik.json")), n).toBe(true);
  });

  test.each(withLikelihood)("%s", (name) => {
    const { model: m } = loadPosterior(name);
    const d = compile(m);
    const stan = JSON.parse(readFileSync(join(posteriordbDir, name, "stan-loglik.json"), "utf8")) as StanLogLik;
    const x = new Float64Array(d.names.length);
    const out = new Float64Array(d.model!.logLikSize);
    for (const p of stan.points) {
      // A kept draw (reported quantities) is what the posterior holds.
      d.constrainFlat(Float64Array.from(p.upars), x);
      d.model!.pointwiseLogLik(x, out);
      expect(out.length).toBe(p.log_lik.length);
      let worst = 0;
      p.log_lik.forEach((v, i) => (worst = Math.max(worst, Math.abs(out[i]! - v) / Math.max(1, Math.abs(v)))));
      expect(worst).toBeLessThan(1e-8);
      worstOverall = Math.max(worstOverall, worst);
    }
  });

  test("the largest deviation from Stan's log_lik (printed for the record)", () => {
    console.log(`pointwise log-likelihood vs Stan's log_lik, ${withLikelihood.length} posteriordb models: max relative deviation ${worstOverall.toExponential(2)}`);
    expect(worstOverall).toBeLessThan(1e-8);
  });
});

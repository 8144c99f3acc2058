/**
 * The seven benchmark models (bench/models/<name>/model.stan) in this project's model API,
 * with their data. Each builder mirrors its Stan program line by line.
 */
import { join } from "node:path";
import { loadStanJson, type StanData } from "../../src/data/stan-json.js";
import { add, dist, exp, gather, matvec, model, mul, type Model, type ModelOptions } from "../../src/model/index.js";
import { projectRoot } from "../paths.js";

export const BENCHMARK_NAMES = ["simple", "medium", "stress", "eight_schools", "funnel", "logistic", "sv"] as const;
export type BenchmarkName = (typeof BENCHMARK_NAMES)[number];

export function loadBenchmarkData(name: BenchmarkName): StanData {
  return loadStanJson(join(projectRoot(), "bench", "models", name, "data.json"));
}

const nums = (v: unknown) => v as number[];
/** Stan's 1-based group indices as 0-based. */
const zeroBased = (v: unknown) => nums(v).map((g) => g - 1);

const builders: Record<BenchmarkName, (d: StanData, o?: ModelOptions) => Model> = {
  simple: (d, o) =>
    model("simple", (m) => {
      const mu = m.param("mu", dist.normal(0, 10));
      const sigma = m.param("sigma", dist.exponential(1));
      m.observe("y", dist.normal(mu, sigma), nums(d.y));
    }, o),
  medium: (d, o) =>
    model("medium", (m) => {
      const mu = m.param("mu", dist.normal(0, 10));
      const tau = m.param("tau", dist.halfNormal(5));
      const alpha = m.param("alpha", dist.normal(mu, tau), { shape: [d.G as number] });
      const sigma = m.param("sigma", dist.halfNormal(5));
      m.observe("y", dist.normal(gather(alpha, zeroBased(d.group)), sigma), nums(d.y));
    }, o),
  stress: (d, o) =>
    model("stress", (m) => {
      const G = d.G as number;
      const mu = m.param("mu", dist.normal(0, 10));
      const tau = m.param("tau", dist.halfNormal(5));
      const alpha = m.param("alpha", dist.normal(mu, tau), { shape: [G] });
      const sigma = m.param("sigma", dist.halfNormal(5), { shape: [G] });
      const group = zeroBased(d.group);
      m.observe("y", dist.normal(gather(alpha, group), gather(sigma, group)), nums(d.y));
    }, o),
  eight_schools: (d, o) =>
    model("eight_schools", (m) => {
      const mu = m.param("mu", dist.normal(0, 5));
      const tau = m.param("tau", dist.halfCauchy(5));
      const theta = m.param("theta", dist.normal(mu, tau), { shape: [d.J as number], dims: ["school"] });
      m.observe("y", dist.normal(theta, m.data("sigma", nums(d.sigma))), nums(d.y));
    }, o),
  funnel: (d, o) =>
    model("funnel", (m) => {
      const v = m.param("v", dist.normal(0, 3));
      m.param("x", dist.normal(0, exp(mul(v, 0.5))), { shape: [d.K as number] });
    }, o),
  logistic: (d, o) =>
    model("logistic", (m) => {
      const X = m.data("X", d.X as number[][]);
      const alpha = m.param("alpha", dist.normal(0, 10));
      const beta = m.param("beta", dist.normal(0, 10), { shape: [d.P as number] });
      m.observe("y", dist.bernoulliLogit(add(alpha, matvec(X, beta))), nums(d.y));
    }, o),
  sv: (d, o) =>
    model("sv", (m) => {
      const sigma = m.param("sigma", dist.exponential(50));
      const nu = m.param("nu", dist.exponential(0.1));
      // s[1] ~ normal(0, sigma); s[2:T] ~ normal(s[1:T-1], sigma): a Gaussian random walk
      // (automatically non-centred: s = sigma * cumsum(z)).
      const s = m.param("s", dist.gaussianRandomWalk(sigma, d.T as number));
      m.observe("r", dist.studentT(nu, 0, exp(s)), nums(d.r));
    }, o),
};

export function benchmarkModel(name: BenchmarkName, data: StanData = loadBenchmarkData(name), options?: ModelOptions): Model {
  return builders[name](data, options);
}

/** Eight schools written non-centred by hand, as in posteriordb (for the gradient benchmark). */
export function eightSchoolsNoncentered(d: StanData = loadBenchmarkData("eight_schools")): Model {
  return model("eight_schools_noncentered", (m) => {
    const mu = m.param("mu", dist.normal(0, 5));
    const tau = m.param("tau", dist.halfCauchy(5));
    const thetaTilde = m.param("theta_tilde", dist.normal(0, 1), { shape: [d.J as number] });
    m.deterministic("theta", add(mu, mul(tau, thetaTilde)));
    m.observe("y", dist.normal(add(mu, mul(tau, thetaTilde)), m.data("sigma", nums(d.sigma))), nums(d.y));
  });
}


/**
 * Large synthetic data sets for the backend benchmark and the tfjs validation: a logistic
 * regression with P predictors and a hierarchical Poisson GLM (group intercepts plus K
 * predictors), with data drawn from the model itself at fixed seeds (so posteriors are
 * well-behaved: no separation, true parameters inside the prior's bulk).
 */
import { dist, gather, matvec, model, add, type Model } from "../../src/model/index.js";
import { Rng } from "../../src/rng/index.js";

export interface LogisticData {
  readonly N: number;
  readonly P: number;
  /** Row-major N x P. */
  readonly X: Float64Array;
  readonly y: Float64Array;
}

export function logisticData(N: number, P: number, seed = 1): LogisticData {
  const rng = Rng.fromSeed(seed);
  const beta = Float64Array.from({ length: P }, () => rng.normal() / Math.sqrt(P));
  const X = new Float64Array(N * P);
  const y = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let eta = 0.3;
    for (let j = 0; j < P; j++) {
      const x = rng.normal();
      X[i * P + j] = x;
      eta += x * beta[j]!;
    }
    y[i] = rng.uniform() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { N, P, X, y };
}

/** y ~ bernoulli_logit(alpha + X beta), alpha ~ normal(0, 5), beta ~ normal(0, 5). */
export function logisticModel(d: LogisticData): Model {
  return model(`logistic_N${d.N}_P${d.P}`, (m) => {
    const X = m.data("X", d.X, { shape: [d.N, d.P] });
    const alpha = m.param("alpha", dist.normal(0, 5));
    const beta = m.param("beta", dist.normal(0, 5), { shape: [d.P] });
    m.observe("y", dist.bernoulliLogit(add(alpha, matvec(X, beta))), d.y);
  });
}

export interface PoissonGlmData {
  readonly N: number;
  readonly J: number;
  readonly K: number;
  readonly group: Int32Array;
  readonly X: Float64Array;
  readonly y: Float64Array;
}

export function poissonGlmData(N: number, J = 100, K = 5, seed = 2): PoissonGlmData {
  const rng = Rng.fromSeed(seed);
  const a = Float64Array.from({ length: J }, () => 0.5 + 0.5 * rng.normal());
  const beta = Float64Array.from({ length: K }, () => 0.3 * rng.normal());
  const group = new Int32Array(N);
  const X = new Float64Array(N * K);
  const y = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    group[i] = i % J;
    let eta = a[group[i]!]!;
    for (let k = 0; k < K; k++) {
      const x = rng.normal();
      X[i * K + k] = x;
      eta += x * beta[k]!;
    }
    // Poisson draw by inversion (means here are small).
    const lambda = Math.exp(eta);
    let count = 0;
    let p = Math.exp(-lambda);
    let cdf = p;
    const u = rng.uniform();
    while (u > cdf && count < 1000) {
      count++;
      p *= lambda / count;
      cdf += p;
    }
    y[i] = count;
  }
  return { N, J, K, group, X, y };
}

/** y ~ poisson_log(a[group] + X beta), a ~ normal(mu, tau), mu ~ normal(0, 2), tau ~ half-normal(1), beta ~ normal(0, 1). */
export function poissonGlmModel(d: PoissonGlmData): Model {
  return model(`poisson_glm_N${d.N}`, (m) => {
    const X = m.data("X", d.X, { shape: [d.N, d.K] });
    const mu = m.param("mu", dist.normal(0, 2));
    const tau = m.param("tau", dist.halfNormal(1));
    const a = m.param("a", dist.normal(mu, tau), { shape: [d.J] });
    const beta = m.param("beta", dist.normal(0, 1), { shape: [d.K] });
    m.observe("y", dist.poissonLog(add(gather(a, d.group), matvec(X, beta))), d.y);
  });
}

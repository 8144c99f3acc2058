/**
 * Hand-written gradients as a careful engineer writes them straight from the model statement:
 * one fused loop per likelihood, invariants and reciprocals hoisted, no allocation per call,
 * and the same elementary functions per element as the statement implies (one exp and one
 * log1p per Bernoulli-logit or Student-t observation). This is the baseline of the gradient
 * benchmark's headline ratio: it measures what generated code costs over hand-written code
 * for the same computation.
 *
 * bench/handwritten.ts holds algebraically rewritten versions (sufficient statistics, logs of
 * products) that change the computation itself; the benchmark reports them alongside.
 */
import digamma from "@stdlib/math-base-special-digamma";
import gammaln from "@stdlib/math-base-special-gammaln";
import type { LogDensity } from "../src/compile/types.js";
import type { StanData } from "../src/data/stan-json.js";

const nums = (v: unknown) => Float64Array.from(v as number[]);

function density(names: string[], unconstrained: string[], gradient: (q: Float64Array, g: Float64Array) => number): LogDensity {
  const scratch = new Float64Array(unconstrained.length);
  return {
    dim: unconstrained.length,
    names,
    paramCount: names.length,
    unconstrainedNames: unconstrained,
    logDensityGradient: gradient,
    logDensity: (q) => gradient(q, scratch),
    constrainFlat: () => {
      throw new Error("baseline densities report no draws");
    },
    constrain: () => ({}),
    unconstrain: () => new Float64Array(unconstrained.length),
  };
}

const indexed = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}[${i + 1}]`);

/** mu ~ normal(0, 5); tau ~ cauchy(0, 5); theta_tilde ~ normal(0, 1); y ~ normal(mu + tau * theta_tilde, sigma). */
export function eightSchoolsNoncentered(data: StanData): LogDensity {
  const J = data.J as number;
  const y = nums(data.y);
  const invSigma = nums(data.sigma).map((s) => 1 / s);
  return density(["mu", "tau", ...indexed("theta_tilde", J)], ["mu", "log_tau", ...indexed("theta_tilde", J)], (q, g) => {
    const mu = q[0]!;
    const logTau = q[1]!;
    const tau = Math.exp(logTau);
    const tau5 = tau * 0.2;
    let lp = -0.02 * mu * mu + logTau - Math.log1p(tau5 * tau5);
    let gMu = -0.04 * mu;
    let gTau = (-2 * tau5 * 0.2) / (1 + tau5 * tau5);
    for (let j = 0; j < J; j++) {
      const t = q[2 + j]!;
      const z = (y[j]! - mu - tau * t) * invSigma[j]!;
      lp -= 0.5 * (z * z + t * t);
      const dTheta = z * invSigma[j]!;
      gMu += dTheta;
      gTau += dTheta * t;
      g[2 + j] = dTheta * tau - t;
    }
    g[0] = gMu;
    g[1] = gTau * tau + 1;
    return lp;
  });
}

/** alpha ~ normal(0, 10); beta ~ normal(0, 10); y ~ bernoulli_logit(alpha + X * beta). */
export function logistic(data: StanData): LogDensity {
  const N = data.N as number;
  const P = data.P as number;
  const X = Float64Array.from((data.X as number[][]).flat());
  const y = nums(data.y);
  return density(["alpha", ...indexed("beta", P)], ["alpha", ...indexed("beta", P)], (q, g) => {
    const alpha = q[0]!;
    let lp = -0.005 * alpha * alpha;
    let gAlpha = -0.01 * alpha;
    for (let k = 0; k < P; k++) {
      const b = q[1 + k]!;
      lp -= 0.005 * b * b;
      g[1 + k] = -0.01 * b;
    }
    for (let i = 0; i < N; i++) {
      const row = i * P;
      let eta = alpha;
      for (let k = 0; k < P; k++) eta += X[row + k]! * q[1 + k]!;
      // log p(y | eta) = y eta - log(1 + exp(eta)), through e = exp(-|eta|).
      const e = Math.exp(-Math.abs(eta));
      lp += y[i]! * eta - (eta > 0 ? eta : 0) - Math.log1p(e);
      const p = eta > 0 ? 1 / (1 + e) : e / (1 + e);
      const r = y[i]! - p;
      gAlpha += r;
      for (let k = 0; k < P; k++) g[1 + k] += r * X[row + k]!;
    }
    g[0] = gAlpha;
    return lp;
  });
}

/**
 * sigma ~ exponential(50); nu ~ exponential(0.1); s[1] ~ normal(0, sigma);
 * s[2:T] ~ normal(s[1:T-1], sigma); r ~ student_t(nu, 0, exp(s)).
 */
export function sv(data: StanData): LogDensity {
  const T = data.T as number;
  const r2 = nums(data.r).map((r) => r * r);
  return density(["sigma", "nu", ...indexed("s", T)], ["log_sigma", "log_nu", ...indexed("s", T)], (q, g) => {
    const logSigma = q[0]!;
    const logNu = q[1]!;
    const sigma = Math.exp(logSigma);
    const nu = Math.exp(logNu);
    const invVar = 1 / (sigma * sigma);
    const invNu = 1 / nu;
    const halfNu1 = 0.5 * (nu + 1);
    // Priors with their Jacobians; the random walk's -T log(sigma).
    let lp = -50 * sigma + logSigma - 0.1 * nu + logNu - T * logSigma;
    lp += T * (gammaln(halfNu1) - gammaln(0.5 * nu) - 0.5 * logNu);
    let sumSq = 0;
    let gNu = 0.5 * T * (digamma(halfNu1) - digamma(0.5 * nu) - invNu);
    let prev = 0;
    for (let t = 0; t < T; t++) {
      const s = q[2 + t]!;
      const d = s - prev;
      sumSq += d * d;
      const w = r2[t]! * Math.exp(-2 * s) * invNu;
      const l = Math.log1p(w);
      lp -= s + halfNu1 * l;
      const f = w / (1 + w);
      gNu += -0.5 * l + halfNu1 * invNu * f;
      g[2 + t] = -1 + 2 * halfNu1 * f - d * invVar;
      if (t > 0) g[1 + t] += d * invVar;
      prev = s;
    }
    lp -= 0.5 * sumSq * invVar;
    g[0] = -50 * sigma + 1 - T + sumSq * invVar;
    g[1] = (gNu - 0.1) * nu + 1;
    return lp;
  });
}

/**
 * Targets with known evidence for SMC (test/runtime/approx.test.ts, `npm run validate:smc`):
 * a conjugate normal model, a Bayesian linear regression with a normal-inverse-gamma prior,
 * and a two-mode target with known weights.
 */
import gammaln from "@stdlib/math-base-special-gammaln";
import { constant, dist, logMix, matvec, model, mul, sqrt, type Model } from "../../src/model/index.js";
import { Rng } from "../../src/rng/index.js";

export interface KnownEvidence {
  readonly model: Model;
  /** log p(y), exact. */
  readonly evidence: number;
}

/** y_i ~ normal(mu, 1), mu ~ normal(0, 2): y ~ N(0, I + 4 11'). */
export function conjugateNormal(): KnownEvidence {
  const y = [1.2, 0.3, 2.1, 1.7, 0.9, 1.4, 2.5, 0.1];
  const s0 = 2;
  const m = model("conjugate_normal", (b) => {
    const mu = b.param("mu", dist.normal(0, s0));
    b.observe("y", dist.normal(mu, 1), y);
  });
  const n = y.length;
  const sum = y.reduce((a, b) => a + b, 0);
  const sq = y.reduce((a, b) => a + b * b, 0);
  // Sherman-Morrison: y'(I + s0^2 11')^-1 y and det = 1 + n s0^2.
  const quad = sq - (s0 ** 2 * sum * sum) / (1 + n * s0 ** 2);
  return { model: m, evidence: -0.5 * (n * Math.log(2 * Math.PI) + Math.log(1 + n * s0 ** 2) + quad) };
}

/**
 * sigma2 ~ inverse-gamma(a0, b0), beta | sigma2 ~ normal(0, sigma2 v0 I), y ~ normal(X beta,
 * sigma2 I), 30 observations, 3 predictors: the evidence is a multivariate Student-t density,
 * log p(y) = -n/2 log(2 pi) + 1/2 log(|Vn| / |V0|) + a0 log b0 - an log bn + lgamma(an) - lgamma(a0),
 * Vn = (V0^-1 + X'X)^-1, an = a0 + n/2, bn = b0 + (y'y - y'X Vn X'y) / 2.
 */
export function nigRegression(): KnownEvidence {
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
  const prec = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => X.reduce((s, r) => s + r[i]! * r[j]!, 0) + (i === j ? 1 / v0 : 0)));
  const xty = Array.from({ length: p }, (_, i) => X.reduce((s, r, k) => s + r[i]! * y[k]!, 0));
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
  // y'X Vn X'y = |L^-1 X'y|^2 with L L' = Vn^-1.
  const z = new Array<number>(p).fill(0);
  for (let i = 0; i < p; i++) z[i] = (xty[i]! - z.slice(0, i).reduce((s, v, k) => s + L[i]![k]! * v, 0)) / L[i]![i]!;
  const logDetPrec = 2 * L.reduce((s, row, i) => s + Math.log(row[i]!), 0);
  const an = a0 + n / 2;
  const bn = b0 + 0.5 * (y.reduce((s, v) => s + v * v, 0) - z.reduce((s, v) => s + v * v, 0));
  const evidence = -0.5 * n * Math.log(2 * Math.PI) + 0.5 * (-logDetPrec - p * Math.log(v0)) + a0 * Math.log(b0) - an * Math.log(bn) + gammaln(an) - gammaln(a0);
  return { model: m, evidence };
}

/**
 * x ~ normal(0, 10) times the mixture 0.3 N(-4, 0.5) + 0.7 N(4, 0.5): symmetric in the prior,
 * so the posterior weights of the modes are exactly 0.3 and 0.7, and the evidence is
 * N(4; 0, sqrt(100.25)).
 */
export function twoModes(): KnownEvidence {
  const m = model("two_modes", (b) => {
    const x = b.param("x", dist.normal(0, 10));
    b.potential("mixture", logMix(0.3, dist.normal(-4, 0.5).logpdf(x), dist.normal(4, 0.5).logpdf(x)));
  });
  const v = 100 + 0.25;
  return { model: m, evidence: -0.5 * Math.log(2 * Math.PI * v) - 16 / (2 * v) };
}

/**
 * Log CDF and log CCDF expressions of the univariate distributions (Stan's `_lcdf` / `_lccdf`):
 * each is built from the elementwise log-CDF operations of cdf-ops.ts and ordinary arithmetic,
 * so its gradient with respect to every argument (and x) comes from the same templates as the
 * rest of the model. `lccdf(x)` is log P(X > x); for counts, P(X > k) = P(X >= k + 1).
 *
 * Arguments are in each distribution's declaration order (distributions.ts). Complements are
 * never formed as 1 - F: each lccdf has its own accurate form (the reflected argument, the
 * other incomplete gamma, the incomplete beta with its arguments swapped).
 */
import { add, constant, div, elementwise, log1mExp, log1pExp, log, mul, neg, pow, square, sub, type Expr, type ExprLike } from "./expr.js";

export interface CdfSpec {
  lcdf(x: Expr, a: Expr[]): Expr;
  lccdf(x: Expr, a: Expr[]): Expr;
}

const op = (name: string, ...args: ExprLike[]) => elementwise(name, args);
const z = (x: Expr, mu: Expr, sigma: Expr) => div(sub(x, mu), sigma);
/** log I_x(a, b) with y = 1 - x passed as well (the accurate one of the two is used). */
export const logIncBeta = (x: ExprLike, y: ExprLike, a: ExprLike, b: ExprLike): Expr => op("logIncBeta", x, y, a, b);
/** log(exp(a) - exp(b)), a >= b. */
export const logDiffExp = (a: ExprLike, b: ExprLike): Expr => op("logDiffExp", a, b);
/** log(F(u) - F(l)) from lcdf(l), lccdf(l), lcdf(u), lccdf(u), whichever difference is accurate. */
export const logIntervalMass = (cl: ExprLike, sl: ExprLike, cu: ExprLike, su: ExprLike): Expr => op("logIntervalMass", cl, sl, cu, su);
/** log Phi(z), the standard normal log CDF, finite far into the tails. */
export const logPhi = (x: ExprLike): Expr => op("logPhi", x);

/** A location-scale family from its standard log CDF F0: lcdf = F0(z), lccdf = F0(-z) (symmetric families). */
const symmetric = (standard: (z: Expr) => Expr): CdfSpec => ({
  lcdf: (x, [m, s]) => standard(z(x, m!, s!)),
  lccdf: (x, [m, s]) => standard(neg(z(x, m!, s!))),
});

export const normalCdf = symmetric(logPhi);
export const cauchyCdf = symmetric((zz) => op("cauchyLcdf", zz));
export const laplaceCdf = symmetric((zz) => op("laplaceLcdf", zz));
export const logisticCdf = symmetric((zz) => neg(log1pExp(neg(zz))));

export const halfNormalCdf: CdfSpec = {
  lcdf: (x, [s]) => op("halfNormalLcdf", div(x, s!)),
  lccdf: (x, [s]) => op("halfNormalLccdf", div(x, s!)),
};
export const halfCauchyCdf: CdfSpec = {
  lcdf: (x, [s]) => op("halfCauchyLcdf", div(x, s!)),
  lccdf: (x, [s]) => op("halfCauchyLccdf", div(x, s!)),
};

export const studentTCdf: CdfSpec = {
  lcdf: (x, [n, m, s]) => op("studentTLcdf", z(x, m!, s!), n!),
  lccdf: (x, [n, m, s]) => op("studentTLcdf", neg(z(x, m!, s!)), n!),
};

/** |T| <= t: I_{t^2 / (nu + t^2)}(1/2, nu/2); above: I_{nu / (nu + t^2)}(nu/2, 1/2). */
const halfStudentTParts = (x: Expr, n: Expr, s: Expr) => {
  const t2 = square(div(x, s));
  const total = add(n, t2);
  return { below: div(n, total), above: div(t2, total), half: mul(0.5, n) };
};
export const halfStudentTCdf: CdfSpec = {
  lcdf: (x, [n, s]) => {
    const p = halfStudentTParts(x, n!, s!);
    return logIncBeta(p.above, p.below, 0.5, p.half);
  },
  lccdf: (x, [n, s]) => {
    const p = halfStudentTParts(x, n!, s!);
    return logIncBeta(p.below, p.above, p.half, 0.5);
  },
};

export const exponentialCdf: CdfSpec = {
  lcdf: (x, [l]) => log1mExp(neg(mul(l!, x))),
  lccdf: (x, [l]) => neg(mul(l!, x)),
};

export const gammaCdf: CdfSpec = {
  lcdf: (x, [a, b]) => op("logGammaP", a!, mul(b!, x)),
  lccdf: (x, [a, b]) => op("logGammaQ", a!, mul(b!, x)),
};
export const inverseGammaCdf: CdfSpec = {
  lcdf: (x, [a, b]) => op("logGammaQ", a!, div(b!, x)),
  lccdf: (x, [a, b]) => op("logGammaP", a!, div(b!, x)),
};

export const betaCdf: CdfSpec = {
  lcdf: (x, [a, b]) => logIncBeta(x, sub(1, x), a!, b!),
  lccdf: (x, [a, b]) => logIncBeta(sub(1, x), x, b!, a!),
};

export const uniformCdf: CdfSpec = {
  lcdf: (x, [lo, hi]) => op("uniformLcdf", x, lo!, hi!),
  lccdf: (x, [lo, hi]) => op("uniformLcdf", neg(x), neg(hi!), neg(lo!)),
};

export const logNormalCdf: CdfSpec = {
  lcdf: (x, [m, s]) => logPhi(z(log(x), m!, s!)),
  lccdf: (x, [m, s]) => logPhi(neg(z(log(x), m!, s!))),
};

/** (x / sigma)^alpha; the log CDF from its logarithm alpha log(x / sigma), finite where the power underflows. */
const weibullLogPower = (x: Expr, a: Expr, s: Expr) => mul(a, log(div(x, s)));
export const weibullCdf: CdfSpec = {
  lcdf: (x, [a, s]) => op("log1mExpNegExp", weibullLogPower(x, a!, s!)),
  lccdf: (x, [a, s]) => neg(pow(div(x, s!), a!)),
};

// ---------- discrete: P(Y <= k) through the incomplete beta and gamma functions ----------

/**
 * Binomial(n, p) from p and q = 1 - p (each accurate): P(Y <= k) = I_q(n - k, k + 1) and
 * P(Y > k) = I_p(k + 1, n - k); k >= n and k < 0 reach the limits of logIncBeta (0 and -Inf).
 */
const binomialFrom = (p: (a: Expr) => Expr, q: (a: Expr) => Expr, nIndex: number | null): CdfSpec => {
  const n = (a: Expr[]) => (nIndex === null ? constant(1) : a[nIndex]!);
  const pa = (a: Expr[]) => a[nIndex === null ? 0 : 1]!;
  return {
    lcdf: (k, a) => logIncBeta(q(pa(a)), p(pa(a)), sub(n(a), k), add(k, 1)),
    lccdf: (k, a) => logIncBeta(p(pa(a)), q(pa(a)), add(k, 1), sub(n(a), k)),
  };
};
const identity = (e: Expr) => e;
const oneMinus = (e: Expr) => sub(1, e);
export const bernoulliCdf = binomialFrom(identity, oneMinus, null);
export const binomialCdf = binomialFrom(identity, oneMinus, 0);
// p = logistic(alpha), 1 - p = logistic(-alpha): both accurate.
const logisticOf = (e: Expr) => elementwise("logistic", [e]);
export const bernoulliLogitCdf = binomialFrom(logisticOf, (e) => logisticOf(neg(e)), null);
export const binomialLogitCdf = binomialFrom(logisticOf, (e) => logisticOf(neg(e)), 0);

/** Poisson(lambda): P(Y <= k) = Q(k + 1, lambda), P(Y > k) = P(k + 1, lambda). */
const poissonFrom = (rate: (a: Expr) => Expr): CdfSpec => ({
  lcdf: (k, [l]) => op("logGammaQ", add(k, 1), rate(l!)),
  lccdf: (k, [l]) => op("logGammaP", add(k, 1), rate(l!)),
});
export const poissonCdf = poissonFrom(identity);
export const poissonLogCdf = poissonFrom((a) => elementwise("exp", [a]));

/** Stan's neg_binomial_2(mu, phi): P(Y <= k) = I_{phi / (mu + phi)}(phi, k + 1). */
export const negativeBinomialCdf: CdfSpec = {
  lcdf: (k, [m, ph]) => {
    const total = add(m!, ph!);
    return logIncBeta(div(ph!, total), div(m!, total), ph!, add(k, 1));
  },
  lccdf: (k, [m, ph]) => {
    const total = add(m!, ph!);
    return logIncBeta(div(m!, total), div(ph!, total), add(k, 1), ph!);
  },
};

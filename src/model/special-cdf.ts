/**
 * Log CDFs and their partial derivatives, as scalar functions for generated code
 * (`rt.cdf.*`, see cdf-ops.ts) and the constant evaluator.
 *
 * Values come from stdlib-js (Boost's algorithms: `gammainc`, `betainc`, `erfc`, `erfcx`,
 * `erf`; DECISIONS.md D36) wherever the probability is representable. Below ~1e-280 a
 * probability is computed in log space instead (the series / continued fraction with its
 * prefactor as a logarithm), so far tails stay finite: a normal lccdf at z = 30 is -454.3, not
 * -Infinity.
 *
 * Derivatives with respect to x are density / probability. Derivatives with respect to the
 * shape parameters of the incomplete gamma and beta functions have no closed form: they are
 * computed here by forward-mode differentiation of the series (lower incomplete gamma) and of
 * the continued fractions (upper incomplete gamma, incomplete beta), each in the region where it
 * converges, with the complement rule elsewhere (the ideas of Stan's `grad_reg_inc_gamma`,
 * `grad_reg_lower_inc_gamma` and `inc_beta_dda`/`ddb`, written our own way).
 *
 * Each gradient function computes every partial derivative at once and keeps the last inputs,
 * because generated code asks for one partial at a time (`der(k)`), one after another.
 */
import { createRequire } from "node:module";
import { digamma, lgamma, lgammaDiff, runtime, stirlingRemainder } from "./special.js";

type Fn = (...x: number[]) => number;
const requireCjs = createRequire(import.meta.url);
interface Stdlib {
  /** gammainc(x, s, regularized, upper) */
  gammainc(x: number, s: number, regularized: boolean, upper: boolean): number;
  /** betainc(x, a, b, regularized, upper) */
  betainc(x: number, a: number, b: number, regularized: boolean, upper: boolean): number;
  erfc(x: number): number;
  erfcx(x: number): number;
  erf(x: number): number;
}
let loaded: Stdlib | null = null;
/** The stdlib packages, loaded on first use (as special.ts does: start-up stays cheap). */
function lib(): Stdlib {
  if (loaded === null) {
    const load = (name: string) => requireCjs(`@stdlib/math-base-special-${name}`) as Fn;
    loaded = { gammainc: load("gammainc"), betainc: load("betainc"), erfc: load("erfc"), erfcx: load("erfcx"), erf: load("erf") } as unknown as Stdlib;
  }
  return loaded;
}
const gammainc = (x: number, s: number, upper: boolean) => lib().gammainc(x, s, true, upper);
const betainc = (x: number, a: number, b: number, upper: boolean) => lib().betainc(x, a, b, true, upper);
const erfc = (x: number) => lib().erfc(x);
const erfcx = (x: number) => lib().erfcx(x);
const erf = (x: number) => lib().erf(x);

const LN2 = Math.LN2;
const LOG_PI = Math.log(Math.PI);
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const SQRT1_2 = Math.SQRT1_2;
/** Below this a probability is taken from the log-space form, not the library's value. */
const TINY = 1e-280;
/** Iterations stop when a factor is within 2 ulps of 1 (tighter never happens in float64). */
const EPS = 3e-16;
const MAX_ITER = 200000;

const log1mExp = (x: number) => (x > -LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x)));

// ---------------------------------------------------------------- normal

/** log Phi(z), the standard normal log CDF. */
export function logPhi(z: number): number {
  if (z < -1) return Math.log(0.5 * erfcx(-z * SQRT1_2)) - 0.5 * z * z;
  if (z < 0) return Math.log(0.5 * erfc(-z * SQRT1_2));
  return Math.log1p(-0.5 * erfc(z * SQRT1_2));
}
/** d log Phi(z) / dz = phi(z) / Phi(z) (the inverse Mills ratio), without underflow. */
export function logPhiGrad(z: number, v: number): number {
  if (z < -1) return Math.sqrt(2 / Math.PI) / erfcx(-z * SQRT1_2);
  return Math.exp(-0.5 * z * z - HALF_LOG_2PI - v);
}

/** log P(|Z| <= z) = log erf(z / sqrt 2): the half-normal log CDF of z = x / sigma. */
export function halfNormalLcdf(z: number): number {
  if (z < 1) return Math.log(erf(z * SQRT1_2));
  return Math.log1p(-erfc(z * SQRT1_2));
}
export function halfNormalLcdfGrad(z: number, v: number): number {
  return Math.exp(0.5 * Math.log(2 / Math.PI) - 0.5 * z * z - v);
}
/** log P(|Z| > z) = log erfc(z / sqrt 2), without cancellation near 0 or underflow far out. */
export function halfNormalLccdf(z: number): number {
  if (z < 1) return Math.log1p(-erf(z * SQRT1_2));
  return LN2 + logPhi(-z);
}
export function halfNormalLccdfGrad(z: number, v: number): number {
  return -Math.exp(0.5 * Math.log(2 / Math.PI) - 0.5 * z * z - v);
}

// ---------------------------------------------------------------- Cauchy, Laplace

/** log(1/2 + atan(z) / pi), the standard Cauchy log CDF, accurate in both tails. */
export function cauchyLcdf(z: number): number {
  if (z === 0) return -LN2;
  if (z < 0) return Math.log(Math.atan(-1 / z)) - LOG_PI;
  return Math.log1p(-Math.atan(1 / z) / Math.PI);
}
export function cauchyLcdfGrad(z: number, v: number): number {
  return Math.exp(-LOG_PI - Math.log1p(z * z) - v);
}

/** log((2 / pi) atan(z)): the half-Cauchy log CDF of z = x / sigma. */
export function halfCauchyLcdf(z: number): number {
  if (z <= 1) return Math.log((2 / Math.PI) * Math.atan(z));
  return Math.log1p(-(2 / Math.PI) * Math.atan(1 / z));
}
export function halfCauchyLcdfGrad(z: number, v: number): number {
  return Math.exp(Math.log(2 / Math.PI) - Math.log1p(z * z) - v);
}
/** log(1 - (2 / pi) atan(z)) = log((2 / pi) atan(1 / z)), accurate at both ends. */
export function halfCauchyLccdf(z: number): number {
  if (z <= 1) return Math.log1p(-(2 / Math.PI) * Math.atan(z));
  return Math.log((2 / Math.PI) * Math.atan(1 / z));
}
export function halfCauchyLccdfGrad(z: number, v: number): number {
  return -Math.exp(Math.log(2 / Math.PI) - Math.log1p(z * z) - v);
}

/**
 * log(1 - exp(-exp(a))): the Weibull log CDF with a = alpha log(x / sigma), finite when
 * exp(a) underflows (then it is a - exp(a) / 2).
 */
export function log1mExpNegExp(a: number): number {
  const r = Math.exp(a);
  if (r < 1e-8) return a + Math.log1p(-0.5 * r);
  return log1mExp(-r);
}
export function log1mExpNegExpGrad(a: number): number {
  const r = Math.exp(a);
  return r === 0 ? 1 : r / Math.expm1(r);
}

/** The standard Laplace log CDF. */
export function laplaceLcdf(z: number): number {
  return z < 0 ? z - LN2 : Math.log1p(-0.5 * Math.exp(-z));
}
export function laplaceLcdfGrad(z: number): number {
  return z < 0 ? 1 : 1 / (2 * Math.exp(z) - 1);
}

// ---------------------------------------------------------------- uniform, log-diff-exp

/** log P(X <= x) for X ~ uniform(lo, hi). */
export function uniformLcdf(x: number, lo: number, hi: number): number {
  if (x <= lo) return -Infinity;
  if (x >= hi) return 0;
  const p = (x - lo) / (hi - lo);
  return p > 0.5 ? Math.log1p(-(hi - x) / (hi - lo)) : Math.log(p);
}
export function uniformLcdfGrad(x: number, lo: number, hi: number, _v: number, k: number): number {
  if (x <= lo || x >= hi) return 0;
  if (k === 0) return 1 / (x - lo);
  if (k === 1) return -(hi - x) / ((x - lo) * (hi - lo));
  return -1 / (hi - lo);
}

/** log(exp(a) - exp(b)) for a >= b. */
export function logDiffExp(a: number, b: number): number {
  if (b === -Infinity) return a;
  return a + log1mExp(b - a);
}
export function logDiffExpGrad(a: number, b: number, _v: number, k: number): number {
  if (b === -Infinity) return k === 0 ? 1 : 0;
  return k === 0 ? -1 / Math.expm1(b - a) : -1 / Math.expm1(a - b);
}

/**
 * log(F(u) - F(l)) from the four log CDF / CCDF values (lcdf l, lccdf l, lcdf u, lccdf u):
 * the difference of CCDFs when l is in the upper half (no cancellation against 1), else of CDFs.
 */
export function logIntervalMass(cl: number, sl: number, cu: number, su: number): number {
  return cl > -LN2 ? logDiffExp(sl, su) : logDiffExp(cu, cl);
}
export function logIntervalMassGrad(cl: number, sl: number, cu: number, su: number, v: number, k: number): number {
  if (cl > -LN2) return k === 1 ? logDiffExpGrad(sl, su, v, 0) : k === 3 ? logDiffExpGrad(sl, su, v, 1) : 0;
  return k === 2 ? logDiffExpGrad(cu, cl, v, 0) : k === 0 ? logDiffExpGrad(cu, cl, v, 1) : 0;
}

// ---------------------------------------------------------------- incomplete gamma

/**
 * Shapes from which the values come from our own series and fraction too: stdlib's gammainc
 * (1.0) is wrong near y = a for large a (P(10001, 10000) = 0.4933 for 0.4973; 2% off at
 * a = 1500), and its betainc loses digits for shapes near 1e8.
 */
const OWN_GAMMA_FROM = 200;
const OWN_BETA_FROM = 1e4;

/** log(1 + d) - d, without cancellation for small d. */
function log1pmx(d: number): number {
  if (Math.abs(d) > 0.5) return Math.log1p(d) - d;
  let term = d;
  let sum = 0;
  for (let k = 2; k < 200; k++) {
    term *= -d;
    const t = term / k;
    sum += t;
    if (Math.abs(t) <= 1e-17 * Math.abs(sum)) break;
  }
  return sum;
}

/** log(y^a e^-y / Gamma(a + 1)); for a >= 10 through Stirling's series, without cancelling a log a. */
function logGammaPrefix(a: number, y: number): number {
  if (a < 10 || Math.abs(y - a) > 0.5 * a) return a * Math.log(y) - y - lgamma(a + 1);
  return a * log1pmx((y - a) / a) - 0.5 * Math.log(2 * Math.PI * a) - stirlingRemainder(a);
}

/** digamma(x + y) - digamma(x) (y > 0), by the asymptotic series for large x: no cancellation. */
function digammaIncrement(x: number, y: number): number {
  if (x < 100) return digamma(x + y) - digamma(x);
  const z = x + y;
  const inv = (v: number, k: number) => 1 / v ** k;
  return (
    Math.log1p(y / x) +
    y / (2 * x * z) +
    (y * (2 * x + y)) / (12 * x * x * z * z) +
    (inv(z, 4) - inv(x, 4)) / 120 -
    (inv(z, 6) - inv(x, 6)) / 252 +
    (inv(z, 8) - inv(x, 8)) / 240
  );
}

/**
 * log P(a, y) by its series, with d/da: P = y^a e^-y / Gamma(a + 1) * sum_n y^n / ((a+1)...(a+n)).
 * Converges for any y; used where y < a + 1 (where it is fast and P is not close to 1).
 */
function gammaPSeries(a: number, y: number): [number, number] {
  let t = 1;
  let dt = 0;
  let s = 1;
  let ds = 0;
  for (let n = 1; n < MAX_ITER; n++) {
    const r = y / (a + n);
    dt = r * (dt - t / (a + n));
    t *= r;
    s += t;
    ds += dt;
    if (Math.abs(t) < EPS * s && Math.abs(dt) <= EPS * Math.abs(ds) + 1e-300) break;
  }
  return [logGammaPrefix(a, y) + Math.log(s), Math.log(y) - digamma(a + 1) + ds / s];
}

/**
 * log Q(a, y) by Legendre's continued fraction (modified Lentz), with d/da by forward mode:
 * Q = e^-y y^a / Gamma(a) / (y + 1 - a - 1 (1 - a) / (y + 3 - a - 2 (2 - a) / ...)).
 * Converges where y >= a + 1.
 */
function gammaQFraction(a: number, y: number): [number, number] {
  const FPMIN = 1e-300;
  let b = y + 1 - a;
  const db = -1;
  let c = 1 / FPMIN;
  let dc = 0;
  let d = 1 / b;
  let dd = -db / (b * b);
  let h = d;
  let dh = dd;
  let bb = b;
  let dbb = db;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    const dan = i;
    bb += 2;
    // d <- 1 / (an d + b)
    let dn = an * d + bb;
    let ddn = dan * d + an * dd + dbb;
    if (Math.abs(dn) < FPMIN) dn = FPMIN;
    // c <- b + an / c
    const cn = bb + an / c;
    const dcn = dbb + (dan * c - an * dc) / (c * c);
    c = Math.abs(cn) < FPMIN ? FPMIN : cn;
    dc = dcn;
    d = 1 / dn;
    dd = -ddn / (dn * dn);
    const del = d * c;
    const ddel = dd * c + d * dc;
    dh = dh * del + h * ddel;
    h *= del;
    if (Math.abs(del - 1) < EPS && Math.abs(ddel) <= EPS * Math.abs(dh / h) + 1e-300) break;
  }
  void b;
  return [logGammaPrefix(a, y) + Math.log(a) + Math.log(h), Math.log(y) - digamma(a) + dh / h];
}

/** log P(a, y), the regularised lower incomplete gamma function (gamma CDF at y with rate 1). */
export function logGammaP(a: number, y: number): number {
  if (!(y > 0)) return y === 0 ? -Infinity : NaN;
  if (!(a > 0)) return a <= 0 ? 0 : NaN;
  if (y === Infinity) return 0;
  if (a > OWN_GAMMA_FROM) return y < a + 1 ? gammaPSeries(a, y)[0] : log1mExp(gammaQFraction(a, y)[0]);
  const p = gammainc(y, a, false);
  if (p > 0.5) return Math.log1p(-gammainc(y, a, true));
  if (p > TINY) return Math.log(p);
  return gammaPSeries(a, y)[0];
}

/** log Q(a, y) = log(1 - P(a, y)), the regularised upper incomplete gamma function. */
export function logGammaQ(a: number, y: number): number {
  if (!(y > 0)) return y === 0 ? 0 : NaN;
  if (!(a > 0)) return a <= 0 ? -Infinity : NaN;
  if (y === Infinity) return -Infinity;
  if (a > OWN_GAMMA_FROM) return y < a + 1 ? log1mExp(gammaPSeries(a, y)[0]) : gammaQFraction(a, y)[0];
  const q = gammainc(y, a, true);
  if (q > 0.5) return Math.log1p(-gammainc(y, a, false));
  if (q > TINY) return Math.log(q);
  return gammaQFraction(a, y)[0];
}

/** d log P / da and d log P / dy (upper = false), or of log Q (upper = true), given v = the value. */
function gammaGradients(a: number, y: number, v: number, upper: boolean, out: Float64Array): void {
  // d/dy: the gamma(a, 1) density over the probability.
  const logDensity = logGammaPrefix(a, y) + Math.log(a) - Math.log(y);
  out[1] = (upper ? -1 : 1) * Math.exp(logDensity - v);
  if (y < a + 1) {
    const [logP, dLogP] = gammaPSeries(a, y);
    out[0] = upper ? -Math.exp(logP - v) * dLogP : dLogP;
  } else {
    const [logQ, dLogQ] = gammaQFraction(a, y);
    out[0] = upper ? dLogQ : -Math.exp(logQ - v) * dLogQ;
  }
}

// ---------------------------------------------------------------- incomplete beta

/** log Beta(a, b) without the cancellation of two large lgammas. */
function logBeta(a: number, b: number): number {
  const [s, l] = a < b ? [a, b] : [b, a];
  return lgamma(s) - lgammaDiff(l, s);
}
/** digamma(a) - digamma(a + b). */
const digammaDiff = (a: number, b: number) => -digammaIncrement(a, b);

/**
 * log I_x(a, b) by the continued fraction (Numerical Recipes' betacf, modified Lentz) with its
 * derivatives in a and b by forward mode: I = x^a y^b / (a B(a, b)) * CF. Converges where
 * x < (a + 1) / (a + b + 2). `lx`, `ly` are log x and log y = log(1 - x), each from the
 * accurate one of x and y.
 */
function betaFraction(x: number, y: number, a: number, b: number, lx: number, ly: number): [number, number, number] {
  const FPMIN = 1e-300;
  // d0 = 1 - (a + b) x / (a + 1) = (1 - b + (a + b) y) / (a + 1): the second form where it
  // has the smaller terms (near the region's edge with large a, the first cancels to 2 / (a + b)).
  let d = Math.max(Math.abs(1 - b), (a + b) * y) < a + 1 ? (1 - b + (a + b) * y) / (a + 1) : 1 - ((a + b) * x) / (a + 1);
  let dA = (-x * (1 - b)) / ((a + 1) * (a + 1));
  let dB = -x / (a + 1);
  if (Math.abs(d) < FPMIN) d = FPMIN;
  dA = -dA / (d * d);
  dB = -dB / (d * d);
  d = 1 / d;
  let c = 1;
  let cA = 0;
  let cB = 0;
  let h = d;
  let hA = dA;
  let hB = dB;
  const step = (aa: number, aaA: number, aaB: number) => {
    // d <- 1 / (1 + aa d), c <- 1 + aa / c, h <- h d c
    let dn = 1 + aa * d;
    const dnA = aaA * d + aa * dA;
    const dnB = aaB * d + aa * dB;
    if (Math.abs(dn) < FPMIN) dn = FPMIN;
    let cn = 1 + aa / c;
    const cnA = aaA / c - (aa * cA) / (c * c);
    const cnB = aaB / c - (aa * cB) / (c * c);
    if (Math.abs(cn) < FPMIN) cn = FPMIN;
    d = 1 / dn;
    dA = -dnA / (dn * dn);
    dB = -dnB / (dn * dn);
    c = cn;
    cA = cnA;
    cB = cnB;
    const del = d * c;
    const delA = dA * c + d * cA;
    const delB = dB * c + d * cB;
    hA = hA * del + h * delA;
    hB = hB * del + h * delB;
    h *= del;
    return [del, delA, delB] as const;
  };
  for (let m = 1; m < MAX_ITER; m++) {
    const m2 = 2 * m;
    // aa = m (b - m) x / ((a + 2m - 1)(a + 2m))
    const p1 = a + m2 - 1;
    const p2 = a + m2;
    const aa1 = (m * (b - m) * x) / (p1 * p2);
    step(aa1, -aa1 * (1 / p1 + 1 / p2), (m * x) / (p1 * p2));
    // aa = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
    const p3 = a + m2 + 1;
    const aa2 = (-(a + m) * (a + b + m) * x) / (p2 * p3);
    const [del, delA, delB] = step(aa2, aa2 * (1 / (a + m) + 1 / (a + b + m) - 1 / p2 - 1 / p3), aa2 / (a + b + m));
    if (Math.abs(del - 1) < EPS && Math.abs(delA) < EPS * (1 + Math.abs(hA / h)) && Math.abs(delB) < EPS * (1 + Math.abs(hB / h))) break;
  }
  const value = a * lx + b * ly - Math.log(a) - logBeta(a, b) + Math.log(h);
  const gradA = lx - 1 / a - digammaDiff(a, b) + hA / h;
  const gradB = ly - digammaDiff(b, a) + hB / h;
  return [value, gradA, gradB];
}

const logOf = (x: number, y: number) => (x < 0.5 ? Math.log(x) : Math.log1p(-y));

/**
 * log I_x(a, b), the regularised incomplete beta function (the beta(a, b) log CDF at x), given
 * y = 1 - x as well (whichever is smaller is the accurate one: negative binomial with phi = 1e8
 * has x = 1 - 1e-8). Limits: a <= 0 gives 0 (I = 1), b <= 0 gives -Infinity.
 */
export function logIncBeta(x: number, y: number, a: number, b: number): number {
  if (!(x > 0)) return x <= 0 ? -Infinity : NaN;
  if (!(y > 0)) return y <= 0 ? 0 : NaN;
  if (!(a > 0)) return a <= 0 ? 0 : NaN;
  if (!(b > 0)) return b <= 0 ? -Infinity : NaN;
  if (Math.max(a, b) > OWN_BETA_FROM) {
    const lx = logOf(x, y);
    const ly = logOf(y, x);
    return x < (a + 1) / (a + b + 2) ? betaFraction(x, y, a, b, lx, ly)[0] : log1mExp(betaFraction(y, x, b, a, ly, lx)[0]);
  }
  // The library call takes the smaller argument, so that it never forms 1 - x itself.
  const [i, j] = x <= y ? [betainc(x, a, b, false), betainc(x, a, b, true)] : [betainc(y, b, a, true), betainc(y, b, a, false)];
  if (i > 0.5) return Math.log1p(-j);
  if (i > TINY) return Math.log(i);
  return betaFraction(x, y, a, b, logOf(x, y), logOf(y, x))[0];
}

/** [d/dx, d/dy, d/da, d/db] of v = log I_x(a, b); the x-dependence sits in x or y, whichever the value used. */
function betaGradients(x: number, y: number, a: number, b: number, v: number, out: Float64Array): void {
  out.fill(0);
  if (!(x > 0 && y > 0 && a > 0 && b > 0)) {
    out.fill(NaN);
    return;
  }
  const lx = logOf(x, y);
  const ly = logOf(y, x);
  const dx = Math.exp((a - 1) * lx + (b - 1) * ly - logBeta(a, b) - v);
  if (x <= y) out[0] = dx;
  else out[1] = -dx;
  if (x < (a + 1) / (a + b + 2)) {
    const [, ga, gb] = betaFraction(x, y, a, b, lx, ly);
    out[2] = ga;
    out[3] = gb;
  } else {
    // I = 1 - J with J = I_y(b, a): d log I = -(J / I) d log J.
    const [logJ, gb, ga] = betaFraction(y, x, b, a, ly, lx);
    const ratio = -Math.exp(logJ - v);
    out[2] = ratio * ga;
    out[3] = ratio * gb;
  }
}

// ---------------------------------------------------------------- Student-t

/** x = nu / (nu + t^2) and y = t^2 / (nu + t^2), each without overflow or cancellation. */
function studentTArgs(t: number, nu: number): [number, number] {
  const t2 = t * t;
  if (t2 > nu) {
    const r = nu / t2;
    return [r / (1 + r), 1 / (1 + r)];
  }
  const s = t2 / nu;
  return [1 / (1 + s), s / (1 + s)];
}

/** The Student-t log CDF at standardised t: F = I_x(nu/2, 1/2) / 2 below 0, 1 - that above. */
export function studentTLcdf(t: number, nu: number): number {
  const [x, y] = studentTArgs(t, nu);
  const l = logIncBeta(x, y, 0.5 * nu, 0.5) - LN2;
  return t < 0 ? l : log1mExp(l);
}

function studentTGradients(t: number, nu: number, v: number, out: Float64Array): void {
  const logDensity =
    lgammaDiff(0.5 * nu, 0.5) - 0.5 * Math.log(nu) - 0.5 * LOG_PI - 0.5 * (nu + 1) * Math.log1p((t * t) / nu);
  out[0] = Math.exp(logDensity - v);
  // F(0) = 1/2 for every nu.
  if (t === 0) {
    out[1] = 0;
    return;
  }
  // d/dnu at fixed t: through a = nu / 2 and through x = nu / (nu + t^2).
  const [x, y] = studentTArgs(t, nu);
  const g = new Float64Array(4);
  const l = logIncBeta(x, y, 0.5 * nu, 0.5);
  betaGradients(x, y, 0.5 * nu, 0.5, l, g);
  // dx/dnu = t^2 / (nu + t^2)^2 = x y / nu; dy/dnu = -x y / nu.
  const dl = (g[0]! - g[1]!) * ((x * y) / nu) + 0.5 * g[2]!;
  // lower half: v = l - ln 2; upper half: v = log(1 - e^(l - ln 2)).
  out[1] = t < 0 ? dl : -Math.exp(l - LN2 - v) * dl;
}

// ---------------------------------------------------------------- gradient entry points

/** The last inputs and all partial derivatives of one multi-argument function. */
function cachedGradient(arity: number, compute: (args: number[], v: number, out: Float64Array) => void) {
  const last = new Float64Array(arity + 1).fill(NaN);
  const out = new Float64Array(arity);
  const args: number[] = new Array<number>(arity).fill(0);
  return (...xs: number[]): number => {
    const k = xs[arity + 1]!;
    let same = true;
    for (let i = 0; i <= arity; i++) {
      if (!(xs[i] === last[i])) {
        same = false;
        break;
      }
    }
    if (!same) {
      for (let i = 0; i <= arity; i++) last[i] = xs[i]!;
      for (let i = 0; i < arity; i++) args[i] = xs[i]!;
      compute(args, xs[arity]!, out);
    }
    return out[k]!;
  };
}

export const cdfRuntime = {
  logPhi,
  logPhiGrad,
  halfNormalLcdf,
  halfNormalLcdfGrad,
  halfNormalLccdf,
  halfNormalLccdfGrad,
  cauchyLcdf,
  cauchyLcdfGrad,
  halfCauchyLcdf,
  halfCauchyLcdfGrad,
  halfCauchyLccdf,
  halfCauchyLccdfGrad,
  log1mExpNegExp,
  log1mExpNegExpGrad,
  laplaceLcdf,
  laplaceLcdfGrad,
  uniformLcdf,
  uniformLcdfGrad,
  logDiffExp,
  logDiffExpGrad,
  logIntervalMass,
  logIntervalMassGrad,
  studentTLcdf,
  studentTLcdfGrad: cachedGradient(2, ([t, nu], v, out) => studentTGradients(t!, nu!, v, out)),
  logGammaP,
  logGammaPGrad: cachedGradient(2, ([a, y], v, out) => gammaGradients(a!, y!, v, false, out)),
  logGammaQ,
  logGammaQGrad: cachedGradient(2, ([a, y], v, out) => gammaGradients(a!, y!, v, true, out)),
  logIncBeta,
  logIncBetaGrad: cachedGradient(4, ([x, y, a, b], v, out) => betaGradients(x!, y!, a!, b!, v, out)),
};

// Generated code reaches these as `rt.cdf.*`; installed once, when this module loads (cdf-ops.ts,
// which every code generator loads through ops.ts, imports it).
Object.assign(runtime, { cdf: cdfRuntime });

/**
 * Distributions with Stan's parameterisations. Each log-density is written as an expression of
 * primitive operations (so its gradient comes from the same templates as everything else, and
 * loop-invariant parts such as log(sigma) for a scalar sigma are computed once per call), fully
 * normalised, with its support, default transform, argument checks and a random draw.
 */
import { ModelError } from "./errors.js";
import {
  abs,
  add,
  constant,
  div,
  exp,
  lgamma,
  lgammaDiff,
  lift,
  log,
  log1m,
  log1p,
  log1pExp,
  mul,
  neg,
  square,
  sub,
  sum,
  diagonal,
  dot,
  type Expr,
  type ExprLike,
} from "./expr.js";
import { concat, cumsum, lowerSolve, matvec } from "./linalg.js";
import { broadcastShapes, formatShape, sizeOf, type Shape } from "./shape.js";
import type { TransformSpec } from "./transforms.js";
import * as cdf from "./cdf.js";
import { argumentReader } from "./random.js";
import type { ArgCheck, Distribution, RandomSource, Support } from "./distribution-types.js";

export type { ArgCheck, Distribution, NoncenteredForm, RandomSource, Support } from "./distribution-types.js";

const LOG_2PI = Math.log(2 * Math.PI);
const LOG_PI = Math.log(Math.PI);
const LN2 = Math.LN2;

const at = (v: Float64Array, i: number) => v[v.length === 1 ? 0 : i]!;

function checkArg(dist: string, argName: string, e: Expr, check: ArgCheck) {
  if (!e.isConst || check === "real") {
    if (e.isConst) assertFinite(dist, argName, e.constValues);
    return;
  }
  const v = e.constValues;
  assertFinite(dist, argName, v);
  v.forEach((x, i) => {
    const bad =
      (check === "positive" && !(x > 0)) ||
      (check === "nonNegative" && !(x >= 0)) ||
      (check === "unit" && !(x >= 0 && x <= 1)) ||
      (check === "count" && !(x >= 0 && Number.isInteger(x)));
    if (bad) {
      const need = { positive: "> 0", nonNegative: ">= 0", unit: "in [0, 1]", count: "a non-negative integer" }[check];
      throw new ModelError("invalid-constant", `${dist}: argument ${argName}${v.length > 1 ? `[${i}]` : ""} = ${x} must be ${need}`);
    }
  });
}

function assertFinite(dist: string, argName: string, v: Float64Array) {
  v.forEach((x, i) => {
    if (!Number.isFinite(x)) {
      throw new ModelError("non-finite-data", `${dist}: argument ${argName}${v.length > 1 ? `[${i}]` : ""} is ${x}`);
    }
  });
}

const supportChecks: Record<Support, ((x: number) => boolean) | null> = {
  real: null,
  vector: null,
  simplex: null,
  interval: null,
  positive: (x) => x > 0,
  nonNegative: (x) => x >= 0,
  unit: (x) => x >= 0 && x <= 1,
  binary: (x) => x === 0 || x === 1,
  count: (x) => x >= 0 && Number.isInteger(x),
  boundedCount: (x) => x >= 0 && Number.isInteger(x),
};
const supportWords: Record<Support, string> = {
  real: "a real number",
  vector: "a real vector",
  simplex: "a simplex",
  interval: "inside the interval",
  positive: "> 0",
  nonNegative: ">= 0",
  unit: "in [0, 1]",
  binary: "0 or 1",
  count: "a non-negative integer",
  boundedCount: "an integer in 0..n",
};

interface Univariate {
  name: string;
  args: Record<string, [ExprLike, ArgCheck]>;
  support: Support;
  discrete?: boolean;
  /**
   * Elementwise log-density given x and the arguments (in declaration order), as additive
   * terms: a term of smaller shape (log(sigma) for a scalar sigma, constants) is summed once
   * and scaled by how often it repeats, instead of once per element.
   */
  density(x: Expr, a: Expr[]): Expr | Expr[];
  transform?(a: Expr[]): TransformSpec;
  /** Extra data check given the argument values, NaN where not constant (e.g. y <= n). */
  extraCheck?(x: number, a: number[]): string | null;
  draw(rng: RandomSource, a: number[]): number;
  /** Log CDF and log CCDF (cdf.ts). */
  cdf: cdf.CdfSpec;
}

function univariate(spec: Univariate): Distribution {
  const names = Object.keys(spec.args);
  const exprs = names.map((n) => lift(spec.args[n]![0], `${spec.name}: argument ${n}`));
  names.forEach((n, k) => checkArg(spec.name, n, exprs[k]!, spec.args[n]![1]));
  const shape = exprs.reduce<Shape>(
    (s, e) => broadcastShapes(s, e.shape, () => `${spec.name}(${exprs.map(String).join(", ")})`),
    [],
  );
  /** Argument values at element i; NaN for arguments that are not constants. */
  const argsAt = (i: number) => exprs.map((e) => (e.isConst ? e.constValues[e.size === 1 ? 0 : i % e.size]! : NaN));
  const read = argumentReader(exprs.map((e) => e.shape), shape);
  const drawElement = (rng: RandomSource, values: readonly Float64Array[], i: number) =>
    spec.draw(rng, values.map((_, k) => read(values, k, i)));
  /** The density's terms at x: per element (pointwise), or each summed and scaled by how often it repeats. */
  const terms = (x: ExprLike, pointwise: boolean): Expr[] => {
    if (pointwise) return [spec.density(lift(x), exprs)].flat();
    const xs = lift(x, `${spec.name}: the value`);
    const full = sizeOf(broadcastShapes(xs.shape, shape, () => `${spec.name} log-density of ${xs}`));
    // No values (empty data): the empty sum.
    if (full === 0) return [constant(0)];
    return [spec.density(xs, exprs)].flat().map((t) => mul(sum(t), full / t.size));
  };
  const drawWith = (rng: RandomSource, values: readonly Float64Array[]) => {
    const out = new Float64Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) out[i] = drawElement(rng, values, i);
    return out;
  };
  return {
    name: spec.name,
    args: Object.fromEntries(names.map((n, k) => [n, exprs[k]!])),
    shape,
    support: spec.support,
    discrete: spec.discrete ?? false,
    argChecks: Object.fromEntries(names.map((n) => [n, spec.args[n]![1]])),
    logp: (x) => terms(x, false).reduce((a, b) => add(a, b)),
    logpdf: (x) => terms(x, true).reduce((a, b) => add(a, b)),
    logpTerms: terms,
    defaultTransform: () => {
      if (spec.transform) return spec.transform(exprs);
      if (spec.support === "positive" || spec.support === "nonNegative") return { kind: "lower", lower: constant(0) };
      if (spec.support === "unit") return { kind: "interval", lower: constant(0), upper: constant(1) };
      return { kind: "identity" };
    },
    checkValue: (values, label) => {
      const ok = supportChecks[spec.support];
      values.forEach((x, i) => {
        if (ok && !ok(x)) {
          throw new ModelError(
            "out-of-support",
            `observed ${label}${values.length > 1 ? `[${i}]` : ""} = ${x} is outside the support of ${spec.name} (must be ${supportWords[spec.support]})`,
          );
        }
        if (spec.extraCheck) {
          const why = spec.extraCheck(x, argsAt(i));
          if (why) throw new ModelError("out-of-support", `observed ${label}${values.length > 1 ? `[${i}]` : ""} = ${x}: ${why}`);
        }
      });
    },
    sample: (rng) => {
      if (!exprs.every((e) => e.isConst)) {
        throw new ModelError("invalid-argument", `${spec.name}: a random draw needs constant arguments`);
      }
      return drawWith(rng, exprs.map((e) => e.constValues));
    },
    lcdf: (x) => spec.cdf.lcdf(lift(x), exprs),
    lccdf: (x) => spec.cdf.lccdf(lift(x), exprs),
    drawWith,
    drawElement,
    withArgs: (args) => univariate({ ...spec, args: Object.fromEntries(names.map((n) => [n, [args[n] ?? exprs[names.indexOf(n)]!, spec.args[n]![1]]])) }),
  };
}

// ---------- random draws (exact algorithms) ----------

export function gammaDraw(rng: RandomSource, shape: number): number {
  // Marsaglia & Tsang (2000); shape < 1 through the boost U^(1/shape).
  if (shape < 1) return gammaDraw(rng, shape + 1) * Math.pow(rng.uniform(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

export function poissonDraw(rng: RandomSource, lambda: number): number {
  if (lambda < 30) {
    // Knuth: count uniforms until their product drops below exp(-lambda).
    const l = Math.exp(-lambda);
    let k = 0;
    let p = rng.uniform();
    while (p > l) {
      k++;
      p *= rng.uniform();
    }
    return k;
  }
  // Large rates: split into a gamma-distributed arrival time and recurse (exact).
  const m = Math.floor(0.875 * lambda);
  const g = gammaDraw(rng, m);
  return g > lambda ? binomialDraw(rng, m - 1, lambda / g) : m + poissonDraw(rng, lambda - g);
}

export function binomialDraw(rng: RandomSource, n: number, p: number): number {
  if (n <= 64) {
    let k = 0;
    for (let i = 0; i < n; i++) if (rng.uniform() < p) k++;
    return k;
  }
  // Knuth's recursion through the order statistics (a beta draw), exact for any n.
  const a = 1 + Math.floor(n / 2);
  const b = n + 1 - a;
  const ga = gammaDraw(rng, a);
  const x = ga / (ga + gammaDraw(rng, b));
  return x >= p ? binomialDraw(rng, a - 1, p / x) : a + binomialDraw(rng, b - 1, (p - x) / (1 - x));
}

const uniformOpen = (rng: RandomSource) => {
  let u = rng.uniform();
  while (u === 0) u = rng.uniform();
  return u;
};

// ---------- continuous ----------

const z = (x: Expr, mu: Expr, sigma: Expr) => div(sub(x, mu), sigma);

export const normal = (mu: ExprLike, sigma: ExprLike): Distribution => {
  const d = univariate({
    name: "normal",
    cdf: cdf.normalCdf,
    args: { mu: [mu, "real"], sigma: [sigma, "positive"] },
    support: "real",
    density: (x, [m, s]) => [mul(-0.5, square(z(x, m!, s!))), neg(log(s!)), constant(-0.5 * LOG_2PI)],
    draw: (rng, [m, s]) => m! + s! * rng.normal(),
  });
  const { mu: loc, sigma: scale } = d.args as { mu: Expr; sigma: Expr };
  if (scale.isConst) return d;
  return {
    ...d,
    noncentered: {
      context: [loc, scale],
      value: (zz) => add(loc, mul(scale, zz)),
      invert: (x, [l, s]) => x.map((v, i) => (v - at(l!, i)) / at(s!, i)),
    },
  };
};

/**
 * Gaussian random walk of `length` steps (PyMC's GaussianRandomWalk; Stan's
 * `s[1] ~ normal(0, sigma); s[2:T] ~ normal(s[1:T-1], sigma)`): x[0] ~ normal(0, sigma),
 * x[t] - x[t-1] ~ normal(0, sigma). Non-centred as x = sigma * cumsum(z) when sigma is a parameter.
 */
export function gaussianRandomWalk(sigma: ExprLike, length: number): Distribution {
  const s = lift(sigma);
  if (s.shape.length !== 0) throw new ModelError("shape-mismatch", `gaussianRandomWalk: sigma must be a scalar, got ${s}`);
  if (!Number.isInteger(length) || length < 2) throw new ModelError("invalid-argument", `gaussianRandomWalk: length must be an integer >= 2, got ${length}`);
  checkArg("gaussianRandomWalk", "sigma", s, "positive");
  const steps = (x: Expr) => concat([x.slice(0, 1), sub(x.slice(1, length), x.slice(0, length - 1))]);
  const walk = (rng: RandomSource, [sv]: readonly Float64Array[]) => {
    let level = 0;
    return Float64Array.from({ length }, () => (level += sv![0]! * rng.normal()));
  };
  const density = (x: ExprLike) => {
    const xs = lift(x);
    if (xs.shape.length !== 1 || xs.shape[0] !== length) {
      throw new ModelError("shape-mismatch", `gaussianRandomWalk of length ${length} cannot score ${xs}`);
    }
    return normal(0, s).logp(steps(xs));
  };
  return {
    name: "gaussianRandomWalk",
    args: { sigma: s },
    argChecks: { sigma: "positive" },
    shape: [length],
    support: "vector",
    discrete: false,
    logp: density,
    logpdf: density,
    defaultTransform: () => ({ kind: "identity" }),
    checkValue: () => {},
    sample: (rng) => {
      if (!s.isConst) throw new ModelError("invalid-argument", "gaussianRandomWalk: a random draw needs a constant sigma");
      return walk(rng, [s.constValues]);
    },
    drawWith: (rng, values) => walk(rng, values),
    ...(s.isConst
      ? {}
      : {
          noncentered: {
            context: [s],
            value: (zz: Expr) => mul(s, cumsum(zz)),
            invert: (x: Float64Array, [sv]: Float64Array[]) => x.map((v, i) => (v - (i === 0 ? 0 : x[i - 1]!)) / sv![0]!),
          },
        }),
  };
}

export const halfNormal = (sigma: ExprLike): Distribution =>
  univariate({
    name: "halfNormal",
    cdf: cdf.halfNormalCdf,
    args: { sigma: [sigma, "positive"] },
    support: "nonNegative",
    density: (x, [s]) => [mul(-0.5, square(div(x, s!))), neg(log(s!)), constant(LN2 - 0.5 * LOG_2PI)],
    draw: (rng, [s]) => Math.abs(s! * rng.normal()),
  });

export const cauchy = (mu: ExprLike, sigma: ExprLike): Distribution =>
  univariate({
    name: "cauchy",
    cdf: cdf.cauchyCdf,
    args: { mu: [mu, "real"], sigma: [sigma, "positive"] },
    support: "real",
    density: (x, [m, s]) => [neg(log1p(square(z(x, m!, s!)))), neg(log(s!)), constant(-LOG_PI)],
    draw: (rng, [m, s]) => m! + s! * Math.tan(Math.PI * (uniformOpen(rng) - 0.5)),
  });

export const halfCauchy = (sigma: ExprLike): Distribution =>
  univariate({
    name: "halfCauchy",
    cdf: cdf.halfCauchyCdf,
    args: { sigma: [sigma, "positive"] },
    support: "nonNegative",
    density: (x, [s]) => [neg(log1p(square(div(x, s!)))), neg(log(s!)), constant(LN2 - LOG_PI)],
    draw: (rng, [s]) => Math.abs(s! * Math.tan(Math.PI * (uniformOpen(rng) - 0.5))),
  });

const studentTDensity = (x: Expr, nu: Expr, mu: Expr, s: Expr, extra: number) => {
  const halfNu = mul(0.5, nu);
  // Stan's summands: the terms of nu, the constant, the scale's, the kernel.
  const norm = sub(sub(lgamma(add(halfNu, 0.5)), lgamma(halfNu)), mul(0.5, log(nu)));
  return [norm, constant(extra - 0.5 * LOG_PI), neg(log(s)), neg(mul(add(halfNu, 0.5), log1p(div(square(z(x, mu, s)), nu))))];
};
const studentTDraw = (rng: RandomSource, nu: number) => rng.normal() / Math.sqrt((2 * gammaDraw(rng, nu / 2)) / nu);

export const studentT = (nu: ExprLike, mu: ExprLike, sigma: ExprLike): Distribution =>
  univariate({
    name: "studentT",
    cdf: cdf.studentTCdf,
    args: { nu: [nu, "positive"], mu: [mu, "real"], sigma: [sigma, "positive"] },
    support: "real",
    density: (x, [n, m, s]) => studentTDensity(x, n!, m!, s!, 0),
    draw: (rng, [n, m, s]) => m! + s! * studentTDraw(rng, n!),
  });

export const halfStudentT = (nu: ExprLike, sigma: ExprLike): Distribution =>
  univariate({
    name: "halfStudentT",
    cdf: cdf.halfStudentTCdf,
    args: { nu: [nu, "positive"], sigma: [sigma, "positive"] },
    support: "nonNegative",
    density: (x, [n, s]) => studentTDensity(x, n!, constant(0), s!, LN2),
    draw: (rng, [n, s]) => Math.abs(s! * studentTDraw(rng, n!)),
  });

export const exponential = (lambda: ExprLike): Distribution =>
  univariate({
    name: "exponential",
    cdf: cdf.exponentialCdf,
    args: { lambda: [lambda, "positive"] },
    support: "nonNegative",
    density: (x, [l]) => [log(l!), neg(mul(l!, x))],
    draw: (rng, [l]) => -Math.log(uniformOpen(rng)) / l!,
  });

export const gamma = (alpha: ExprLike, beta: ExprLike): Distribution =>
  univariate({
    name: "gamma",
    cdf: cdf.gammaCdf,
    args: { alpha: [alpha, "positive"], beta: [beta, "positive"] },
    support: "positive",
    density: (x, [a, b]) => [sub(mul(a!, log(b!)), lgamma(a!)), mul(sub(a!, 1), log(x)), neg(mul(b!, x))],
    draw: (rng, [a, b]) => gammaDraw(rng, a!) / b!,
  });

export const inverseGamma = (alpha: ExprLike, beta: ExprLike): Distribution =>
  univariate({
    name: "inverseGamma",
    cdf: cdf.inverseGammaCdf,
    args: { alpha: [alpha, "positive"], beta: [beta, "positive"] },
    support: "positive",
    density: (x, [a, b]) => [sub(mul(a!, log(b!)), lgamma(a!)), neg(mul(add(a!, 1), log(x))), neg(div(b!, x))],
    draw: (rng, [a, b]) => b! / gammaDraw(rng, a!),
  });

export const beta = (alpha: ExprLike, betaArg: ExprLike): Distribution =>
  univariate({
    name: "beta",
    cdf: cdf.betaCdf,
    args: { alpha: [alpha, "positive"], beta: [betaArg, "positive"] },
    support: "unit",
    // Stan's summands, each left out by `~` when it is free of parameters.
    density: (x, [a, b]) => [lgamma(add(a!, b!)), neg(lgamma(a!)), neg(lgamma(b!)), mul(sub(a!, 1), log(x)), mul(sub(b!, 1), log1m(x))],
    draw: (rng, [a, b]) => {
      const ga = gammaDraw(rng, a!);
      return ga / (ga + gammaDraw(rng, b!));
    },
  });

export const uniform = (lower: ExprLike, upper: ExprLike): Distribution =>
  univariate({
    name: "uniform",
    cdf: cdf.uniformCdf,
    args: { lower: [lower, "real"], upper: [upper, "real"] },
    support: "interval",
    // The zero term keeps the pointwise density the shape of x.
    density: (x, [lo, hi]) => [mul(0, x), neg(log(sub(hi!, lo!)))],
    transform: ([lo, hi]) => ({ kind: "interval", lower: lo!, upper: hi! }),
    extraCheck: (x, [lo, hi]) => (x < lo! || x > hi! ? `outside the support of uniform(${lo}, ${hi})` : null),
    draw: (rng, [lo, hi]) => lo! + (hi! - lo!) * rng.uniform(),
  });

export const logNormal = (mu: ExprLike, sigma: ExprLike): Distribution =>
  univariate({
    name: "logNormal",
    cdf: cdf.logNormalCdf,
    args: { mu: [mu, "real"], sigma: [sigma, "positive"] },
    support: "positive",
    density: (x, [m, s]) => {
      const lx = log(x);
      return [mul(-0.5, square(z(lx, m!, s!))), neg(log(s!)), neg(lx), constant(-0.5 * LOG_2PI)];
    },
    draw: (rng, [m, s]) => Math.exp(m! + s! * rng.normal()),
  });

export const laplace = (mu: ExprLike, sigma: ExprLike): Distribution =>
  univariate({
    name: "laplace",
    cdf: cdf.laplaceCdf,
    args: { mu: [mu, "real"], sigma: [sigma, "positive"] },
    support: "real",
    density: (x, [m, s]) => [neg(abs(z(x, m!, s!))), neg(log(s!)), constant(-LN2)],
    draw: (rng, [m, s]) => {
      const u = uniformOpen(rng) - 0.5;
      return m! - s! * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    },
  });

export const weibull = (alpha: ExprLike, sigma: ExprLike): Distribution =>
  univariate({
    name: "weibull",
    cdf: cdf.weibullCdf,
    args: { alpha: [alpha, "positive"], sigma: [sigma, "positive"] },
    support: "nonNegative",
    // Stan's summands: log alpha, (alpha - 1) log y, -alpha log sigma, -(y / sigma)^alpha.
    density: (x, [a, s]) => [log(a!), mul(sub(a!, 1), log(x)), neg(mul(a!, log(s!))), neg(exp(mul(a!, sub(log(x), log(s!)))))],
    draw: (rng, [a, s]) => s! * Math.pow(-Math.log(uniformOpen(rng)), 1 / a!),
  });

export const logistic = (mu: ExprLike, sigma: ExprLike): Distribution =>
  univariate({
    name: "logistic",
    cdf: cdf.logisticCdf,
    args: { mu: [mu, "real"], sigma: [sigma, "positive"] },
    support: "real",
    density: (x, [m, s]) => {
      const zz = z(x, m!, s!);
      return [neg(zz), neg(log(s!)), mul(-2, log1pExp(neg(zz)))];
    },
    draw: (rng, [m, s]) => {
      const u = uniformOpen(rng);
      return m! + s! * Math.log(u / (1 - u));
    },
  });

// ---------- discrete ----------

/** log(n choose k), folded to a constant when n and k are data. */
const logChoose = (n: Expr, k: Expr) => sub(lgamma(add(n, 1)), add(lgamma(add(k, 1)), lgamma(add(sub(n, k), 1))));

export const bernoulli = (p: ExprLike): Distribution =>
  univariate({
    name: "bernoulli",
    cdf: cdf.bernoulliCdf,
    args: { p: [p, "unit"] },
    support: "binary",
    discrete: true,
    // log(p) for y = 1 and log1m(p) for y = 0, each term's argument chosen so the other term is
    // log(1) or log1m(0): p = 1 with y = 1 (or p = 0 with y = 0) is 0, not 0 * -Infinity.
    density: (y, [pp]) => add(log(add(mul(y, pp!), sub(1, y))), log1m(mul(sub(1, y), pp!))),
    draw: (rng, [pp]) => (rng.uniform() < pp! ? 1 : 0),
  });

export const bernoulliLogit = (alpha: ExprLike): Distribution =>
  univariate({
    name: "bernoulliLogit",
    cdf: cdf.bernoulliLogitCdf,
    args: { alpha: [alpha, "real"] },
    support: "binary",
    discrete: true,
    // log p(y) = -log1pExp(-a) for y = 1 and -log1pExp(a) for y = 0: no cancellation for large |a|.
    density: (y, [a]) => neg(log1pExp(mul(sub(1, mul(2, y)), a!))),
    draw: (rng, [a]) => (rng.uniform() < 1 / (1 + Math.exp(-a!)) ? 1 : 0),
  });

const notAboveN = (y: number, [n]: number[]) => (y > n! ? `exceeds the number of trials n = ${n}` : null);

export const binomial = (n: ExprLike, p: ExprLike): Distribution =>
  univariate({
    name: "binomial",
    cdf: cdf.binomialCdf,
    args: { n: [n, "count"], p: [p, "unit"] },
    support: "boundedCount",
    discrete: true,
    density: (y, [nn, pp]) => [logChoose(nn!, y), add(mul(y, log(pp!)), mul(sub(nn!, y), log1m(pp!)))],
    extraCheck: notAboveN,
    draw: (rng, [nn, pp]) => binomialDraw(rng, nn!, pp!),
  });

export const binomialLogit = (n: ExprLike, alpha: ExprLike): Distribution =>
  univariate({
    name: "binomialLogit",
    cdf: cdf.binomialLogitCdf,
    args: { n: [n, "count"], alpha: [alpha, "real"] },
    support: "boundedCount",
    discrete: true,
    // y log p + (n - y) log(1 - p) with log p = -log1pExp(-a), log(1 - p) = -log1pExp(a).
    density: (y, [nn, a]) => [logChoose(nn!, y), neg(add(mul(y, log1pExp(neg(a!))), mul(sub(nn!, y), log1pExp(a!))))],
    extraCheck: notAboveN,
    draw: (rng, [nn, a]) => binomialDraw(rng, nn!, 1 / (1 + Math.exp(-a!))),
  });

export const poisson = (lambda: ExprLike): Distribution =>
  univariate({
    name: "poisson",
    cdf: cdf.poissonCdf,
    args: { lambda: [lambda, "positive"] },
    support: "count",
    discrete: true,
    density: (y, [l]) => [mul(y, log(l!)), neg(l!), neg(lgamma(add(y, 1)))],
    draw: (rng, [l]) => poissonDraw(rng, l!),
  });

export const poissonLog = (alpha: ExprLike): Distribution =>
  univariate({
    name: "poissonLog",
    cdf: cdf.poissonLogCdf,
    args: { alpha: [alpha, "real"] },
    support: "count",
    discrete: true,
    density: (y, [a]) => [sub(mul(y, a!), exp(a!)), neg(lgamma(add(y, 1)))],
    draw: (rng, [a]) => poissonDraw(rng, Math.exp(a!)),
  });

/** Stan's neg_binomial_2: mean mu, dispersion phi, variance mu + mu^2 / phi. */
export const negativeBinomial = (mu: ExprLike, phi: ExprLike): Distribution =>
  univariate({
    name: "negativeBinomial",
    cdf: cdf.negativeBinomialCdf,
    args: { mu: [mu, "positive"], phi: [phi, "positive"] },
    support: "count",
    discrete: true,
    // lchoose(y + phi - 1, y) + y log(mu / (mu + phi)) - phi log1p(mu / phi).
    // -lgamma(y + 1) on its own, as Stan's summands have it (its `~` leaves it out).
    density: (y, [m, ph]) => [
      neg(lgamma(add(y, 1))),
      lgammaDiff(ph!, y),
      sub(mul(y, sub(log(m!), log(add(m!, ph!)))), mul(ph!, log1p(div(m!, ph!)))),
    ],
    draw: (rng, [m, ph]) => poissonDraw(rng, (gammaDraw(rng, ph!) * m!) / ph!),
  });

// ---------- generalised linear models ----------

/**
 * Stan's normal_id_glm: y ~ normal(alpha + X * beta, sigma) for a data matrix X. With data y
 * and a scalar sigma its log-density is computed from sufficient statistics (X'X, X'y, y'y,
 * column sums), so a gradient costs O(K^2) instead of O(N K): the same density, exactly in
 * exact arithmetic (the expansion of the residual sum of squares).
 */
export function normalIdGlm(X: Expr, alpha: ExprLike, beta: ExprLike, sigma: ExprLike): Distribution {
  const [a, b, s] = [lift(alpha), lift(beta), lift(sigma)];
  if (!X.isConst || X.shape.length !== 2) throw new ModelError("invalid-argument", `normalIdGlm: X must be a data matrix, got ${X}`);
  const [n, k] = X.shape as [number, number];
  if (b.shape.length !== 1 || b.shape[0] !== k) {
    throw new ModelError("shape-mismatch", `normalIdGlm: beta ${b} does not match the ${k} columns of ${X.label}`);
  }
  if (a.shape.length > 0 || s.shape.length > 0) throw new ModelError("shape-mismatch", "normalIdGlm: alpha and sigma must be scalars");
  checkArg("normalIdGlm", "sigma", s, "positive");
  const direct = normal(add(a, matvec(X, b)), s);
  const logp = (y: ExprLike): Expr => {
    const ys = lift(y);
    if (!ys.isConst) return direct.logp(ys);
    if (ys.shape.length !== 1 || ys.shape[0] !== n) throw new ModelError("shape-mismatch", `normalIdGlm: y ${ys} does not match the ${n} rows of ${X.label}`);
    const x = X.constValues;
    const yv = ys.constValues;
    const xtx = new Float64Array(k * k);
    const xty = new Float64Array(k);
    const colSums = new Float64Array(k);
    let yy = 0;
    let ySum = 0;
    for (let i = 0; i < n; i++) {
      const yi = yv[i]!;
      yy += yi * yi;
      ySum += yi;
      for (let p = 0; p < k; p++) {
        const xp = x[i * k + p]!;
        xty[p] += xp * yi;
        colSums[p] += xp;
        for (let q = 0; q <= p; q++) xtx[p * k + q] += xp * x[i * k + q]!;
      }
    }
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) xtx[p * k + q] = xtx[q * k + p]!;
    // sum (y - a - X b)^2 = y'y - 2 a sum(y) - 2 b'X'y + n a^2 + 2 a b'X'1 + b'X'X b
    const rss = add(
      sub(sub(yy, mul(2 * ySum, a)), mul(2, dot(b, constant(xty)))),
      add(add(mul(n, square(a)), mul(mul(2, a), dot(b, constant(colSums)))), dot(b, matvec(constant(xtx, [k, k]), b))),
    );
    return add(sub(neg(mul(n, log(s))), div(rss, mul(2, square(s)))), constant(-0.5 * n * LOG_2PI));
  };
  return { ...direct, name: "normalIdGlm", args: { alpha: a, beta: b, sigma: s }, logp, noncentered: undefined };
}

// ---------- multivariate ----------

/** Multivariate normal with mean `mu` and covariance L L^T, L lower-triangular with positive diagonal. */
export function mvNormalCholesky(mu: ExprLike, choleskyFactor: ExprLike): Distribution {
  const [m, L] = [lift(mu), lift(choleskyFactor)];
  const k = L.shape[0]!;
  if (L.shape.length !== 2 || L.shape[1] !== k || m.shape.length > 1 || (m.shape.length === 1 && m.shape[0] !== k)) {
    throw new ModelError(
      "shape-mismatch",
      `mvNormalCholesky(${m.label}, ${L.label}): mean ${formatShape(m.shape)} and Cholesky factor ${formatShape(L.shape)} do not fit`,
    );
  }
  if (L.isConst) {
    const v = L.constValues;
    for (let i = 0; i < k; i++) {
      if (!(v[i * k + i]! > 0)) {
        throw new ModelError("invalid-constant", `mvNormalCholesky: Cholesky factor diagonal [${i}, ${i}] = ${v[i * k + i]} must be > 0`);
      }
    }
  }
  const mvDraw = mvNormalDraw(k);
  const rowDensity = (x: Expr) => {
    const zz = lowerSolve(L, sub(x, m));
    // Addends as Stan's summands, so that `~` can leave out those free of parameters.
    return add(add(mul(-0.5, sum(square(zz))), neg(sum(log(diagonal(L))))), constant(-0.5 * k * LOG_2PI));
  };
  // An [n, k] variate is n vectors, each with this density (Stan's arrays of vectors).
  const mvNormalDensity = (x: ExprLike) => {
    const y = lift(x);
    if (y.shape.length !== 2 || y.shape[1] !== k) return rowDensity(y);
    if (y.shape[0] === 0) return constant(0);
    const flat = y.reshape([y.size]);
    return Array.from({ length: y.shape[0]! }, (_, r) => rowDensity(flat.slice(r * k, (r + 1) * k))).reduce((a, b) => add(a, b));
  };
  return {
    name: "mvNormalCholesky",
    args: { mu: m, L },
    shape: [k],
    support: "vector",
    discrete: false,
    logp: (x) => mvNormalDensity(x),
    logpdf: (x) => mvNormalDensity(x),
    defaultTransform: () => ({ kind: "identity" }),
    checkValue: () => {},
    sample: (rng) => {
      if (!m.isConst || !L.isConst) throw new ModelError("invalid-argument", "mvNormalCholesky: a random draw needs constant arguments");
      return mvDraw(rng, [m.constValues, L.constValues]);
    },
    drawWith: (rng, values) => mvDraw(rng, values),
  };
}

function mvNormalDraw(k: number) {
  return (rng: RandomSource, [mv, lv]: readonly Float64Array[]) => {
    const zs = Array.from({ length: k }, () => rng.normal());
    return Float64Array.from({ length: k }, (_, i) => {
      let s = mv![mv!.length === 1 ? 0 : i]!;
      for (let j = 0; j <= i; j++) s += lv![i * k + j]! * zs[j]!;
      return s;
    });
  };
}

function dirichletDraw(rng: RandomSource, [av]: readonly Float64Array[]): Float64Array {
  const g = Float64Array.from(av!, (ai) => gammaDraw(rng, ai));
  const total = g.reduce((s, v) => s + v, 0);
  return g.map((v) => v / total);
}

export function dirichlet(alpha: ExprLike): Distribution {
  const a = lift(alpha);
  if (a.shape.length !== 1 || a.shape[0]! < 2) {
    throw new ModelError("shape-mismatch", `dirichlet(${a.label}) needs a vector of at least 2 concentrations, got ${formatShape(a.shape)}`);
  }
  checkArg("dirichlet", "alpha", a, "positive");
  const k = a.shape[0]!;
  const dirichletDensity = (x: ExprLike) => add(sub(lgamma(sum(a)), sum(lgamma(a))), sum(mul(sub(a, 1), log(x))));
  return {
    name: "dirichlet",
    args: { alpha: a },
    argChecks: { alpha: "positive" },
    shape: [k],
    support: "simplex",
    discrete: false,
    logp: (x) => dirichletDensity(x),
    logpdf: (x) => dirichletDensity(x),
    defaultTransform: () => ({ kind: "simplex" }),
    checkValue: (values, label) => {
      const total = values.reduce((s, v) => s + v, 0);
      if (!values.every((v) => v >= 0) || Math.abs(total - 1) > 1e-8) {
        throw new ModelError("out-of-support", `observed ${label} is not a simplex (non-negative, summing to 1; sum is ${total})`);
      }
    },
    sample: (rng) => {
      if (!a.isConst) throw new ModelError("invalid-argument", "dirichlet: a random draw needs constant arguments");
      return dirichletDraw(rng, [a.constValues]);
    },
    drawWith: (rng, values) => dirichletDraw(rng, values),
  };
}


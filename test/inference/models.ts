/**
 * Small hand-coded `LogDensity` models with known posteriors, for the sampler tests.
 */
import type { LogDensity, ShapedValue } from "../../src/compile/types.js";

export interface ModelSpec {
  readonly dim: number;
  /** Constrained parameter names (Stan style); default x[1..dim]. */
  readonly names?: readonly string[];
  readonly unconstrainedNames?: readonly string[];
  readonly logDensityGradient: (q: Float64Array, grad: Float64Array) => number;
  /** Unconstrained -> constrained (default identity). */
  readonly constrainFlat?: (q: Float64Array, out: Float64Array) => void;
  /** Constrained value of coordinate i -> unconstrained (default identity). */
  readonly unconstrainOne?: (i: number, x: number) => number;
}

/** Builds a full `LogDensity` whose parameters are scalars named by `names`. */
export function makeModel(spec: ModelSpec): LogDensity {
  const d = spec.dim;
  const names = spec.names ?? Array.from({ length: d }, (_, i) => `x[${i + 1}]`);
  const unconstrainedNames = spec.unconstrainedNames ?? names;
  const constrainFlat = spec.constrainFlat ?? ((q: Float64Array, out: Float64Array) => out.set(q));
  const unconstrainOne = spec.unconstrainOne ?? ((_i: number, x: number) => x);
  const scratch = new Float64Array(d);
  return {
    dim: d,
    names,
    unconstrainedNames,
    paramCount: names.length,
    logDensityGradient: spec.logDensityGradient,
    logDensity: (q) => spec.logDensityGradient(q, scratch),
    constrainFlat,
    constrain(q: Float64Array): Record<string, ShapedValue> {
      const out = new Float64Array(names.length);
      constrainFlat(q, out);
      const rec: Record<string, ShapedValue> = {};
      names.forEach((n, i) => (rec[n] = { shape: [], values: Float64Array.of(out[i]!) }));
      return rec;
    },
    unconstrain(values: Record<string, number | ArrayLike<number>>): Float64Array {
      const q = new Float64Array(d);
      names.forEach((n, i) => {
        const v = values[n];
        if (v === undefined) throw new Error(`missing init for ${n}`);
        q[i] = unconstrainOne(i, typeof v === "number" ? v : v[0]!);
      });
      return q;
    },
  };
}

/** Independent normals with the given means and scales. */
export function diagNormal(scales: ArrayLike<number>, means?: ArrayLike<number>): LogDensity {
  const d = scales.length;
  const prec = Float64Array.from(scales, (s) => 1 / (s * s));
  const mu = means === undefined ? new Float64Array(d) : Float64Array.from(means);
  return makeModel({
    dim: d,
    logDensityGradient(q, g) {
      let lp = 0;
      for (let i = 0; i < d; i++) {
        const z = q[i]! - mu[i]!;
        const gi = -z * prec[i]!;
        g[i] = gi;
        lp += z * gi;
      }
      return 0.5 * lp;
    },
  });
}

export function standardNormal(d: number): LogDensity {
  return diagNormal(new Float64Array(d).fill(1));
}

/** Scales log-spaced from lo to hi (100 values 0.01 .. 100 by default). */
export function logSpacedScales(n = 100, lo = 0.01, hi = 100): Float64Array {
  const a = Math.log(lo);
  const b = Math.log(hi);
  return Float64Array.from({ length: n }, (_, i) => Math.exp(a + ((b - a) * i) / (n - 1)));
}

/** Bivariate normal, zero mean, scales s1, s2 and correlation rho. */
export function correlatedNormal2(rho: number, s1 = 1, s2 = 1): LogDensity {
  const det = s1 * s1 * s2 * s2 * (1 - rho * rho);
  // Precision matrix of [[s1^2, rho s1 s2], [rho s1 s2, s2^2]].
  const p11 = (s2 * s2) / det;
  const p22 = (s1 * s1) / det;
  const p12 = (-rho * s1 * s2) / det;
  return makeModel({
    dim: 2,
    logDensityGradient(q, g) {
      const x = q[0]!;
      const y = q[1]!;
      const g0 = -(p11 * x + p12 * y);
      const g1 = -(p12 * x + p22 * y);
      g[0] = g0;
      g[1] = g1;
      return 0.5 * (x * g0 + y * g1);
    },
  });
}

/**
 * y_i ~ normal(mu, sigma) with known sigma, mu ~ normal(m0, s0).
 * Exact posterior: normal(postMean, postSd).
 */
export function normalMeanModel(y: readonly number[], sigma: number, m0: number, s0: number) {
  const n = y.length;
  const sum = y.reduce((a, b) => a + b, 0);
  const postPrec = 1 / (s0 * s0) + n / (sigma * sigma);
  const postVar = 1 / postPrec;
  const postMean = postVar * (m0 / (s0 * s0) + sum / (sigma * sigma));
  const model = makeModel({
    dim: 1,
    names: ["mu"],
    logDensityGradient(q, g) {
      const mu = q[0]!;
      let lp = -0.5 * ((mu - m0) / s0) ** 2;
      let gr = -(mu - m0) / (s0 * s0);
      for (let i = 0; i < n; i++) {
        const r = y[i]! - mu;
        lp -= (0.5 * r * r) / (sigma * sigma);
        gr += r / (sigma * sigma);
      }
      g[0] = gr;
      return lp;
    },
  });
  return { model, mean: postMean, variance: postVar };
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/**
 * theta ~ beta(a, b), y ~ binomial(n, theta), sampled as z = logit(theta) with the
 * log-Jacobian log(theta) + log(1 - theta). Exact posterior: beta(a + y, b + n - y).
 */
export function betaBinomialModel(a: number, b: number, n: number, y: number) {
  const A = a + y;
  const B = b + n - y;
  const model = makeModel({
    dim: 1,
    names: ["theta"],
    unconstrainedNames: ["theta__logit"],
    logDensityGradient(q, g) {
      const z = q[0]!;
      // (A - 1) log th + (B - 1) log(1 - th) + [log th + log(1 - th)]  (Jacobian once)
      const logTh = -softplus(-z);
      const log1mTh = -softplus(z);
      const th = sigmoid(z);
      g[0] = A * (1 - th) - B * th;
      return A * logTh + B * log1mTh;
    },
    constrainFlat(q, out) {
      out[0] = sigmoid(q[0]!);
    },
    unconstrainOne: (_i, x) => Math.log(x / (1 - x)),
  });
  const mean = A / (A + B);
  const variance = (A * B) / ((A + B) ** 2 * (A + B + 1));
  return { model, mean, variance };
}

/**
 * lambda ~ gamma(a, b) (rate b), y_i ~ poisson(lambda), sampled as z = log(lambda) with
 * log-Jacobian z. Exact posterior: gamma(a + sum y, b + n).
 */
export function gammaPoissonModel(a: number, b: number, y: readonly number[]) {
  const A = a + y.reduce((s, v) => s + v, 0);
  const B = b + y.length;
  const model = makeModel({
    dim: 1,
    names: ["lambda"],
    unconstrainedNames: ["lambda__log"],
    logDensityGradient(q, g) {
      const z = q[0]!;
      const lam = Math.exp(z);
      g[0] = A - B * lam;
      return A * z - B * lam;
    },
    constrainFlat(q, out) {
      out[0] = Math.exp(q[0]!);
    },
    unconstrainOne: (_i, x) => Math.log(x),
  });
  return { model, mean: A / B, variance: A / (B * B) };
}

/** Standard normal in d dims whose density is NaN where q[0] > bound. */
export function nanRegionNormal(d: number, bound: number): LogDensity {
  return makeModel({
    dim: d,
    logDensityGradient(q, g) {
      let lp = 0;
      for (let i = 0; i < d; i++) {
        g[i] = -q[i]!;
        lp -= 0.5 * q[i]! * q[i]!;
      }
      if (q[0]! > bound) {
        g.fill(NaN);
        return NaN;
      }
      return lp;
    },
  });
}

/** Wraps a model and counts gradient evaluations. */
export function counting(model: LogDensity): LogDensity & { count: number } {
  const wrapped = {
    ...model,
    count: 0,
    logDensityGradient(q: Float64Array, g: Float64Array): number {
      wrapped.count++;
      return model.logDensityGradient(q, g);
    },
  };
  return wrapped;
}

/** A random rotation (orthogonal matrix, row-major) from a fixed seed, by Gram-Schmidt. */
export function randomRotation(d: number, seed: number): Float64Array {
  // Small LCG: only to make a fixed test matrix.
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  const r = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) r[i * d + j] = next();
    for (let k = 0; k < i; k++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += r[i * d + j]! * r[k * d + j]!;
      for (let j = 0; j < d; j++) r[i * d + j] = r[i * d + j]! - dot * r[k * d + j]!;
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += r[i * d + j]! ** 2;
    norm = Math.sqrt(norm);
    for (let j = 0; j < d; j++) r[i * d + j] = r[i * d + j]! / norm;
  }
  return r;
}

/**
 * Zero-mean normal with covariance R' diag(scales^2) R for a random rotation R: strongly
 * correlated and badly scaled at once. Returns the model and its exact covariance.
 */
export function rotatedNormal(scales: ArrayLike<number>, seed: number) {
  const d = scales.length;
  const R = randomRotation(d, seed);
  const cov = new Float64Array(d * d);
  const prec = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let c = 0;
      let p = 0;
      for (let k = 0; k < d; k++) {
        const rk = R[k * d + i]! * R[k * d + j]!;
        c += rk * scales[k]! ** 2;
        p += rk / scales[k]! ** 2;
      }
      cov[i * d + j] = c;
      prec[i * d + j] = p;
    }
  }
  const model = makeModel({
    dim: d,
    logDensityGradient(q, g) {
      let lp = 0;
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += prec[i * d + j]! * q[j]!;
        g[i] = -s;
        lp -= 0.5 * q[i]! * s;
      }
      return lp;
    },
  });
  return { model, cov };
}

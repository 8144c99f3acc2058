/**
 * Approximate Bayesian computation: the pure population steps of rejection ABC and ABC-SMC
 * (Beaumont, Cornuet, Marin and Robert 2009; Del Moral, Doucet and Jasra 2012 for the adaptive
 * tolerance schedule; pyABC's adaptive distance). Particles live on the prior model's
 * unconstrained scale, where the prior density (Jacobians included) is the compiled prior's
 * log density; the simulator sees them constrained. Everything here is a function over typed
 * arrays: the population actor (actors/abc-actor.ts) drives it and worker threads simulate.
 */
import { dot, lowerSolve, lowerTimes, normalLogDensityFromStandard, triangularLogDet, tryCholesky } from "./linalg.js";

/**
 * Per-summary scales of the weighted Euclidean distance: the median absolute deviation of each
 * summary over `count` simulations (`summaries` draw-major, `width` per simulation), pyABC's
 * `AdaptivePNormDistance` with its default MAD scale. A summary whose MAD is zero (a discrete
 * summary, mostly one value) falls back to its standard deviation, and one constant over every
 * simulation gets scale 1 (it cannot tell simulations apart, so its weight does not matter).
 */
export function madScales(summaries: Float64Array, count: number, width: number): Float64Array {
  const scales = new Float64Array(width);
  const column = new Float64Array(count);
  for (let k = 0; k < width; k++) {
    let n = 0;
    for (let i = 0; i < count; i++) {
      const v = summaries[i * width + k]!;
      if (Number.isFinite(v)) column[n++] = v;
    }
    const values = column.subarray(0, n).sort();
    const median = quantileSorted(values, 0.5);
    const deviations = values.map((v) => Math.abs(v - median)).sort();
    let scale = quantileSorted(deviations, 0.5);
    if (!(scale > 0)) scale = standardDeviation(values);
    scales[k] = scale > 0 && Number.isFinite(scale) ? scale : 1;
  }
  return scales;
}

function standardDeviation(values: Float64Array): number {
  if (values.length < 2) return 0;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let s = 0;
  for (const v of values) s += (v - mean) ** 2;
  return Math.sqrt(s / (values.length - 1));
}

/** Linear-interpolation quantile (R's type 7) of ascending `sorted`; NaN when empty. */
function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** sqrt(sum_k ((x_k - y_k) / scale_k)^2): the Euclidean distance between summaries in units of their scales. */
export function scaledDistance(x: ArrayLike<number>, y: ArrayLike<number>, scales: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < y.length; k++) {
    const z = (x[k]! - y[k]!) / scales[k]!;
    s += z * z;
  }
  return Math.sqrt(s);
}

/**
 * The weighted q-quantile of `values` (weights need not be normalised): the smallest value
 * whose cumulative weight reaches q of the total. With equal weights it is the empirical
 * quantile (no interpolation), so a tolerance taken from it keeps at least a share q of the
 * particles that set it.
 */
export function weightedQuantile(values: ArrayLike<number>, weights: ArrayLike<number> | null, q: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights === null ? 1 : weights[i]!;
  let acc = 0;
  for (const i of order) {
    acc += weights === null ? 1 : weights[i]!;
    if (acc >= q * total * (1 - 1e-12)) return values[i]!;
  }
  return values[order[n - 1]!]!;
}

/** Kish's effective sample size of normalised or unnormalised weights. */
export function effectiveSampleSize(weights: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < weights.length; i++) {
    s += weights[i]!;
    s2 += weights[i]! ** 2;
  }
  return s2 > 0 ? (s * s) / s2 : 0;
}

/**
 * The perturbation kernel of ABC-SMC: a multivariate normal around a chosen particle.
 * - `global`: one covariance for every particle, twice the weighted covariance of the
 *   population (Beaumont et al. 2009: the choice that minimises the Kullback-Leibler
 *   divergence between the proposal and the next target under a normal approximation);
 * - `local`: each particle's covariance from its `neighbours` nearest particles (in the
 *   metric of the global covariance), twice their weighted covariance (Filippi et al. 2013's
 *   M-nearest-neighbour kernel, as pyABC's `LocalTransition`): follows curved or multimodal
 *   populations that one covariance would blur.
 */
export interface PerturbationKernel {
  readonly dim: number;
  /** Lower Cholesky factors (d x d, row-major), one per particle for `local`, a single one for `global`. */
  readonly chol: readonly Float64Array[];
  readonly logDetChol: readonly number[];
}

export type KernelKind = "global" | "local";

/** Weighted mean and covariance (normalised by the weights' sum) of the rows `rows` of `x` (n x d). */
function weightedCovariance(x: Float64Array, d: number, weights: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  const mean = new Float64Array(d);
  let total = 0;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    const w = weights[i]!;
    total += w;
    for (let a = 0; a < d; a++) mean[a]! += w * x[i * d + a]!;
  }
  for (let a = 0; a < d; a++) mean[a]! /= total;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    const w = weights[i]! / total;
    for (let a = 0; a < d; a++) {
      const da = x[i * d + a]! - mean[a]!;
      for (let b = 0; b <= a; b++) cov[a * d + b]! += w * da * (x[i * d + b]! - mean[b]!);
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[b * d + a] = cov[a * d + b]!;
  return cov;
}

/**
 * A Cholesky factor of 2 x `cov`, made positive definite: a jitter of 1e-10 of the mean
 * variance (at least 1e-12) on the diagonal, grown tenfold until the factor exists.
 */
function kernelFactor(cov: Float64Array, d: number): Float64Array {
  let meanVariance = 0;
  for (let a = 0; a < d; a++) meanVariance += cov[a * d + a]! / d;
  let jitter = Math.max(1e-12, 1e-10 * (Number.isFinite(meanVariance) ? meanVariance : 1));
  for (let attempt = 0; attempt < 20; attempt++, jitter *= 10) {
    const m = new Float64Array(d * d);
    for (let i = 0; i < d * d; i++) m[i] = 2 * cov[i]!;
    for (let a = 0; a < d; a++) m[a * d + a]! += jitter;
    const L = tryCholesky(m, d);
    if (L !== null) return L;
  }
  throw new Error("abc: the population's covariance has no Cholesky factor (non-finite particles?)");
}

/** Fits the perturbation kernel to the population (`x`: n x d, draw-major; weights need not be normalised). */
export function fitKernel(x: Float64Array, n: number, d: number, weights: ArrayLike<number>, kind: KernelKind, neighbours: number): PerturbationKernel {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const global = kernelFactor(weightedCovariance(x, d, weights, all), d);
  if (kind === "global" || n <= neighbours) return { dim: d, chol: [global], logDetChol: [triangularLogDet(global, d)] };
  // Distances in the whitened space of the global covariance.
  const white = new Float64Array(n * d);
  for (let i = 0; i < n; i++) lowerSolve(global, d, x.subarray(i * d, (i + 1) * d), white.subarray(i * d, (i + 1) * d));
  const chol: Float64Array[] = [];
  const logDet: number[] = [];
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += (white[i * d + a]! - white[j * d + a]!) ** 2;
      dist[j] = s;
    }
    const nearest = all.slice().sort((a, b) => dist[a]! - dist[b]!).subarray(0, neighbours);
    const L = kernelFactor(weightedCovariance(x, d, weights, nearest), d);
    chol.push(L);
    logDet.push(triangularLogDet(L, d));
  }
  return { dim: d, chol, logDetChol: logDet };
}

/** Writes into `out` a draw of the kernel around particle `i` (at `center`), from standard normals `z`. */
export function perturb(kernel: PerturbationKernel, i: number, center: ArrayLike<number>, z: ArrayLike<number>, out: Float64Array): Float64Array {
  const k = kernel.chol.length === 1 ? 0 : i;
  lowerTimes(kernel.chol[k]!, kernel.dim, z, out);
  for (let a = 0; a < kernel.dim; a++) out[a]! += center[a]!;
  return out;
}

/** log K_i(y | x_i): the kernel density around particle `i` (at `center`) at `y`. `work`: d scratch. */
export function kernelLogDensity(kernel: PerturbationKernel, i: number, center: ArrayLike<number>, y: ArrayLike<number>, work: Float64Array): number {
  const k = kernel.chol.length === 1 ? 0 : i;
  const d = kernel.dim;
  for (let a = 0; a < d; a++) work[a] = y[a]! - center[a]!;
  lowerSolve(kernel.chol[k]!, d, work, work);
  return normalLogDensityFromStandard(dot(work, work, d), d, kernel.logDetChol[k]!);
}

/**
 * Importance weights of a new population (Beaumont et al. 2009, eq. 3): particle y_j gets
 * prior(y_j) / sum_i w_i K_i(y_j | x_i), normalised to sum 1. `logPrior[j]` is the prior's log
 * density of y_j on the unconstrained scale; `previous` (n x d) and `previousWeights` the
 * population it was proposed from. Computed in logs (log-sum-exp), O(n m d^2).
 */
export function smcWeights(
  next: Float64Array,
  m: number,
  logPrior: ArrayLike<number>,
  previous: Float64Array,
  n: number,
  previousWeights: ArrayLike<number>,
  kernel: PerturbationKernel,
): Float64Array<ArrayBuffer> {
  const d = kernel.dim;
  const work = new Float64Array(d);
  const logW = new Float64Array(m);
  const terms = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += previousWeights[i]!;
  for (let j = 0; j < m; j++) {
    const y = next.subarray(j * d, (j + 1) * d);
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const w = previousWeights[i]!;
      terms[i] = w > 0 ? Math.log(w / total) + kernelLogDensity(kernel, i, previous.subarray(i * d, (i + 1) * d), y, work) : -Infinity;
      if (terms[i]! > max) max = terms[i]!;
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(terms[i]! - max);
    logW[j] = logPrior[j]! - (max + Math.log(s));
  }
  return normaliseLogWeights(logW);
}

/** exp(logW) normalised to sum 1 (a weight of -Infinity is 0). */
export function normaliseLogWeights(logW: Float64Array): Float64Array<ArrayBuffer> {
  let max = -Infinity;
  for (const v of logW) if (v > max) max = v;
  const w = new Float64Array(logW.length);
  if (!Number.isFinite(max)) throw new Error("abc: every particle has weight zero (or a non-finite weight)");
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] = Math.exp(logW[i]! - max);
  for (let i = 0; i < w.length; i++) w[i]! /= s;
  return w;
}

/** Index of particle drawn with probability proportional to `cumulative` (ascending, last = total) at uniform `u`. */
export function pickByWeight(cumulative: Float64Array, u: number): number {
  const target = u * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Running sums of `weights`. */
export function cumulativeSums(weights: ArrayLike<number>): Float64Array {
  const c = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) c[i] = s += weights[i]!;
  return c;
}

/**
 * A seed for simulation `index` of `generation` of a run with `seed`: every simulation has
 * its own generator, so a simulation's randomness depends on neither the thread it runs on
 * nor the batch it came in (the same seed gives the same population on 1 or 2 threads).
 * A 52-bit mix of the three (splitmix-style), in the safe-integer range `Rng.fromSeed` takes.
 */
export function simulationSeed(seed: number, generation: number, index: number): number {
  let h = 0x9e3779b9 ^ Math.trunc(seed);
  const mix = (x: number): number => {
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return (x ^ (x >>> 16)) >>> 0;
  };
  h = mix(h ^ Math.trunc(seed / 4294967296));
  h = mix(h ^ generation);
  const hi = mix(h ^ index);
  const lo = mix(hi ^ 0x27d4eb2f ^ index);
  return (hi & 0xfffff) * 4294967296 + lo;
}

/**
 * Welford accumulators for metric adaptation, with Chan et al.'s parallel merge so that a
 * warmup coordinator can pool the window accumulators of several chains.
 *
 * All accumulators are plain data (typed arrays + numbers): they live inside `ChainState`
 * and survive `structuredClone`.
 */

/** Running mean and sum of squared deviations, per coordinate. */
export interface WelfordDiag {
  readonly kind: "diag";
  n: number;
  readonly mean: Float64Array;
  /** Sum of squared deviations from the running mean (Stan's `m2_`). */
  readonly m2: Float64Array;
}

/** Running mean and full matrix of summed cross-deviations (row-major d x d). */
export interface WelfordDense {
  readonly kind: "dense";
  n: number;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
}

export function welfordDiag(dim: number): WelfordDiag {
  return { kind: "diag", n: 0, mean: new Float64Array(dim), m2: new Float64Array(dim) };
}

export function welfordDense(dim: number): WelfordDense {
  return { kind: "dense", n: 0, mean: new Float64Array(dim), m2: new Float64Array(dim * dim) };
}

export function welfordReset(acc: WelfordDiag | WelfordDense): void {
  acc.n = 0;
  acc.mean.fill(0);
  acc.m2.fill(0);
}

/** Adds one sample (as Stan's `welford_var_estimator::add_sample`). */
export function welfordDiagAdd(acc: WelfordDiag, x: Float64Array): void {
  const n = ++acc.n;
  const mean = acc.mean;
  const m2 = acc.m2;
  for (let i = 0; i < mean.length; i++) {
    const delta = x[i]! - mean[i]!;
    const mi = mean[i]! + delta / n;
    mean[i] = mi;
    m2[i] = m2[i]! + (x[i]! - mi) * delta;
  }
}

/**
 * Adds one sample (as Stan's `welford_covar_estimator::add_sample`:
 * m2 += (x - mean_new) * (x - mean_old)^T). The lower triangle is accumulated and
 * mirrored, so the stored matrix is exactly symmetric.
 */
export function welfordDenseAdd(acc: WelfordDense, x: Float64Array, scratch: Float64Array): void {
  const n = ++acc.n;
  const d = acc.mean.length;
  const mean = acc.mean;
  const m2 = acc.m2;
  // scratch[i] = delta_i (old mean); afterwards mean is updated.
  for (let i = 0; i < d; i++) {
    const delta = x[i]! - mean[i]!;
    scratch[i] = delta;
    mean[i] = mean[i]! + delta / n;
  }
  for (let i = 0; i < d; i++) {
    const ai = x[i]! - mean[i]!;
    const row = i * d;
    for (let j = 0; j <= i; j++) {
      const v = m2[row + j]! + ai * scratch[j]!;
      m2[row + j] = v;
      m2[j * d + i] = v;
    }
  }
}

/**
 * Parallel merge (Chan, Golub, LeVeque): the accumulator of the union of the samples of
 * `a` and `b`. Returns a new accumulator; the inputs are untouched.
 */
export function welfordMerge<T extends WelfordDiag | WelfordDense>(a: T, b: T): T {
  if (a.kind !== b.kind || a.mean.length !== b.mean.length) {
    throw new Error("welfordMerge: accumulators of different kind or dimension");
  }
  const d = a.mean.length;
  const n = a.n + b.n;
  const mean = new Float64Array(d);
  const m2 = new Float64Array(a.m2.length);
  if (n === 0) return { kind: a.kind, n: 0, mean, m2 } as T;
  const wa = a.n / n;
  const wb = b.n / n;
  const cross = (a.n * b.n) / n;
  const delta = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    delta[i] = b.mean[i]! - a.mean[i]!;
    mean[i] = wa * a.mean[i]! + wb * b.mean[i]!;
  }
  if (a.kind === "diag") {
    for (let i = 0; i < d; i++) m2[i] = a.m2[i]! + b.m2[i]! + delta[i]! * delta[i]! * cross;
  } else {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        m2[i * d + j] = a.m2[i * d + j]! + b.m2[i * d + j]! + delta[i]! * delta[j]! * cross;
      }
    }
  }
  return { kind: a.kind, n, mean, m2 } as T;
}

/** Merges any number of accumulators (left fold of `welfordMerge`). */
export function welfordMergeAll<T extends WelfordDiag | WelfordDense>(accs: readonly T[]): T {
  if (accs.length === 0) throw new Error("welfordMergeAll: no accumulators");
  let acc = accs[0]!;
  for (let k = 1; k < accs.length; k++) acc = welfordMerge(acc, accs[k]!);
  return acc;
}

/** Unbiased sample variance m2 / (n - 1), into `out`; returns false (out untouched) if n < 2. */
export function welfordVariance(acc: WelfordDiag, out: Float64Array): boolean {
  if (acc.n < 2) return false;
  const s = 1 / (acc.n - 1);
  for (let i = 0; i < out.length; i++) out[i] = acc.m2[i]! * s;
  return true;
}

/** Unbiased sample covariance m2 / (n - 1), into `out`; returns false if n < 2. */
export function welfordCovariance(acc: WelfordDense, out: Float64Array): boolean {
  if (acc.n < 2) return false;
  const s = 1 / (acc.n - 1);
  for (let i = 0; i < out.length; i++) out[i] = acc.m2[i]! * s;
  return true;
}

/**
 * Stan's regularised inverse metric from a variance accumulator:
 * `(n / (n + 5)) * var + 1e-3 * (5 / (n + 5))`. As in Stan, when n < 2 the variance part
 * is the previous value (`previous`), still shrunk with that n.
 */
export function regularizedVariance(acc: WelfordDiag, previous: Float64Array): Float64Array {
  const out = Float64Array.from(previous);
  welfordVariance(acc, out);
  const n = acc.n;
  const a = n / (n + 5);
  const b = 1e-3 * (5 / (n + 5));
  for (let i = 0; i < out.length; i++) out[i] = a * out[i]! + b;
  return out;
}

/** Stan's regularised dense inverse metric: `(n/(n+5)) * cov + 1e-3 * (5/(n+5)) * I`. */
export function regularizedCovariance(acc: WelfordDense, previous: Float64Array): Float64Array {
  const d = acc.mean.length;
  const out = Float64Array.from(previous);
  welfordCovariance(acc, out);
  const n = acc.n;
  const a = n / (n + 5);
  const b = 1e-3 * (5 / (n + 5));
  for (let i = 0; i < out.length; i++) out[i] = a * out[i]!;
  for (let i = 0; i < d; i++) out[i * d + i] = out[i * d + i]! + b;
  return out;
}

/** Limits of the gradient-based (Fisher) diagonal, as nutpie uses. */
export const FISHER_LOWER = 1e-20;
export const FISHER_UPPER = 1e20;

/**
 * Gradient-based diagonal inverse metric (nutpie style, minimising the Fisher divergence
 * for a diagonal affine transform): `sqrt(var(q_i) / var(grad_i))`, clamped to
 * [1e-20, 1e20]; where the ratio is not finite or zero the previous value is kept.
 */
export function fisherDiagonal(
  draws: WelfordDiag,
  grads: WelfordDiag,
  previous: Float64Array,
): Float64Array {
  const out = Float64Array.from(previous);
  if (draws.n < 2 || grads.n < 2) return out;
  for (let i = 0; i < out.length; i++) {
    // The (n - 1) factors cancel.
    const v = Math.sqrt(draws.m2[i]! / grads.m2[i]!);
    if (Number.isFinite(v) && v > 0) out[i] = Math.min(FISHER_UPPER, Math.max(FISHER_LOWER, v));
  }
  return out;
}

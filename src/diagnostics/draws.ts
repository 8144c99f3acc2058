/**
 * Draw layout and the small, carefully rounded statistics every diagnostic
 * shares. Draws are stored flat and chain-major: data[c * n + i].
 */

export interface Draws {
  readonly data: Float64Array;
  /** Number of chains. */
  readonly m: number;
  /** Draws per chain. */
  readonly n: number;
}

/**
 * Split-chain view (posterior's .split_chains): 2m sequences of floor(n/2)
 * draws each, the first and last halves of every chain. With an odd n the
 * middle draw is dropped; with n = 1 the chains are left unsplit. Sequence s
 * holds x[starts[s] + i * stride], i < len, so no copy is made and any
 * element-wise transform of the flat buffer shares the same view.
 */
export interface SplitView {
  readonly starts: Int32Array;
  /** Number of sequences. */
  readonly count: number;
  /** Draws per sequence. */
  readonly len: number;
  /** Distance between consecutive draws of a sequence in the flat buffer. */
  readonly stride: number;
}

/** Copy chains into one flat buffer, checking they form a rectangle. */
export function toDraws(chains: ArrayLike<number>[], out?: Float64Array): Draws {
  const m = chains.length;
  const n = m > 0 ? chains[0]!.length : 0;
  for (let c = 1; c < m; c++) {
    if (chains[c]!.length !== n) {
      throw new RangeError(`all chains must have the same length (chain 0 has ${n}, chain ${c} has ${chains[c]!.length})`);
    }
  }
  const data = out !== undefined && out.length >= m * n ? out.subarray(0, m * n) : new Float64Array(m * n);
  for (let c = 0; c < m; c++) {
    const src = chains[c]!;
    const off = c * n;
    for (let i = 0; i < n; i++) data[off + i] = src[i]!;
  }
  return { data, m, n };
}

export function splitView(m: number, n: number): SplitView {
  if (n <= 1) {
    const starts = new Int32Array(m);
    for (let c = 0; c < m; c++) starts[c] = c * n;
    return { starts, count: m, len: n, stride: 1 };
  }
  const len = Math.floor(n / 2);
  if (len === 1 && m > 1) {
    // posterior quirk, kept for fidelity: with n = 2 or 3, x[1:1, ] drops to
    // a vector, so cbind() yields an m x 2 matrix: two sequences of length m,
    // the first draws of all chains and the last draws of all chains.
    return { starts: Int32Array.of(0, n - 1), count: 2, len: m, stride: n };
  }
  const starts = new Int32Array(2 * m);
  for (let c = 0; c < m; c++) {
    starts[2 * c] = c * n;
    starts[2 * c + 1] = c * n + n - len;
  }
  return { starts, count: 2 * m, len, stride: 1 };
}

/** True when the view covers every draw (n even or n = 1). */
export function viewCoversAll(view: SplitView, total: number): boolean {
  return view.count * view.len === total;
}

/**
 * Mean as R computes it: an accurate sum, then one correction pass with the
 * residuals. Compensated (Neumaier) summation stands in for R's long double.
 */
export function meanOf(x: ArrayLike<number>, off = 0, len = x.length - off, stride = 1): number {
  if (len <= 0) return Number.NaN;
  const end = off + len * stride;
  let s = 0;
  let comp = 0;
  for (let i = off; i < end; i += stride) {
    const v = x[i]!;
    const t = s + v;
    comp += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  // Infinite draws: the compensation term is NaN; R returns the plain sum's mean.
  if (!Number.isFinite(s)) return s / len;
  let mu = (s + comp) / len;
  if (!Number.isFinite(mu)) return mu;
  let r = 0;
  for (let i = off; i < end; i += stride) r += x[i]! - mu;
  mu += r / len;
  return mu;
}

/** Sample variance (n - 1 denominator), two-pass around an accurate mean. */
export function varianceOf(x: ArrayLike<number>, off = 0, len = x.length - off): number {
  if (len < 2) return Number.NaN;
  const mu = meanOf(x, off, len);
  let ss = 0;
  for (let i = off, end = off + len; i < end; i++) {
    const d = x[i]! - mu;
    ss += d * d;
  }
  return ss / (len - 1);
}

export function viewHasNaN(x: Float64Array, view: SplitView): boolean {
  const { starts, count, len, stride } = view;
  for (let s = 0; s < count; s++) {
    for (let i = starts[s]!, end = i + len * stride; i < end; i += stride) {
      if (Number.isNaN(x[i]!)) return true;
    }
  }
  return false;
}

/**
 * posterior's should_return_NA on the split draws: any NaN or infinite value,
 * or (nearly) constant input, |max - min| < machine epsilon.
 */
export function viewShouldReturnNA(x: Float64Array, view: SplitView): boolean {
  const { starts, count, len, stride } = view;
  let lo = Infinity;
  let hi = -Infinity;
  for (let s = 0; s < count; s++) {
    for (let i = starts[s]!, end = i + len * stride; i < end; i += stride) {
      const v = x[i]!;
      if (v - v !== 0) return true;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return !(Math.abs(hi - lo) >= Number.EPSILON);
}

/** should_return_NA on all draws of a flat buffer. */
export function shouldReturnNA(x: Float64Array): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v - v !== 0) return true;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return !(Math.abs(hi - lo) >= Number.EPSILON);
}

export function hasNaN(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (Number.isNaN(x[i]!)) return true;
  return false;
}

/**
 * R's quantile(type = 7) read off an ascending sorted array without NaN. The
 * interpolation is written as R writes it, (1 - h) * lo + h * hi, so the
 * quantile is bit-identical and the x <= q indicators of ess_quantile agree.
 */
export function quantileSorted(sorted: Float64Array, prob: number): number {
  const S = sorted.length;
  if (S === 0) return Number.NaN;
  const p = Math.max(0, Math.min(1, prob));
  const index = 1 + Math.max(S - 1, 0) * p;
  const lo = Math.floor(index);
  const hi = Math.ceil(index);
  let qs = sorted[lo - 1]!;
  const xhi = sorted[hi - 1]!;
  if (index > lo && xhi !== qs) {
    const h = index - lo;
    qs = (1 - h) * qs + h * xhi;
  }
  return qs;
}

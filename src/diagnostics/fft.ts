/**
 * In-place iterative radix-2 complex FFT on split real/imaginary arrays.
 *
 * Only power-of-two sizes: callers zero-pad, which is harmless for the
 * autocovariance use (any padded length >= 2n - 1 avoids circular wrap).
 * Twiddles and the bit-reversal permutation are cached per size because the
 * same few sizes are reused across every parameter and every online call.
 */

interface FftPlan {
  readonly n: number;
  readonly cos: Float64Array; // cos(2*pi*k/n), k < n/2
  readonly sin: Float64Array; // sin(2*pi*k/n), k < n/2
  readonly rev: Uint32Array; // bit-reversed index
}

const plans = new Map<number, FftPlan>();

function plan(n: number): FftPlan {
  let p = plans.get(n);
  if (p !== undefined) return p;
  const half = n >>> 1;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  // Direct evaluation (no angle recurrence) keeps twiddles accurate to ~1 ulp.
  for (let k = 0; k < half; k++) {
    const a = (2 * Math.PI * k) / n;
    cos[k] = Math.cos(a);
    sin[k] = Math.sin(a);
  }
  const rev = new Uint32Array(n);
  let bits = 0;
  while (1 << bits < n) bits++;
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0, v = i; b < bits; b++, v >>>= 1) r = (r << 1) | (v & 1);
    rev[i] = r;
  }
  p = { n, cos, sin, rev };
  plans.set(n, p);
  return p;
}

/** Smallest power of two >= m (m >= 1). */
export function nextPow2(m: number): number {
  let n = 1;
  while (n < m) n *= 2;
  return n;
}

/**
 * Forward DFT, X[k] = sum_j x[j] exp(-2 pi i jk / n), of the first n entries
 * of (re, im), in place. n must be a power of two.
 */
export function fft(re: Float64Array, im: Float64Array, n: number): void {
  if (n <= 1) return;
  if ((n & (n - 1)) !== 0) throw new RangeError(`fft size must be a power of two, got ${n}`);
  const { cos, sin, rev } = plan(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i]!;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >>> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let j = 0, k = 0; j < half; j++, k += step) {
        const a = start + j;
        const b = a + half;
        const wr = cos[k]!;
        const wi = -sin[k]!;
        const br = re[b]!;
        const bi = im[b]!;
        const tr = br * wr - bi * wi;
        const ti = br * wi + bi * wr;
        const ar = re[a]!;
        const ai = im[a]!;
        re[b] = ar - tr;
        im[b] = ai - ti;
        re[a] = ar + tr;
        im[a] = ai + ti;
      }
    }
  }
}

/**
 * Autocovariances of the split sequences, averaged over sequences, as
 * posterior's autocovariance() followed by rowMeans():
 *   acov[k] = (1 / count) * sum_s (1 / len) * sum_i yc_s[i] * yc_s[i + k],
 * with yc_s the sequence centred at its own mean (the "biased" estimate
 * Geyer recommends). posterior rescales each FFT result by var(x)(N-1)/N over
 * its lag-0 value; that factor is exactly 1/N in exact arithmetic, so it is
 * applied directly here.
 *
 * Geyer's truncation usually stops after a handful of lags once chains mix,
 * so LazyAutocovariance computes lags on demand by direct sums and switches
 * to one FFT pass for all lags when the direct work would cost more.
 */
import type { SplitView } from "./draws.js";
import { meanOf } from "./draws.js";
import { fft, nextPow2 } from "./fft.js";
import { sharedWorkspace, type Workspace } from "./workspace.js";

/**
 * Centre each sequence of the view at its own mean into yc (sequence-major,
 * count * len entries) and record the means. A constant sequence becomes
 * exactly zero, as posterior returns zero autocovariances when var(x) == 0
 * (centring at a rounded mean could leave tiny residues).
 *
 * Returns posterior's should_return_NA for the view (any NaN or infinite
 * value, or |max - min| < machine epsilon), checked in the same pass; yc is
 * then unspecified.
 */
export function centreSequences(x: Float64Array, view: SplitView, yc: Float64Array, means: Float64Array): boolean {
  const { starts, count, len, stride } = view;
  let lo = Infinity;
  let hi = -Infinity;
  for (let s = 0; s < count; s++) {
    const start = starts[s]!;
    const mu = meanOf(x, start, len, stride);
    means[s] = mu;
    const o = s * len;
    const first = x[start]!;
    let constant = true;
    for (let i = 0; i < len; i++) {
      const v = x[start + i * stride]!;
      if (v - v !== 0) return true; // NaN or infinite
      if (v !== first) constant = false;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      yc[o + i] = v - mu;
    }
    if (constant) yc.fill(0, o, o + len);
  }
  return !(Math.abs(hi - lo) >= Number.EPSILON);
}

/**
 * acov[k] for from <= k < to by direct sums over the centred sequences, four
 * lags per sweep so each loaded value is used four times.
 */
function directLags(yc: Float64Array, count: number, len: number, from: number, to: number, acov: Float64Array): void {
  const scale = 1 / (count * len);
  let k = from;
  for (; k + 4 <= to; k += 4) {
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (let s = 0; s < count; s++) {
      const o = s * len;
      const end = o + len;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      // Products y[i] * y[i + k + j] exist for i < end - k - j.
      let i = o;
      for (const stop = end - k - 3; i < stop; i++) {
        const y = yc[i]!;
        a0 += y * yc[i + k]!;
        a1 += y * yc[i + k + 1]!;
        a2 += y * yc[i + k + 2]!;
        a3 += y * yc[i + k + 3]!;
      }
      for (; i < end - k; i++) {
        const y = yc[i]!;
        a0 += y * yc[i + k]!;
        if (i < end - k - 1) a1 += y * yc[i + k + 1]!;
        if (i < end - k - 2) a2 += y * yc[i + k + 2]!;
      }
      t0 += a0;
      t1 += a1;
      t2 += a2;
      t3 += a3;
    }
    acov[k] = t0 * scale;
    acov[k + 1] = t1 * scale;
    acov[k + 2] = t2 * scale;
    acov[k + 3] = t3 * scale;
  }
  for (; k < to; k++) {
    let total = 0;
    for (let s = 0; s < count; s++) {
      const o = s * len;
      let acc = 0;
      for (let i = o, end = o + len - k; i < end; i++) acc += yc[i]! * yc[i + k]!;
      total += acc;
    }
    acov[k] = total * scale;
  }
}

/**
 * All lags through the FFT. Sequences enter only through the sum of their
 * power spectra, so two real sequences share one complex FFT: |Z[k]|^2 is
 * the sum of their spectra plus a term odd in k, whose transform is purely
 * imaginary and is discarded with the imaginary part. A final forward FFT of
 * the real, even spectrum returns the correlations (the 1/L of the inverse
 * is folded into the scale).
 */
function fftLags(yc: Float64Array, count: number, len: number, from: number, acov: Float64Array, ws: Workspace): void {
  // Zero padding to >= 2 len - 1 makes the circular correlation linear.
  const L = nextPow2(Math.max(2 * len - 1, 1));
  const re = ws.get("fft.re", L);
  const im = ws.get("fft.im", L);
  const power = ws.get("fft.power", L);
  power.fill(0, 0, L);
  for (let s = 0; s < count; s += 2) {
    re.set(yc.subarray(s * len, (s + 1) * len));
    re.fill(0, len, L);
    if (s + 1 < count) {
      im.set(yc.subarray((s + 1) * len, (s + 2) * len));
      im.fill(0, len, L);
    } else {
      im.fill(0, 0, L);
    }
    fft(re, im, L);
    for (let k = 0; k < L; k++) {
      const a = re[k]!;
      const b = im[k]!;
      power[k] = power[k]! + a * a + b * b;
    }
  }
  re.set(power.subarray(0, L));
  im.fill(0, 0, L);
  fft(re, im, L);
  const scale = 1 / (L * count * len);
  // Lags already summed directly are kept, so Geyer's sequence never mixes
  // two estimates of the same lag.
  for (let k = from; k < len; k++) acov[k] = re[k]! * scale;
}

/** Mean autocovariance with lags computed on demand. */
export class LazyAutocovariance {
  /** acov[k] is valid for k < available. */
  available = 0;
  private readonly maxDirect: number;

  constructor(
    readonly acov: Float64Array,
    private readonly yc: Float64Array,
    private readonly count: number,
    private readonly len: number,
    private readonly ws: Workspace,
  ) {
    // Direct lags cost count * len multiply-adds each; the FFT route costs
    // about (ceil(count / 2) + 1) transforms of L log2 L. The factor was
    // measured in V8 (one FFT unit ~ 4 blocked multiply-adds).
    const L = nextPow2(Math.max(2 * len - 1, 1));
    const fftCost = 4 * (Math.ceil(count / 2) + 1) * L * Math.log2(Math.max(L, 2));
    this.maxDirect = Math.max(8, Math.floor(fftCost / (count * len)));
  }

  /** Make acov[0 .. k] valid. */
  ensure(k: number): void {
    while (this.available <= k) {
      const target = Math.min(this.len, Math.max(k + 1, 2 * this.available, 8));
      if (target > this.maxDirect) {
        fftLags(this.yc, this.count, this.len, this.available, this.acov, this.ws);
        this.available = this.len;
        return;
      }
      directLags(this.yc, this.count, this.len, this.available, target, this.acov);
      this.available = target;
    }
  }
}

/**
 * Autocovariance of a single sequence at every lag (posterior's
 * autocovariance()), always through the FFT: biased estimate, lag 0 equal to
 * var(x) (N-1)/N; NaN throughout if any value is not finite.
 */
export function autocovariance(x: ArrayLike<number>, ws: Workspace = sharedWorkspace): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const buf = ws.get("acf.input", n);
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (v - v !== 0) return out.fill(Number.NaN);
    buf[i] = v;
  }
  const yc = ws.get("acf.centred", n);
  const view: SplitView = { starts: Int32Array.of(0), count: 1, len: n, stride: 1 };
  centreSequences(buf, view, yc, new Float64Array(1));
  fftLags(yc, 1, n, 0, out, ws);
  return out;
}

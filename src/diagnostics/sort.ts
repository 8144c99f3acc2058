/**
 * Argsort of doubles. Ranks, folded ranks and quantiles all need the draws in
 * order; V8's TypedArray#sort is comparatively slow (about 5 ms for 40k
 * values) and returns no permutation, so ranks would then need a binary
 * search per draw. An LSD radix sort on the IEEE bit patterns gives the
 * permutation in a few linear passes.
 *
 * Values must not be NaN (callers return NaN before sorting). -0 sorts just
 * before +0; callers detect ties with ===, which treats them as equal, as R does.
 */

const RADIX_MIN = 256;
/**
 * Below this many values the sort takes 8-bit digits (8 passes over 256 buckets), from it
 * 16-bit digits (4 passes over 65,536): clearing and summing 65,536 buckets per pass costs
 * more than the passes themselves for a few thousand values, the size of the warmup R-hat
 * the coordinator computes at window ends (D196).
 */
const WIDE_DIGITS_FROM = 1 << 13;
const BUCKETS = 1 << 16;

const probe = new Float64Array([1]);
const LITTLE_ENDIAN = new Uint32Array(probe.buffer)[1] === 0x3ff00000;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

interface Scratch {
  cap: number;
  keys: Float64Array;
  bits: Uint32Array;
  loA: Uint32Array;
  hiA: Uint32Array;
  idA: Int32Array;
  loB: Uint32Array;
  hiB: Uint32Array;
  idB: Int32Array;
}

const hist = new Int32Array(4 * BUCKETS);
let scratch: Scratch | undefined;

function getScratch(n: number): Scratch {
  if (scratch !== undefined && scratch.cap >= n) return scratch;
  const cap = Math.max(n, scratch === undefined ? 0 : Math.ceil(scratch.cap * 1.5));
  const keys = new Float64Array(cap);
  scratch = {
    cap,
    keys,
    bits: new Uint32Array(keys.buffer),
    loA: new Uint32Array(cap),
    hiA: new Uint32Array(cap),
    idA: new Int32Array(cap),
    loB: new Uint32Array(cap),
    hiB: new Uint32Array(cap),
    idB: new Int32Array(cap),
  };
  return scratch;
}

/**
 * Sort the values src[pos[k]], k < n, ascending. On return pos is permuted
 * accordingly and sorted[k] = src[pos[k]].
 */
export function argsortInPlace(src: Float64Array, pos: Int32Array, n: number, sorted: Float64Array): void {
  if (n < RADIX_MIN) {
    const p = pos.subarray(0, n);
    p.sort((a, b) => src[a]! - src[b]!);
    for (let k = 0; k < n; k++) sorted[k] = src[p[k]!]!;
    return;
  }
  const s = getScratch(n);
  const { keys, bits } = s;
  let lo = s.loA;
  let hi = s.hiA;
  let id = s.idA;
  let lo2 = s.loB;
  let hi2 = s.hiB;
  let id2 = s.idB;
  const digitBits = n < WIDE_DIGITS_FROM ? 8 : 16;
  const buckets = 1 << digitBits;
  const mask = buckets - 1;
  const perWord = 32 / digitBits;
  const passes = 2 * perWord;
  hist.fill(0, 0, passes * buckets);
  for (let k = 0; k < n; k++) keys[k] = src[pos[k]!]!;
  for (let k = 0; k < n; k++) {
    // Map the IEEE bit pattern to an unsigned key with the same order:
    // negative numbers get all bits flipped, positive ones the sign bit.
    let h = bits[2 * k + HI]!;
    let l = bits[2 * k + LO]!;
    if (h & 0x80000000) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    lo[k] = l;
    hi[k] = h;
    id[k] = pos[k]!;
    for (let d = 0; d < perWord; d++) {
      hist[d * buckets + ((l >>> (d * digitBits)) & mask)]!++;
      hist[(perWord + d) * buckets + ((h >>> (d * digitBits)) & mask)]!++;
    }
  }
  for (let pass = 0; pass < passes; pass++) {
    const base = pass * buckets;
    // A digit shared by every key leaves the order unchanged: skip the pass.
    let skip = false;
    let sum = 0;
    for (let b = 0; b < buckets; b++) {
      const c = hist[base + b]!;
      if (c === n) skip = true;
      hist[base + b] = sum;
      sum += c;
    }
    if (skip) continue;
    const useLo = pass < perWord;
    const shift = (pass % perWord) * digitBits;
    const src32 = useLo ? lo : hi;
    // Low words are only needed until the last pass over them has used them.
    const keepLo = pass < perWord - 1;
    for (let k = 0; k < n; k++) {
      const digit = (src32[k]! >>> shift) & mask;
      const dst = hist[base + digit]!++;
      if (keepLo) lo2[dst] = lo[k]!;
      hi2[dst] = hi[k]!;
      id2[dst] = id[k]!;
    }
    let t32 = lo;
    lo = lo2;
    lo2 = t32;
    t32 = hi;
    hi = hi2;
    hi2 = t32;
    const ti = id;
    id = id2;
    id2 = ti;
  }
  for (let k = 0; k < n; k++) {
    const p = id[k]!;
    pos[k] = p;
    sorted[k] = src[p]!;
  }
}

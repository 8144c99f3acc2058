/**
 * Seedable, checkpointable random numbers for the samplers.
 *
 * Generator: pure-rand's xoroshiro128+ (mutable in place, so `next()` allocates nothing).
 * Why this one among pure-rand's generators:
 * - it is jumpable (`jump()` advances 2^64 steps), which gives independent, non-overlapping
 *   per-chain streams from one seed (mersenne and congruential32 are not jumpable);
 * - its whole state is four int32 words, so a checkpoint is four numbers (mersenne: 625);
 * - it is a handful of integer operations per 32-bit output.
 * pure-rand returns the low 32 bits of xoroshiro128+'s 64-bit sum. The lowest bits of
 * xoroshiro128+ have low linear complexity, so every consumer here takes *high* bits of
 * each 32-bit output (`>>> 5`, `>>> 6`, `>>> 25`), never the lowest ones.
 *
 * Normal deviates: Marsaglia-Tsang ziggurat with 128 layers in Doornik's form (exact: the
 * rectangle/wedge/tail decomposition samples the normal density exactly; the layer index
 * and the abscissa come from independent random bits). No cached spare value, so the
 * state is only the four generator words.
 *
 * State (`RngState`) is plain data: it survives `structuredClone` and `JSON` and continues
 * the identical stream.
 */
import {
  xoroshiro128plusFromState,
} from "pure-rand/generator/xoroshiro128plus";
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator";

/** Plain-data generator state; four signed int32 words of xoroshiro128+. */
export interface RngState {
  readonly kind: "xoroshiro128plus";
  readonly words: readonly number[];
}

const TWO_POW_26 = 67108864;
const TWO_POW_M53 = 1.1102230246251565e-16;

// ---------------------------------------------------------------------------------------
// Ziggurat tables (128 layers). R: start of the tail; V: common area of every layer.
const ZIG_C = 128;
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
const ZIG_X = new Float64Array(ZIG_C + 1);
const ZIG_RATIO = new Float64Array(ZIG_C);
const ZIG_HALF_X2 = new Float64Array(ZIG_C + 1);
(function buildZigguratTables(): void {
  let f = Math.exp(-0.5 * ZIG_R * ZIG_R);
  ZIG_X[0] = ZIG_V / f;
  ZIG_X[1] = ZIG_R;
  ZIG_X[ZIG_C] = 0;
  for (let i = 2; i < ZIG_C; i++) {
    ZIG_X[i] = Math.sqrt(-2 * Math.log(ZIG_V / ZIG_X[i - 1]! + f));
    f = Math.exp(-0.5 * ZIG_X[i]! * ZIG_X[i]!);
  }
  for (let i = 0; i < ZIG_C; i++) ZIG_RATIO[i] = ZIG_X[i + 1]! / ZIG_X[i]!;
  for (let i = 0; i <= ZIG_C; i++) ZIG_HALF_X2[i] = 0.5 * ZIG_X[i]! * ZIG_X[i]!;
})();

// ---------------------------------------------------------------------------------------
// Seeding: spread an arbitrary integer seed over the 128-bit state with a strong 32-bit
// mixer (pure-rand's own `xoroshiro128plus(seed)` leaves most state bits fixed).
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x | 0;
}

function seedWords(seed: number): number[] {
  if (!Number.isFinite(seed)) throw new RangeError(`RNG seed must be a finite number, got ${seed}`);
  const s = Math.trunc(Math.abs(seed));
  const lo = s % 4294967296 | 0;
  const hi = Math.floor(s / 4294967296) | 0;
  const sign = seed < 0 ? 0x5bd1e995 : 0;
  const words: number[] = [];
  for (let k = 0; k < 4; k++) {
    const a = mix32((lo ^ Math.imul(k + 1, 0x9e3779b9)) | 0);
    words.push(mix32((a + Math.imul(hi ^ sign, 0x85ebca6b) + Math.imul(k, 0xc2b2ae35)) | 0));
  }
  if ((words[0]! | words[1]! | words[2]! | words[3]!) === 0) words[0] = 1;
  return words;
}

export class Rng {
  private readonly gen: JumpableRandomGenerator;

  private constructor(gen: JumpableRandomGenerator) {
    this.gen = gen;
  }

  /**
   * A generator for `seed`; `stream` k is the seed's stream jumped k * 2^64 steps ahead,
   * so streams 0, 1, 2, ... (one per chain) never overlap.
   */
  static fromSeed(seed: number, stream = 0): Rng {
    if (!Number.isInteger(stream) || stream < 0) {
      throw new RangeError(`RNG stream must be a non-negative integer, got ${stream}`);
    }
    const gen = xoroshiro128plusFromState(seedWords(seed));
    for (let k = 0; k < stream; k++) gen.jump();
    return new Rng(gen);
  }

  /** Continues exactly where the generator that produced `state` stopped. */
  static fromState(state: RngState): Rng {
    if (state.kind !== "xoroshiro128plus" || state.words.length !== 4) {
      throw new Error("RngState must be a xoroshiro128plus state with four words");
    }
    return new Rng(xoroshiro128plusFromState(state.words.map((w) => w | 0)));
  }

  /** Plain-data copy of the current state. */
  getState(): RngState {
    const w = this.gen.getState();
    return { kind: "xoroshiro128plus", words: [w[0]! | 0, w[1]! | 0, w[2]! | 0, w[3]! | 0] };
  }

  /** Advances this generator by 2^64 steps (an independent stream). */
  jump(): void {
    this.gen.jump();
  }

  /** Next raw 32-bit output as a signed int32. */
  nextInt32(): number {
    return this.gen.next();
  }

  /** Uniform on [0, 1), a multiple of 2^-53 (53 random bits from the high bits). */
  uniform(): number {
    const a = this.gen.next() >>> 5; // 27 bits
    const b = this.gen.next() >>> 6; // 26 bits
    return (a * TWO_POW_26 + b) * TWO_POW_M53;
  }

  /** Uniform on (0, 1]: safe for `log`. */
  uniformPositive(): number {
    const a = this.gen.next() >>> 5;
    const b = this.gen.next() >>> 6;
    return (a * TWO_POW_26 + b + 1) * TWO_POW_M53;
  }

  /** Standard normal deviate (ziggurat, exact). */
  normal(): number {
    // Fast path (about 98.8% of calls): a point inside a layer's rectangle. Kept small so
    // that it inlines into callers.
    const u = 2 * this.uniform() - 1;
    const i = this.gen.next() >>> 25; // 7 independent high bits: the layer
    if (Math.abs(u) < ZIG_RATIO[i]!) return u * ZIG_X[i]!;
    return this.normalSlow(u, i);
  }

  /** Wedges and tail, then fresh tries until one is accepted. */
  private normalSlow(u: number, i: number): number {
    for (;;) {
      if (Math.abs(u) < ZIG_RATIO[i]!) return u * ZIG_X[i]!;
      if (i === 0) return this.normalTail(u < 0);
      const x = u * ZIG_X[i]!;
      const hx2 = 0.5 * x * x;
      const f0 = Math.exp(hx2 - ZIG_HALF_X2[i]!);
      const f1 = Math.exp(hx2 - ZIG_HALF_X2[i + 1]!);
      if (f1 + this.uniform() * (f0 - f1) < 1) return x;
      u = 2 * this.uniform() - 1;
      i = this.gen.next() >>> 25;
    }
  }

  private normalTail(negative: boolean): number {
    let x: number;
    let y: number;
    do {
      x = Math.log(this.uniformPositive()) / ZIG_R;
      y = Math.log(this.uniformPositive());
    } while (-2 * y < x * x);
    return negative ? x - ZIG_R : ZIG_R - x;
  }

  /** Fills `out` with standard normal deviates. */
  fillNormal(out: Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }
}

/** Convenience: the plain-data state of stream `stream` of `seed`. */
export function rngStateFromSeed(seed: number, stream = 0): RngState {
  return Rng.fromSeed(seed, stream).getState();
}

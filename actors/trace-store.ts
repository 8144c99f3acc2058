/**
 * The run's trace store: per chain and phase, every committed draw in typed arrays on
 * SharedArrayBuffers that grow by doubling. Values are quantity-major
 * (`values[k * capacity + i]`), so one quantity's draws of one chain are a contiguous run:
 * online diagnostics read views, and the final `Posterior` needs no transposition.
 *
 * The workers write the draws: a chunk task carries a `DrawTarget` (these arrays, shared,
 * and the index of its first draw), and the chain actor commits the draws the chunk
 * reports (`commit`). The main thread does no per-draw work; batches for the streams are
 * views of the store (`view`). Draws beyond `length` are not part of the trace (a failed or
 * aborted chunk may have written some; its retry writes the same ones again).
 */
import { allocateStats, STAT_KEYS, typedArray, type SamplerStatName, type SamplerStatsArrays } from "../src/inference/stats.js";
import type { DrawTarget } from "./protocol.js";

/**
 * Consecutive draws of one chain in one phase, as views of the trace store (no copies):
 * values quantity-major, quantity k of the batch's draw i at `values[k * stride + offset + i]`
 * (`values` is the phase's whole array); statistics `count` long.
 */
export interface BatchData extends SamplerStatsArrays {
  readonly chain: number;
  /** Iteration (0-based over warmup and sampling) of the first draw. */
  readonly start: number;
  readonly count: number;
  readonly warmup: boolean;
  /** True for placeholder draws of a chain that could not be restarted (NaN values). */
  readonly placeholder: boolean;
  readonly values: Float64Array;
  readonly stride: number;
  readonly offset: number;
  /** The batch's values draw-major (`[i * width + k]`), made on first call (see `PhaseTrace.drawMajor`). */
  readonly drawMajor: () => Float64Array;
}

/** The draws of one chain in one phase. */
export class PhaseTrace {
  length = 0;
  capacity: number;
  /** Quantity-major, shared with the workers. */
  values: Float64Array;
  stats: SamplerStatsArrays;
  /** 1 where the draw is a placeholder (main thread only). */
  placeholder: Uint8Array;
  /** Worker compute seconds spent on this phase. */
  seconds = 0;
  /** Worker threads' CPU seconds spent on this phase (NaN where not measurable). */
  cpuSeconds = 0;
  /** Draw-major copies of values, made for stream consumers on demand (null until then). */
  private drawMajorValues: Float64Array | null = null;

  constructor(
    readonly width: number,
    initialCapacity: number,
  ) {
    this.capacity = Math.max(1, initialCapacity);
    this.values = typedArray(Float64Array, width * this.capacity, true);
    this.stats = allocateStats(this.capacity, true);
    this.placeholder = new Uint8Array(this.capacity);
  }

  /** Room for `need` draws: new arrays (doubled) with the committed draws copied over. */
  private grow(need: number): void {
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    const values = typedArray(Float64Array, this.width * cap, true);
    for (let k = 0; k < this.width; k++) {
      values.set(this.values.subarray(k * this.capacity, k * this.capacity + this.length), k * cap);
    }
    const stats = allocateStats(cap, true);
    for (const key of STAT_KEYS) (stats[key] as Float64Array).set(this.stats[key].subarray(0, this.length) as Float64Array);
    const placeholder = new Uint8Array(cap);
    placeholder.set(this.placeholder.subarray(0, this.length));
    this.values = values;
    this.stats = stats;
    this.placeholder = placeholder;
    this.capacity = cap;
  }

  /** Where a worker writes the next `n` draws (from `length`); grows the arrays first if needed. */
  target(n: number): DrawTarget {
    if (this.length + n > this.capacity) this.grow(this.length + n);
    const s = this.stats;
    return {
      values: this.values,
      capacity: this.capacity,
      offset: this.length,
      lp: s.lp,
      stepSize: s.stepSize,
      treeDepth: s.treeDepth,
      nLeapfrog: s.nLeapfrog,
      divergent: s.divergent,
      energy: s.energy,
      acceptStat: s.acceptStat,
    };
  }

  /**
   * The `count` draws a worker wrote at `from` (the target it was given) join the trace.
   * False (nothing committed) when they were written into arrays the trace has since
   * replaced, or not at its end: both would be bugs of the caller.
   */
  commit(target: DrawTarget, count: number): boolean {
    if (target.values !== this.values || target.offset !== this.length || this.length + count > this.capacity) return false;
    this.length += count;
    return true;
  }

  /** Draws before the first placeholder (placeholders only ever follow real draws). */
  realLength(): number {
    const i = this.placeholder.subarray(0, this.length).indexOf(1);
    return i < 0 ? this.length : i;
  }

  /** Appends `count` placeholder draws (NaN values and statistics, flagged divergent). */
  appendPlaceholders(count: number): void {
    if (this.length + count > this.capacity) this.grow(this.length + count);
    const from = this.length;
    const to = from + count;
    for (let k = 0; k < this.width; k++) this.values.fill(NaN, k * this.capacity + from, k * this.capacity + to);
    for (const key of ["lp", "stepSize", "energy", "acceptStat"] as const) this.stats[key].fill(NaN, from, to);
    this.stats.treeDepth.fill(0, from, to);
    this.stats.nLeapfrog.fill(0, from, to);
    this.stats.divergent.fill(1, from, to);
    this.placeholder.fill(1, from, to);
    this.length = to;
  }

  /**
   * Draws `[from, from + count)` of quantity-major values, draw-major, in a buffer the trace
   * keeps for this (one per phase, grown like the trace: a consumer reading every batch's
   * `values` causes one allocation per phase, not one per batch, which kept the main
   * thread's garbage collector busy).
   */
  drawMajor(from: number, count: number): Float64Array {
    const w = this.width;
    let out = this.drawMajorValues;
    if (out === null || out.length < (from + count) * w) {
      // Earlier batches keep their views of the old buffer; it need not be copied.
      out = new Float64Array(w * Math.max(this.capacity, from + count));
      this.drawMajorValues = out;
    }
    const src = this.values;
    const cap = this.capacity;
    for (let k = 0; k < w; k++) {
      const base = k * cap;
      for (let i = from; i < from + count; i++) out[i * w + k] = src[base + i]!;
    }
    return out.subarray(from * w, (from + count) * w);
  }

  /** Draws `[from, from + count)` of the trace as a batch (views, no copies). */
  view(chain: number, start: number, from: number, count: number, warmup: boolean): BatchData {
    const s = this.stats;
    const to = from + count;
    return {
      chain,
      start,
      count,
      warmup,
      placeholder: count > 0 && this.placeholder[from] === 1,
      values: this.values,
      stride: this.capacity,
      offset: from,
      drawMajor: () => this.drawMajor(from, count),
      lp: s.lp.subarray(from, to),
      stepSize: s.stepSize.subarray(from, to),
      treeDepth: s.treeDepth.subarray(from, to),
      nLeapfrog: s.nLeapfrog.subarray(from, to),
      divergent: s.divergent.subarray(from, to),
      energy: s.energy.subarray(from, to),
      acceptStat: s.acceptStat.subarray(from, to),
    };
  }

  /** Draws `[0, n)` of quantity k (a view). */
  quantity(k: number, n = this.length): Float64Array {
    return this.values.subarray(k * this.capacity, k * this.capacity + n);
  }

  /** Draws `[from, to)` of quantity k (a view). */
  range(k: number, from: number, to: number): Float64Array {
    return this.values.subarray(k * this.capacity + from, k * this.capacity + to);
  }

  /**
   * The first n draws in exactly-sized arrays (values quantity-major with stride n): the
   * store's own arrays when they are exactly that (the usual case: preallocated and full),
   * copies otherwise (padded with placeholders beyond `length`).
   */
  snapshot(n: number): { values: Float64Array; stats: SamplerStatsArrays; placeholder: Uint8Array } {
    if (n === this.length && n === this.capacity) return { values: this.values, stats: this.stats, placeholder: this.placeholder };
    const m = Math.min(n, this.length);
    const values = new Float64Array(this.width * n).fill(NaN);
    for (let k = 0; k < this.width; k++) values.set(this.quantity(k, m), k * n);
    const stats = allocateStats(n, false);
    for (const key of STAT_KEYS) {
      (stats[key] as Float64Array).set(this.stats[key].subarray(0, m) as Float64Array);
    }
    const placeholder = new Uint8Array(n);
    placeholder.set(this.placeholder.subarray(0, m));
    if (m < n) {
      // Padding: placeholders (NaN, flagged divergent).
      for (const key of ["lp", "stepSize", "energy", "acceptStat"] as const) stats[key].fill(NaN, m);
      stats.divergent.fill(1, m);
      placeholder.fill(1, m);
    }
    return { values, stats, placeholder };
  }

  stat<K extends SamplerStatName>(key: K): SamplerStatsArrays[K] {
    return this.stats[key].subarray(0, this.length) as SamplerStatsArrays[K];
  }
}

export class ChainTrace {
  readonly warmup: PhaseTrace;
  readonly sampling: PhaseTrace;
  /** Capacities: what the run plans (it grows by doubling beyond, e.g. warmup extension). */
  constructor(width: number, warmupCapacity: number, drawsCapacity: number) {
    this.warmup = new PhaseTrace(width, warmupCapacity);
    this.sampling = new PhaseTrace(width, drawsCapacity);
  }
}

export class TraceStore {
  readonly chains: ChainTrace[];
  constructor(
    readonly names: readonly string[],
    numChains: number,
    warmupCapacity: number,
    drawsCapacity: number,
  ) {
    this.chains = Array.from({ length: numChains }, () => new ChainTrace(names.length, warmupCapacity, drawsCapacity));
  }
}

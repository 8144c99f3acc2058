/**
 * The run's trace store: per chain and phase, every committed draw in typed arrays that
 * grow by doubling. Values are quantity-major (`values[k * capacity + i]`), so one
 * quantity's draws of one chain are a contiguous run: online diagnostics read views, and
 * the final `Posterior` needs no transposition.
 */
import { STAT_KEYS, type BatchData, type StatKey } from "./protocol.js";

type StatArrays = {
  lp: Float64Array;
  stepSize: Float64Array;
  treeDepth: Int32Array;
  nLeapfrog: Int32Array;
  divergent: Uint8Array;
  energy: Float64Array;
  acceptStat: Float64Array;
};

function allocStats(n: number): StatArrays {
  return {
    lp: new Float64Array(n),
    stepSize: new Float64Array(n),
    treeDepth: new Int32Array(n),
    nLeapfrog: new Int32Array(n),
    divergent: new Uint8Array(n),
    energy: new Float64Array(n),
    acceptStat: new Float64Array(n),
  };
}

/** The draws of one chain in one phase. */
export class PhaseTrace {
  length = 0;
  capacity: number;
  values: Float64Array;
  stats: StatArrays;
  /** 1 where the draw is a placeholder. */
  placeholder: Uint8Array;
  /** Worker compute seconds spent on this phase. */
  seconds = 0;

  constructor(
    readonly width: number,
    initialCapacity: number,
  ) {
    this.capacity = Math.max(1, initialCapacity);
    this.values = new Float64Array(width * this.capacity);
    this.stats = allocStats(this.capacity);
    this.placeholder = new Uint8Array(this.capacity);
  }

  private grow(need: number): void {
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    const values = new Float64Array(this.width * cap);
    for (let k = 0; k < this.width; k++) {
      values.set(this.values.subarray(k * this.capacity, k * this.capacity + this.length), k * cap);
    }
    const stats = allocStats(cap);
    for (const key of STAT_KEYS) (stats[key] as Float64Array).set(this.stats[key].subarray(0, this.length) as Float64Array);
    const placeholder = new Uint8Array(cap);
    placeholder.set(this.placeholder.subarray(0, this.length));
    this.values = values;
    this.stats = stats;
    this.placeholder = placeholder;
    this.capacity = cap;
  }

  append(b: BatchData): void {
    const n = b.count;
    if (this.length + n > this.capacity) this.grow(this.length + n);
    const w = this.width;
    const cap = this.capacity;
    const at = this.length;
    const src = b.values;
    for (let k = 0; k < w; k++) {
      const base = k * cap + at;
      for (let i = 0; i < n; i++) this.values[base + i] = src[i * w + k]!;
    }
    for (const key of STAT_KEYS) (this.stats[key] as Float64Array).set(b[key] as Float64Array, at);
    if (b.placeholder) this.placeholder.fill(1, at, at + n);
    this.length += n;
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
  snapshot(n: number): { values: Float64Array; stats: StatArrays; placeholder: Uint8Array } {
    if (n === this.length && n === this.capacity) return { values: this.values, stats: this.stats, placeholder: this.placeholder };
    const m = Math.min(n, this.length);
    const values = new Float64Array(this.width * n).fill(NaN);
    for (let k = 0; k < this.width; k++) values.set(this.quantity(k, m), k * n);
    const stats = allocStats(n);
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

  stat<K extends StatKey>(key: K): StatArrays[K] {
    return this.stats[key].subarray(0, this.length) as StatArrays[K];
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
  append(b: BatchData): void {
    (b.warmup ? this.warmup : this.sampling).append(b);
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

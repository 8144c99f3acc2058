/**
 * What the run's streams carry: `DrawBatch` (the unit of transport and of flow control:
 * typed arrays straight from the worker) and `Draw` (one draw, made on demand from a batch).
 */
import type { SamplerStatsArrays } from "../src/inference/stats.js";
import type { BatchData } from "./trace-store.js";

export type Phase = "warmup" | "sampling";

/** Per-draw sampler statistics (Stan's sampler params). */
export interface DrawStats {
  readonly lp: number;
  readonly stepSize: number;
  readonly treeDepth: number;
  readonly nLeapfrog: number;
  readonly divergent: boolean;
  readonly energy: number;
  readonly acceptStat: number;
}

export interface Draw {
  readonly chain: number;
  /** 0-based over warmup and sampling. */
  readonly iteration: number;
  readonly phase: Phase;
  /** Constrained values (parameters, then deterministics) by name: `values["theta[1]"]`. */
  readonly values: Readonly<Record<string, number>>;
  readonly stats: DrawStats;
  /** True for a placeholder draw of a chain that could not be restarted (NaN values). */
  readonly placeholder: boolean;
}

/**
 * Consecutive draws of one chain in one phase. `values` is draw-major:
 * `values[i * names.length + k]` is quantity `names[k]` at draw i (iteration `start + i`).
 *
 * A batch is a view of the run's trace (the arrays the workers wrote, DECISIONS.md D21):
 * the statistics arrays are views (do not modify them), `value(i, k)` and `draw(i)` read the
 * trace directly, and `values` is made (a draw-major copy, into a buffer the trace keeps)
 * when first read.
 */
export class DrawBatch implements SamplerStatsArrays {
  readonly chain: number;
  readonly start: number;
  readonly count: number;
  readonly phase: Phase;
  readonly placeholder: boolean;
  readonly lp: Float64Array;
  readonly stepSize: Float64Array;
  readonly treeDepth: Int32Array;
  readonly nLeapfrog: Int32Array;
  readonly divergent: Uint8Array;
  readonly energy: Float64Array;
  readonly acceptStat: Float64Array;
  /** The trace's values, quantity-major: quantity k of draw i at `trace[k * stride + offset + i]`. */
  private readonly trace: Float64Array;
  private readonly stride: number;
  private readonly offset: number;
  private drawMajor: Float64Array | undefined = undefined;
  private readonly makeDrawMajor: () => Float64Array;
  private recordClass: ValuesClass | undefined = undefined;
  private acked = false;

  constructor(
    data: BatchData,
    readonly names: readonly string[],
    private readonly onAck: () => void,
  ) {
    this.chain = data.chain;
    this.start = data.start;
    this.count = data.count;
    this.phase = data.warmup ? "warmup" : "sampling";
    this.placeholder = data.placeholder;
    this.trace = data.values;
    this.stride = data.stride;
    this.offset = data.offset;
    this.makeDrawMajor = data.drawMajor;
    this.lp = data.lp;
    this.stepSize = data.stepSize;
    this.treeDepth = data.treeDepth;
    this.nLeapfrog = data.nLeapfrog;
    this.divergent = data.divergent;
    this.energy = data.energy;
    this.acceptStat = data.acceptStat;
  }

  /** Constrained values, draw-major (`values[i * names.length + k]`); made when first read. */
  get values(): Float64Array {
    return (this.drawMajor ??= this.makeDrawMajor());
  }

  /** Iteration after the last draw of the batch. */
  get end(): number {
    return this.start + this.count;
  }

  /**
   * Marks the batch as consumed (manual flow control; idempotent). With the default
   * automatic acknowledgement the run does this once every subscriber's `next` returned.
   */
  ack(): void {
    if (this.acked) return;
    this.acked = true;
    this.onAck();
  }

  get isAcked(): boolean {
    return this.acked;
  }

  /**
   * Quantity `k`'s draws in this batch, `count` long: a view of the trace, no copy (the
   * cheapest way to read a batch; do not modify it).
   */
  quantity(k: number): Float64Array {
    const from = k * this.stride + this.offset;
    return this.trace.subarray(from, from + this.count);
  }

  /** Value of quantity `k` (index into `names`) at draw i of the batch. */
  value(i: number, k: number): number {
    return this.trace[k * this.stride + this.offset + i]!;
  }

  /** Draw i of the batch (its `values` and `stats` objects are made when first read). */
  draw(i: number): Draw {
    return new BatchDraw(this, i);
  }

  /** @internal A `{ [name]: value }` record of draw i (one hidden class per list of names). */
  valuesOf(i: number): Record<string, number> {
    const C = (this.recordClass ??= valuesClass(this.names));
    return new C(this.trace, this.offset + i, this.stride);
  }

  *[Symbol.iterator](): IterableIterator<Draw> {
    for (let i = 0; i < this.count; i++) yield this.draw(i);
  }
}

type ValuesClass = new (values: Float64Array, offset: number, stride: number) => Record<string, number>;
const valuesClasses = new WeakMap<readonly string[], ValuesClass>();

/**
 * A constructor of `{ [name]: value }` records with the names as fixed properties, made once
 * per list of names: every record then has one hidden class, so making one per draw is a
 * handful of stores rather than a dictionary build. Quantity k is read at `v[o + k * s]`.
 */
function valuesClass(names: readonly string[]): ValuesClass {
  let C = valuesClasses.get(names);
  if (C === undefined) {
    const body = names.map((n, k) => `this[${JSON.stringify(n)}] = v[o + ${k} * s];`).join("\n");
    C = new Function("v", "o", "s", body) as unknown as ValuesClass;
    valuesClasses.set(names, C);
  }
  return C;
}

/**
 * A draw as a view on its batch: creating one stores two fields; everything else is read
 * from the batch on demand (`values` and `stats` are made when first read).
 */
class BatchDraw implements Draw {
  private valuesCache: Record<string, number> | undefined = undefined;
  private statsCache: DrawStats | undefined = undefined;

  constructor(
    private readonly batch: DrawBatch,
    private readonly index: number,
  ) {}

  get chain(): number {
    return this.batch.chain;
  }

  get iteration(): number {
    return this.batch.start + this.index;
  }

  get phase(): Phase {
    return this.batch.phase;
  }

  get placeholder(): boolean {
    return this.batch.placeholder;
  }

  get values(): Readonly<Record<string, number>> {
    if (this.valuesCache === undefined) this.valuesCache = this.batch.valuesOf(this.index);
    return this.valuesCache;
  }

  get stats(): DrawStats {
    if (this.statsCache === undefined) {
      const b = this.batch;
      const i = this.index;
      this.statsCache = {
        lp: b.lp[i]!,
        stepSize: b.stepSize[i]!,
        treeDepth: b.treeDepth[i]!,
        nLeapfrog: b.nLeapfrog[i]!,
        divergent: b.divergent[i] === 1,
        energy: b.energy[i]!,
        acceptStat: b.acceptStat[i]!,
      };
    }
    return this.statsCache;
  }

  toJSON(): object {
    return { chain: this.chain, iteration: this.iteration, phase: this.phase, values: this.values, stats: this.stats, placeholder: this.placeholder };
  }
}

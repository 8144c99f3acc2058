/**
 * What the run's streams carry: `DrawBatch` (the unit of transport and of flow control:
 * typed arrays straight from the worker) and `Draw` (one draw, made on demand from a batch).
 */
import type { BatchData } from "./protocol.js";

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
 */
export class DrawBatch {
  readonly chain: number;
  readonly start: number;
  readonly count: number;
  readonly phase: Phase;
  readonly placeholder: boolean;
  readonly values: Float64Array;
  readonly lp: Float64Array;
  readonly stepSize: Float64Array;
  readonly treeDepth: Int32Array;
  readonly nLeapfrog: Int32Array;
  readonly divergent: Uint8Array;
  readonly energy: Float64Array;
  readonly acceptStat: Float64Array;
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
    this.values = data.values;
    this.lp = data.lp;
    this.stepSize = data.stepSize;
    this.treeDepth = data.treeDepth;
    this.nLeapfrog = data.nLeapfrog;
    this.divergent = data.divergent;
    this.energy = data.energy;
    this.acceptStat = data.acceptStat;
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

  /** Value of quantity `k` (index into `names`) at draw i of the batch. */
  value(i: number, k: number): number {
    return this.values[i * this.names.length + k]!;
  }

  /** Draw i of the batch (its `values` and `stats` objects are made when first read). */
  draw(i: number): Draw {
    return new BatchDraw(this, i);
  }

  *[Symbol.iterator](): IterableIterator<Draw> {
    for (let i = 0; i < this.count; i++) yield this.draw(i);
  }
}

type ValuesClass = new (values: Float64Array, offset: number) => Record<string, number>;
const valuesClasses = new WeakMap<readonly string[], ValuesClass>();

/**
 * A constructor of `{ [name]: value }` records with the names as fixed properties, made once
 * per list of names: every record then has one hidden class, so making one per draw is a
 * handful of stores rather than a dictionary build.
 */
function valuesClass(names: readonly string[]): ValuesClass {
  let C = valuesClasses.get(names);
  if (C === undefined) {
    const body = names.map((n, k) => `this[${JSON.stringify(n)}] = v[o + ${k}];`).join("\n");
    C = new Function("v", "o", body) as unknown as ValuesClass;
    valuesClasses.set(names, C);
  }
  return C;
}

/** A draw as a view on its batch: creating one costs a few fields; names are resolved on demand. */
class BatchDraw implements Draw {
  readonly chain: number;
  readonly iteration: number;
  readonly phase: Phase;
  readonly placeholder: boolean;
  private valuesCache: Record<string, number> | undefined;
  private statsCache: DrawStats | undefined;

  constructor(
    private readonly batch: DrawBatch,
    private readonly index: number,
  ) {
    this.chain = batch.chain;
    this.iteration = batch.start + index;
    this.phase = batch.phase;
    this.placeholder = batch.placeholder;
  }

  get values(): Readonly<Record<string, number>> {
    if (this.valuesCache === undefined) {
      const names = this.batch.names;
      this.valuesCache = new (valuesClass(names))(this.batch.values, this.index * names.length);
    }
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

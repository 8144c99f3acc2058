/**
 * The typed message protocol between the main thread (chain actors) and the worker threads
 * of the piscina pool. Everything here is structured-clone friendly plain data.
 *
 * One kind of task: a chunk. (model id, checkpoint, optional metric to set first,
 * iterations, settings) -> (next checkpoint, one batch of draws). A chunk whose checkpoint
 * is null first initialises the chain (inits, Stan's step size search) from `init`.
 */
import type { CompiledModel } from "../src/compile/compile.js";
import type { ModuleModelSpec } from "../src/compile/module-model.js";
import type { ChainState, Metric, SamplerSettings } from "../src/inference/index.js";

/** How a worker gets a model: compiled source (constants in SharedArrayBuffers) or a module path. */
export type ModelSpec =
  | { readonly kind: "compiled"; readonly compiled: CompiledModel }
  | { readonly kind: "module"; readonly spec: ModuleModelSpec };

/** `workerData` of a run's pool: the models its tasks refer to, by id. */
export interface WorkerData {
  readonly models: Readonly<Record<string, ModelSpec>>;
}

/** How a chain that has no checkpoint yet starts. */
export interface InitRequest {
  readonly seed: number;
  /** User inits, already mapped to the unconstrained space on the main thread. */
  readonly position: Float64Array | null;
  readonly initRadius: number | null;
}

/**
 * Test-only fault injection, applied by the worker to one chain's chunks: after the draw of
 * iteration `atIteration`, on attempts `0 .. attempts - 1` of the chunk that contains it
 * (`attempts: Infinity` fails every attempt).
 * - `throw`: the chunk throws (as model code that throws would);
 * - `exit`: `process.exit(3)` in the worker thread;
 * - `hang`: an endless loop (only the watchdog ends it);
 * - `oom`: allocates until the worker's heap limit (`resourceLimits`) kills the thread.
 */
export interface FaultSpec {
  readonly chain: number;
  readonly atIteration: number;
  readonly kind: "throw" | "exit" | "hang" | "oom";
  readonly attempts: number;
}

export interface ChunkTask {
  readonly modelId: string;
  readonly chain: number;
  /** 0 for the first try of this chunk, then 1, 2, ... for restarts from the same checkpoint. */
  readonly attempt: number;
  /** The checkpoint to continue from; null to initialise the chain first. */
  readonly state: ChainState | null;
  readonly init: InitRequest | null;
  /** A metric to set before running (the chain is at a window end). */
  readonly metric: Metric | null;
  /** Iterations to run (the kernel stops earlier at a slow-window end). */
  readonly iterations: number;
  readonly settings: SamplerSettings;
  readonly faults: readonly FaultSpec[];
}

/** Draws of one chain in one phase, draw-major: `values[i * names.length + k]`. */
export interface BatchData {
  readonly chain: number;
  /** Iteration (0-based over warmup and sampling) of the first draw. */
  readonly start: number;
  readonly count: number;
  readonly warmup: boolean;
  readonly values: Float64Array;
  readonly lp: Float64Array;
  readonly stepSize: Float64Array;
  readonly treeDepth: Int32Array;
  readonly nLeapfrog: Int32Array;
  readonly divergent: Uint8Array;
  readonly energy: Float64Array;
  readonly acceptStat: Float64Array;
  /** True for placeholder draws of a chain that could not be restarted (NaN values). */
  readonly placeholder: boolean;
}

export interface ChunkResult {
  readonly state: ChainState;
  readonly batch: BatchData;
  /** Worker-side compute seconds (init, metric step-size search and iterations). */
  readonly seconds: number;
}

export const STAT_KEYS = ["lp", "stepSize", "treeDepth", "nLeapfrog", "divergent", "energy", "acceptStat"] as const;
export type StatKey = (typeof STAT_KEYS)[number];

type NumericArray = Float64Array | Int32Array | Uint8Array;

function numeric<T extends NumericArray>(Ctor: { new (b: ArrayBufferLike): T; readonly BYTES_PER_ELEMENT: number }, n: number, shared: boolean): T {
  return new Ctor(shared ? new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT) : new ArrayBuffer(n * Ctor.BYTES_PER_ELEMENT));
}

/**
 * A batch of `count` draws. Workers make it `shared` (SharedArrayBuffers): it then crosses
 * to the main thread without a copy and without a transfer. A transfer would detach the
 * worker's buffers, and in V8 one detached buffer invalidates a process-wide (per isolate)
 * protector, after which every typed-array access in the worker's optimised code carries an
 * extra check: the generated log density ran 20% slower (DECISIONS.md D13).
 */
export function allocateBatch(chain: number, start: number, count: number, warmup: boolean, width: number, placeholder = false, shared = false): BatchData {
  return {
    chain,
    start,
    count,
    warmup,
    values: numeric(Float64Array, count * width, shared),
    lp: numeric(Float64Array, count, shared),
    stepSize: numeric(Float64Array, count, shared),
    treeDepth: numeric(Int32Array, count, shared),
    nLeapfrog: numeric(Int32Array, count, shared),
    divergent: numeric(Uint8Array, count, shared),
    energy: numeric(Float64Array, count, shared),
    acceptStat: numeric(Float64Array, count, shared),
    placeholder,
  };
}

/** A batch of `count` placeholder draws: NaN values and statistics, flagged divergent. */
export function placeholderBatch(chain: number, start: number, count: number, warmup: boolean, width: number): BatchData {
  const b = allocateBatch(chain, start, count, warmup, width, true);
  b.values.fill(NaN);
  for (const k of ["lp", "stepSize", "energy", "acceptStat"] as const) b[k].fill(NaN);
  b.divergent.fill(1);
  return b;
}

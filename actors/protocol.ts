/**
 * The typed message protocol between the main thread (chain actors) and the worker threads
 * of the piscina pool. Everything here is structured-clone friendly plain data.
 *
 * One kind of task: a chunk. (model, checkpoint, optional metric to set first,
 * iterations, settings, where to write the draws) -> (next checkpoint, how many draws it
 * wrote). The draws go straight into the chain's trace arrays (SharedArrayBuffers: see
 * `DrawTarget`). A chunk whose checkpoint is null first initialises the chain (inits,
 * Stan's step size search) from `init`.
 */
import type { CompiledModel } from "../src/compile/compile.js";
import type { ModuleModelSpec } from "../src/compile/module-model.js";
import type { ChainState, Metric, SamplerSettings, SamplerStatsArrays } from "../src/inference/index.js";

/** How a worker gets a model: compiled source (constants in SharedArrayBuffers) or a module path. */
export type ModelSpec =
  | { readonly kind: "compiled"; readonly compiled: CompiledModel }
  | { readonly kind: "module"; readonly spec: ModuleModelSpec };


/** How a chain that has no checkpoint yet starts. */
export interface InitRequest {
  readonly seed: number;
  /** User inits, already mapped to the unconstrained space on the main thread. */
  readonly position: Float64Array | null;
  readonly initRadius: number | null;
  /** Initial inverse metric (e.g. Pathfinder's estimate, `init: "pathfinder"`), or null for the identity. */
  readonly metric?: Metric | null;
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

/**
 * Where a chunk writes its draws: the chain's trace arrays for the phase the chunk runs in,
 * SharedArrayBuffers the main thread allocated (`actors/trace-store.ts`). The worker
 * writes draw j of the phase at index j (`offset` is the chunk's first), values
 * quantity-major: quantity k of draw j at `values[k * capacity + j]`, the layout of the
 * final posterior, so the main thread neither copies nor transposes anything per draw
 * (DECISIONS.md D21). A structured clone of a view on a SharedArrayBuffer shares its
 * memory, so the task carries these arrays at no cost.
 */
export interface DrawTarget extends SamplerStatsArrays {
  readonly values: Float64Array;
  readonly capacity: number;
  /** Index within the phase of the chunk's first draw (the phase's committed length). */
  readonly offset: number;
}

export interface ChunkTask {
  /**
   * Names the model process-wide (one id per compiled model or module spec): a worker
   * instantiates `model` the first time it meets the id and keeps the instance, across
   * runs when the pool is shared. Every task carries the spec (a few kilobytes of source
   * cloned, the data shared): whichever thread runs it, a fresh one too, can build it.
   */
  readonly modelId: string;
  readonly model: ModelSpec;
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
  /** Where the draws go (room for `iterations` draws from `offset`). */
  readonly target: DrawTarget;
  readonly settings: SamplerSettings;
  readonly faults: readonly FaultSpec[];
  /**
   * Set by the pool: a shared cell the worker fills in, `[Date.now() when the chunk starts,
   * the thread's id, Date.now() when it ends]` (0 until then). The watchdog counts from the
   * start; a chunk that fails with its start still 0 never ran, and one that fails with its
   * end set had its result lost: either way its thread died under another chunk.
   */
  readonly started?: Float64Array;
}

export interface ChunkResult {
  readonly state: ChainState;
  /** Iteration (0-based over warmup and sampling) of the chunk's first draw. */
  readonly start: number;
  /** Draws written into the target (a chunk holds one phase: it never crosses the end of warmup). */
  readonly count: number;
  readonly warmup: boolean;
  /** Divergent transitions among the chunk's draws. */
  readonly divergences: number;
  /** Worker-side compute seconds (init, metric step-size search and iterations). */
  readonly seconds: number;
}

/**
 * The typed message protocol between the main thread (chain actors) and the worker threads
 * of the piscina pool. Everything here is structured-clone friendly plain data.
 *
 * Two kinds of task. A load task (`LoadTask`) imports a module model in a worker, under the
 * watchdog, and describes it to the main thread (names, dimension, user inits mapped to the
 * unconstrained space): a module model's code never runs on the main thread of `sample`.
 * A chunk: (model, checkpoint, optional metric to set first,
 * iterations, settings, where to write the draws) -> (next checkpoint, how many draws it
 * wrote). The draws go straight into the chain's trace arrays (SharedArrayBuffers: see
 * `DrawTarget`). A chunk whose checkpoint is null first initialises the chain (inits,
 * Stan's step size search) from `init`. Pathfinder, ADVI and SMC add their own task kinds
 * (approx-protocol.ts).
 */
import type { ApproxTask } from "./approx-protocol.js";
import type { ModelSpec } from "./model-spec.js";
import type { ChainState, ConstrainedInit, LocalSwitch, Metric, SamplerSettings, SamplerStatsArrays, WindowUpdate } from "../src/inference/index.js";
import type { OdeFailureCounts } from "../src/ode/index.js";

export type { ModelSpec } from "./model-spec.js";

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
 * Test-only fault injection, applied by the worker to one chain's chunks: at iteration
 * `atIteration`, once its transition is made and before its draw is recorded (the draws
 * before it are complete), on attempts `0 .. attempts - 1` of the chunk that contains it
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
  /**
   * Index within the phase of the arrays' first draw: 0 (absent) for the trace store; a
   * cluster runner's scratch target holds one chunk's draws and starts at its first
   * (`actors/chain-entity.ts`).
   */
  readonly base?: number;
}

/**
 * The shared cell through which a worker tells the main thread how a task is going
 * (`Float64Array` on a SharedArrayBuffer, made by the scheduler for each post):
 * `[STARTED]` Date.now() when the task started running (0 until then; a chunk marks it before
 * loading its model, so a load that never ends is under the watchdog too), `[THREAD]` the
 * thread's id, `[ENDED]` Date.now() when it ended. For a chunk, `[WRITTEN]` the draws written
 * into its target so far and `[GRADIENTS]` the chain's gradient evaluations when its first
 * iteration began (after the init or a step-size search at a window end): what a chunk that
 * then failed for good had completed, kept with its chain (`ChunkProgress`).
 */
export const TASK_CELL = { STARTED: 0, THREAD: 1, ENDED: 2, WRITTEN: 3, GRADIENTS: 4, LENGTH: 5 } as const;

/** What a failed chunk had completed: draws written into its target, and gradient evaluations of the chain before them. */
export interface ChunkProgress {
  readonly written: number;
  readonly gradients: number;
}

export interface ChunkTask {
  readonly kind: "chunk";
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
  /** The window update to apply before running (the chain is at a window end): a metric, or nutpie's switch. */
  readonly metric: WindowUpdate | null;
  /** Iterations to run (the kernel stops earlier at a slow-window end). */
  readonly iterations: number;
  /**
   * The worker may go on past `iterations`, up to `upTo` iterations in all, while the chunk
   * has taken less than `seconds`: a chain's first chunk, whose `iterations` (the sizing's
   * `initial`) assume nothing of the model's speed, so that a fast model reaches its first
   * window end in one chunk instead of two (D240). Absent: exactly `iterations`.
   */
  readonly extend?: { readonly upTo: number; readonly seconds: number };
  /** Where the draws go (room for `extend.upTo`, else `iterations`, draws from `offset`). */
  readonly target: DrawTarget;
  readonly settings: SamplerSettings;
  readonly faults: readonly FaultSpec[];
  /** Return the windows of the switches the chain makes on its own in this chunk (`ChunkResult.switches`); absent: false. */
  readonly reportSwitches?: boolean;
  /**
   * Set by the pool: the task's shared cell (`TASK_CELL`). The watchdog counts from the
   * start; a chunk that fails with its start still 0 never ran, and one that fails with its
   * end set had its result lost: either way its thread died under another chunk.
   */
  readonly started?: Float64Array;
}

/** The most iterations `task` may run (`extend.upTo`, else `iterations`). */
export function mostIterations(task: ChunkTask): number {
  return task.extend?.upTo ?? task.iterations;
}

/** Loads a module model in a worker and describes it (`ModelDescription`). */
export interface LoadTask {
  readonly kind: "load";
  readonly modelId: string;
  readonly model: ModelSpec;
  /** User inits (constrained values by name), one per chain; null: random inits. */
  readonly inits: readonly (ConstrainedInit | null)[];
  /** Where each init came from, for messages (`inits`, `inits[2]`). */
  readonly initOptions: readonly string[];
  readonly started?: Float64Array;
}

/** Every task a worker runs: chunks, module loads, and the approximations' tasks (approx-protocol.ts). */
export type WorkerTask = ChunkTask | LoadTask | ApproxTask;

/** What the main thread needs to know of a module model (it never runs the model's code itself). */
export interface ModelDescription {
  readonly dim: number;
  readonly names: readonly string[];
  readonly unconstrainedNames: readonly string[];
  readonly paramCount: number;
  /** The user inits mapped to the unconstrained space (null: random inits). */
  readonly inits: readonly (Float64Array | null)[];
  /** A user init that could not be mapped: the option it came from and why. */
  readonly badInit: { readonly option: string; readonly message: string } | null;
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
  /** The worker thread's CPU seconds over the same span (NaN where not measurable). */
  readonly cpuSeconds: number;
  /**
   * Seconds the chunk spent on the wire and in storage: a cluster's round trip less the time
   * on its runner (absent for a local thread). The chain sizes its chunks so that this stays
   * a small share of each chunk's time.
   */
  readonly transportSeconds?: number;
  /** The switches the chain made on its own, in order (only when the task asked: `reportSwitches`). */
  readonly switches?: readonly LocalSwitch[];
  /** ODE solves that failed in the chunk (each rejected a proposal), by reason; absent when none did. */
  readonly odeFailures?: OdeFailureCounts;
}

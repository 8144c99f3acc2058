/**
 * Task kinds of Pathfinder, ADVI and SMC on the worker pool, beside NUTS's chunk task
 * (protocol.ts). Like a chunk, each task carries a checkpoint (or how to make the first one),
 * runs a bounded amount of work on a worker thread and returns the next checkpoint: a failed
 * task is re-run from the same checkpoint with the same result. Plain, structured-clone
 * friendly data; SMC particles travel as SharedArrayBuffer views (no copies).
 *
 * `chain` names the actor the task belongs to (a path, the ADVI run, a particle group) for
 * the scheduler's bookkeeping and messages; `attempt` counts restarts as for chunks.
 */
import type { AdviResult, AdviSettings, AdviStart, AdviState, EtaTrial } from "../src/inference/advi.js";
import type { DenseMetric, DiagMetric } from "../src/inference/metric.js";
import type { PathfinderSettings, PathfinderState, PathResult } from "../src/inference/pathfinder.js";
import type { NormalProposal, SmcKernelKind } from "../src/inference/smc.js";
import type { SimulatorSpec } from "../src/compile/simulator.js";
import type { RngState } from "../src/rng/index.js";
import type { ModelSpec } from "./model-spec.js";

interface TaskBase {
  readonly modelId: string;
  readonly model: ModelSpec;
  readonly chain: number;
  readonly attempt: number;
  /** The scheduler's watchdog cell (see ChunkTask.started). */
  readonly started?: Float64Array;
}

/** How a path or an ADVI run without a checkpoint starts. */
export interface ApproxInit {
  readonly seed: number;
  /** RNG stream of `seed`. */
  readonly stream: number;
  /** A given initial point (unconstrained), or null for Stan's random inits. */
  readonly position: Float64Array | null;
}

export interface PathfinderTask extends TaskBase {
  readonly kind: "pathfinder";
  readonly path: number;
  readonly state: PathfinderState | null;
  readonly init: ApproxInit;
  readonly settings: PathfinderSettings;
  /** L-BFGS iterations in this task at most. */
  readonly iterations: number;
}

export interface PathfinderTaskResult {
  readonly kind: "pathfinder";
  /** The next checkpoint (null only when the path could not even start: no initial point). */
  readonly state: PathfinderState | null;
  /** The path's draws once it is done (null before). */
  readonly result: PathResult | null;
  /** Those draws in constrained space, the model's reported quantities (count x names, draw-major). */
  readonly constrained: Float64Array | null;
  /** The path failed for a reason a retry would meet again (no usable approximation). */
  readonly error: string | null;
  readonly seconds: number;
}

/**
 * What an ADVI task does: find the initial point and its ELBO; run one trial of the eta
 * search (from the initial point, its own RNG stream); or continue the optimisation.
 */
export type AdviStage =
  | { readonly kind: "start"; readonly init: ApproxInit }
  | { readonly kind: "trial"; readonly init: Float64Array; readonly eta: number; readonly seed: number; readonly stream: number }
  | { readonly kind: "optimise"; readonly state: AdviState; readonly steps: number };

export interface AdviTask extends TaskBase {
  readonly kind: "advi";
  readonly stage: AdviStage;
  readonly settings: AdviSettings;
}

export interface AdviTaskResult {
  readonly kind: "advi";
  readonly start: AdviStart | null;
  readonly trial: EtaTrial | null;
  /** The optimisation's next checkpoint. */
  readonly state: AdviState | null;
  /** The output draws once converged (null before). */
  readonly result: AdviResult | null;
  /** Those draws in constrained space (count x names, draw-major). */
  readonly constrained: Float64Array | null;
  /** ADVI failed as Stan's does (no ELBO at the start, every eta failing, a non-finite gradient): a retry would too. */
  readonly error: string | null;
  readonly seconds: number;
}

/** A run's particles in shared memory: positions (n x d, draw-major), full and likelihood log densities. */
export interface SharedPopulation {
  readonly positions: Float64Array;
  readonly lp: Float64Array;
  readonly ll: Float64Array;
}

export interface SmcMutation {
  readonly kernel: SmcKernelKind;
  readonly beta: number;
  readonly steps: number;
  readonly proposal: NormalProposal;
  /** NUTS moves: metric and step size. */
  readonly metric: DiagMetric | DenseMetric | null;
  readonly stepSize: number;
  readonly maxTreeDepth: number;
}

export interface SmcTask extends TaskBase {
  readonly kind: "smc";
  /** The likelihood part of the model (observed nodes and potentials). */
  readonly likelihoodId: string;
  readonly likelihood: ModelSpec;
  /** The particles of this group: indices [start, end) of `input`, written to the same indices of `output`. */
  readonly start: number;
  readonly end: number;
  readonly input: SharedPopulation;
  readonly output: SharedPopulation;
  /** null: only evaluate lp and ll of the input (the initial prior draws). */
  readonly mutation: SmcMutation | null;
  /** After the mutation, write the particles' reported quantities here (n x names, draw-major; the last stage). */
  readonly constrained: Float64Array | null;
  readonly rng: RngState;
}

export interface SmcTaskResult {
  readonly kind: "smc";
  readonly rng: RngState;
  readonly accepted: number;
  readonly proposed: number;
  readonly gradientEvaluations: number;
  readonly densityEvaluations: number;
  readonly seconds: number;
}

/** How a simulation of an ABC round ended (`AbcRound.status`). */
export const SIMULATION = {
  /** Not run (yet). */
  PENDING: 0,
  OK: 1,
  /** The simulator threw, or its result was not a finite summary of the right length. */
  FAILED: 2,
  /** Its thread died under it (the simulator exited the thread, or ran out of memory). */
  CRASHED: 3,
  /** It ran past the simulation timeout (its thread was terminated). */
  TIMED_OUT: 4,
} as const;

/** An ABC task's `TASK_CELL.WRITTEN` while its thread loads the model and simulator, before its first simulation. */
export const ABC_LOADING = -1;

/** One round of ABC simulations in shared memory: the main thread writes the proposals, workers the rest. */
export interface AbcRound {
  /** Proposals on the prior's unconstrained scale (count x dim, draw-major). */
  readonly proposals: Float64Array;
  /** Their summaries (count x summaryLength, draw-major). */
  readonly summaries: Float64Array;
  /** `SIMULATION` code of each. */
  readonly status: Int8Array;
}

/**
 * Simulations `start .. end - 1` of a round. Simulation i of the round is simulation
 * `firstIndex + i` of its generation, and its generator is seeded by (seed, generation, that
 * index): results depend on neither the thread nor the batch. The worker restarts the
 * watchdog's clock before each simulation (so `chunkTimeout` bounds one simulation) and
 * counts finished ones in the task cell, so that when a simulation takes its thread down the
 * main thread knows which one it was.
 */
export interface AbcTask extends TaskBase {
  readonly kind: "abc";
  readonly simulator: SimulatorSpec;
  /** The prior's parameters (name, size, shape) in the order of its constrained values. */
  readonly params: readonly { readonly name: string; readonly size: number; readonly scalar: boolean }[];
  readonly round: AbcRound;
  readonly summaryLength: number;
  readonly start: number;
  readonly end: number;
  readonly seed: number;
  readonly generation: number;
  readonly firstIndex: number;
}

export interface AbcTaskResult {
  readonly kind: "abc";
  /** The first few messages of simulations that failed (threw or gave a bad result). */
  readonly messages: readonly string[];
  readonly seconds: number;
}

export type ApproxTask = PathfinderTask | AdviTask | SmcTask | AbcTask;
export type ApproxTaskResult = PathfinderTaskResult | AdviTaskResult | SmcTaskResult | AbcTaskResult;

/** The result of an approximation task. */
export type ResultOf<T extends ApproxTask> = T extends PathfinderTask ? PathfinderTaskResult : T extends AdviTask ? AdviTaskResult : T extends AbcTask ? AbcTaskResult : SmcTaskResult;

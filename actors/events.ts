/**
 * What a run reports besides draws: lifecycle events, progress and online diagnostics, and
 * the sink through which actors and supervisors hand them (and batches) to the API layer.
 */
import type { OdeFailureCounts } from "../src/ode/index.js";
import type { Phase } from "./batch.js";
import type { BatchData } from "./trace-store.js";

export type ChainStatusKind = "running" | "completed" | "stopped-early" | "failed" | "aborted";

export type RunEvent =
  | { readonly type: "run-started"; readonly chains: number; readonly threads: number; readonly seed: number }
  | { readonly type: "chain-started"; readonly chain: number }
  | {
      readonly type: "chunk-failed";
      readonly chain: number;
      /** Iteration of the checkpoint the chunk started from. */
      readonly fromIteration: number;
      readonly attempt: number;
      readonly reason: "error" | "timeout";
      readonly message: string;
    }
  | { readonly type: "chain-restarted"; readonly chain: number; readonly fromIteration: number; readonly attempt: number }
  | {
      readonly type: "chain-failed";
      readonly chain: number;
      /** First iteration that will be a placeholder. */
      readonly atIteration: number;
      readonly restarts: number;
      readonly message: string;
    }
  | { readonly type: "placeholders"; readonly chain: number; readonly phase: Phase; readonly start: number; readonly count: number }
  | {
      readonly type: "window-end";
      /** 0-based index of the slow window. */
      readonly window: number;
      readonly iteration: number;
      readonly pooled: boolean;
      /** Chains whose accumulators went into the metric. */
      readonly chains: readonly number[];
      readonly draws: number;
      /**
       * Pooled warmup: chains left out of the pooled metric because their log density was far
       * below the best chain's (DECISIONS.md D95); they still receive it. Absent when none.
       */
      readonly excluded?: readonly number[];
    }
  | {
      /**
       * A chain's adaptation computed a metric it did not apply (not finite and positive
       * definite, or no step size found with it) and kept the previous one: how many since the
       * chain's last chunk, and the last one's iteration and reason.
       */
      readonly type: "metric-kept";
      readonly chain: number;
      readonly iteration: number;
      readonly count: number;
      readonly reason: string;
    }
  | {
      /**
       * ODE solves failed in a chain's chunk (iterations `iteration .. iteration + count - 1`):
       * too many steps, a non-finite state or a step too small. Each rejected its proposal
       * (the density is -Infinity there: a divergent transition, or a retry at initialisation).
       */
      readonly type: "ode-failures";
      readonly chain: number;
      readonly iteration: number;
      readonly count: number;
      readonly phase: Phase;
      readonly failures: OdeFailureCounts;
    }
  | {
      readonly type: "warmup-extended";
      readonly iteration: number;
      readonly by: number;
      readonly extension: number;
      readonly maxRhat: number;
      readonly numWarmup: number;
    }
  | {
      /** Adaptive warmup length: the metric stopped moving at `iteration`; warmup ends at `numWarmup`. */
      readonly type: "warmup-ended";
      readonly iteration: number;
      readonly numWarmup: number;
      /** RMS log change of the diagonal between the last two blocks of draws. */
      readonly change: number;
      readonly maxRhat: number;
    }
  | {
      /** A learned parameterisation was set (pooled): lambda per learned node (0 non-centred, 1 centred). */
      readonly type: "reparameterised";
      readonly iteration: number;
      readonly lambda: readonly number[];
    }
  | { readonly type: "early-stop"; readonly draws: number; readonly maxRhat: number; readonly minEssBulk: number; readonly minEssTail: number }
  | {
      /** `init: "pathfinder"`: where the chains start, before the first chunk. */
      readonly type: "pathfinder-init";
      /** Why Pathfinder could not give inits (the chains then start as with init "random"), or null. */
      readonly fallback: string | null;
      readonly paretoK: number;
      /** Distinct draws the inits and the initial metric come from. */
      readonly draws: number;
      readonly gradientEvaluations: number;
      readonly densityEvaluations: number;
      readonly seconds: number;
    }
  | { readonly type: "paused" }
  | { readonly type: "resumed" }
  | { readonly type: "aborted"; readonly reason: string }
  | {
      /** A subscriber of one of the run's streams threw: it was unsubscribed, the run goes on. */
      readonly type: "subscriber-error";
      readonly stream: "draws$" | "batches$" | "progress$" | "diagnostics$" | "events$";
      readonly message: string;
      readonly error: unknown;
    }
  /** A cluster run (`cluster` option) reached its database: its id there and the runners alive. */
  | { readonly type: "cluster-connected"; readonly run: string; readonly runners: readonly string[]; readonly database: string | null }
  /** A cluster run's chain got its first chunk answered by `runner` (host:port, or "in-process"). */
  | { readonly type: "chain-placed"; readonly chain: number; readonly runner: string }
  /**
   * A cluster run's chain is now served by another runner (its runner died or left, and its
   * shard moved): it continued from the checkpoint of iteration `fromIteration`; the chunk
   * that moved took `waitedSeconds` from request to reply.
   */
  | {
      readonly type: "chain-moved";
      readonly chain: number;
      readonly from: string;
      readonly to: string;
      readonly fromIteration: number;
      readonly waitedSeconds: number;
    }
  /**
   * What a cluster run sent (before `run-completed`): chunks, the signed request and reply
   * bodies (bytes), the chains that moved, for the chunks answered the seconds (summed) from
   * request to reply, on the runner (queueing and compute) and in the workers (compute), and
   * the bytes its sockets carried, to the database and to runners.
   */
  | {
      readonly type: "cluster-stats";
      readonly chunks: number;
      readonly requestBytes: number;
      /** The largest signed request body (a checkpoint with the adaptation's window: the data never travel in one). */
      readonly largestRequestBytes: number;
      readonly replyBytes: number;
      readonly moved: number;
      readonly roundTripSeconds: number;
      readonly runnerSeconds: number;
      readonly computeSeconds: number;
      readonly wireBytes: { readonly database: number; readonly cluster: number } | null;
    }
  /** The run ended (whatever its status: `failed` too). */
  | { readonly type: "run-completed"; readonly status: RunStatusKind; readonly seconds: number };

/**
 * How a run ended: `completed` (every planned draw, or at least one chain did while others
 * failed: see the chains' status), `stopped-early`, `aborted`, or `failed`: every chain
 * failed, there is no usable draw (`result` rejects with a `RunFailedError`).
 */
export type RunStatusKind = "completed" | "stopped-early" | "aborted" | "failed";

export interface ChainProgress {
  readonly chain: number;
  readonly status: ChainStatusKind;
  /** Iterations committed (warmup + sampling). */
  readonly iteration: number;
  readonly phase: Phase;
  readonly numWarmup: number;
  /** Maximum sampling draws (the run may stop earlier). */
  readonly numDraws: number;
  readonly gradientEvaluations: number;
  readonly divergences: number;
  readonly stepSize: number;
  readonly restarts: number;
}

export interface RunProgress {
  readonly chains: readonly ChainProgress[];
  /** Committed iterations over planned iterations, all chains (0..1). */
  readonly fraction: number;
  readonly elapsedSeconds: number;
}

export interface ParamDiagnostics {
  readonly name: string;
  readonly rhat: number;
  readonly essBulk: number;
  readonly essTail: number;
}

export interface OnlineDiagnostics {
  /** Sampling draws per chain the diagnostics are computed from. */
  readonly draws: number;
  /** Chains included (failed chains are left out). */
  readonly chains: readonly number[];
  readonly params: readonly ParamDiagnostics[];
  readonly maxRhat: number;
  readonly minEssBulk: number;
  readonly minEssTail: number;
  /** All early-stop criteria met (R-hat below and both ESS at or above their targets). */
  readonly converged: boolean;
  /** Gradient evaluations of all chains so far (incl. warmup). */
  readonly gradientEvaluations: number;
}

/** Where actors and supervisors send what the user sees. Implemented by the API layer. */
export interface RunSink {
  /** The names of the model's quantities, once known (before any batch). */
  model(names: readonly string[]): void;
  /** A committed batch; `ack` must be called once the batch is delivered (flow control). */
  batch(data: BatchData, ack: () => void): void;
  event(e: RunEvent): void;
  progress(p: ChainProgress): void;
  diagnostics(d: OnlineDiagnostics): void;
  /** Whether anyone listens to online diagnostics (without early stop they are computed only then). */
  wantsDiagnostics(): boolean;
}

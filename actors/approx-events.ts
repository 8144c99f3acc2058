/**
 * What Pathfinder, ADVI and SMC runs report while they go: lifecycle events and progress,
 * through a sink the API layer implements (as `RunSink` for NUTS runs).
 */
export type ApproxMethod = "pathfinder" | "advi" | "smc" | "abc" | "abc-smc";

export type ApproxEvent =
  | { readonly type: "run-started"; readonly method: ApproxMethod; readonly actors: number; readonly threads: number; readonly seed: number }
  | {
      readonly type: "task-failed";
      /** The actor whose task failed: a path, the ADVI run, or an SMC run's particle group. */
      readonly actor: string;
      readonly attempt: number;
      readonly reason: "error" | "timeout";
      readonly message: string;
    }
  | { readonly type: "task-restarted"; readonly actor: string; readonly attempt: number }
  | { readonly type: "actor-failed"; readonly actor: string; readonly message: string }
  | {
      readonly type: "path-done";
      readonly path: number;
      readonly iterations: number;
      readonly bestIteration: number;
      readonly elbo: number;
      /** Why L-BFGS stopped (Stan's termination message). */
      readonly message: string;
    }
  | { readonly type: "psis"; readonly paretoK: number; readonly draws: number }
  /** The eta of the optimisation; again, with the `reason`, when it restarts with a smaller one after failing. */
  | { readonly type: "eta-chosen"; readonly eta: number; readonly reason?: string }
  | { readonly type: "advi-elbo"; readonly iteration: number; readonly elbo: number; readonly relativeMean: number; readonly relativeMedian: number }
  | {
      readonly type: "smc-stage";
      readonly chain: number;
      readonly stage: number;
      readonly beta: number;
      /** Mean acceptance (IMH) or mean acceptance statistic (NUTS) of the stage's mutation. */
      readonly acceptRate: number;
      readonly steps: number;
      readonly logMarginalLikelihood: number;
    }
  | {
      /** A generation of ABC-SMC (or the rejection run, generation 0) is complete. */
      readonly type: "abc-generation";
      readonly generation: number;
      /** Its acceptance distance (Infinity for ABC-SMC's prior generation). */
      readonly tolerance: number;
      readonly acceptanceRate: number;
      readonly simulations: number;
      /** Effective sample size of the population's weights. */
      readonly ess: number;
      /** Simulations dropped: threw, gave no usable summary, took their thread down or timed out. */
      readonly failed: number;
      readonly simulationsPerSecond: number;
    }
  /** An ABC run on the cluster joined it: its id, the runners alive then, the database (password hidden; null: in-process). */
  | { readonly type: "cluster-connected"; readonly run: string; readonly runners: readonly string[]; readonly database: string | null }
  | { readonly type: "aborted"; readonly reason: string }
  /** A subscriber of `progress$` or `events$` threw: it was unsubscribed, the run goes on. */
  | { readonly type: "subscriber-error"; readonly stream: "progress$" | "events$"; readonly message: string; readonly error: unknown }
  | { readonly type: "run-completed"; readonly seconds: number };

export interface ApproxActorProgress {
  /** "path 0", "advi", "chain 2 group 1", ... */
  readonly actor: string;
  readonly status: "running" | "completed" | "failed";
  /** L-BFGS iterations, ADVI iterations, or SMC stages so far. */
  readonly iteration: number;
  /** Best ELBO so far (Pathfinder), the latest ELBO (ADVI), the inverse temperature (SMC). */
  readonly value: number;
  readonly gradientEvaluations: number;
  readonly densityEvaluations: number;
}

export interface ApproxProgress {
  readonly method: ApproxMethod;
  readonly actors: readonly ApproxActorProgress[];
  /** A rough share of the work done (0..1): iterations over their maximum, or beta for SMC. */
  readonly fraction: number;
  readonly elapsedSeconds: number;
}

export interface ApproxSink {
  event(e: ApproxEvent): void;
  progress(p: ApproxActorProgress, fraction: number): void;
}

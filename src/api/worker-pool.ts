/**
 * Worker pools shared between runs: `sample(model, { pool })` runs on threads that stay warm
 * from one run to the next (DECISIONS.md D22).
 */
import { Effect, type Scope } from "effect";
import { acquireWorkerPool, PoolStartError, WorkerPool, type WorkerResourceLimits } from "../../supervisors/worker-pool.js";
import { InvalidOptionError } from "./errors.js";
import { validatePoolOptions } from "./sample-options.js";

export interface WorkerPoolOptions {
  /** Threads (default: available cores). */
  readonly threads?: number;
  /** V8 heap limits of every thread. */
  readonly workerResourceLimits?: WorkerResourceLimits;
}

/**
 * A pool of worker threads for `sample(model, { pool })`, open until `close()` (or `await
 * using`). Its idle threads do not keep the process alive. Throws `InvalidOptionError` for a
 * bad option and `PoolStartError` when the compiled worker is missing.
 */
export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  const { threads, resourceLimits } = validatePoolOptions(options);
  return new WorkerPool({ threads, resourceLimits });
}

/** `createWorkerPool` as a scoped resource: the pool is closed (every thread exited) when the scope closes. */
export function workerPoolScoped(options: WorkerPoolOptions = {}): Effect.Effect<WorkerPool, InvalidOptionError | PoolStartError, Scope.Scope> {
  return Effect.try({ try: () => validatePoolOptions(options), catch: (e) => e as InvalidOptionError }).pipe(
    Effect.flatMap((config) => acquireWorkerPool(config)),
  );
}

export { WorkerPool };

/**
 * A chain supervisor: runs one chain actor with
 * - scheduling: the pool hands out first the chunk of the chain with the most work left;
 * - a watchdog (kept by the pool): a chunk that has run `chunkTimeout` on its thread (counted
 *   from when it started there) fails, and its thread is terminated (an endless loop cannot
 *   be stopped any other way); a chunk that waited behind it on that thread is handed out
 *   again without counting as a failure;
 * - a restart policy, an Effect `Schedule` over chunk failures (default: 3 restarts with
 *   exponential backoff from 100 ms): a failed chunk is re-run from the same checkpoint,
 *   usually on a fresh thread (piscina replaces dead ones). The schedule restarts with every
 *   chunk, so it bounds consecutive failures without progress in between;
 * - giving up: when the schedule is exhausted (or on a defect in the chain's own main-thread
 *   code) the chain is marked failed and the coordinator stops waiting for it. The draws the
 *   last attempt completed before it failed are kept (the same on every attempt: the kernel
 *   is deterministic), the rest become placeholders. Other chains are not touched.
 */
import { Duration, Effect, Schedule } from "effect";
import type { ChainActor } from "../actors/chain-actor.js";
import type { ChainStatusKind, RunSink } from "../actors/events.js";
import type { ChunkProgress, ChunkResult, ChunkTask } from "../actors/protocol.js";
import type { ChunkFailed, ChunkTimeout } from "./scheduler.js";

export type ChunkError = ChunkFailed | ChunkTimeout;

/**
 * Runs chunks: the local pool's scheduler, or a cluster client (`cluster/client.ts`) that
 * sends them to runners. `timeout` is the watchdog; `remaining` (seconds of work the chain has
 * left) and `continues` (the chain goes straight on) are scheduling hints.
 */
export interface ChunkRunner {
  run(task: ChunkTask, timeout: Duration.Duration, remaining?: () => number, continues?: boolean): Effect.Effect<ChunkResult, ChunkError>;
  /** On the cluster: each runner that answered a chunk, with its worker threads. */
  readonly runners?: () => ReadonlyMap<string, number>;
}

export type RestartSchedule = Schedule.Schedule<unknown, ChunkError>;

export interface SupervisionPolicy {
  readonly restart: RestartSchedule;
  /** Longest a chunk may run before the watchdog kills it. */
  readonly chunkTimeout: Duration.DurationInput;
}

/** The default restart policy: `maxRestarts` restarts, waiting base, 2 base, 4 base, ... */
export function defaultRestartSchedule(maxRestarts = 3, base: Duration.DurationInput = "100 millis"): RestartSchedule {
  return Schedule.exponential(base).pipe(Schedule.intersect(Schedule.recurs(maxRestarts)));
}

/**
 * `Effect.retry(effect, schedule)`, with the schedule's driver made only once the effect has
 * failed: a chunk that succeeds at once, nearly every chunk, pays for no driver (its refs, its
 * iteration metadata service), which `Effect.retry` makes before the first try (D196).
 */
function retryAfterFailure<A, E>(effect: Effect.Effect<A, E>, schedule: Schedule.Schedule<unknown, E>): Effect.Effect<A, E> {
  return Effect.catchAll(effect, (first) =>
    Effect.flatMap(Schedule.driver(schedule), (driver) => {
      const again = (e: E): Effect.Effect<A, E> =>
        Effect.matchEffect(driver.next(e), {
          onFailure: () => Effect.fail(e),
          onSuccess: () => Effect.catchAll(effect, again),
        });
      return again(first);
    }),
  );
}

export function superviseChain(actor: ChainActor, pool: ChunkRunner, policy: SupervisionPolicy, sink: RunSink): Effect.Effect<ChainStatusKind> {
  const timeout = Duration.decode(policy.chunkTimeout);
  // The chunk that failed last and what its last attempt completed.
  let lastFailure: { task: ChunkTask; progress: ChunkProgress } | null = null;
  const execute = (task: ChunkTask) => {
    let attempt = 0;
    const continues = actor.continuesAfter(task);
    const once = Effect.suspend(() => {
      const a = attempt;
      if (a > 0) {
        actor.restarts++;
        sink.event({ type: "chain-restarted", chain: actor.chain, fromIteration: actor.iteration, attempt: a });
      }
      return pool.run({ ...task, attempt: a }, timeout, () => actor.remainingSeconds(), continues).pipe(
        Effect.tapError((e) =>
          Effect.sync(() => {
            attempt = a + 1;
            lastFailure = { task, progress: e.progress };
            sink.event({
              type: "chunk-failed",
              chain: actor.chain,
              fromIteration: actor.iteration,
              attempt: a,
              reason: e._tag === "ChunkTimeout" ? "timeout" : "error",
              message: e.message,
            });
          }),
        ),
      );
    });
    return retryAfterFailure(once, policy.restart);
  };
  const giveUp = (message: string, failure: typeof lastFailure) =>
    Effect.sync(() => {
      actor.fail(message, failure);
      return actor.status;
    });
  return actor.run(execute).pipe(
    Effect.catchAll((e: ChunkError) => giveUp(e.message, lastFailure)),
    // A defect on the main thread (a bug) fails this chain only, never the run.
    Effect.catchAllDefect((d) => giveUp(`internal error: ${d instanceof Error ? d.message : String(d)}`, null)),
  );
}

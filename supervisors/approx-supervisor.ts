/**
 * Supervision of Pathfinder, ADVI and SMC runs, as for NUTS chains (chain-supervisor.ts,
 * run-supervisor.ts): the run owns a chunk scheduler on its own pool (or the user's shared
 * one), every task an actor hands out runs under the scheduler's watchdog with the restart
 * `Schedule` of the run's policy (a failed task re-runs from the same checkpoint), an actor
 * whose restarts run out (or that hits a defect on the main thread) fails alone, and the run
 * races its actors against `abort`. The scope closes either way: no thread of the run's own
 * pool outlives it.
 */
import { Deferred, Duration, Effect } from "effect";
import type { ApproxSink } from "../actors/approx-events.js";
import type { ApproxTask, ResultOf, SmcTask, SmcTaskResult } from "../actors/approx-protocol.js";
import type { AbcActor, AbcExecutor } from "../actors/abc-actor.js";
import type { ModelSpec } from "../actors/protocol.js";
import type { ClusterPlan } from "./cluster/client.js";
import type { ClusterUsage } from "./cluster/abc-client.js";
import { CLUSTER_PACKAGES, ClusterStartError } from "./cluster/config.js";
import type { AdviActor } from "../actors/advi-actor.js";
import type { PathActor } from "../actors/pathfinder-actor.js";
import type { SmcChain } from "../actors/smc-coordinator.js";
import type { ChunkError, SupervisionPolicy } from "./chain-supervisor.js";
import { acquireScheduler, type Scheduler } from "./scheduler.js";
import type { PoolStartError, WorkerPool, WorkerResourceLimits } from "./worker-pool.js";

export interface ApproxRunConfig {
  /** The user's pool (left open), or null for a pool of the run's own with `threads` threads. */
  readonly pool: WorkerPool | null;
  readonly threads: number;
  readonly resourceLimits: WorkerResourceLimits | undefined;
  readonly policy: SupervisionPolicy;
  /** Actors whose tasks may run at once (paths, 1, or chains x groups). */
  readonly actors: number;
}

export interface ApproxControl {
  /** Completed (with a reason) to abort the run. */
  readonly abort: Deferred.Deferred<string>;
}

/** Runs one task of an actor under the watchdog and the restart schedule. */
export type TaskExecutor = <T extends ApproxTask>(task: T, actor: string) => Effect.Effect<ResultOf<T>, ChunkError>;

function executor(scheduler: Scheduler, policy: SupervisionPolicy, sink: ApproxSink): TaskExecutor {
  const timeout = Duration.decode(policy.chunkTimeout);
  return <T extends ApproxTask>(task: T, actor: string) => {
    let attempt = 0;
    const once = Effect.suspend(() => {
      const a = attempt;
      if (a > 0) sink.event({ type: "task-restarted", actor, attempt: a });
      return scheduler.runApprox({ ...task, attempt: a }, timeout).pipe(
        Effect.tapError((e) =>
          Effect.sync(() => {
            attempt = a + 1;
            sink.event({ type: "task-failed", actor, attempt: a, reason: e._tag === "ChunkTimeout" ? "timeout" : "error", message: e.message });
          }),
        ),
      );
    });
    return Effect.retry(once, policy.restart);
  };
}

/** An actor's life under supervision: giving up (restarts exhausted) or a defect fails it alone. */
function supervised(run: Effect.Effect<void, ChunkError>, fail: (message: string) => void): Effect.Effect<void> {
  return run.pipe(
    Effect.catchAll((e) => Effect.sync(() => fail(e.message))),
    Effect.catchAllDefect((d) => Effect.sync(() => fail(`internal error: ${d instanceof Error ? d.message : String(d)}`))),
  );
}

/** The actors of a method, given the executor. */
export type ActorsProgram = (execute: TaskExecutor) => Effect.Effect<void>;

export function pathfinderProgram(paths: readonly PathActor[]): ActorsProgram {
  return (execute) =>
    Effect.forEach(paths, (p) => supervised(p.run((t) => execute(t, p.label)), (m) => p.fail(m)), { concurrency: "unbounded", discard: true });
}

export function adviProgram(actor: AdviActor): ActorsProgram {
  return (execute) => supervised(actor.run((t, label) => execute(t, label)), (m) => actor.fail(m));
}

export function smcProgram(chains: readonly SmcChain[]): ActorsProgram {
  return (execute) =>
    Effect.forEach(
      chains,
      (c) => {
        const all = (tasks: readonly SmcTask[]): Effect.Effect<readonly SmcTaskResult[], ChunkError> =>
          Effect.forEach(tasks, (t, k) => execute(t, c.groups[k]!.label), { concurrency: "unbounded" });
        return supervised(c.run(all), (m) => c.fail(m));
      },
      { concurrency: "unbounded", discard: true },
    );
}

/** An ABC run's life: a broken simulator, a lost batch or a defect fails its actor, never the host. */
function supervisedAbc(actor: AbcActor, execute: AbcExecutor): Effect.Effect<void> {
  return actor.run(execute).pipe(
    Effect.catchAll((e) => Effect.sync(() => actor.fail(e.message))),
    Effect.catchAllDefect((d) => Effect.sync(() => actor.fail(d instanceof Error ? d.message : String(d)))),
  );
}

/**
 * An ABC run: its simulation batches go through the executor, whose restart schedule the ABC
 * options set to none (a failed simulation is dropped, never re-run; abc-actor.ts).
 */
export function abcProgram(actor: AbcActor): ActorsProgram {
  return (execute) => supervisedAbc(actor, (t) => execute(t, "abc"));
}

/**
 * An ABC run on the cluster: joins it (the cluster client is loaded only now: its packages
 * are optional), makes the population actor for the run's lanes (`start`), and runs it with
 * its batches sent to the runners, until it is done or the run is aborted. Returns the actor,
 * the abort reason or null, and which runners answered with how many threads.
 */
export function runAbcOnCluster(
  plan: ClusterPlan,
  prior: ModelSpec & { readonly kind: "compiled" },
  simulationTimeout: Duration.Duration,
  control: ApproxControl,
  start: (lanes: number) => AbcActor,
  sink: ApproxSink,
): Effect.Effect<{ readonly actor: AbcActor; readonly aborted: string | null; readonly usage: ClusterUsage }, ClusterStartError> {
  return Effect.scoped(
    Effect.gen(function* () {
      const { acquireClusterSimulations } = yield* Effect.tryPromise({
        try: () => import("./cluster/abc-client.js"),
        catch: (e) =>
          new ClusterStartError({
            message:
              (e as { code?: string }).code === "ERR_MODULE_NOT_FOUND"
                ? `cluster runs need the optional packages ${CLUSTER_PACKAGES.join(", ")}: npm install ${CLUSTER_PACKAGES.join(" ")} (${(e as Error).message})`
                : `cluster client failed to load: ${(e as Error).message}`,
          }),
      });
      const { execute, lanes, usage } = yield* acquireClusterSimulations(plan, prior, simulationTimeout, sink);
      const actor = start(lanes);
      const aborted = yield* Effect.race(supervisedAbc(actor, execute).pipe(Effect.as(null as string | null)), Deferred.await(control.abort));
      if (aborted !== null) sink.event({ type: "aborted", reason: aborted });
      return { actor, aborted, usage };
    }),
  );
}

/**
 * Runs the actors on a scheduler (the run's own pool, or the user's) until they are done or
 * the run is aborted; returns the abort reason, or null.
 */
export function runApprox(config: ApproxRunConfig, control: ApproxControl, program: ActorsProgram, sink: ApproxSink): Effect.Effect<string | null, PoolStartError> {
  return Effect.scoped(
    Effect.gen(function* () {
      const scheduler = yield* acquireScheduler({ shared: config.pool, threads: config.threads, chains: config.actors, resourceLimits: config.resourceLimits });
      const ended = yield* Effect.race(
        program(executor(scheduler, config.policy, sink)).pipe(Effect.as(null as string | null)),
        Deferred.await(control.abort),
      );
      if (ended !== null) sink.event({ type: "aborted", reason: ended });
      return ended;
    }),
  );
}

/**
 * ABC on the cluster, the client's side (actors/simulation-entity.ts; the runners' side is
 * `simulationEntityLayer` in runner.ts): an `AbcExecutor` that sends each batch of the
 * population actor's rounds to a lane of the run and writes the reply into the round where a
 * local worker would have written it. The population actor, its proposals and its acceptance
 * stay in the client, so the population is the local pool's for the same seed.
 */
import { Duration, Effect, Schedule, type Scope } from "effect";
import { AbcBatchError, type AbcExecutor } from "../../actors/abc-actor.js";
import type { ApproxSink } from "../../actors/approx-events.js";
import type { ModelSpec } from "../../actors/protocol.js";
import { decodeSimulated, encodeBatch, SimulationEntity, simulationEntityId, type RemoteBatch } from "../../actors/simulation-entity.js";
import { joinCluster, type ClusterPlan } from "./client.js";
import { withCause, type ClusterStartError } from "./config.js";

/** What an ABC run used of the cluster: each runner that answered, with its threads, and the batches sent. */
export interface ClusterUsage {
  readonly runners: ReadonlyMap<string, number>;
  readonly batches: number;
}

/** Lanes per runner alive at the start: a run's batches spread over its lanes, lanes over the runners' shards. */
const LANES_PER_RUNNER = 8;

/**
 * Joins the cluster for an ABC run (its prior stored once, as a sampling run's model) and
 * returns the executor the population actor sends its batches through, with the number of
 * lanes (the actor cuts each round into at least twice as many batches) and what was used.
 */
export function acquireClusterSimulations(
  plan: ClusterPlan,
  prior: ModelSpec & { readonly kind: "compiled" },
  simulationTimeout: Duration.Duration,
  sink: ApproxSink,
): Effect.Effect<{ readonly execute: AbcExecutor; readonly lanes: number; readonly usage: ClusterUsage }, ClusterStartError, Scope.Scope> {
  return Effect.gen(function* () {
    const session = yield* joinCluster(plan, prior, 0, (run, runners, database) => sink.event({ type: "cluster-connected", run, runners: [...runners], database }));
    const { run, digest, provide } = session;
    const lanes = LANES_PER_RUNNER * session.runners.length;
    const clientOf = yield* provide(SimulationEntity.client);
    const runners = new Map<string, number>();
    const usage = { runners, batches: 0 };
    let seq = 0;

    const execute: AbcExecutor = (task) =>
      Effect.suspend(() => {
        const which = { run, lane: seq % lanes, seq };
        seq++;
        usage.batches++;
        const d = task.round.proposals.length / Math.max(1, task.round.status.length);
        const count = task.end - task.start;
        const s = task.summaryLength;
        const batch: RemoteBatch = {
          ...which,
          model: digest,
          simulator: task.simulator,
          params: task.params,
          proposals: task.round.proposals.slice(task.start * d, task.end * d),
          count,
          summaryLength: s,
          seed: task.seed,
          generation: task.generation,
          firstIndex: task.firstIndex + task.start,
          timeoutMs: Duration.toMillis(simulationTimeout),
        };
        const what = `simulation batch ${which.seq} (lane ${which.lane})`;
        // A batch's simulations run one after another on one thread: each may take the whole timeout.
        const deadline = Duration.sum(Duration.times(simulationTimeout, count), plan.replyTimeout);
        return clientOf(simulationEntityId(run, which.lane))
          .RunSimulations({ ...which, task: encodeBatch(plan.key, batch) })
          .pipe(
            Effect.retry({ while: (e) => e._tag === "PersistenceError", schedule: Schedule.spaced("500 millis") }),
            Effect.timeoutFail({ duration: deadline, onTimeout: () => new AbcBatchError(`no runner answered ${what} within ${Duration.format(deadline)}`) }),
            Effect.catchAllDefect((d) => Effect.fail(new AbcBatchError(`${what}: the cluster failed: ${withCause(d)}`))),
            Effect.flatMap((ok) =>
              Effect.try({
                try: () => {
                  const reply = decodeSimulated(plan.key, ok.reply, { ...which, count, summaryLength: s });
                  task.round.summaries.set(reply.summaries, task.start * s);
                  task.round.status.set(reply.status, task.start);
                  runners.set(ok.runner, reply.threads);
                  return { kind: "abc" as const, messages: reply.messages, seconds: reply.seconds };
                },
                catch: (e) => new AbcBatchError(`${what}: ${withCause(e)}`),
              }),
            ),
            Effect.mapError((e) => (e instanceof AbcBatchError ? e : new AbcBatchError(`${what}: ${e._tag === "RemoteBatchError" ? `${e.message} (runner ${e.runner}, ${e.reason})` : withCause(e)}`))),
          );
      });
    return { execute, lanes, usage };
  });
}

/**
 * The client side of a cluster run: what the run supervisor uses instead of its local chunk
 * scheduler when `sample` is given `cluster`. The chain actors, the coordinator (pooled
 * warmup, online R-hat, early stop), the trace store and the streams stay in this process;
 * each chunk becomes a durable `RunChunk` request to the chain's entity (one per run and
 * chain), whose reply carries the next checkpoint and the draws, written here into the
 * chain's trace where a local worker would have written them.
 *
 * - With `database`: a client-only member of the cluster (`@effect/cluster`'s socket
 *   transport, PostgreSQL storage). The model is stored once (`store.ts`); runners fetch it
 *   once each. The run holds a lease it renews; when it ends (or this process dies and the
 *   lease runs out) runners refuse what is left of it, and it is swept.
 * - Without: an in-process runner (memory storage, a worker pool of this process) serving
 *   the same entity with the same handler: for development, no database needed.
 *
 * A chunk's failures on the runner come back as the local ones (`ChunkFailed`,
 * `ChunkTimeout`, with the draws it completed), so the chain supervisor's restart policy and
 * placeholders apply unchanged. A runner that dies is not a failure: its shards move, the
 * request stays in storage, the new runner answers it (`chain-moved`).
 */
import { randomUUID } from "node:crypto";
import * as MessageStorage from "@effect/cluster/MessageStorage";
import * as RunnerAddress from "@effect/cluster/RunnerAddress";
import * as RunnerHealth from "@effect/cluster/RunnerHealth";
import * as Runners from "@effect/cluster/Runners";
import * as RunnerStorage from "@effect/cluster/RunnerStorage";
import * as Sharding from "@effect/cluster/Sharding";
import * as SocketRunner from "@effect/cluster/SocketRunner";
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage";
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage";
import { layerClientProtocol } from "@effect/platform-node/NodeClusterSocket";
import * as RpcSerialization from "@effect/rpc/RpcSerialization";
import { SqlClient } from "@effect/sql/SqlClient";
import { Context, Data, Duration, Effect, Layer, Logger, LogLevel, Option, Schedule, type Scope } from "effect";
import {
  ChainEntity,
  chainEntityId,
  decodePartial,
  decodeReply,
  encodeTask,
  restoreEstimators,
  samplingOnly,
  unpackDraws,
  wireState,
  type RemoteChunkError,
  type RemoteTask,
} from "../../actors/chain-entity.js";
import type { RunSink } from "../../actors/events.js";
import type { ChunkProgress, ChunkResult, ChunkTask, ModelSpec } from "../../actors/protocol.js";
import type { ChunkRunner } from "../chain-supervisor.js";
import { ChunkFailed, ChunkTimeout, chunksPerThread, Scheduler } from "../scheduler.js";
import { acquireWorkerPool, type WorkerResourceLimits } from "../worker-pool.js";
import { ClusterStartError, withCause, type ClusterTimings } from "./config.js";
import { chainEntityLayer, ensureSchema, pgLayer, shardingConfig, simulationEntityLayer, type ChunkHost } from "./runner.js";
import { makeMemoryStore, makeSqlStore, packModel, type ClusterStore, type StoredReply } from "./store.js";
import { meterSocketBytes, type ByteMeter } from "./wire-bytes.js";

export interface ClusterPlan {
  /** PostgreSQL URL the runners share; null: an in-process runner (development). */
  readonly database: string | null;
  /** The cluster key (HMAC-SHA256 of every model, request and reply). */
  readonly key: Uint8Array;
  /** Worker threads of the in-process runner. */
  readonly threads: number;
  readonly resourceLimits: WorkerResourceLimits | undefined;
  /** The run's lease: runners refuse its chunks once this long has passed without renewal. */
  readonly lease: Duration.Duration;
  /** How long a chunk's reply may take beyond `chunkTimeout` (queueing on a runner, failover) before the chunk fails. */
  readonly replyTimeout: Duration.Duration;
  readonly timings: ClusterTimings;
  /** Longest wait for the database and the cluster at the start. */
  readonly connectTimeout: Duration.Duration;
}

export interface ClusterRunSpec {
  readonly model: ModelSpec & { readonly kind: "compiled" };
  readonly chains: number;
  /** Quantities per draw. */
  readonly width: number;
}

/** The database URL without its password, for events and messages. */
export function redactedDatabase(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

const IN_PROCESS = "in-process";

/** The in-process runner: memory storage, this process's threads, the runners' entity handler. */
function inProcessCluster(plan: ClusterPlan, store: ClusterStore) {
  const sharding = Sharding.layer.pipe(
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(MessageStorage.layerMemory),
    Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
    Layer.provide(shardingConfig(plan.timings, Option.some(RunnerAddress.make(IN_PROCESS, 0)), Option.none())),
  );
  const entity = Layer.unwrapScoped(
    Effect.gen(function* () {
      const pool = yield* acquireWorkerPool({ threads: plan.threads, resourceLimits: plan.resourceLimits });
      const scheduler = new Scheduler(pool, pool.threads, chunksPerThread(pool.threads, 2 * pool.threads));
      yield* Effect.addFinalizer(() => Effect.sync(() => scheduler.stop()));
      // The in-process runner is the user's own process: it imports any simulator module.
      const host: ChunkHost = { key: plan.key, store, scheduler, runner: IN_PROCESS, threads: pool.threads, simulators: "any" };
      return Layer.mergeAll(chainEntityLayer(host, { maxIdle: "1 minute" }), simulationEntityLayer(host, { maxIdle: "1 minute" }));
    }),
  );
  return Layer.provideMerge(entity, sharding);
}

/** A client-only member of the cluster whose storage is `database`. */
function remoteCluster(plan: ClusterPlan, database: string) {
  const sharding = SocketRunner.layerClientOnly.pipe(
    Layer.provide(layerClientProtocol),
    Layer.provide(SqlMessageStorage.layer),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(shardingConfig(plan.timings, Option.none(), Option.none())),
    Layer.provide(RpcSerialization.layerMsgPack),
  );
  // The tables first (a database no runner has prepared yet has none), then the cluster.
  const prepared = Layer.effectDiscard(ensureSchema(plan.timings));
  return Layer.provideMerge(sharding.pipe(Layer.provide(prepared)), pgLayer(database, 4, undefined, plan.timings.lockExpiration));
}

/**
 * Runners registered and heard from within the last minute (runners renew their
 * registration every third of their lock expiration, whatever they chose for it).
 */
const liveRunners: Effect.Effect<string[], unknown, SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient;
  const rows = yield* sql<{ address: string }>`SELECT address FROM cluster_runners
    WHERE healthy AND last_heartbeat > NOW() - INTERVAL '1 minute' ORDER BY address`;
  return rows.map((r) => r.address);
});


const NOTHING: ChunkProgress = { written: 0, gradients: 0 };

/** A chunk's request is not in storage at two looks in a row: its send was lost, and it is sent again (D180). */
class RequestUnsent extends Data.TaggedError("RequestUnsent")<Record<never, never>> {}

/** A run's membership of the cluster: what joining gave (`joinCluster`). */
export interface ClusterSession {
  readonly run: string;
  /** The digest of the run's model in the cluster's store. */
  readonly digest: string;
  /** The runners alive when the run joined. */
  readonly runners: readonly string[];
  /** Provides the cluster (sharding, database) to an effect: entity clients are made with it. */
  readonly provide: <A, E>(e: Effect.Effect<A, E, Sharding.Sharding | SqlClient>) => Effect.Effect<A, E>;
  /** The cluster's store (models, leases, stored replies). */
  readonly store: ClusterStore;
}

/**
 * Joins the cluster for one run (scoped: leaving ends the run's lease and removes its
 * messages), stores the model, and holds the run's lease while the scope is open. `units`:
 * what the run registers (chains, or an ABC run's lanes).
 */
export function joinCluster(
  plan: ClusterPlan,
  modelSpec: ModelSpec & { readonly kind: "compiled" },
  units: number,
  connected: (run: string, runners: readonly string[], database: string | null) => void,
): Effect.Effect<ClusterSession & { readonly meter: ByteMeter | null }, ClusterStartError, Scope.Scope> {
  return Effect.gen(function* () {
    const where = plan.database === null ? "the in-process runner" : `the cluster at ${redactedDatabase(plan.database)}`;
    const startError = (e: unknown) => new ClusterStartError({ message: `could not join ${where}: ${withCause(e)}` });
    const meter: ByteMeter | null = plan.database === null ? null : meterSocketBytes();
    yield* Effect.addFinalizer(() => Effect.sync(() => meter?.stop()));
    const memoryStore = plan.database === null ? makeMemoryStore() : null;
    const layer = plan.database === null ? inProcessCluster(plan, memoryStore!) : remoteCluster(plan, plan.database);
    const context = yield* Layer.build(layer as Layer.Layer<Sharding.Sharding | SqlClient, unknown>).pipe(
      // The cluster's own fibers log what this client reports as events (a runner gone, a
      // shard moving); only its errors reach the user's console.
      Logger.withMinimumLogLevel(LogLevel.Error),
      Effect.timeoutFail({ duration: plan.connectTimeout, onTimeout: () => `no answer within ${Duration.format(plan.connectTimeout)}` }),
      Effect.mapError(startError),
      Effect.catchAllDefect((d) => Effect.fail(startError(d))),
    );
    const provide = <A, E>(e: Effect.Effect<A, E, Sharding.Sharding | SqlClient>) => Effect.provide(e, context as Context.Context<Sharding.Sharding | SqlClient>);
    const store = memoryStore ?? (yield* provide(makeSqlStore));
    const runners =
      plan.database === null ? [IN_PROCESS] : yield* provide(liveRunners).pipe(Effect.mapError(startError));
    if (runners.length === 0) {
      return yield* Effect.fail(startError(`no runner is alive in it (start some: npx bayests-runner --database ...)`));
    }

    const run = randomUUID();
    const { digest, model } = packModel(plan.key, modelSpec);
    const leaseMs = Duration.toMillis(plan.lease);
    yield* store.putModel(digest, model).pipe(Effect.zipRight(store.startRun(run, digest, units, leaseMs)), Effect.mapError(startError));
    connected(run, runners, plan.database === null ? null : redactedDatabase(plan.database));
    // The lease, renewed three times per period; a failed renewal is retried at the next.
    yield* store.renewRun(run, leaseMs).pipe(Effect.ignore, Effect.repeat(Schedule.spaced(Duration.millis(leaseMs / 3))), Effect.forkScoped);
    yield* Effect.addFinalizer(() =>
      store.endRun(run).pipe(
        // A run that ends just as the database comes back (its pool's connections broken)
        // would otherwise leave its messages until the janitor's sweep, a lease later.
        Effect.retry({ schedule: Schedule.spaced("500 millis"), times: 10 }),
        Effect.ignore,
      ),
    );
    return { run, digest, runners, provide, meter, store };
  });
}

/**
 * Joins the cluster for one sampling run (`joinCluster`) and returns the chunk runner the
 * chain supervisors use.
 */
export function acquireClusterChunks(plan: ClusterPlan, spec: ClusterRunSpec, sink: RunSink): Effect.Effect<ChunkRunner, ClusterStartError, Scope.Scope> {
  return Effect.gen(function* () {
    const { run, digest, provide, meter, store } = yield* joinCluster(plan, spec.model, spec.chains, (run, runners, database) =>
      sink.event({ type: "cluster-connected", run, runners: [...runners], database }),
    );
    const stats = { chunks: 0, requestBytes: 0, largestRequestBytes: 0, replyBytes: 0, moved: 0, roundTripSeconds: 0, runnerSeconds: 0, computeSeconds: 0 };
    // Runs before the lease ends (finalizers run last first): the meter is read here.
    yield* Effect.addFinalizer(() => Effect.sync(() => sink.event({ type: "cluster-stats", ...stats, wireBytes: meter?.stop() ?? null })));

    const clientOf = yield* provide(ChainEntity.client);
    const storagePoll = Duration.decode(plan.timings.messagePoll);
    const seqs: number[] = [];
    const runnerThreads = new Map<string, number>();
    const placed: (string | undefined)[] = [];

    /** The chain's runner: an event when it is its first, or another than its last. */
    const track = (chain: number, runner: string, fromIteration: number, seconds: number) => {
      const before = placed[chain];
      placed[chain] = runner;
      if (before === undefined) sink.event({ type: "chain-placed", chain, runner });
      else if (before !== runner) {
        stats.moved++;
        sink.event({ type: "chain-moved", chain, from: before, to: runner, fromIteration, waitedSeconds: seconds });
      }
    };

    const runChunk = (task: ChunkTask, timeout: Duration.Duration, remaining: () => number = () => NaN): Effect.Effect<ChunkResult, ChunkFailed | ChunkTimeout> =>
      Effect.suspend(() => {
        const chain = task.chain;
        if (task.attempt === 0 || seqs[chain] === undefined) seqs[chain] = (seqs[chain] ?? -1) + 1;
        const seq = seqs[chain]!;
        const which = { run, chain, seq };
        const strip = samplingOnly(task.state, task.metric);
        const remote: RemoteTask = {
          ...which,
          attempt: task.attempt,
          model: digest,
          width: spec.width,
          state: wireState(task.state, strip),
          init: task.init,
          metric: task.metric,
          iterations: task.iterations,
          offset: task.target.offset,
          settings: task.settings,
          faults: task.faults,
          timeoutMs: Duration.toMillis(timeout),
          remainingSeconds: remaining(),
        };
        const signed = encodeTask(plan.key, remote);
        stats.chunks++;
        stats.requestBytes += signed.body.length;
        stats.largestRequestBytes = Math.max(stats.largestRequestBytes, signed.body.length);
        const fromIteration = task.state?.iteration ?? 0;
        const t0 = performance.now();
        const elapsed = () => (performance.now() - t0) / 1000;
        const deadline = Duration.sum(timeout, plan.replyTimeout);
        const what = `chunk ${seq} of chain ${chain}`;

        /** `measured`: the reply came back on the request's own connection (its round trip is the link's, not a poll's). */
        const accept = (ok: StoredReply, measured: boolean): ChunkResult => {
          const reply = decodeReply(plan.key, ok.reply, which);
          unpackDraws(reply.draws, task.target, spec.width, task.iterations);
          if (reply.result.count !== reply.draws.count) throw new Error(`${what}: the reply counts ${reply.result.count} draws and carries ${reply.draws.count}`);
          stats.replyBytes += ok.reply.body.length;
          stats.roundTripSeconds += elapsed();
          stats.runnerSeconds += reply.runnerSeconds;
          stats.computeSeconds += reply.result.seconds;
          track(chain, ok.runner, fromIteration, elapsed());
          runnerThreads.set(ok.runner, reply.threads);
          const result = measured ? { ...reply.result, transportSeconds: Math.max(0, elapsed() - reply.runnerSeconds) } : reply.result;
          return strip && task.state !== null ? { ...result, state: restoreEstimators(reply.result.state, task.state) } : result;
        };
        const failed = (e: RemoteChunkError): ChunkFailed | ChunkTimeout => {
          stats.replyBytes += e.partial?.body.length ?? 0;
          track(chain, e.runner, fromIteration, elapsed());
          let progress = NOTHING;
          if (e.partial !== null) {
            // What the failed chunk completed goes into the trace, as a local worker's would.
            try {
              const partial = decodePartial(plan.key, e.partial, which);
              unpackDraws(partial.draws, task.target, spec.width, task.iterations);
              progress = partial.progress;
            } catch {
              progress = NOTHING;
            }
          }
          const text = `${e.message} (runner ${e.runner}${e.reason === "error" || e.reason === "timeout" ? "" : `, ${e.reason}`})`;
          return e.reason === "timeout" ? new ChunkTimeout({ message: text, progress }) : new ChunkFailed({ message: text, progress });
        };

        const send = clientOf(chainEntityId(run, chain))
          .RunChunk({ ...which, attempt: task.attempt, task: signed })
          .pipe(
            // The database may be briefly away: the request is sent again until the deadline.
            Effect.retry({ while: (e) => e._tag === "PersistenceError", schedule: Schedule.spaced("500 millis") }),
          );
        // Storage looked at once the chunk has taken a storage poll period (the runners' lock
        // expiration, the earliest a shard can move, is theirs to choose), then every period:
        // one indexed query per long chunk per period. It finds
        // - the reply as another runner stored it: the request went to a runner that then lost
        //   the database (and its shards) but keeps the connection open, so its answer would
        //   come only once it reaches the database again (D168);
        // - a request that is not in storage at two looks in a row while the database answers:
        //   the send's write was lost with its connection (PostgreSQL killed under it) and the
        //   send waits for ever, so the request is sent again (D180). A request is stored within
        //   one retry of the database's return, so a healthy send is never taken for lost.
        const look = (unsentBefore: boolean): Effect.Effect<StoredReply, RequestUnsent> =>
          store.storedReply(run, chain, `${seq}.${task.attempt}`).pipe(
            Effect.catchAll(() => Effect.succeed(null)),
            Effect.flatMap((r) =>
              r === "unsent" && unsentBefore
                ? Effect.fail(new RequestUnsent())
                : r === null || r === "unsent"
                  ? Effect.delay(Effect.suspend(() => look(r === "unsent")), storagePoll)
                  : Effect.succeed(r),
            ),
          );
        const stored = plan.database === null ? Effect.never : Effect.delay(look(false), storagePoll);
        return Effect.raceFirst(
          // A send found lost is left to end in the background: its connection may never answer.
          Effect.disconnect(send).pipe(Effect.map((ok) => ({ ok, measured: true }))),
          stored.pipe(Effect.map((ok) => ({ ok, measured: false }))),
        )
          .pipe(
            Effect.retry({ while: (e) => e._tag === "RequestUnsent" }),
            Effect.timeoutFail({
              duration: deadline,
              onTimeout: () => new ChunkTimeout({ message: `no runner answered ${what} within ${Duration.format(deadline)} (chunkTimeout + cluster.replyTimeout)`, progress: NOTHING }),
            }),
            Effect.catchAllDefect((d) => Effect.fail(new ChunkFailed({ message: `${what}: the cluster failed: ${withCause(d)}`, progress: NOTHING }))),
            Effect.flatMap(({ ok, measured }) => Effect.try({ try: () => accept(ok, measured), catch: (e) => new ChunkFailed({ message: withCause(e), progress: NOTHING }) })),
            Effect.mapError((e) => {
              switch (e._tag) {
                case "ChunkFailed":
                case "ChunkTimeout":
                  return e;
                case "RemoteChunkError":
                  return failed(e);
                default:
                  return new ChunkFailed({ message: `${what}: ${e._tag}: ${withCause(e)}`, progress: NOTHING });
              }
            }),
          );
      });

    return { run: runChunk, runners: () => runnerThreads };
  });
}

/**
 * A cluster runner: a process that joins the cluster through the shared PostgreSQL database
 * (`@effect/sql-pg`: runner registry, shard locks, durable messages), serves chain entities
 * (`actors/chain-entity.ts`) on the shards it holds, and runs their chunks on its own pool of
 * worker threads with the local runtime's scheduler (watchdog, re-queueing): the same worker,
 * chunk protocol and kernels as a local run.
 *
 * The pieces are layers, so the in-process development runner (`client.ts`, no database)
 * serves the same entity with the same handler.
 */
import * as RunnerAddress from "@effect/cluster/RunnerAddress";
import * as RunnerHealth from "@effect/cluster/RunnerHealth";
import * as Runners from "@effect/cluster/Runners";
import * as ShardingConfig from "@effect/cluster/ShardingConfig";
import * as Singleton from "@effect/cluster/Singleton";
import * as SocketRunner from "@effect/cluster/SocketRunner";
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage";
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage";
import * as Entity from "@effect/cluster/Entity";
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node/NodeClusterSocket";
import * as RpcSerialization from "@effect/rpc/RpcSerialization";
import { PgClient } from "@effect/sql-pg";
import { SqlClient } from "@effect/sql/SqlClient";
import { Data, Duration, Effect, Layer, Option, Redacted, Schedule } from "effect";
import {
  ChainEntity,
  chainEntityId,
  decodeTask,
  encodePartial,
  encodeReply,
  packDraws,
  RemoteChunkError,
  scratchTarget,
  wireState,
  type Signed,
} from "../../actors/chain-entity.js";
import type { ChunkTask, ModelSpec } from "../../actors/protocol.js";
import { chunksPerThread, Scheduler } from "../scheduler.js";
import { acquireWorkerPool, type PoolStartError, type WorkerResourceLimits } from "../worker-pool.js";
import { DEFAULT_TIMINGS, hasErrorCode, withCause, type ClusterTimings } from "./config.js";
import { databaseSocket } from "./wire-bytes.js";
import { ensureReplyFence, ensureSqlSchema, FENCED_PREFIX, leaseSeconds, makeSqlStore, StoreError, unpackModel, type ClusterStore } from "./store.js";

/** What serves chain entities: the cluster key, the shared store, the chunk scheduler, and how this runner names itself. */
export interface ChunkHost {
  readonly key: Uint8Array;
  readonly store: ClusterStore;
  readonly scheduler: Scheduler;
  /** This runner's address as others reach it (`host:port`), sent with every reply. */
  readonly runner: string;
}

/** Runs' leases as last read, by local deadline (re-read once passed). */
function leaseChecker(store: ClusterStore): (run: string) => Effect.Effect<boolean, StoreError> {
  const validUntil = new Map<string, number>();
  return (run) =>
    Effect.suspend(() => {
      const until = validUntil.get(run);
      if (until !== undefined && Date.now() < until) return Effect.succeed(true);
      return store.leaseLeft(run).pipe(
        Effect.map((left) => {
          if (left === null || !(left > 0)) {
            validUntil.delete(run);
            return false;
          }
          validUntil.set(run, Date.now() + left);
          return true;
        }),
      );
    });
}

/** Models by digest: fetched from the store once, verified, kept. */
function modelCache(key: Uint8Array, store: ClusterStore): (digest: string) => Effect.Effect<ModelSpec, string> {
  const kept = new Map<string, ModelSpec>();
  return (digest) =>
    Effect.suspend(() => {
      const hit = kept.get(digest);
      if (hit !== undefined) return Effect.succeed(hit);
      return store.getModel(digest).pipe(
        Effect.mapError((e) => e.message),
        Effect.flatMap((stored) => {
          if (stored === null) return Effect.fail(`model ${digest} is not in the cluster's store`);
          const spec = unpackModel(key, digest, stored);
          if (typeof spec === "string") return Effect.fail(spec);
          kept.set(digest, spec);
          return Effect.succeed(spec);
        }),
      );
    });
}

/** The chain entity's behaviour on this runner: verify, check the run's lease, fetch the model, run the chunk, sign the reply. */
export function chainEntityLayer(host: ChunkHost, options: { readonly maxIdle: Duration.DurationInput }) {
  const leaseHolds = leaseChecker(host.store);
  const modelOf = modelCache(host.key, host.store);
  return ChainEntity.toLayer(
    Effect.gen(function* () {
      const address = yield* Entity.CurrentAddress;
      return {
        RunChunk: (request) =>
          Effect.gen(function* () {
            const received = performance.now();
            const p = request.payload;
            const refuse = (reason: RemoteChunkError["reason"], message: string) =>
              new RemoteChunkError({ reason, message, runner: host.runner, written: 0, gradients: 0, partial: null });
            if (address.entityId !== chainEntityId(p.run, p.chain)) {
              return yield* refuse("rejected", `a request for ${chainEntityId(p.run, p.chain)} reached entity ${address.entityId}`);
            }
            const task = decodeTask(host.key, p.task, p);
            if (typeof task === "string") return yield* refuse("rejected", task);
            const live = yield* leaseHolds(p.run).pipe(Effect.mapError((e) => refuse("orphaned", `the run's lease could not be read: ${e.message}`)));
            if (!live) return yield* refuse("orphaned", `run ${p.run} has no live client (its lease ended): its chunk was not run`);
            const model = yield* modelOf(task.model).pipe(Effect.mapError((m) => refuse("model", m)));
            const target = scratchTarget(task);
            const chunk: ChunkTask = {
              kind: "chunk",
              modelId: `cluster:${task.model}`,
              model,
              chain: task.chain,
              attempt: task.attempt,
              state: task.state,
              init: task.init,
              metric: task.metric,
              iterations: task.iterations,
              target,
              settings: task.settings,
              faults: task.faults,
            };
            const which = { run: p.run, chain: p.chain, seq: p.seq };
            const result = yield* host.scheduler.run(chunk, Duration.millis(task.timeoutMs), () => task.remainingSeconds).pipe(
              Effect.mapError((e) => {
                const written = Math.max(0, Math.min(task.iterations, Math.floor(e.progress.written)));
                const partial: Signed = encodePartial(host.key, { ...which, progress: e.progress, draws: packDraws(target, task.width, written) });
                return new RemoteChunkError({
                  reason: e._tag === "ChunkTimeout" ? "timeout" : "error",
                  message: e.message,
                  runner: host.runner,
                  written: e.progress.written,
                  gradients: e.progress.gradients,
                  partial,
                });
              }),
            );
            const draws = packDraws(target, task.width, result.count);
            const runnerSeconds = (performance.now() - received) / 1000;
            const checkpoint = wireState(result.state, false)!;
            return { runner: host.runner, reply: encodeReply(host.key, { ...which, result: { ...result, state: checkpoint }, draws, runnerSeconds }) };
          }),
      };
    }),
    { maxIdleTime: options.maxIdle, concurrency: 1 },
  );
}

/** Every `every`, one runner of the cluster (a singleton) sweeps what ended runs left in storage. */
export function janitorLayer(store: ClusterStore, every: Duration.DurationInput, grace: Duration.DurationInput) {
  const sweep = store.sweep(Duration.toMillis(grace)).pipe(
    Effect.tap((r) => (r.runs > 0 ? Effect.logInfo(`swept ${r.runs} ended runs (${r.messages} messages)`) : Effect.void)),
    Effect.catchAll((e) => Effect.logWarning(`sweep failed: ${e.message}`)),
  );
  return Singleton.make("bayests-janitor", sweep.pipe(Effect.repeat(Schedule.spaced(every)), Effect.asVoid));
}

/** A runner that could not join the cluster (database unreachable, port taken, no worker). */
/** A runner could not join; `portTaken`: its port was in use (a port it chose itself can be chosen again). */
export class RunnerStartError extends Data.TaggedError("RunnerStartError")<{ readonly message: string; readonly portTaken: boolean }> {}

export function shardingConfig(timings: ClusterTimings, runnerAddress: Option.Option<RunnerAddress.RunnerAddress>, listen: Option.Option<RunnerAddress.RunnerAddress>) {
  const expiration = Duration.decode(timings.lockExpiration);
  return ShardingConfig.layer({
    runnerAddress,
    runnerListenAddress: listen,
    shardLockExpiration: expiration,
    shardLockRefreshInterval: Duration.divide(expiration, 3).pipe(Option.getOrElse(() => expiration)),
    runnerHealthCheckInterval: timings.healthCheck,
    refreshAssignmentsInterval: timings.refreshAssignments,
    entityMessagePollInterval: timings.messagePoll,
    entityReplyPollInterval: "100 millis",
    // Shard leases are rows the runner renews itself (`cluster_locks.acquired_at`), not
    // advisory locks: PostgreSQL keeps a frozen process's advisory locks while its connection
    // stays open, so a runner paused by SIGSTOP, a long GC or a suspended VM would keep its
    // chains for ever; a lease it does not renew expires after `lockExpiration` (D136).
    shardLockDisableAdvisory: true,
    // A chunk's messages are decoded by the entity itself; nothing gains from a rehearsal.
    simulateRemoteSerialization: false,
  });
}

/**
 * PostgreSQL as the cluster's storage. `applicationName`: a runner's sessions name it
 * (`fencedApplicationName`), so the database refuses replies it stores for shards it lost.
 * `idleInTransaction`: the database ends a session of ours that stays idle inside a
 * transaction this long: a process cut off from the database in the middle of one (a
 * partition, a frozen process) would otherwise keep its row locks, on `cluster_locks` among
 * others, until TCP gives up on it, and the runner taking its shards would wait that long.
 */
export function pgLayer(database: string, maxConnections = 8, applicationName = "bayests", idleInTransaction: Duration.DurationInput = DEFAULT_TIMINGS.lockExpiration) {
  const url = withSessionParameter(database, "idle_in_transaction_session_timeout", String(Math.max(1, Math.round(Duration.toMillis(idleInTransaction)))));
  return PgClient.layer({ url: Redacted.make(url), maxConnections, applicationName, stream: databaseSocket });
}

/** The URL with a session parameter the driver sends at connection (a URL it cannot parse is left as it is). */
function withSessionParameter(database: string, name: string, value: string): string {
  try {
    const u = new URL(database);
    if (!u.searchParams.has(name)) u.searchParams.set(name, value);
    return u.toString();
  } catch {
    return database;
  }
}

/**
 * The `application_name` of a runner's database sessions: the reply fence
 * (`bayests_fence_reply`, store.ts) reads the runner's address and its lease's length from it.
 */
export function fencedApplicationName(address: string, timings: ClusterTimings): string {
  return `${FENCED_PREFIX} ${leaseSeconds(timings)} ${address}`;
}

const SCHEMA_LOCK = 4_242_424_242;

/**
 * Creates the cluster's tables and ours, one process at a time (an advisory lock: runners
 * and clients that start together would otherwise race on `CREATE TABLE IF NOT EXISTS`).
 */
export function ensureSchema(timings: ClusterTimings): Effect.Effect<void, StoreError, SqlClient> {
  const storage = Layer.mergeAll(SqlMessageStorage.layer, Layer.orDie(SqlRunnerStorage.layer)).pipe(
    Layer.provide(shardingConfig(timings, Option.none(), Option.none())),
  );
  return Effect.gen(function* () {
    const sql = yield* SqlClient;
    const conn = yield* sql.reserve;
    yield* conn.executeRaw(`SELECT pg_advisory_lock(${SCHEMA_LOCK})`, []);
    yield* Effect.addFinalizer(() => conn.executeRaw(`SELECT pg_advisory_unlock(${SCHEMA_LOCK})`, []).pipe(Effect.ignore));
    yield* ensureSqlSchema;
    yield* Effect.scoped(Layer.build(storage));
    yield* ensureReplyFence;
  }).pipe(
    Effect.scoped,
    Effect.catchTag("SqlError", (e) => Effect.fail(new StoreError({ message: `preparing the database: ${e.message}` }))),
  );
}

export interface RunnerConfig {
  readonly database: string;
  readonly key: Uint8Array;
  /** The address other runners and clients reach this one at. */
  readonly host: string;
  readonly port: number;
  /** The address to listen on (default: `host`). */
  readonly listenHost?: string;
  readonly threads: number;
  readonly resourceLimits?: WorkerResourceLimits | undefined;
  readonly timings: ClusterTimings;
  /** An idle chain entity is stopped after this long (its run's next chunk starts it again). */
  readonly entityMaxIdle: Duration.DurationInput;
  readonly sweepEvery: Duration.DurationInput;
  /** Runs whose lease ended more than this long ago are swept. */
  readonly sweepGrace: Duration.DurationInput;
}

/** A runner of the cluster, as a layer: built, it has joined; closed, it has left (shards released, threads ended). */
export function runnerLayer(config: RunnerConfig): Layer.Layer<never, RunnerStartError | PoolStartError> {
  const address = RunnerAddress.make(config.host, config.port);
  const listen = config.listenHost === undefined ? Option.none() : Option.some(RunnerAddress.make(config.listenHost, config.port));
  const sharding = SocketRunner.layer.pipe(
    Layer.provide([layerSocketServer, layerClientProtocol]),
    Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))),
    Layer.provideMerge(SqlMessageStorage.layer),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(shardingConfig(config.timings, Option.some(address), listen)),
    Layer.provide(RpcSerialization.layerMsgPack),
  );
  const host = Layer.unwrapScoped(
    Effect.gen(function* () {
      yield* ensureSchema(config.timings);
      const store = yield* makeSqlStore;
      const pool = yield* acquireWorkerPool({ threads: config.threads, resourceLimits: config.resourceLimits });
      const scheduler = new Scheduler(pool, pool.threads, chunksPerThread(pool.threads, 2 * pool.threads));
      yield* Effect.addFinalizer(() => Effect.sync(() => scheduler.stop()));
      const chunkHost: ChunkHost = { key: config.key, store, scheduler, runner: `${config.host}:${config.port}` };
      return Layer.mergeAll(chainEntityLayer(chunkHost, { maxIdle: config.entityMaxIdle }), janitorLayer(store, config.sweepEvery, config.sweepGrace));
    }),
  );
  return host.pipe(
    Layer.provide(sharding),
    Layer.provide(pgLayer(config.database, 8, fencedApplicationName(`${config.host}:${config.port}`, config.timings), config.timings.lockExpiration)),
    Layer.catchAll((e) => Layer.fail(e._tag === "PoolStartError" ? e : new RunnerStartError({ message: withCause(e), portTaken: hasErrorCode(e, "EADDRINUSE") }))),
  ) as Layer.Layer<never, RunnerStartError | PoolStartError>;
}

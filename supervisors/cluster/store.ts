/**
 * What the cluster's clients and runners share besides the cluster's own tables: the models
 * (each sent once, fetched once per runner) and the runs' leases (the orphan policy).
 *
 * - `bayests_models`: a run's compiled model as its `node:v8` serialisation, keyed by its
 *   SHA-256 and signed with the cluster key (HMAC-SHA256, domain `model`). A runner fetches
 *   a model the first time one of its chains needs it, checks digest and signature before
 *   anything else, and keeps it (so its data cross the network once per runner, not per
 *   chain or per chunk). The database is storage, not a trust anchor: a row written by
 *   anyone without the key is refused.
 * - `bayests_runs`: one row per run with a lease the client renews (`lease_until`, in the
 *   database's clock, so machines' clocks need not agree). A runner runs a chunk only while
 *   its run's lease holds; a client that dies stops renewing, and what it left in storage is
 *   refused, then swept (`sweep`) with its messages and replies.
 *
 * Two implementations: PostgreSQL (through `@effect/sql`) and one process's memory (the
 * in-process development runner).
 */
import { createHash } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import { SqlClient } from "@effect/sql/SqlClient";
import type { SqlError } from "@effect/sql/SqlError";
import { Data, Duration, Effect } from "effect";
import { CHAIN_ENTITY_TYPE, sign, verified } from "../../actors/chain-entity.js";
import { SIMULATION_ENTITY_TYPE } from "../../actors/simulation-entity.js";
import type { ModelSpec } from "../../actors/protocol.js";
import { forThisProcessAny, isAnyCompiled, signedWithAny } from "../../src/compile/backends.js";
import { trustModelKey } from "../../src/compile/trust.js";
import type { ClusterTimings } from "./config.js";

/** A storage operation failed (the database is unreachable, a query failed). */
export class StoreError extends Data.TaggedError("StoreError")<{ readonly message: string }> {}

export interface StoredModel {
  readonly body: Uint8Array;
  readonly mac: string;
}

export interface SweepResult {
  readonly runs: number;
  readonly messages: number;
}

/** A chunk's successful reply as the database stored it: which runner ran it, and the signed reply. */
export interface StoredReply {
  readonly runner: string;
  readonly reply: { readonly body: Uint8Array; readonly mac: string };
}

export interface ClusterStore {
  putModel(digest: string, model: StoredModel): Effect.Effect<void, StoreError>;
  getModel(digest: string): Effect.Effect<StoredModel | null, StoreError>;
  /** Registers a run with a lease of `leaseMs` from now. */
  startRun(run: string, model: string, chains: number, leaseMs: number): Effect.Effect<void, StoreError>;
  renewRun(run: string, leaseMs: number): Effect.Effect<void, StoreError>;
  /** Ends the run's lease and removes its messages and replies. */
  endRun(run: string): Effect.Effect<void, StoreError>;
  /** Milliseconds the run's lease has left (0 or less: ended; null: no such run). */
  leaseLeft(run: string): Effect.Effect<number | null, StoreError>;
  /** Removes what runs whose lease ended more than `graceMs` ago left, and models no live run uses. */
  sweep(graceMs: number): Effect.Effect<SweepResult, StoreError>;
  /**
   * The successful reply stored for a chunk request (run, chain, its primary key `seq.attempt`),
   * null while the request waits for one, or "unsent" when the request itself is not in storage:
   * the client's way to a reply that another runner stored while the runner it sent the request
   * to cannot answer (cut off from the database, it keeps the request's connection open), and to
   * a send whose write of the request was lost with its connection (D180).
   */
  storedReply(run: string, chain: number, primaryKey: string): Effect.Effect<StoredReply | "unsent" | null, StoreError>;
}

// ---- models: serialisation, digest, signature ----

function isSharedView(x: unknown): x is ArrayBufferView {
  return ArrayBuffer.isView(x) && x.buffer instanceof SharedArrayBuffer;
}

/** A deep copy of plain data with every view on a SharedArrayBuffer copied to an ordinary one (v8 cannot serialise shared memory). */
function unshared(x: unknown): unknown {
  if (isSharedView(x)) return (x as unknown as { slice(): unknown }).slice();
  if (ArrayBuffer.isView(x) || typeof x !== "object" || x === null) return x;
  if (Array.isArray(x)) return x.map(unshared);
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, unshared(v)]));
}

/** Typed arrays moved to SharedArrayBuffers: the runner's threads then share one copy of the data. */
function shared(x: unknown): unknown {
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    const a = x as unknown as { constructor: new (b: SharedArrayBuffer) => { set(v: unknown): void }; byteLength: number };
    const copy = new a.constructor(new SharedArrayBuffer(a.byteLength));
    copy.set(x);
    return copy;
  }
  if (typeof x !== "object" || x === null) return x;
  if (Array.isArray(x)) return x.map(shared);
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, shared(v)]));
}

/**
 * A compiled model as it is stored: signed with the cluster key as an operator key (so a
 * runner that trusts that key, `trustModelKey`, accepts it; the client's own process key
 * means nothing elsewhere), serialised, digested, and the whole body signed too (the model's
 * own signature covers its code and layout, not its data values).
 */
export function packModel(key: Uint8Array, spec: ModelSpec & { kind: "compiled" }): { digest: string; model: StoredModel } {
  const body = serialize(unshared(signedWithAny(spec.compiled, key)));
  const digest = createHash("sha256").update(body).digest("hex");
  const { mac } = sign(key, "model", body);
  return { digest, model: { body, mac } };
}

/**
 * The model, if it is the one `digest` names, its body was signed with `key`, and it passes
 * `verifyCompiledModel` under that key (trusted here once, `trustModelKey`); re-signed with
 * this process's key for its worker threads. A message saying why not otherwise.
 */
export function unpackModel(key: Uint8Array, digest: string, model: StoredModel): ModelSpec | string {
  if (createHash("sha256").update(model.body).digest("hex") !== digest) return `model ${digest} in storage does not match its digest`;
  if (verified(key, "model", model) === null) return `model ${digest} in storage is not signed with this runner's cluster key`;
  try {
    trustModelKey(key);
    const received = shared(deserialize(model.body));
    if (!isAnyCompiled(received)) return `model ${digest} in storage is not a compiled model`;
    return { kind: "compiled", compiled: forThisProcessAny(received) };
  } catch (e) {
    return `model ${digest} in storage was refused: ${e instanceof Error ? e.message : String(e)}`;
  }
}

// ---- PostgreSQL ----

const MESSAGES = "cluster_messages";
const REPLIES = "cluster_replies";

function storeError(what: string) {
  return (e: SqlError) => new StoreError({ message: `${what}: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ""}` });
}

/** Creates this store's tables if they are missing (call under the schema lock). */
export const ensureSqlSchema: Effect.Effect<void, StoreError, SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient;
  yield* sql`CREATE TABLE IF NOT EXISTS bayests_models (
    digest TEXT PRIMARY KEY,
    body BYTEA NOT NULL,
    mac TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    used_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
  )`;
  yield* sql`CREATE TABLE IF NOT EXISTS bayests_runs (
    run_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    chains INTEGER NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    swept_at TIMESTAMPTZ
  )`;
}).pipe(Effect.mapError(storeError("creating the bayests tables")));

/** How a runner's database sessions begin their `application_name` (the reply fence looks for it). */
export const FENCED_PREFIX = "bayests-runner";

/** Whole seconds of a shard lease, rounded up as `@effect/cluster`'s lock queries round them. */
export function leaseSeconds(timings: ClusterTimings): number {
  return Math.ceil(Duration.toSeconds(Duration.decode(timings.lockExpiration)));
}

/**
 * The reply fence (D136): a runner's session may store a reply only while that runner holds
 * the shard of the request's entity, with a lease (`cluster_locks.acquired_at`) that has
 * not expired. The check and the insert are one transaction, and the lease row is read
 * `FOR SHARE`, so another runner cannot take the shard in between. A runner that was frozen
 * past its lease (SIGSTOP, a long GC, a suspended VM) and wakes with a chunk finished thus
 * stores nothing for the chains it lost: the reply is dropped (a warning in the database's
 * log), the request handed back unread, and the runner that took the chain answers it. A
 * reply to a request that no longer exists (a runner woken after its run ended and was
 * cleared) is dropped too: it would be left behind in storage.
 * Sessions that are not a runner's (the client's, an operator's) are not fenced.
 */
export const ensureReplyFence: Effect.Effect<void, StoreError, SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient;
  yield* sql.unsafe(`CREATE OR REPLACE FUNCTION bayests_fence_reply() RETURNS trigger LANGUAGE plpgsql AS $fence$
    DECLARE
      who TEXT[] := regexp_match(current_setting('application_name'), '^${FENCED_PREFIX} ([0-9]+) (.+)$');
      shard TEXT;
    BEGIN
      IF who IS NULL THEN RETURN NEW; END IF;
      SELECT m.shard_id INTO shard FROM ${MESSAGES} m WHERE m.id = NEW.request_id;
      IF shard IS NULL THEN
        -- The request is gone: its run ended (and was cleared) while this runner was away (frozen
        -- past the run's end). Nothing of it may be stored: the reply would be left behind.
        RAISE WARNING 'bayests: runner % stored a reply to request %, which no longer exists (its run ended); refused', who[2], NEW.request_id;
        RETURN NULL;
      END IF;
      PERFORM 1 FROM cluster_locks l
        WHERE l.shard_id = shard AND l.address = who[2] AND l.acquired_at > NOW() - who[1]::INT * INTERVAL '1 second'
        FOR SHARE;
      IF NOT FOUND THEN
        -- Not stored, and the request handed back: unprocessed and unread, so that the shard's
        -- holder runs it at its next look in storage (an error instead would leave the
        -- request marked as read by the stale runner, which the holder skips for minutes).
        UPDATE ${MESSAGES} SET processed = FALSE, last_reply_id = NULL, last_read = NULL WHERE id = NEW.request_id;
        RAISE WARNING 'bayests: runner % no longer holds shard % (its lease expired or moved); its reply to request % is refused', who[2], shard, NEW.request_id;
        RETURN NULL;
      END IF;
      RETURN NEW;
    END
  $fence$`);
  const present = yield* sql`SELECT 1 FROM pg_trigger WHERE tgname = 'bayests_fence_reply' AND NOT tgisinternal`;
  if (present.length === 0) {
    yield* sql.unsafe(`CREATE TRIGGER bayests_fence_reply BEFORE INSERT ON ${REPLIES} FOR EACH ROW EXECUTE FUNCTION bayests_fence_reply()`);
  }
}).pipe(Effect.mapError(storeError("installing the reply fence")));

/** The entities a run's messages go to: chains, and ABC's simulation batches. */
const RUN_ENTITY_TYPES = [CHAIN_ENTITY_TYPE, SIMULATION_ENTITY_TYPE];

/** Deletes the messages (and their replies) of the given runs' entities. */
function deleteMessagesOf(sql: SqlClient, runs: readonly string[]): Effect.Effect<number, SqlError> {
  if (runs.length === 0) return Effect.succeed(0);
  return Effect.gen(function* () {
    const ids = sql`SELECT id FROM ${sql(MESSAGES)} WHERE entity_type IN ${sql.in(RUN_ENTITY_TYPES)} AND split_part(entity_id, '/', 1) IN ${sql.in(runs)}`;
    yield* sql`DELETE FROM ${sql(REPLIES)} WHERE request_id IN (${ids})`;
    const deleted = yield* sql`DELETE FROM ${sql(MESSAGES)} WHERE entity_type IN ${sql.in(RUN_ENTITY_TYPES)} AND split_part(entity_id, '/', 1) IN ${sql.in(runs)} RETURNING id`;
    return deleted.length;
  });
}

export const makeSqlStore: Effect.Effect<ClusterStore, never, SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient;
  return {
    putModel: (digest, model) =>
      Effect.gen(function* () {
        // A model already stored (an earlier run of it) is not sent again.
        const known = yield* sql`UPDATE bayests_models SET used_at = NOW(), mac = ${model.mac} WHERE digest = ${digest} RETURNING digest`;
        if (known.length > 0) return;
        yield* sql`INSERT INTO bayests_models (digest, body, mac) VALUES (${digest}, ${model.body}, ${model.mac}) ON CONFLICT (digest) DO NOTHING`;
      }).pipe(Effect.mapError(storeError("storing the model"))),
    getModel: (digest) =>
      sql<{ body: Uint8Array; mac: string }>`UPDATE bayests_models SET used_at = NOW() WHERE digest = ${digest} RETURNING body, mac`.pipe(
        Effect.map((rows) => (rows.length === 0 ? null : { body: new Uint8Array(rows[0]!.body), mac: rows[0]!.mac })),
        Effect.mapError(storeError(`reading model ${digest}`)),
      ),
    startRun: (run, model, chains, leaseMs) =>
      sql`INSERT INTO bayests_runs (run_id, model, chains, lease_until)
          VALUES (${run}, ${model}, ${chains}, NOW() + ${leaseMs} * INTERVAL '1 millisecond')`.pipe(Effect.asVoid, Effect.mapError(storeError("registering the run"))),
    renewRun: (run, leaseMs) =>
      sql`UPDATE bayests_runs SET lease_until = NOW() + ${leaseMs} * INTERVAL '1 millisecond' WHERE run_id = ${run} AND swept_at IS NULL`.pipe(
        Effect.asVoid,
        Effect.mapError(storeError("renewing the run's lease")),
      ),
    endRun: (run) =>
      Effect.gen(function* () {
        yield* sql`UPDATE bayests_runs SET lease_until = NOW(), swept_at = NOW() WHERE run_id = ${run}`;
        yield* deleteMessagesOf(sql, [run]);
      }).pipe(Effect.mapError(storeError("ending the run"))),
    leaseLeft: (run) =>
      sql<{ left: number | string }>`SELECT EXTRACT(EPOCH FROM (lease_until - NOW())) * 1000 AS "left" FROM bayests_runs WHERE run_id = ${run} AND swept_at IS NULL`.pipe(
        Effect.map((rows) => (rows.length === 0 ? null : Number(rows[0]!.left))),
        Effect.mapError(storeError("reading the run's lease")),
      ),
    sweep: (graceMs) =>
      Effect.gen(function* () {
        const dead = yield* sql<{ run_id: string }>`UPDATE bayests_runs SET swept_at = NOW()
          WHERE swept_at IS NULL AND lease_until < NOW() - ${graceMs} * INTERVAL '1 millisecond' RETURNING run_id`;
        const runs = dead.map((r) => r.run_id);
        const messages = yield* deleteMessagesOf(sql, runs);
        // Replies whose request is gone (a run ended while one of its chunks was still running).
        yield* sql`DELETE FROM ${sql(REPLIES)} r WHERE NOT EXISTS (SELECT 1 FROM ${sql(MESSAGES)} m WHERE m.id = r.request_id)`;
        yield* sql`DELETE FROM bayests_runs WHERE swept_at < NOW() - INTERVAL '7 days'`;
        yield* sql`DELETE FROM bayests_models m WHERE used_at < NOW() - INTERVAL '1 day'
          AND NOT EXISTS (SELECT 1 FROM bayests_runs r WHERE r.model = m.digest AND r.swept_at IS NULL)`;
        return { runs: runs.length, messages };
      }).pipe(Effect.mapError(storeError("sweeping ended runs"))),
    storedReply: (run, chain, primaryKey) =>
      // The cluster's own key for a request with a primary key (`Envelope.primaryKeyByAddress`).
      sql<{ payload: string | null }>`SELECT r.payload FROM ${sql(MESSAGES)} m LEFT JOIN ${sql(REPLIES)} r ON r.request_id = m.id AND r.kind = 0
        WHERE m.message_id = ${`${CHAIN_ENTITY_TYPE}/${run}/${chain}/RunChunk/${primaryKey}`}`.pipe(
        Effect.map((rows) => {
          if (rows.length === 0) return "unsent" as const;
          for (const row of rows) {
            if (row.payload === null) continue;
            const exit = (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as { _tag?: string; value?: { runner?: unknown; reply?: { body?: unknown; mac?: unknown } } };
            const v = exit._tag === "Success" ? exit.value : undefined;
            if (typeof v?.runner === "string" && typeof v.reply?.body === "string" && typeof v.reply.mac === "string") {
              return { runner: v.runner, reply: { body: new Uint8Array(Buffer.from(v.reply.body, "base64")), mac: v.reply.mac } };
            }
          }
          return null;
        }),
        Effect.mapError(storeError("reading a stored reply")),
      ),
  } satisfies ClusterStore;
});

// ---- memory (the in-process development runner) ----

export function makeMemoryStore(): ClusterStore {
  const models = new Map<string, StoredModel>();
  const runs = new Map<string, { leaseUntil: number; ended: boolean }>();
  return {
    putModel: (digest, model) => Effect.sync(() => void models.set(digest, model)),
    getModel: (digest) => Effect.sync(() => models.get(digest) ?? null),
    startRun: (run, _model, _chains, leaseMs) => Effect.sync(() => void runs.set(run, { leaseUntil: Date.now() + leaseMs, ended: false })),
    renewRun: (run, leaseMs) =>
      Effect.sync(() => {
        const r = runs.get(run);
        if (r !== undefined && !r.ended) r.leaseUntil = Date.now() + leaseMs;
      }),
    endRun: (run) =>
      Effect.sync(() => {
        const r = runs.get(run);
        if (r !== undefined) Object.assign(r, { leaseUntil: Date.now(), ended: true });
      }),
    leaseLeft: (run) =>
      Effect.sync(() => {
        const r = runs.get(run);
        return r === undefined || r.ended ? null : r.leaseUntil - Date.now();
      }),
    sweep: () => Effect.succeed({ runs: 0, messages: 0 }),
    // In one process the runner that stores a reply is the one that answers: nothing to look up.
    storedReply: () => Effect.succeed(null),
  };
}

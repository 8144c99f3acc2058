/**
 * The chain entity: one chain of one run as an `@effect/cluster` entity (`bayests-chain`,
 * entity id `<run>/<chain>`), hosted by whichever runner holds its shard. Its protocol is one
 * durable request, `RunChunk`: a chunk task of the usual protocol (`ChunkTask`, minus what
 * only makes sense in one process: the model spec and the shared draw target), answered by
 * the chunk's result and its draws. The chain's checkpoint travels in the request and the
 * next one in the reply; both are persisted by the cluster's message storage (the request
 * before it is delivered, the reply before it is returned). A runner that dies leaves its
 * unanswered requests in storage, the runner that takes over its shards runs them from the
 * checkpoint they carry, and since the kernel is deterministic given (checkpoint, window update,
 * settings) the reply is the one the dead runner would have sent.
 *
 * Wire format: request and reply bodies are `node:v8` serialisations (the structured clone
 * that worker threads already receive: typed arrays as raw bytes), each with an
 * HMAC-SHA256 under the cluster key and a domain tag, so a runner never deserialises or runs
 * anything a key holder did not send, and a reply cannot pass for a request. The compiled
 * model travels separately, once per runner (see `supervisors/cluster/store.ts`).
 *
 * Draws: a runner's worker writes them into a scratch target of the chunk's size
 * (`DrawTarget.base`), the reply carries them quantity-major, and the client writes them
 * into the chain's trace at the same offsets a local worker would have used, so everything
 * above the chunk (commit, coordinator, streams, result) is unchanged.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import * as ClusterSchema from "@effect/cluster/ClusterSchema";
import * as Entity from "@effect/cluster/Entity";
import * as Rpc from "@effect/rpc/Rpc";
import { Schema } from "effect";
import { compactEstimator, newEstimator, type ChainState, type SamplerSettings, type SamplerStatsArrays, type WindowUpdate } from "../src/inference/index.js";
import { allocateStats, STAT_KEYS } from "../src/inference/stats.js";
import type { ChunkProgress, ChunkResult, DrawTarget, FaultSpec, InitRequest } from "./protocol.js";

export const CHAIN_ENTITY_TYPE = "bayests-chain";

/** The entity id of chain `chain` of run `run`. */
export function chainEntityId(run: string, chain: number): string {
  return `${run}/${chain}`;
}

/** A body (v8 serialisation) and its HMAC-SHA256 under the cluster key (hex). */
export const Signed = Schema.Struct({ body: Schema.Uint8ArrayFromBase64, mac: Schema.String });
export type Signed = typeof Signed.Type;

/** What a request or a reply is: signatures of one domain never verify in another. */
export type SignedDomain = "task" | "reply" | "partial" | "model" | "simulations" | "simulated";

export function sign(key: Uint8Array, domain: SignedDomain, body: Uint8Array): Signed {
  return { body, mac: createHmac("sha256", key).update(`bayests/${domain}\0`).update(body).digest("hex") };
}

/** The body, if its signature verifies under `key` for `domain`; null otherwise. */
export function verified(key: Uint8Array, domain: SignedDomain, signed: Signed): Uint8Array | null {
  const want = createHmac("sha256", key).update(`bayests/${domain}\0`).update(signed.body).digest();
  const got = Buffer.from(signed.mac, "hex");
  return got.length === want.length && timingSafeEqual(got, want) ? signed.body : null;
}

/**
 * Why a remote chunk failed. `error` and `timeout` are the chunk's own failures (a thrown
 * error, a dead thread, the runner's watchdog), as on the local pool; `orphaned`: the run's
 * client stopped renewing its lease, the runner refused to run it; `model`: the runner could
 * not get or verify the model; `rejected`: the request did not verify under the runner's key.
 */
export class RemoteChunkError extends Schema.TaggedError<RemoteChunkError>()("RemoteChunkError", {
  reason: Schema.Literal("error", "timeout", "orphaned", "model", "rejected"),
  message: Schema.String,
  runner: Schema.String,
  written: Schema.Number,
  gradients: Schema.Number,
  /** The draws the failed chunk completed (`written` of them), signed as `partial`. */
  partial: Schema.NullOr(Signed),
}) {}

/** Runs one chunk of a chain (durable: persisted before delivery, its reply persisted too). */
export const RunChunk = Rpc.make("RunChunk", {
  payload: {
    run: Schema.String,
    chain: Schema.Number,
    /** The chunk's number in its chain; with `attempt`, the request's primary key. */
    seq: Schema.Number,
    attempt: Schema.Number,
    task: Signed,
  },
  success: Schema.Struct({ runner: Schema.String, reply: Signed }),
  error: RemoteChunkError,
  // A request sent again (the same chunk, the same attempt) gets the stored reply.
  primaryKey: (p) => `${p.seq}.${p.attempt}`,
}).annotate(ClusterSchema.Persisted, true);

export const ChainEntity = Entity.make(CHAIN_ENTITY_TYPE, [RunChunk]);

/** A chunk task as it crosses machines: `ChunkTask` with the model by digest and no target. */
export interface RemoteTask {
  readonly run: string;
  readonly chain: number;
  readonly seq: number;
  readonly attempt: number;
  /** SHA-256 (hex) of the model's serialised form (`supervisors/cluster/store.ts`). */
  readonly model: string;
  /** Quantities per draw (the model's names). */
  readonly width: number;
  readonly state: ChainState | null;
  readonly init: InitRequest | null;
  /** The window update to apply first (a metric, or nutpie's switch), as in `ChunkTask`. */
  readonly metric: WindowUpdate | null;
  readonly iterations: number;
  /** Index in its phase of the chunk's first draw (`DrawTarget.offset`). */
  readonly offset: number;
  readonly settings: SamplerSettings;
  readonly faults: readonly FaultSpec[];
  /** The runner's watchdog for this chunk (ms; Infinity: none). */
  readonly timeoutMs: number;
  /** Estimated compute seconds the chain has left (NaN: unknown): a runner runs the chunk of the chain with the most left first. */
  readonly remainingSeconds: number;
}

/** A chunk's draws, quantity-major (`values[k * count + i]`), and its statistics. */
export interface PackedDraws extends SamplerStatsArrays {
  readonly count: number;
  readonly values: Float64Array;
}

export interface RemoteReply {
  readonly run: string;
  readonly chain: number;
  readonly seq: number;
  readonly result: ChunkResult;
  readonly draws: PackedDraws;
  /** Seconds from the request reaching the entity to the reply (queueing on the runner's threads and the compute). */
  readonly runnerSeconds: number;
  /** Worker threads of the runner that answered. */
  readonly threads: number;
}

export interface RemotePartial {
  readonly run: string;
  readonly chain: number;
  readonly seq: number;
  readonly progress: ChunkProgress;
  readonly draws: PackedDraws;
}

export function encodeTask(key: Uint8Array, task: RemoteTask): Signed {
  return sign(key, "task", serialize(task));
}

/** The task, or a message saying why it cannot be run. */
export function decodeTask(key: Uint8Array, signed: Signed, expect: { run: string; chain: number; seq: number; attempt: number }): RemoteTask | string {
  const body = verified(key, "task", signed);
  if (body === null) return "the request does not verify under this runner's cluster key";
  const task = deserialize(body) as RemoteTask;
  if (task.run !== expect.run || task.chain !== expect.chain || task.seq !== expect.seq || task.attempt !== expect.attempt) {
    return `the request's task belongs to ${task.run}/${task.chain} #${task.seq}.${task.attempt}, not to ${expect.run}/${expect.chain} #${expect.seq}.${expect.attempt}`;
  }
  return task;
}

/**
 * A checkpoint as it crosses machines. nutpie's schedule keeps its window estimators in the
 * checkpoint (the low-rank one: every draw and gradient of the window, in arrays that grow by
 * doubling), which would make most of a chunk's bytes:
 * - `strip` (a request for a chunk wholly in sampling, no window update pending: the kernel
 *   never reads the estimators there): they travel empty, and the client puts its own back
 *   into the reply's checkpoint (`restoreEstimators`);
 * - otherwise they travel without their spare capacity (`compactEstimator`: the same values).
 * Both give the checkpoint a local run would have, bit for bit.
 */
export function wireState(state: ChainState | null, strip: boolean): ChainState | null {
  const f = state?.fisher ?? null;
  if (state === null || f === null) return state;
  const dim = state.dim;
  const pack = (e: typeof f.foreground) => (strip ? newEstimator(e.kind, dim) : compactEstimator(e, dim));
  return { ...state, fisher: { ...f, foreground: pack(f.foreground), background: pack(f.background) } };
}

/** Whether a request's checkpoint may travel without its window estimators (see `wireState`). */
export function samplingOnly(state: ChainState | null, update: WindowUpdate | null): boolean {
  return state !== null && update === null && !state.awaitingMetric && state.iteration >= state.numWarmup;
}

/** The reply's checkpoint with the estimators of the checkpoint the request was stripped of. */
export function restoreEstimators(reply: ChainState, sent: ChainState): ChainState {
  if (reply.fisher === null || sent.fisher === null) return reply;
  return { ...reply, fisher: { ...reply.fisher, foreground: sent.fisher.foreground, background: sent.fisher.background } };
}

/** A scratch target for a runner's worker: room for the chunk's draws only (`base` = its first draw). */
export function scratchTarget(task: RemoteTask): DrawTarget {
  const capacity = Math.max(1, task.iterations);
  return {
    values: new Float64Array(new SharedArrayBuffer(task.width * capacity * Float64Array.BYTES_PER_ELEMENT)),
    capacity,
    offset: task.offset,
    base: task.offset,
    ...allocateStats(capacity, true),
  };
}

/** The first `count` draws a worker wrote into a scratch target, in plain (unshared) arrays. */
export function packDraws(target: DrawTarget, width: number, count: number): PackedDraws {
  const n = Math.max(0, Math.min(count, target.capacity));
  const values = new Float64Array(width * n);
  for (let k = 0; k < width; k++) values.set(target.values.subarray(k * target.capacity, k * target.capacity + n), k * n);
  const stats = Object.fromEntries(STAT_KEYS.map((s) => [s, target[s].slice(0, n)])) as unknown as SamplerStatsArrays;
  return { count: n, values, ...stats };
}

export function encodeReply(key: Uint8Array, reply: RemoteReply): Signed {
  return sign(key, "reply", serialize(reply));
}

export function encodePartial(key: Uint8Array, partial: RemotePartial): Signed {
  return sign(key, "partial", serialize(partial));
}

function decodeSigned<T extends { run: string; chain: number; seq: number }>(
  key: Uint8Array,
  domain: SignedDomain,
  signed: Signed,
  expect: { run: string; chain: number; seq: number },
): T {
  const body = verified(key, domain, signed);
  if (body === null) throw new Error(`a ${domain} from a runner does not verify under the cluster key`);
  const value = deserialize(body) as T;
  if (value.run !== expect.run || value.chain !== expect.chain || value.seq !== expect.seq) {
    throw new Error(`a ${domain} for ${value.run}/${value.chain} #${value.seq} arrived for ${expect.run}/${expect.chain} #${expect.seq}`);
  }
  return value;
}

export function decodeReply(key: Uint8Array, signed: Signed, expect: { run: string; chain: number; seq: number }): RemoteReply {
  return decodeSigned<RemoteReply>(key, "reply", signed, expect);
}

export function decodePartial(key: Uint8Array, signed: Signed, expect: { run: string; chain: number; seq: number }): RemotePartial {
  return decodeSigned<RemotePartial>(key, "partial", signed, expect);
}

/**
 * Writes packed draws into the chain's trace target, where a local worker would have written
 * them (`target.offset` on); throws if they do not fit what was asked.
 */
export function unpackDraws(draws: PackedDraws, target: DrawTarget, width: number, iterations: number): void {
  const n = draws.count;
  if (!(n >= 0 && n <= iterations) || draws.values.length !== width * n || STAT_KEYS.some((s) => draws[s].length !== n)) {
    throw new Error(`a runner sent ${n} draws of the wrong shape for a chunk of ${iterations} iterations of ${width} quantities`);
  }
  const cap = target.capacity;
  const at = target.offset - (target.base ?? 0);
  if (at + n > cap) throw new Error(`a runner's ${n} draws do not fit the chain's trace (offset ${target.offset}, capacity ${cap})`);
  for (let k = 0; k < width; k++) target.values.set(draws.values.subarray(k * n, (k + 1) * n), k * cap + at);
  for (const s of STAT_KEYS) (target[s] as Float64Array).set(draws[s] as Float64Array, at);
}

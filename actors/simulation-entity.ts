/**
 * ABC on the cluster: a batch of simulations as an `@effect/cluster` entity request
 * (`bayests-simulations`, entity id `<run>/<lane>`), as the chain entity carries a chain's
 * chunks (chain-entity.ts). The client's population actor (abc-actor.ts) proposes the
 * parameters; a request carries a slice of a round's proposals with the index of its first
 * simulation, and the reply the slice's summaries and outcomes. Each simulation's generator is
 * seeded by (seed, generation, index), so the reply is the same whichever runner answers it,
 * and a request left by a runner that died is answered by the next with the same values.
 *
 * The runner runs the slice on its own pool under its watchdog and deals with a simulation
 * that throws, exits its thread or hangs as the local pool does (dropped, the rest of the
 * slice goes on), so a reply always covers the whole slice.
 *
 * Wire format: `node:v8` bodies signed with HMAC-SHA256 under the cluster key in their own
 * domains (`simulations`, `simulated`), so neither passes for a chunk or its reply.
 */
import { deserialize, serialize } from "node:v8";
import * as ClusterSchema from "@effect/cluster/ClusterSchema";
import * as Entity from "@effect/cluster/Entity";
import * as Rpc from "@effect/rpc/Rpc";
import { Schema } from "effect";
import type { SimulatorSpec } from "../src/compile/simulator.js";
import type { AbcTask } from "./approx-protocol.js";
import { sign, Signed, verified } from "./chain-entity.js";

export const SIMULATION_ENTITY_TYPE = "bayests-simulations";

/** The entity id of lane `lane` of run `run` (a run's batches are spread over its lanes). */
export function simulationEntityId(run: string, lane: number): string {
  return `${run}/${lane}`;
}

/**
 * Why a batch could not be run: `orphaned`, the run's client stopped renewing its lease;
 * `model`, the runner could not get or verify the prior; `simulator`, the runner does not
 * serve that simulator module (outside its `--simulators` folders) or could not load it;
 * `rejected`, the request did not verify under the runner's key.
 */
export class RemoteBatchError extends Schema.TaggedError<RemoteBatchError>()("RemoteBatchError", {
  reason: Schema.Literal("orphaned", "model", "simulator", "rejected"),
  message: Schema.String,
  runner: Schema.String,
}) {}

/** Runs one batch of simulations (durable: persisted before delivery, its reply persisted too). */
export const RunSimulations = Rpc.make("RunSimulations", {
  payload: {
    run: Schema.String,
    lane: Schema.Number,
    /** The batch's number in its run: the request's primary key. */
    seq: Schema.Number,
    task: Signed,
  },
  success: Schema.Struct({ runner: Schema.String, reply: Signed }),
  error: RemoteBatchError,
  primaryKey: (p) => String(p.seq),
}).annotate(ClusterSchema.Persisted, true);

export const SimulationEntity = Entity.make(SIMULATION_ENTITY_TYPE, [RunSimulations]);

/** A batch as it crosses machines: `AbcTask` with the prior by digest and the slice's proposals as plain data. */
export interface RemoteBatch {
  readonly run: string;
  readonly lane: number;
  readonly seq: number;
  /** SHA-256 (hex) of the prior's serialised form (`supervisors/cluster/store.ts`). */
  readonly model: string;
  readonly simulator: SimulatorSpec;
  readonly params: AbcTask["params"];
  /** The slice's proposals, unconstrained (count x dim, draw-major). */
  readonly proposals: Float64Array;
  readonly count: number;
  readonly summaryLength: number;
  readonly seed: number;
  readonly generation: number;
  /** Index in its generation of the slice's first simulation. */
  readonly firstIndex: number;
  /** The runner's watchdog for one simulation (ms). */
  readonly timeoutMs: number;
}

export interface RemoteSimulated {
  readonly run: string;
  readonly lane: number;
  readonly seq: number;
  /** count x summaryLength, draw-major; entries of simulations that did not succeed are 0. */
  readonly summaries: Float64Array;
  /** `SIMULATION` code of each simulation. */
  readonly status: Int8Array;
  /** The first few messages of failed simulations. */
  readonly messages: readonly string[];
  /** Seconds the runner's threads spent on the batch. */
  readonly seconds: number;
  /** Worker threads of the runner that answered. */
  readonly threads: number;
}

type Which = { readonly run: string; readonly lane: number; readonly seq: number };

export function encodeBatch(key: Uint8Array, batch: RemoteBatch): Signed {
  return sign(key, "simulations", serialize(batch));
}

/** The batch, or a message saying why it cannot be run. */
export function decodeBatch(key: Uint8Array, signed: Signed, expect: Which): RemoteBatch | string {
  const body = verified(key, "simulations", signed);
  if (body === null) return "the request does not verify under this runner's cluster key";
  const batch = deserialize(body) as RemoteBatch;
  if (batch.run !== expect.run || batch.lane !== expect.lane || batch.seq !== expect.seq) {
    return `the request's batch belongs to ${batch.run}/${batch.lane} #${batch.seq}, not to ${expect.run}/${expect.lane} #${expect.seq}`;
  }
  return batch;
}

export function encodeSimulated(key: Uint8Array, reply: RemoteSimulated): Signed {
  return sign(key, "simulated", serialize(reply));
}

/** The reply; throws when it does not verify, belongs to another batch or has the wrong shape. */
export function decodeSimulated(key: Uint8Array, signed: Signed, expect: Which & { readonly count: number; readonly summaryLength: number }): RemoteSimulated {
  const body = verified(key, "simulated", signed);
  if (body === null) throw new Error("a reply from a runner does not verify under the cluster key");
  const r = deserialize(body) as RemoteSimulated;
  if (r.run !== expect.run || r.lane !== expect.lane || r.seq !== expect.seq) {
    throw new Error(`a reply for ${r.run}/${r.lane} #${r.seq} arrived for ${expect.run}/${expect.lane} #${expect.seq}`);
  }
  if (!(r.status instanceof Int8Array) || r.status.length !== expect.count || !(r.summaries instanceof Float64Array) || r.summaries.length !== expect.count * expect.summaryLength) {
    throw new Error(`a runner sent a reply of the wrong shape for a batch of ${expect.count} simulations of ${expect.summaryLength} summaries`);
  }
  return r;
}

/**
 * The checker of the fault harness: after a scenario, what the store accepted (the audit of
 * `harness.ts`) and what the client reported are judged against the invariants a cluster run
 * promises, each with a verdict and the evidence:
 *
 * - `settles`: the client ended within the bound, completed or failed with a typed error;
 * - `draws`: the run's chains equal the local pool's run with the same seed, bit for bit, and
 *   so does every reply the store accepted (its draws and statistics at their iterations);
 * - `oneResultPerChunk`: no chunk (run, chain, seq) was stored twice with different bits;
 * - `oneWriterPerChain`: every stored reply came from the runner that held the chain's shard
 *   lease at that instant (the store's own record), and a chain's chunks were stored in order;
 * - `nothingLeft`: no message, reply or live lease of the run is left in PostgreSQL;
 * - `noProcessLeft`: no process or namespace of the scenario outlives it (judged at `stop`).
 */
import type { ChainResult } from "../../src/api/posterior.js";
import { decodeReply, type RemoteReply } from "../../actors/chain-entity.js";
import { STAT_KEYS } from "../../src/inference/stats.js";
import type { ClientDone, FaultCluster } from "./harness.js";

export type Invariant = "settles" | "draws" | "oneResultPerChunk" | "oneWriterPerChain" | "nothingLeft" | "noProcessLeft";
export const INVARIANTS: readonly Invariant[] = ["settles", "draws", "oneResultPerChunk", "oneWriterPerChain", "nothingLeft", "noProcessLeft"];

export interface Verdict {
  readonly held: boolean;
  readonly detail: string;
}

export type Verdicts = Partial<Record<Invariant, Verdict>>;

interface StoredReply {
  readonly chain: number;
  readonly seq: number;
  readonly attempt: number;
  readonly session: string;
  readonly holder: string;
  readonly storedAt: number;
  readonly reply: RemoteReply | null;
}

function same(a: ArrayLike<number>, b: ArrayLike<number>, from = 0): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[from + i])) return false;
  return true;
}

/** The run's stored replies, decoded (success replies carry draws; failures carry none). */
export function storedReplies(cluster: FaultCluster, run: string): StoredReply[] {
  const rows = cluster.query(
    `SELECT m.payload, r.payload, r.session, COALESCE(r.holder, ''), EXTRACT(EPOCH FROM r.stored_at) FROM fault_replies r JOIN fault_messages m ON m.id = r.request_id
     WHERE m.entity_id LIKE '${run}/%' AND r.kind = 0 ORDER BY r.stored_at`,
  );
  if (rows === "") return [];
  return rows.split("\n").map((line) => {
    const [request, exit, session, holder, at] = line.split("|") as [string, string, string, string, string];
    const p = JSON.parse(request) as { chain: number; seq: number; attempt: number };
    const e = JSON.parse(exit) as { _tag: string; value?: { reply: { body: string; mac: string } } };
    const reply = e._tag === "Success" && e.value !== undefined ? decodeReply(new TextEncoder().encode(cluster.key), { body: Buffer.from(e.value.reply.body, "base64"), mac: e.value.reply.mac }, { run, chain: p.chain, seq: p.seq }) : null;
    return { chain: p.chain, seq: p.seq, attempt: p.attempt, session: session.replace(/^bayests-runner \d+ /, ""), holder, storedAt: Number(at), reply };
  });
}

/**
 * Whether a reply's draws and statistics are the reference chain's at the reply's iterations.
 * The chain's warmup length is the reference's own (`warmupStats`), not the one asked for: an
 * adaptive warmup extension (on by default under Stan's diag metric, D138) lengthens it, and
 * a sampling draw's place in the chain is its iteration less that length.
 */
export function matchesReference(r: RemoteReply, ref: ChainResult): boolean {
  const { start, count, warmup } = r.result;
  const numWarmup = ref.warmupStats.stepSize.length;
  const numDraws = ref.stats.stepSize.length;
  // A sampling chunk's checkpoint carries the chain's final warmup length: it must be the reference's.
  if (!warmup && r.result.state.numWarmup !== numWarmup) return false;
  for (const s of STAT_KEYS) {
    const refStats = warmup ? ref.warmupStats[s] : ref.stats[s];
    if (refStats === undefined) continue;
    if (!same(r.draws[s].subarray(0, count), refStats, warmup ? start : start - numWarmup)) return false;
  }
  if (!warmup) {
    const width = r.draws.values.length / Math.max(1, count);
    for (let k = 0; k < width; k++) {
      if (!same(r.draws.values.subarray(k * count, (k + 1) * count), ref.values, k * numDraws + start - numWarmup)) return false;
    }
  }
  return true;
}

export interface CheckInput {
  readonly cluster: FaultCluster;
  readonly run: string | null;
  readonly outcome: { readonly done?: ClientDone; readonly error?: string } | null;
  /** Seconds the client took, and the most it may take. */
  readonly seconds: number;
  readonly boundSeconds: number;
  /** Whether the scenario may end in a typed failure (a partition longer than the lease). */
  readonly mayFail: boolean;
  readonly reference: readonly ChainResult[];
  readonly referenceDigests: readonly string[];
}

/** Every invariant but `noProcessLeft` (judged when the scenario's processes are stopped). */
export function check(input: CheckInput): Verdicts {
  const v: Verdicts = {};
  const { outcome, cluster, run } = input;
  const done = outcome?.done;
  const typedFailure = outcome?.error !== undefined && /^[A-Z]\w*(Error|Timeout|Failed)\b/.test(outcome.error);
  const settledIn = input.seconds <= input.boundSeconds;
  if (done !== undefined) {
    const ok = done.status === "completed" || (input.mayFail && done.status !== "completed");
    v.settles = { held: settledIn && ok, detail: `${done.status} in ${input.seconds.toFixed(1)} s (bound ${input.boundSeconds} s)` };
  } else {
    v.settles = { held: settledIn && input.mayFail && typedFailure, detail: outcome === null ? "the client died without a result" : `failed: ${outcome.error}` };
  }
  if (run === null) {
    v.draws = { held: false, detail: "the client never joined" };
    return v;
  }
  const replies = storedReplies(cluster, run);
  const withDraws = replies.filter((r) => r.reply !== null);
  const wrong = withDraws.filter((r) => !matchesReference(r.reply!, input.reference[r.chain]!));
  const digestsOk = done === undefined || done.status !== "completed" || done.digests.every((d, c) => d === input.referenceDigests[c]);
  v.draws = {
    held: wrong.length === 0 && digestsOk && withDraws.length > 0,
    detail: `${withDraws.length} stored replies, ${wrong.length} differing from the local run${done?.status === "completed" ? `; final chains ${digestsOk ? "bit-identical" : "DIFFER"}` : ""}`,
  };
  const byChunk = new Map<string, StoredReply[]>();
  for (const r of withDraws) {
    const k = `${r.chain}/${r.seq}`;
    byChunk.set(k, [...(byChunk.get(k) ?? []), r]);
  }
  const conflicting = [...byChunk.entries()].filter(([, rs]) =>
    rs.some((r) => r.reply!.draws.count !== rs[0]!.reply!.draws.count || !same(r.reply!.draws.values, rs[0]!.reply!.draws.values) || !STAT_KEYS.every((s) => same(r.reply!.draws[s], rs[0]!.reply!.draws[s]))),
  );
  const twice = [...byChunk.values()].filter((rs) => rs.length > 1).length;
  v.oneResultPerChunk = { held: conflicting.length === 0, detail: `${byChunk.size} chunks, ${twice} stored more than once, ${conflicting.length} with different bits` };
  const foreign = replies.filter((r) => r.session !== r.holder);
  const disorder: string[] = [];
  const lastSeq = new Map<number, number>();
  for (const r of replies) {
    const before = lastSeq.get(r.chain) ?? -1;
    if (r.seq < before) disorder.push(`chain ${r.chain}: seq ${r.seq} stored after ${before}`);
    lastSeq.set(r.chain, Math.max(before, r.seq));
  }
  v.oneWriterPerChain = {
    held: foreign.length === 0 && disorder.length === 0,
    detail:
      foreign.length === 0 && disorder.length === 0
        ? `${replies.length} replies, each stored by the shard's lease holder, in order`
        : [...foreign.slice(0, 3).map((r) => `chain ${r.chain} seq ${r.seq} stored by ${r.session} while ${r.holder || "nobody"} held the lease`), ...disorder.slice(0, 3)].join("; "),
  };
  const left = cluster.query(
    `SELECT (SELECT count(*) FROM cluster_messages WHERE entity_id LIKE '${run}/%') || ' ' ||
            (SELECT count(*) FROM cluster_replies r WHERE NOT EXISTS (SELECT 1 FROM cluster_messages m WHERE m.id = r.request_id) OR r.request_id IN (SELECT id FROM cluster_messages WHERE entity_id LIKE '${run}/%')) || ' ' ||
            (SELECT count(*) FROM bayests_runs WHERE run_id = '${run}' AND (lease_until > NOW() OR swept_at IS NULL))`,
  );
  const [messages, orphans, leases] = left.split(" ").map(Number) as [number, number, number];
  v.nothingLeft = { held: messages === 0 && orphans === 0 && leases === 0, detail: `${messages} messages, ${orphans} replies, ${leases} live leases left` };
  return v;
}

/**
 * The longest stall of the `chains` during a fault (database clock, seconds): over every gap
 * between two stored replies of one of them that began before the fault ended (`until`, plus
 * 1 s for a reply already committing) and ended after it began (`since`), the longest part of
 * the gap after `since`. Null if one of them stored nothing after `since`.
 */
export function longestStall(cluster: FaultCluster, run: string, since: number, until: number, chains: readonly number[]): number | null {
  let worst = 0;
  for (const chain of chains) {
    const rows = cluster.query(
      `SELECT EXTRACT(EPOCH FROM r.stored_at) FROM fault_replies r JOIN fault_messages m ON m.id = r.request_id WHERE m.entity_id = '${run}/${chain}' ORDER BY r.stored_at`,
    );
    const at = rows === "" ? [] : rows.split("\n").map(Number);
    if (!at.some((t) => t > since)) return null;
    for (let i = 1; i < at.length; i++) {
      if (at[i]! > since && at[i - 1]! <= until + 1) worst = Math.max(worst, at[i]! - Math.max(at[i - 1]!, since));
    }
  }
  return worst;
}

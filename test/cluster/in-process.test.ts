/**
 * The cluster path without a database: `sample(model, { cluster: true })` runs the chains as
 * chain entities on an in-process runner (memory storage, this process's threads), with the
 * draws of the local pool; the Effect twin the same. The options are checked before any work,
 * and a runner refuses a model that is not what the cluster key signed.
 */
import { createHash } from "node:crypto";
import { serialize } from "node:v8";
import { Effect } from "effect";
import { describe, expect, test } from "vitest";
import { sign } from "../../actors/chain-entity.js";
import type { RunEvent } from "../../actors/events.js";
import { benchmarkModel } from "../../bench/models/index.js";
import { InvalidModelError, InvalidOptionError } from "../../src/api/errors.js";
import { sample, sampleEffect } from "../../src/api/sample.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import { compile, compileModel } from "../../src/compile/index.js";
import { dist, model } from "../../src/model/index.js";
import { packModel, unpackModel } from "../../supervisors/cluster/store.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { expectSameDraws } from "../runtime/helpers.js";

const density = compile(benchmarkModel("logistic"));
const OPTIONS: SampleOptions = { chains: 4, warmup: 150, draws: 100, seed: 11, threads: 2, progress: false };
const KEY = "in-process-cluster-key-0123456789abcdef";

type ClusterStats = Extract<RunEvent, { type: "cluster-stats" }>;

function statsOf(events: readonly RunEvent[]): ClusterStats {
  const stats = events.find((e): e is ClusterStats => e.type === "cluster-stats");
  expect(stats, "a cluster-stats event").toBeDefined();
  return stats!;
}

/** Bytes of the model (stored once) and per chunk (signed request and reply bodies). */
function bytesLine(s: ClusterStats, d: typeof density): string {
  const modelBytes = packModel(Buffer.from(KEY), { kind: "compiled", compiled: d.compiled }).model.body.length;
  const per = (x: number) => (x / s.chunks).toFixed(0);
  return `${s.chunks} chunks; model ${modelBytes} B, once; per chunk: request ${per(s.requestBytes)} B (largest ${s.largestRequestBytes} B), reply ${per(s.replyBytes)} B`;
}

describe("the in-process runner (cluster without a database)", () => {
  test("same draws as the local pool, chains placed on the in-process runner, data sent once (bytes per chunk)", async () => {
    const reference = await sample(density, OPTIONS).result;
    const run = sample(density, { ...OPTIONS, cluster: { key: KEY } });
    const events: RunEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const posterior = await run.result;
    expect(posterior.status).toBe("completed");
    expectSameDraws(reference, posterior);

    const connected = events.find((e) => e.type === "cluster-connected");
    expect(connected).toMatchObject({ runners: ["in-process"], database: null });
    const placed = events.filter((e): e is Extract<RunEvent, { type: "chain-placed" }> => e.type === "chain-placed");
    expect(placed.map((e) => e.chain).sort()).toEqual([0, 1, 2, 3]);
    expect(placed.every((e) => e.runner === "in-process")).toBe(true);
    expect(events.some((e) => e.type === "chain-moved")).toBe(false);
    // The summary says where the chains ran: the runner and its threads, not the local option.
    expect([...posterior.runners!]).toEqual([["in-process", 2]]);
    expect(posterior.formatSummary()).toContain("1 runner with 2 threads (in-process: 2)");

    const stats = statsOf(events);
    console.log(`in-process cluster, logistic (21 parameters): ${bytesLine(stats, density)}`);
    expect(stats.wireBytes).toBeNull();
    expect(liveWorkerThreads()).toBe(0);
  });

  test("large data cross once per runner: no chunk's request carries them", async () => {
    // 100,000 observations (800 kB) and two parameters: a chunk carries a checkpoint of a few kB.
    const y = Array.from({ length: 100_000 }, (_, i) => Math.sin(i) + 0.5);
    const big = compile(model("big", (m) => m.observe("y", dist.normal(m.param("mu", dist.normal(0, 1)), m.param("sigma", dist.exponential(1))), y)));
    const run = sample(big, { chains: 2, warmup: 100, draws: 50, seed: 2, threads: 2, progress: false, cluster: { key: KEY } });
    const events: RunEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    expect((await run.result).status).toBe("completed");
    const stats = statsOf(events);
    const modelBytes = packModel(Buffer.from(KEY), { kind: "compiled", compiled: big.compiled }).model.body.length;
    console.log(`in-process cluster, 100,000 observations: ${bytesLine(stats, big)}`);
    expect(modelBytes).toBeGreaterThan(800_000);
    expect(stats.chunks).toBeGreaterThanOrEqual(4);
    expect(stats.largestRequestBytes).toBeLessThan(modelBytes / 50);
  });

  test("the Effect twin (sampleEffect) runs on the in-process runner too", async () => {
    const reference = await sample(density, { ...OPTIONS, chains: 2 }).result;
    const posterior = await Effect.runPromise(sampleEffect(density, { ...OPTIONS, chains: 2, cluster: true }));
    expectSameDraws(reference, posterior);
  });

  test("cluster options are checked before any work, naming the option", () => {
    const plain: SampleOptions = { chains: 2, warmup: 10, draws: 10, progress: false };
    const bad = (cluster: unknown, extra: SampleOptions = {}) => () => sample(density, { ...plain, ...extra, cluster: cluster as never });
    expect(bad("yes")).toThrow(InvalidOptionError);
    expect(bad({ database: "mysql://x/y", key: KEY })).toThrow(/cluster\.database/);
    expect(bad({ database: "postgres://u@h/db" })).toThrow(/cluster\.key/);
    expect(bad({ key: "short" })).toThrow(/cluster\.key.*32 characters/);
    expect(bad({ key: KEY, databse: "postgres://u@h/db" })).toThrow(/databse/);
    expect(bad({ key: KEY, lease: "soon" })).toThrow(/cluster\.lease/);
    expect(bad({ database: "postgres://u@h/db", key: KEY }, { threads: 2 })).toThrow(/threads/);
    // The key itself never appears in a message.
    try {
      bad({ key: "secret-but-short" })();
    } catch (e) {
      expect(String((e as Error).message)).not.toContain("secret-but-short");
    }
    expect(bad({ key: KEY }, { pool: {} as never })).toThrow(/pool/);
    expect(() => sample({ module: "./model.mjs" }, { ...plain, cluster: true })).toThrow(InvalidModelError);
    expect(liveWorkerThreads()).toBe(0);
  });

  test("a runner refuses a stored model that the cluster key did not sign, or that does not verify as a compiled model", () => {
    const key = Buffer.from(KEY);
    const { digest, model } = packModel(key, { kind: "compiled", compiled: density.compiled });
    expect(typeof unpackModel(key, digest, model)).toBe("object");
    // Another cluster's key.
    expect(unpackModel(Buffer.from("another-cluster-key-0123456789abcdef"), digest, model)).toMatch(/not signed with this runner's cluster key/);
    // A byte changed in storage.
    const changed = Uint8Array.from(model.body);
    changed[changed.length - 1]! ^= 1;
    expect(unpackModel(key, digest, { ...model, body: changed })).toMatch(/does not match its digest/);
    // A body the cluster key signed whose compiled model was signed by neither the cluster key
    // nor this process (made under a key nobody here trusts): verifyCompiledModel refuses it.
    const foreign = compileModel(benchmarkModel("logistic"), { key: "a-key-this-process-never-trusted-0123456789", sharedData: false });
    const body = new Uint8Array(serialize(foreign));
    const d = createHash("sha256").update(body).digest("hex");
    expect(unpackModel(key, d, { body, mac: sign(key, "model", body).mac })).toMatch(/refused: .*signature does not verify/);
  });
});

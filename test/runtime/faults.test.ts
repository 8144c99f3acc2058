import { describe, expect, it } from "vitest";
import { lastValueFrom, toArray } from "rxjs";
import { benchmarkModel } from "../../bench/models/index.js";
import { moduleModel } from "../../src/compile/index.js";
import { summary } from "../../src/diagnostics/index.js";
import { sample } from "../../src/api/sample.js";
import { RunFailedError } from "../../src/api/errors.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import type { Draw } from "../../actors/batch.js";
import type { RunEvent } from "../../actors/events.js";
import type { FaultSpec } from "../../actors/protocol.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { expectSameDraws } from "./helpers.js";

const eightSchools = benchmarkModel("eight_schools");
const base: SampleOptions = { chains: 4, warmup: 300, draws: 300, seed: 3, threads: 2 };
const fixture = new URL("./fixtures/faulty-normal.mjs", import.meta.url).pathname;

async function runWith(options: SampleOptions) {
  const run = sample(eightSchools, options);
  const events = lastValueFrom(run.events$.pipe(toArray()));
  const post = await run.result;
  expect(liveWorkerThreads()).toBe(0);
  return { post, events: await events };
}

describe("supervision: restarts from checkpoints, watchdog, placeholders", () => {
  it("a chain whose thread throws, exits, hangs or runs out of heap is restarted and draws exactly what it would have", async () => {
    const clean = await sample(eightSchools, base).result;
    const cases: [FaultSpec["kind"], number, SampleOptions][] = [
      ["throw", 2, {}],
      ["exit", 1, {}],
      ["hang", 1, { chunkTimeout: 2000 }],
      ["oom", 1, { workerResourceLimits: { maxOldGenerationSizeMb: 48 } }],
    ];
    for (const [kind, attempts, extra] of cases) {
      const { post, events } = await runWith({ ...base, ...extra, faults: [{ chain: 2, atIteration: 120, kind, attempts }] });
      expectSameDraws(post, clean);
      expect(post.chainStatus[2]).toMatchObject({ status: "completed", restarts: attempts, placeholders: 0 });
      const failed = events.filter((e) => e.type === "chunk-failed");
      expect(failed.length, kind).toBe(attempts);
      expect(failed[0]).toMatchObject({ chain: 2, reason: kind === "hang" ? "timeout" : "error" });
      expect(events.filter((e) => e.type === "chain-restarted").length).toBe(attempts);
    }
  });

  it("a chunk waiting behind a crashed or hung one on the same thread is run again, not counted as a failure", async () => {
    // One thread holds the chunk it runs and the next one (another chain's): when the first
    // kills the thread, the second never ran (or its result was lost) through no fault of
    // its own chain.
    const opts: SampleOptions = { ...base, threads: 1 };
    const clean = await sample(eightSchools, opts).result;
    for (const [kind, extra] of [
      ["exit", {}],
      ["hang", { chunkTimeout: 1000 }],
    ] as const) {
      const { post, events } = await runWith({ ...opts, ...extra, faults: [{ chain: 2, atIteration: 350, kind, attempts: 1 }] });
      expectSameDraws(post, clean);
      expect(post.chainStatus.map((c) => c.restarts), kind).toEqual([0, 0, 1, 0]);
      expect(events.filter((e) => e.type === "chunk-failed").map((e) => e.type === "chunk-failed" && e.chain)).toEqual([2]);
    }
  });

  it("gives up after the restart schedule: placeholders for the rest, other chains undisturbed, summaries without it", async () => {
    const clean = await sample(eightSchools, base).result;
    const run = sample(eightSchools, { ...base, restart: { maxRestarts: 2, backoff: 1 }, faults: [{ chain: 1, atIteration: 450, kind: "exit", attempts: Infinity }] });
    const placeholders: Draw[] = [];
    run.draws$.subscribe((d) => {
      if (d.placeholder) placeholders.push(d);
    });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const post = await run.result;
    expect(liveWorkerThreads()).toBe(0);
    expect(post.status).toBe("completed");
    expectSameDraws(post, clean, [0, 2, 3]);
    const s = post.chainStatus[1]!;
    expect(s.status).toBe("failed");
    expect(s.restarts).toBe(2);
    const from = s.failedAt! - 300; // first placeholder among the sampling draws
    expect(from).toBeGreaterThanOrEqual(0);
    expect(from).toBeLessThanOrEqual(150);
    expect(s.placeholders).toBe(300 - from);
    const c1 = post.chains[1]!;
    expect(Array.from(c1.values.subarray(0, from))).toEqual(Array.from(clean.chains[1]!.values.subarray(0, from)));
    for (let i = 0; i < 300; i++) {
      expect(c1.placeholder[i]).toBe(i < from ? 0 : 1);
      if (i >= from) {
        expect(post.draws("mu")[1]![i]).toBeNaN();
        expect(c1.stats.divergent[i]).toBe(1);
      }
    }
    expect(placeholders.length).toBe(300 - from);
    expect(placeholders.every((d) => d.chain === 1 && Number.isNaN(d.values.mu!))).toBe(true);
    // Left out of summaries and divergence counts.
    const healthy = [0, 2, 3];
    expect(post.healthyChains()).toEqual(healthy);
    const expected = summary(post.names.map((name) => ({ name, chains: healthy.map((c) => post.draws(name)[c]!) })));
    expect(post.summary(post.names, false)).toEqual(expected);
    expect(post.divergences()[1]).toBe(clean.divergences()[1]! - countFrom(clean.chains[1]!.stats.divergent, from));
    expect(post.formatSummary()).toMatch(/chain 1: FAILED at iteration \d+ after 2 restart\(s\)/);
    const ev = await events;
    expect(ev.filter((e) => e.type === "chain-failed")).toEqual([expect.objectContaining({ chain: 1, restarts: 2, atIteration: s.failedAt })]);
    expect(ev.find((e) => e.type === "placeholders")).toMatchObject({ chain: 1, phase: "sampling", count: 300 - from });
  });

  it("with per-chain warmup, a chain lost during warmup leaves the others' draws unchanged", async () => {
    const opts: SampleOptions = { ...base, pooledWarmup: false, warmupExtension: false, restart: { maxRestarts: 0 } };
    const clean = await sample(eightSchools, opts).result;
    const { post, events } = await runWith({ ...opts, faults: [{ chain: 3, atIteration: 40, kind: "throw", attempts: Infinity }] });
    expectSameDraws(post, clean, [0, 1, 2]);
    const s = post.chainStatus[3]!;
    expect(s).toMatchObject({ status: "failed", restarts: 0 });
    expect(s.failedAt).toBeLessThanOrEqual(40);
    expect(Array.from(post.chains[3]!.warmupPlaceholder)).toEqual(Array.from({ length: 300 }, (_, i) => (i < s.failedAt! ? 0 : 1)));
    expect(post.chains[3]!.placeholder.every((f) => f === 1)).toBe(true);
    expect(events.filter((e: RunEvent) => e.type === "placeholders").length).toBe(2);
  });

  it("always settles, even when every chain fails: a RunFailedError carrying the partial posterior", async () => {
    const run = sample(eightSchools, {
      ...base,
      restart: { maxRestarts: 0 },
      faults: [0, 1, 2, 3].map((chain) => ({ chain, atIteration: 5, kind: "throw" as const, attempts: Infinity })),
    });
    const error = await run.result.then(
      () => null,
      (e: unknown) => e,
    );
    expect(liveWorkerThreads()).toBe(0);
    expect(error).toBeInstanceOf(RunFailedError);
    const post = (error as RunFailedError).posterior;
    expect(post.status).toBe("failed");
    expect(post.chainStatus.every((s) => s.status === "failed")).toBe(true);
    expect(post.summary()).toEqual([]);
  });

  it("model code that throws now and then, or exits its thread, is restarted from the checkpoint", async () => {
    const opts: SampleOptions = { chains: 3, warmup: 200, draws: 200, seed: 9, threads: 2, chunk: { max: 25 } };
    const clean = await sample(moduleModel(fixture, "default", { dim: 3 }), opts).result;
    const flaky = sample(moduleModel(fixture, "default", { dim: 3, mode: "throw-every", every: 600 }), opts);
    const flakyEvents = lastValueFrom(flaky.events$.pipe(toArray()));
    const a = await flaky.result;
    expectSameDraws(a, clean);
    expect((await flakyEvents).some((e) => e.type === "chunk-failed" && /flaky model/.test(e.message))).toBe(true);
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const b = await sample(moduleModel(fixture, "default", { dim: 3, mode: "exit-once", every: 500, flag }), opts).result;
    expectSameDraws(b, clean);
    expect(flag[0]).toBe(1);
    expect(b.chainStatus.reduce((n, s) => n + s.restarts, 0)).toBe(1);
    expect(liveWorkerThreads()).toBe(0);
  });

  it("a NaN log density is a divergent transition, not a crash", async () => {
    const post = await sample(moduleModel(fixture, "default", { dim: 2, mode: "nan-above", threshold: 1 }), { chains: 2, warmup: 300, draws: 500, seed: 2 }).result;
    expect(post.chainStatus.every((s) => s.status === "completed" && s.restarts === 0)).toBe(true);
    expect(post.divergences().reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (const c of post.draws("x[1]")) expect(Math.max(...c)).toBeLessThanOrEqual(1);
  });
});

function countFrom(flags: Uint8Array, from: number): number {
  let n = 0;
  for (let i = from; i < flags.length; i++) n += flags[i]!;
  return n;
}

import { beforeAll, describe, expect, it } from "vitest";
import { Effect, Either } from "effect";
import { lastValueFrom, toArray } from "rxjs";
import { benchmarkModel } from "../../bench/models/index.js";
import { compile, moduleModel } from "../../src/compile/index.js";
import { RunFailedError } from "../../src/api/errors.js";
import { sample, sampleEffect } from "../../src/api/sample.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import type { RunPosterior } from "../../src/api/run-posterior.js";
import type { RunEvent } from "../../actors/events.js";
import type { FaultSpec } from "../../actors/protocol.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { expectSameDraws } from "./helpers.js";

const eightSchools = compile(benchmarkModel("eight_schools"));
// Warmup 300: slow windows end at iterations 100, 150 and 250; sampling starts at 300.
const base: SampleOptions = { chains: 4, warmup: 300, draws: 300, seed: 13, threads: 2 };
const once = { restart: { maxRestarts: 0 } } as const;
/** Stan's windows and metric (the default since D94; named where a test depends on them). */
const stanWindows = { metric: "diag", schedule: "stan" } as const;

async function run(options: SampleOptions): Promise<{ post: RunPosterior; events: RunEvent[] }> {
  const r = sample(eightSchools, options);
  const events = lastValueFrom(r.events$.pipe(toArray()));
  const post = await r.result;
  expect(liveWorkerThreads()).toBe(0);
  return { post, events: await events };
}

async function failedRun(options: SampleOptions): Promise<{ error: RunFailedError; events: RunEvent[] }> {
  const r = sample(eightSchools, options);
  const events = lastValueFrom(r.events$.pipe(toArray()));
  const error = await r.result.then(
    () => new Error("resolved"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunFailedError);
  expect(liveWorkerThreads()).toBe(0);
  return { error: error as RunFailedError, events: await events };
}

/** The first n sampling draws of chain c, every quantity. */
function firstDraws(post: RunPosterior, c: number, n: number): number[][] {
  return post.names.map((name) => Array.from(post.draws(name)[c]!.subarray(0, n)));
}

let clean: RunPosterior;
beforeAll(async () => {
  clean = (await run(base)).post;
});

describe("a chain given up keeps the same draws whatever the timing", () => {
  it("a fault at sampling draw 151 keeps the 150 draws before it, bit for bit, on 1 or 2 threads and whatever the chunk sizes", async () => {
    const fault: FaultSpec = { chain: 1, atIteration: 300 + 150, kind: "throw", attempts: Infinity };
    const restart = { maxRestarts: 1, backoff: 1 };
    const variants: SampleOptions[] = [
      { threads: 2 },
      { threads: 1 },
      { threads: 2, chunk: { initial: 7, targetMs: 1 } },
      // The whole sampling phase in one chunk, and a thread that exits rather than throws.
      { threads: 2, chunk: { initial: 1000, targetMs: 10_000, max: 1000 }, faults: [{ ...fault, kind: "exit" }] },
    ];
    const posts: RunPosterior[] = [];
    for (const v of variants) posts.push((await run({ ...base, restart, faults: [fault], ...v })).post);
    for (const p of posts) expectSameDraws(p, posts[0]!);
    const post = posts[0]!;
    expect(post.status).toBe("completed");
    expect(post.chainStatus[1]).toMatchObject({ status: "failed", restarts: 1, failedAt: 450, placeholders: 150 });
    expect(Array.from(post.chains[1]!.placeholder)).toEqual(Array.from({ length: 300 }, (_, i) => (i < 150 ? 0 : 1)));
    expect(firstDraws(post, 1, 150)).toEqual(firstDraws(clean, 1, 150));
    expectSameDraws(post, clean, [0, 2, 3]);
  });

  it("early stop with a chain given up: the same stop point and draws on 1 and 2 threads", async () => {
    const options: SampleOptions = {
      ...base,
      draws: 3000,
      checkEvery: 50,
      earlyStop: { ess: 200 },
      ...once,
      faults: [{ chain: 2, atIteration: 300 + 120, kind: "throw", attempts: Infinity }],
    };
    const a = (await run({ ...options, threads: 2 })).post;
    const b = (await run({ ...options, threads: 1 })).post;
    const c = (await run({ ...options, threads: 2, chunk: { initial: 3, targetMs: 1 } })).post;
    expect(a.status).toBe("stopped-early");
    expect(a.chainStatus[2]).toMatchObject({ status: "failed", failedAt: 420 });
    expectSameDraws(b, a);
    expectSameDraws(c, a);
    expect(b.onlineDiagnostics).toEqual(a.onlineDiagnostics);
  });
});

describe("fault scenarios beyond a single crash", () => {
  it("faults on every restart the schedule allows, and faults in several chunks of one chain: the draws of an undisturbed run", async () => {
    const { post, events } = await run({
      ...base,
      restart: { maxRestarts: 3, backoff: 1 },
      faults: [
        { chain: 2, atIteration: 200, kind: "throw", attempts: 3 },
        // One fault per window or phase: necessarily in different chunks.
        { chain: 0, atIteration: 50, kind: "exit", attempts: 1 },
        { chain: 0, atIteration: 200, kind: "throw", attempts: 1 },
        { chain: 0, atIteration: 450, kind: "throw", attempts: 1 },
      ],
    });
    expectSameDraws(post, clean);
    expect(post.chainStatus.map((s) => [s.status, s.restarts])).toEqual([
      ["completed", 3],
      ["completed", 0],
      ["completed", 3],
      ["completed", 0],
    ]);
    expect(events.filter((e) => e.type === "chain-restarted").length).toBe(6);
  });

  it("a chain failing at a pooled-warmup barrier: the others are released, pool without it, and agree on 1 and 2 threads", async () => {
    for (const at of [99, 100]) {
      // Stan's windows (75 + 25 doubling): 99 is the last iteration before the first window end
      // (the others wait there for it); 100 the first after it, in the chunk that sets the
      // pooled metric. (nutpie's switches below.)
      const options: SampleOptions = { ...base, ...once, ...stanWindows, faults: [{ chain: 1, atIteration: at, kind: "throw", attempts: Infinity }] };
      const two = await run(options);
      const one = await run({ ...options, threads: 1 });
      expectSameDraws(one.post, two.post);
      expect(two.post.status).toBe("completed");
      expect(two.post.chainStatus[1]).toMatchObject({ status: "failed", failedAt: at });
      // Before its first window end a failed chain has no metric: whether it has a checkpoint
      // there depends on how far the time let its first chunk go (D240).
      expect(two.post.chains[1]!.metric.inverse.length > 0).toBe(at >= 100);
      const windows = two.events.flatMap((e) => (e.type === "window-end" ? [e.chains] : []));
      expect(windows, `fault at ${at}`).toEqual([at === 99 ? [0, 2, 3] : [0, 1, 2, 3], [0, 2, 3], [0, 2, 3]]);
      expect(two.post.healthyChains()).toEqual([0, 2, 3]);
    }
  });

  it('a chain failing between nutpie\'s switches (metric "low-rank"): later switches pool the others only, the same on 1 and 2 threads', async () => {
    const at = 45;
    // Every switch shared (each ends a chunk), and the default since D147: the early phase's
    // switches made inside the chunks, only the main ones shared.
    for (const sharedSwitches of ["all", "main"] as const) {
      const options: SampleOptions = { ...base, ...once, metric: "low-rank", sampler: { sharedSwitches }, faults: [{ chain: 1, atIteration: at, kind: "throw", attempts: Infinity }] };
      const two = await run(options);
      const one = await run({ ...options, threads: 1 });
      expectSameDraws(one.post, two.post);
      expect(two.post.chainStatus[1]).toMatchObject({ status: "failed", failedAt: at });
      const switches = two.events.flatMap((e) => (e.type === "window-end" ? [e] : []));
      expect(switches.some((w) => w.iteration <= at)).toBe(sharedSwitches === "all");
      expect(switches.some((w) => w.iteration > at)).toBe(true);
      for (const w of switches) expect(w.chains, `${sharedSwitches}: switch at ${w.iteration}`).toEqual(w.iteration <= at ? [0, 1, 2, 3] : [0, 2, 3]);
      expect(two.post.healthyChains()).toEqual([0, 2, 3]);
      // With the early switches inside the chunks, the metric in effect where it failed went with the chunk.
      if (sharedSwitches === "main") expect(two.post.chains[1]!.metric.inverse.length).toBe(0);
    }
  });

  it("a fault in the final chunk: restarted, or given up with every draw before it kept", async () => {
    const last = 300 + 299;
    const restarted = await run({ ...base, faults: [{ chain: 3, atIteration: last, kind: "exit", attempts: 1 }] });
    expectSameDraws(restarted.post, clean);
    expect(restarted.post.chainStatus[3]).toMatchObject({ status: "completed", restarts: 1 });
    const { post } = await run({ ...base, ...once, faults: [{ chain: 3, atIteration: last, kind: "throw", attempts: Infinity }] });
    expect(post.chainStatus[3]).toMatchObject({ status: "failed", failedAt: last, placeholders: 1 });
    expect(firstDraws(post, 3, 299)).toEqual(firstDraws(clean, 3, 299));
    expectSameDraws(post, clean, [0, 1, 2]);
  });

  it("every chain fails: the result rejects with a RunFailedError carrying every draw made, in the Promise and the Effect API", async () => {
    const options: SampleOptions = { ...base, ...once, faults: [0, 1, 2, 3].map((chain) => ({ chain, atIteration: 350, kind: "throw" as const, attempts: Infinity })) };
    const { error, events } = await failedRun(options);
    expect(error.message).toMatch(/every chain failed \(chain 0: injected fault.*error\.posterior holds the 50, 50, 50, 50 sampling draws/);
    const post = error.posterior;
    expect(post.status).toBe("failed");
    expect(post.formatSummary()).toMatch(/run: failed/);
    // What is there is summarised, and flagged as not a posterior.
    expect(post.realDraws()).toEqual([50, 50, 50, 50]);
    expect(post.summary().map((r) => r.name)).toEqual([...post.names]);
    expect(post.summary(post.names, { includeLp: true }).map((r) => r.name)).toEqual(["lp__", ...post.names]);
    expect(post.formatSummary()).toMatch(/every chain failed: the table summarises the first 50 real draws of chains 0, 1, 2, 3/);
    expect(post.numDraws).toBe(50);
    for (let c = 0; c < 4; c++) {
      expect(post.chainStatus[c]).toMatchObject({ status: "failed", failedAt: 350, placeholders: 0 });
      expect(firstDraws(post, c, 50)).toEqual(firstDraws(clean, c, 50));
    }
    expect(events.filter((e) => e.type === "chain-failed").length).toBe(4);
    expect(events.at(-1)).toMatchObject({ type: "run-completed", status: "failed" });
    const either = await Effect.runPromise(Effect.either(sampleEffect(eightSchools, options)));
    expect(Either.isLeft(either) && either.left._tag).toBe("RunFailedError");
    if (Either.isLeft(either) && either.left._tag === "RunFailedError") expectSameDraws(either.left.posterior, post);
  });

  it("every chain fails at initialisation, with no draw at all: RunFailedError too", async () => {
    const injected = await failedRun({ ...base, ...once, faults: [0, 1, 2, 3].map((chain) => ({ chain, atIteration: 0, kind: "throw" as const, attempts: Infinity })) });
    expect(injected.error.posterior).toMatchObject({ status: "failed", numWarmup: 0, numDraws: 0 });
    // A density that is NaN everywhere: no initial point can be found.
    const nowhere = moduleModel(new URL("./fixtures/faulty-normal.mjs", import.meta.url).pathname, "default", { dim: 2, mode: "nan-above", threshold: -1e300 });
    const r = sample(nowhere, { chains: 2, warmup: 100, draws: 100, seed: 1, ...once });
    const error = await r.result.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as RunFailedError).message).toMatch(/initial/i);
    expect((error as RunFailedError).posterior.numDraws).toBe(0);
    expect(liveWorkerThreads()).toBe(0);
  });

  it("abort() during a restart backoff, twice, and after pause(): the run ends at once with what it has", async () => {
    const r = sample(eightSchools, { ...base, restart: { maxRestarts: 3, backoff: "1 hour" }, faults: [{ chain: 0, atIteration: 150, kind: "throw", attempts: Infinity }] });
    const events = lastValueFrom(r.events$.pipe(toArray()));
    // The chain is in its backoff after its first failure.
    await new Promise<void>((resolve) => r.events$.subscribe((e) => e.type === "chunk-failed" && resolve()));
    r.pause();
    const first = r.abort("first");
    const second = r.abort("second");
    const post = await first;
    expect(await second).toBe(post);
    expect(liveWorkerThreads()).toBe(0);
    expect(post.status).toBe("aborted");
    expect(post.abortReason).toBe("first");
    expect(post.chainStatus[0]).toMatchObject({ status: "aborted", restarts: 0 });
    const types = (await events).map((e) => e.type);
    expect(types).not.toContain("chain-restarted");
    expect(types.filter((t) => t === "aborted").length).toBe(1);
  });
});

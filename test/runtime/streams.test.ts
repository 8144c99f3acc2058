import { describe, expect, it } from "vitest";
import { lastValueFrom, toArray } from "rxjs";
import { benchmarkModel } from "../../bench/models/index.js";
import { sample } from "../../src/api/sample.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import type { DrawBatch } from "../../actors/batch.js";
import type { RunProgress } from "../../actors/events.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { abortedAfterEach, expectSameDraws, sleep, waitUntil } from "./helpers.js";

const eightSchools = benchmarkModel("eight_schools");
// Stan's schedule: its first barrier is at iteration 100, so chains run on their own credit until then (the
// default schedule meets every 10 iterations, and a chain out of credit holds the others at the barrier).
const base: SampleOptions = { chains: 4, warmup: 300, draws: 600, seed: 21, threads: 2, chunk: { initial: 10, targetMs: 2 }, metric: "diag", schedule: "stan" };


/** Resolves once `count()` is positive and has not changed for `quietMs`. */
async function settle(count: () => number, quietMs: number): Promise<number> {
  while (count() === 0) await sleep(10);
  let last = -1;
  while (count() !== last) {
    last = count();
    await sleep(quietMs);
  }
  return last;
}

const started = abortedAfterEach();

describe("streams: flow control, pause/resume, abort", () => {
  it("a slow subscriber (manual acks) holds each chain to maxPendingBatches undelivered batches, then catches up", async () => {
    const reference = await sample(eightSchools, base).result;
    const K = 2;
    const run = started(sample(eightSchools, { ...base, stream: { maxPendingBatches: K, ack: "manual" } }));
    const pending: DrawBatch[] = [];
    const unacked = [0, 0, 0, 0];
    let maxUnacked = 0;
    let seen = 0;
    let slowConsumer = false;
    const ack = (b: DrawBatch) => {
      unacked[b.chain]!--;
      b.ack();
    };
    run.batches$.subscribe((b) => {
      seen++;
      unacked[b.chain]!++;
      maxUnacked = Math.max(maxUnacked, ...unacked);
      if (slowConsumer) setTimeout(() => ack(b), 3);
      else pending.push(b);
    });
    let progress: RunProgress | null = null;
    run.progress$.subscribe((p) => (progress = p));
    // Nobody acks: every chain stops after K batches (waited for, however loaded the machine).
    await waitUntil(() => seen >= 4 * K);
    expect(unacked).toEqual([K, K, K, K]);
    const frozen = progress!.chains.map((c) => c.iteration);
    await sleep(200);
    expect(progress!.chains.map((c) => c.iteration)).toEqual(frozen);
    expect(frozen.every((it) => it < 900)).toBe(true);
    // The consumer catches up, then acks every batch a little later than it arrives.
    slowConsumer = true;
    for (const b of pending.splice(0)) ack(b);
    const post = await run.result;
    expect(maxUnacked).toBe(K);
    expectSameDraws(post, reference);
  });

  it("pause() stops scheduling chunks, resume() continues; the draws do not change", async () => {
    const reference = await sample(eightSchools, base).result;
    const run = started(sample(eightSchools, base));
    let batches = 0;
    let paused = false;
    const afterPause = [0, 0, 0, 0];
    run.batches$.subscribe((b) => {
      batches++;
      if (paused) afterPause[b.chain]!++;
      else {
        paused = true;
        run.pause();
      }
    });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    // The chunks already handed out finish after pause(): wait until nothing has come for 600 ms.
    const atPause = await settle(() => batches, 600);
    expect(run.paused).toBe(true);
    // Per chain at most the batch already on its way to the subscribers (a chain hands out its
    // next chunk before its last batch is delivered) and the chunk it had handed out.
    for (const n of afterPause) expect(n).toBeLessThanOrEqual(2);
    await sleep(250);
    expect(batches).toBe(atPause);
    run.resume();
    const post = await run.result;
    expect(batches).toBeGreaterThan(atPause);
    expectSameDraws(post, reference);
    const types = (await events).map((e) => e.type);
    expect(types.indexOf("paused")).toBeGreaterThan(0);
    expect(types.indexOf("resumed")).toBeGreaterThan(types.indexOf("paused"));
  });

  it("abort() returns the partial posterior (chains cut to a common length) and leaves no worker thread", async () => {
    const opts: SampleOptions = { ...base, draws: 50_000 };
    const reference = await sample(eightSchools, { ...opts, draws: 2000 }).result;
    const run = started(sample(eightSchools, opts));
    const sampling = [0, 0, 0, 0];
    run.batches$.subscribe((b) => {
      if (b.phase === "sampling") sampling[b.chain]!++;
      if (Math.min(...sampling) === 2) void run.abort("enough");
    });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const post = await run.result;
    expect(liveWorkerThreads()).toBe(0);
    expect(post.status).toBe("aborted");
    expect(post.abortReason).toBe("enough");
    expect(post.chainStatus.every((s) => s.status === "aborted")).toBe(true);
    expect(post.numWarmup).toBe(300);
    expect(post.numDraws).toBeGreaterThan(0);
    expect(post.numDraws).toBeLessThan(50_000);
    for (const c of post.chains) {
      expect(c.values.length).toBe(post.names.length * post.numDraws);
      expect(c.placeholder.every((f) => f === 0)).toBe(true);
    }
    // The partial draws are the first draws of the same run (the seed decides them).
    const n = Math.min(post.numDraws, 2000);
    for (let c = 0; c < 4; c++) expect(Array.from(post.draws("mu")[c]!.subarray(0, n))).toEqual(Array.from(reference.draws("mu")[c]!.subarray(0, n)));
    expect((await events).some((e) => e.type === "aborted")).toBe(true);
    expect(await run.abort()).toBe(post); // idempotent
  });

  it("abort() during warmup returns the warmup done so far and no draws", async () => {
    const run = started(sample(eightSchools, { ...base, warmup: 100_000 }));
    const perChain = [0, 0, 0, 0];
    run.batches$.subscribe((b) => {
      perChain[b.chain]!++;
      if (Math.min(...perChain) === 2) void run.abort();
    });
    const post = await run.result;
    expect(liveWorkerThreads()).toBe(0);
    expect(post.status).toBe("aborted");
    expect(post.numDraws).toBe(0);
    expect(post.numWarmup).toBeGreaterThan(0);
    expect(post.summary()).toBeDefined();
  });
});

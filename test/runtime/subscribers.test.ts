import { beforeAll, describe, expect, it } from "vitest";
import { lastValueFrom, map, take, toArray } from "rxjs";
import { benchmarkModel } from "../../bench/models/index.js";
import { compile } from "../../src/compile/index.js";
import { sample } from "../../src/api/sample.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import type { RunPosterior } from "../../src/api/run-posterior.js";
import type { DrawBatch } from "../../actors/batch.js";
import type { RunEvent } from "../../actors/events.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { abortedAfterEach, expectSameDraws, sleep, waitUntil } from "./helpers.js";

const eightSchools = compile(benchmarkModel("eight_schools"));
const base: SampleOptions = { chains: 4, warmup: 200, draws: 300, seed: 31, threads: 2, chunk: { initial: 10, targetMs: 2 } };


const started = abortedAfterEach();

let reference: RunPosterior;
beforeAll(async () => {
  reference = await sample(eightSchools, base).result;
});

describe("manual acknowledgement never stalls a run", () => {
  it("a batches$ subscriber that takes 16 batches without acknowledging them, then unsubscribes, releases them", async () => {
    const run = started(sample(eightSchools, { ...base, stream: { ack: "manual" } }));
    const held: DrawBatch[] = [];
    run.batches$.pipe(take(16)).subscribe((b) => held.push(b));
    const post = await run.result;
    expect(held.length).toBe(16);
    expect(held.every((b) => b.isAcked)).toBe(true); // released when the subscriber left
    expectSameDraws(post, reference);
  });

  it("unsubscribing a stalled manual subscriber (every chain at maxPendingBatches) lets the run finish", async () => {
    const run = started(sample(eightSchools, { ...base, stream: { ack: "manual", maxPendingBatches: 2 } }));
    let seen = 0;
    const subscription = run.batches$.subscribe(() => seen++);
    // Wait until every chain holds its two unacknowledged batches (however loaded the
    // machine), then check that no chain goes past them.
    await waitUntil(() => seen >= 8);
    expect(seen).toBe(8);
    await sleep(500);
    expect(seen).toBe(8);
    subscription.unsubscribe();
    expectSameDraws(await run.result, reference);
  });

  it("with ack: manual and only a draws$ subscriber (a Draw cannot be acknowledged), the run does not wait", async () => {
    const run = started(sample(eightSchools, { ...base, stream: { ack: "manual" } }));
    let draws = 0;
    run.draws$.subscribe(() => draws++);
    const post = await run.result;
    expect(draws).toBe(4 * (200 + 300));
    expectSameDraws(post, reference);
  });
});

describe("a subscriber that throws is dropped and reported on events$; the run goes on", () => {
  it("on each of draws$, batches$, progress$, diagnostics$ and events$, directly or at the end of a pipe", async () => {
    const run = started(sample(eightSchools, base));
    const calls: Record<string, number> = {};
    const thrower = (stream: string) => () => {
      calls[stream] = (calls[stream] ?? 0) + 1;
      throw new Error(`consumer of ${stream} is broken`);
    };
    run.draws$.subscribe(thrower("draws$"));
    run.batches$.subscribe({ next: thrower("batches$") });
    run.progress$.subscribe(thrower("progress$"));
    run.diagnostics$.subscribe(thrower("diagnostics$"));
    run.events$.subscribe(thrower("events$"));
    // An operator that throws, and a subscriber without an error callback at the end of it.
    run.draws$.pipe(map(() => { throw new Error("operator is broken"); })).subscribe(() => undefined);
    // A healthy subscriber of every stream still gets everything.
    let draws = 0;
    run.draws$.subscribe(() => draws++);
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const post = await run.result;
    expectSameDraws(post, reference);
    expect(draws).toBe(4 * (200 + 300));
    expect(calls).toEqual({ "draws$": 1, "batches$": 1, "progress$": 1, "diagnostics$": 1, "events$": 1 });
    const reported = (await events).filter((e): e is Extract<RunEvent, { type: "subscriber-error" }> => e.type === "subscriber-error");
    expect(reported.map((e) => `${e.stream}: ${e.message}`).sort()).toEqual([
      "batches$: consumer of batches$ is broken",
      "diagnostics$: consumer of diagnostics$ is broken",
      "draws$: consumer of draws$ is broken",
      "draws$: operator is broken",
      "events$: consumer of events$ is broken",
      "progress$: consumer of progress$ is broken",
    ]);
    expect(reported.every((e) => e.error instanceof Error)).toBe(true);
    expect((await events).at(-1)).toMatchObject({ type: "run-completed", status: "completed" });
    expect(liveWorkerThreads()).toBe(0);
  });

  it("a subscriber that throws on a replayed value (subscribed after the run) is dropped too, and the result is untouched", async () => {
    const run = started(sample(eightSchools, { ...base, chains: 2 }));
    const post = await run.result;
    let calls = 0;
    run.events$.subscribe(() => {
      calls++;
      throw new Error("late and broken");
    });
    await sleep(10);
    expect(calls).toBe(1);
    expect(await run.result).toBe(post);
  });
});

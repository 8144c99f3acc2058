import { describe, expect, it } from "vitest";
import { Effect, Exit } from "effect";
import { lastValueFrom, toArray } from "rxjs";
import { benchmarkModel } from "../../bench/models/index.js";
import { compile } from "../../src/compile/index.js";
import { sample, sampleEffect } from "../../src/api/sample.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import { createWorkerPool, workerPoolScoped } from "../../src/api/worker-pool.js";
import { InvalidOptionError } from "../../src/api/errors.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { expectSameDraws } from "./helpers.js";

const eightSchools = compile(benchmarkModel("eight_schools"));
const base: SampleOptions = { chains: 4, warmup: 300, draws: 300, seed: 5 };

describe("a WorkerPool shared between runs", () => {
  it("gives every run the draws of a run with its own pool, keeps its threads between runs, and ends them on close", async () => {
    const own = await sample(eightSchools, { ...base, threads: 2 }).result;
    const other = await sample(eightSchools, { ...base, seed: 6, threads: 2 }).result;
    expect(liveWorkerThreads()).toBe(0);
    const pool = createWorkerPool({ threads: 2 });
    try {
      const first = await sample(eightSchools, { ...base, pool }).result;
      expect(first.threads).toBe(2);
      expectSameDraws(first, own);
      expect(liveWorkerThreads()).toBe(2);
      // Two runs at once on the same threads, each as if alone; then a third on one thread of it.
      const [a, b] = await Promise.all([sample(eightSchools, { ...base, pool }).result, sample(eightSchools, { ...base, seed: 6, pool }).result]);
      expectSameDraws(a, own);
      expectSameDraws(b, other);
      const one = await sample(eightSchools, { ...base, pool, threads: 1 }).result;
      expect(one.threads).toBe(1);
      expectSameDraws(one, own);
      expect(liveWorkerThreads()).toBe(2);
    } finally {
      await pool.close();
    }
    expect(liveWorkerThreads()).toBe(0);
    expect(pool.isClosed).toBe(true);
    await pool.close(); // idempotent
  });

  it("survives a crashed chain and an aborted run: the next run on it is whole", async () => {
    const clean = await sample(eightSchools, { ...base, threads: 2 }).result;
    const pool = createWorkerPool({ threads: 2 });
    try {
      const run = sample(eightSchools, { ...base, pool, faults: [{ chain: 1, atIteration: 200, kind: "exit", attempts: 1 }] });
      const events = lastValueFrom(run.events$.pipe(toArray()));
      const crashed = await run.result;
      expectSameDraws(crashed, clean);
      expect(crashed.chainStatus[1]).toMatchObject({ status: "completed", restarts: 1 });
      expect((await events).filter((e) => e.type === "chunk-failed").length).toBe(1);

      const long = sample(eightSchools, { ...base, draws: 200_000, pool });
      await new Promise((r) => setTimeout(r, 300));
      const partial = await long.abort();
      expect(partial.status).toBe("aborted");
      expect(partial.numDraws).toBeLessThan(200_000);

      expectSameDraws(await sample(eightSchools, { ...base, pool }).result, clean);
    } finally {
      await pool.close();
    }
    expect(liveWorkerThreads()).toBe(0);
  });

  it("rejects bad pools and options that belong to the pool before anything starts", async () => {
    const pool = createWorkerPool({ threads: 1 });
    const rejects = (options: SampleOptions, option: string) => {
      try {
        sample(eightSchools, options);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidOptionError);
        expect((e as InvalidOptionError).option).toBe(option);
        return;
      }
      throw new Error(`expected an InvalidOptionError for ${option}`);
    };
    rejects({ pool: {} as never }, "pool");
    rejects({ pool, threads: 2 }, "threads");
    rejects({ pool, workerResourceLimits: { maxOldGenerationSizeMb: 64 } }, "workerResourceLimits");
    expect(() => createWorkerPool({ threads: 0 })).toThrow(/threads/);
    expect(() => createWorkerPool({ thread: 2 } as never)).toThrow(/options\.thread/);
    await pool.close();
    rejects({ pool }, "pool");
    expect(liveWorkerThreads()).toBe(0);
  });

  it("workerPoolScoped: a pool for the runs of a scope, closed with it", async () => {
    const own = await sample(eightSchools, { ...base, threads: 2 }).result;
    const program = Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* workerPoolScoped({ threads: 2 });
        const a = yield* sampleEffect(eightSchools, { ...base, pool });
        const b = yield* sampleEffect(eightSchools, { ...base, pool });
        return { a, b, threads: liveWorkerThreads() };
      }),
    );
    const { a, b, threads } = await Effect.runPromise(program);
    expectSameDraws(a, own);
    expectSameDraws(b, own);
    expect(threads).toBe(2);
    expect(liveWorkerThreads()).toBe(0);
    const bad = await Effect.runPromiseExit(Effect.scoped(workerPoolScoped({ threads: -1 })));
    expect(Exit.isFailure(bad)).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { Duration, Effect, Either, Exit, Fiber, Schedule } from "effect";
import { lastValueFrom, toArray } from "rxjs";
import { benchmarkModel } from "../../bench/models/index.js";
import { compile, moduleModel } from "../../src/compile/index.js";
import { InvalidModelError, InvalidOptionError } from "../../src/api/errors.js";
import { sample, sampleEffect, sampleRunEffect } from "../../src/api/sample.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import { RunPosterior } from "../../src/api/run-posterior.js";
import * as root from "../../src/index.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { expectSameDraws } from "./helpers.js";

const eightSchools = benchmarkModel("eight_schools");

function optionError(options: SampleOptions): InvalidOptionError {
  try {
    sample(eightSchools, options);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidOptionError);
    return e as InvalidOptionError;
  }
  throw new Error("no error");
}

describe("public API: validation, the Effect twin, package root", () => {
  it("rejects bad options before any worker starts, naming the option and the value", () => {
    const cases: [SampleOptions, string, RegExp][] = [
      [{ chains: 0 }, "chains", /chains must be an integer in \[1, 1024\], got 0/],
      [{ threads: 1.5 }, "threads", /got 1.5/],
      [{ warmup: -1 }, "warmup", /warmup must be an integer >= 0, got -1/],
      [{ chian: 4 } as SampleOptions, "chian", /option chian must be a known option/],
      [{ earlyStop: { rhat: 0.9 } }, "earlyStop.rhat", /got 0.9/],
      [{ earlyStop: true, chains: 1 }, "earlyStop", /single chain/],
      [{ restart: { maxRestarts: -1 } }, "restart.maxRestarts", /got -1/],
      [{ stream: { ack: "later" as "auto" } }, "stream.ack", /"later"/],
      [{ chunkTimeout: "soon" }, "chunkTimeout", /positive duration/],
      [{ metric: "full" as "dense" }, "metric", /"full"/],
      [{ targetAccept: 1 }, "targetAccept", /in \(0, 1\)/],
      [{ inits: [{ mu: 1 }] }, "inits", /inits has 1 entries for 4 chains/],
      [{ chains: 1, inits: { mu: 1, tau: -2, theta: [0, 0, 0, 0, 0, 0, 0, 0] } }, "inits", /tau/],
      [{ faults: [{ chain: 9, atIteration: 1, kind: "exit", attempts: 1 }] }, "faults[0].chain", /got 9/],
      [{ sampler: { maxDeltaH: -1 } }, "sampler.maxDeltaH", /maxDeltaH/],
    ];
    for (const [options, option, message] of cases) {
      const e = optionError(options);
      expect(e.option, JSON.stringify(options)).toBe(option);
      expect(e.message).toMatch(message);
    }
    expect(liveWorkerThreads()).toBe(0);
  });

  it("rejects what is not a model; a module model that does not load fails the result, no worker started", async () => {
    const density = compile(eightSchools);
    const bare = { ...density, compiled: undefined } as unknown as typeof density;
    expect(() => sample(bare)).toThrow(InvalidModelError);
    expect(() => sample(bare)).toThrow(/cannot be sent to worker threads/);
    expect(() => sample({ nonsense: true } as never)).toThrow(/needs a Model/);
    const run = sample(moduleModel("/nowhere/model.mjs"), { chains: 2 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    await expect(run.result).rejects.toBeInstanceOf(InvalidModelError);
    await expect(run.result).rejects.toThrow(/could not be loaded/);
    expect((await events).length).toBe(0);
    expect(liveWorkerThreads()).toBe(0);
  });

  it("sampleEffect: the same posterior, typed errors, and interruption releases the pool", async () => {
    const opts = { chains: 2, warmup: 200, draws: 200, seed: 4 };
    const post = await Effect.runPromise(sampleEffect(eightSchools, opts));
    expect(post).toBeInstanceOf(RunPosterior);
    expectSameDraws(post, await sample(eightSchools, opts).result);

    const bad = await Effect.runPromise(Effect.either(sampleEffect(eightSchools, { chains: -1 })));
    expect(Either.isLeft(bad) && bad.left._tag).toBe("InvalidOptionError");
    const missing = await Effect.runPromise(Effect.either(sampleEffect(moduleModel("/nowhere/model.mjs"))));
    expect(Either.isLeft(missing) && missing.left._tag).toBe("InvalidModelError");

    const fiber = Effect.runFork(sampleEffect(eightSchools, { ...opts, draws: 1_000_000 }));
    await new Promise((r) => setTimeout(r, 400));
    expect(liveWorkerThreads()).toBeGreaterThan(0);
    const exit = await Effect.runPromise(Fiber.interrupt(fiber));
    expect(Exit.isInterrupted(exit)).toBe(true);
    expect(liveWorkerThreads()).toBe(0);
  });

  it("sampleRunEffect: the run handle as a scoped resource; a custom restart Schedule", async () => {
    const program = Effect.scoped(
      Effect.gen(function* () {
        const run = yield* sampleRunEffect(eightSchools, {
          chains: 2,
          warmup: 200,
          draws: 200,
          seed: 4,
          restart: Schedule.spaced(Duration.millis(1)).pipe(Schedule.intersect(Schedule.recurs(1))),
          faults: [{ chain: 0, atIteration: 250, kind: "throw", attempts: 1 }],
        });
        return yield* Effect.promise(() => run.result);
      }),
    );
    const post = await Effect.runPromise(program);
    expect(post.chainStatus[0]!.restarts).toBe(1);
    // Closing the scope of a long run aborts it.
    const aborted = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const run = yield* sampleRunEffect(eightSchools, { chains: 2, draws: 1_000_000, seed: 1 });
          yield* Effect.sleep("300 millis");
          return run;
        }),
      ),
    );
    const partial = await aborted.result;
    expect(partial.status).toBe("aborted");
    expect(partial.abortReason).toBe("scope closed");
    expect(liveWorkerThreads()).toBe(0);
  });

  it("exports the runtime at the package root", () => {
    for (const name of ["sample", "sampleEffect", "sampleRunEffect", "RunPosterior", "InvalidOptionError", "InvalidModelError", "liveWorkerThreads", "DrawBatch", "sampleSync", "Posterior"]) {
      expect(root, name).toHaveProperty(name);
    }
  });
});

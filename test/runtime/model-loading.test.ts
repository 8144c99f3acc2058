import { describe, expect, it } from "vitest";
import { Effect, Either } from "effect";
import { lastValueFrom, toArray } from "rxjs";
import { InvalidModelError, InvalidOptionError, RunFailedError } from "../../src/api/errors.js";
import { sample, sampleEffect } from "../../src/api/sample.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import { moduleModel } from "../../src/compile/index.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { expectSameDraws } from "./helpers.js";

// Module models whose loading or gradient misbehaves (see the fixture's header).
const fixture = new URL("./fixtures/misbehaving-module.mjs", import.meta.url);
const misbehaving = (query: string, options: Record<string, unknown> = { dim: 2 }) => moduleModel(`${fixture.href}?${query}`, "default", options);
const opts: SampleOptions = { chains: 2, warmup: 150, draws: 150, seed: 8, threads: 2, chunkTimeout: 1000 };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error("resolved"),
    (e: unknown) => e,
  );
}

describe("module models: loading is supervised, and never runs on the main thread", () => {
  it("a module model is never evaluated on the main thread: one that exits, throws, hangs or loops there cannot touch the host", async () => {
    const clean = await sample(misbehaving("load=none"), opts).result;
    for (const load of ["exit", "throw", "top-level-await", "factory-loop", "factory-throws"]) {
      const post = await sample(misbehaving(`load=${load}&where=main`), opts).result;
      expect(post.status, load).toBe("completed");
      expectSameDraws(post, clean);
    }
    expect((globalThis as { misbehavingModuleEvaluations?: number }).misbehavingModuleEvaluations ?? 0).toBe(0);
    expect(liveWorkerThreads()).toBe(0);
  });

  it("a module whose factory loops forever or whose top-level await never settles (in a worker): a typed error once chunkTimeout has passed, no thread left", async () => {
    for (const load of ["factory-loop", "top-level-await"]) {
      const run = sample(misbehaving(`load=${load}&where=worker`), opts);
      const events = lastValueFrom(run.events$.pipe(toArray()));
      const error = await rejection(run.result);
      expect(error, load).toBeInstanceOf(InvalidModelError);
      expect((error as Error).message).toMatch(/did not finish loading: loading the model ran longer than 1s \(chunkTimeout\)/);
      expect(await events).toEqual([]);
      expect(liveWorkerThreads()).toBe(0);
    }
    // The Effect API: the same typed error.
    const either = await Effect.runPromise(Effect.either(sampleEffect(misbehaving("load=top-level-await&where=worker"), opts)));
    expect(Either.isLeft(either) && either.left._tag).toBe("InvalidModelError");
    expect(liveWorkerThreads()).toBe(0);
  });

  it("abort() while a module model is loading ends the load at once: an aborted run with no draws", async () => {
    const run = sample(misbehaving("load=top-level-await&where=worker"), { ...opts, chunkTimeout: 600_000 });
    await new Promise((r) => setTimeout(r, 300));
    const post = await run.abort("not waiting");
    expect(liveWorkerThreads()).toBe(0);
    expect(post).toMatchObject({ status: "aborted", abortReason: "not waiting", numDraws: 0, numWarmup: 0, names: [] });
    expect(post.chainStatus.map((s) => s.status)).toEqual(["aborted", "aborted"]);
  });

  it("a module that throws or exits while loading in a worker: InvalidModelError naming the module and why", async () => {
    const thrown = await rejection(sample(misbehaving("load=throw"), opts).result);
    expect(thrown).toBeInstanceOf(InvalidModelError);
    expect((thrown as Error).message).toMatch(/misbehaving-module\.mjs\?load=throw could not be loaded: .*its top level throws/);
    const factory = await rejection(sample(misbehaving("load=factory-throws"), opts).result);
    expect((factory as Error).message).toMatch(/could not be loaded: .*its factory throws/);
    const exited = await rejection(sample(misbehaving("load=exit&where=worker"), opts).result);
    expect(exited).toBeInstanceOf(InvalidModelError);
    expect((exited as Error).message).toMatch(/could not be loaded/);
    expect(liveWorkerThreads()).toBe(0);
  });

  it("a module whose load hangs on a fresh thread (after a crash) is under the chunk watchdog: the run settles", async () => {
    const hangOnLoad = new Int32Array(new SharedArrayBuffer(4));
    const run = sample(misbehaving("load=none", { dim: 2, hangOnLoad }), {
      ...opts,
      threads: 1,
      restart: { maxRestarts: 1, backoff: 1 },
      faults: [{ chain: 0, atIteration: 60, kind: "exit", attempts: 1 }],
    });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const error = await rejection(run.result);
    expect(liveWorkerThreads()).toBe(0);
    // Every load after the first hangs: once the thread died, no chain can go on.
    expect(error).toBeInstanceOf(RunFailedError);
    const post = (error as RunFailedError).posterior;
    expect(post.chainStatus.map((s) => s.status)).toEqual(["failed", "failed"]);
    const timeouts = (await events).filter((e) => e.type === "chunk-failed" && e.reason === "timeout");
    expect(timeouts.length).toBeGreaterThan(0);
    expect((await events).at(-1)).toMatchObject({ type: "run-completed", status: "failed" });
  });

  it("inits of a module model are mapped in the worker; a bad one is an InvalidOptionError naming it", async () => {
    const withInits = await sample(misbehaving("load=none"), { ...opts, inits: [{ x: [0.5, -0.5] }, { x: [1, 2] }] }).result;
    expect(withInits.status).toBe("completed");
    const error = await rejection(sample(misbehaving("load=none"), { ...opts, inits: [{ x: [0.5, -0.5] }, { x: [1, Number.NaN] }] }).result);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option: "inits[1]" });
    expect((error as Error).message).toMatch(/x\[2\] is NaN on the unconstrained scale/);
    expect(liveWorkerThreads()).toBe(0);
  });
});

describe("a gradient of the wrong length is caught", () => {
  it("when the model is loaded: InvalidModelError before any chain starts", async () => {
    const error = await rejection(sample(misbehaving("load=none", { dim: 3, shortGradient: "always" }), opts).result);
    expect(error).toBeInstanceOf(InvalidModelError);
    expect((error as Error).message).toMatch(/logDensityGradient wrote 2 of its 3 gradient entries .*x\[3\] \(index 2\)/);
  });

  it("at the start of every chunk: the chunk fails, the chain is given up, the run says so", async () => {
    const run = sample(misbehaving("load=none", { dim: 3, shortGradient: "off-origin" }), { ...opts, restart: { maxRestarts: 1, backoff: 1 } });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const error = await rejection(run.result);
    expect(error).toBeInstanceOf(RunFailedError);
    const failures = (await events).filter((e) => e.type === "chunk-failed");
    expect(failures.length).toBe(4);
    for (const f of failures) expect(f).toMatchObject({ reason: "error", message: expect.stringMatching(/wrote 2 of its 3 gradient entries/) });
    expect(liveWorkerThreads()).toBe(0);
  });
});

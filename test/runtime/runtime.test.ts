import { describe, expect, it } from "vitest";
import { firstValueFrom, lastValueFrom, toArray } from "rxjs";
import { benchmarkModel } from "../../bench/models/index.js";
import { compile, compileModel } from "../../src/compile/index.js";
import { essBulk, essTail, rhat } from "../../src/diagnostics/index.js";
import { Posterior } from "../../src/api/posterior.js";
import { sampleSync } from "../../src/api/sample-sync.js";
import { sample } from "../../src/api/sample.js";
import { RunPosterior } from "../../src/api/run-posterior.js";
import { warmupSchedule } from "../../src/inference/index.js";
import type { Draw, DrawBatch } from "../../actors/batch.js";
import type { RunEvent } from "../../actors/events.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { expectSameDraws } from "./helpers.js";

const eightSchools = benchmarkModel("eight_schools");
// Stan's schedule: these tests check its windows, pooling and extension (the default adaptation has its own test below).
const small = { chains: 4, warmup: 300, draws: 300, seed: 11, metric: "diag", schedule: "stan" } as const;

describe("sample: the supervised multi-chain runtime", () => {
  it("with per-chain warmup gives sampleSync's draws bit for bit, on 1 and on 2 threads", async () => {
    const sync = sampleSync(compile(eightSchools), small);
    for (const threads of [1, 2]) {
      const run = sample(eightSchools, { ...small, threads, pooledWarmup: false, warmupExtension: false });
      const post = await run.result;
      expect(post).toBeInstanceOf(Posterior);
      expect(post).toBeInstanceOf(RunPosterior);
      expect(post.threads).toBe(threads);
      expect(post.status).toBe("completed");
      expect(post.chainStatus.map((s) => s.status)).toEqual(["completed", "completed", "completed", "completed"]);
      expectSameDraws(post, sync);
      expect(post.summary()).toEqual(sync.summary());
    }
    expect(liveWorkerThreads()).toBe(0);
  });

  it("pools warmup across chains: one metric for all, the same draws on 1 and 2 threads", async () => {
    const events: RunEvent[] = [];
    const a = sample(eightSchools, { ...small, threads: 1, warmupExtension: false });
    a.events$.subscribe((e) => events.push(e));
    const one = await a.result;
    const two = await sample(eightSchools, { ...small, threads: 2, warmupExtension: false }).result;
    expectSameDraws(one, two);
    const inverse = one.chains.map((c) => Array.from(c.metric.inverse));
    for (const m of inverse) expect(m).toEqual(inverse[0]);
    const windows = events.filter((e) => e.type === "window-end");
    expect(windows.length).toBe(warmupSchedule(small.warmup).windows.length);
    expect(windows.every((w) => w.type === "window-end" && w.pooled && w.chains.length === 4)).toBe(true);
    // Not the per-chain result.
    const perChain = await sample(eightSchools, { ...small, threads: 2, pooledWarmup: false, warmupExtension: false }).result;
    expect(Array.from(perChain.chains[1]!.metric.inverse)).not.toEqual(inverse[1]);
    expect(one.summary().every((r) => r.rhat < 1.05)).toBe(true);
  });

  it("streams every draw in order per chain, with names, phase and statistics; progress and events", async () => {
    const run = sample(compileModel(eightSchools), { ...small, draws: 200, threads: 2, saveWarmup: true });
    const draws: Draw[] = [];
    run.draws$.subscribe((d) => draws.push(d));
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const progress = lastValueFrom(run.progress$);
    const post = await run.result;
    expect(draws.length).toBe(4 * (300 + 200));
    for (let c = 0; c < 4; c++) {
      const mine = draws.filter((d) => d.chain === c);
      expect(mine.map((d) => d.iteration)).toEqual(Array.from({ length: 500 }, (_, i) => i));
      expect(mine.slice(0, 300).every((d) => d.phase === "warmup")).toBe(true);
      expect(mine.slice(300).every((d) => d.phase === "sampling")).toBe(true);
      const mu = post.draws("mu")[c]!;
      const theta3 = post.draws("theta[3]")[c]!;
      mine.slice(300).forEach((d, i) => {
        expect(d.values.mu).toBe(mu[i]);
        expect(d.values["theta[3]"]).toBe(theta3[i]);
        expect(d.stats.lp).toBe(post.chains[c]!.stats.lp[i]);
        expect(d.stats.treeDepth).toBe(post.chains[c]!.stats.treeDepth[i]);
        expect(d.placeholder).toBe(false);
      });
      const warmTau = post.warmupDraws("tau")![c]!;
      mine.slice(0, 300).forEach((d, i) => expect(d.values.tau).toBe(warmTau[i]));
    }
    expect(Object.keys(draws[0]!.values)).toEqual(post.names);
    const last = await progress;
    expect(last.fraction).toBe(1);
    expect(last.chains.map((c) => c.status)).toEqual(["completed", "completed", "completed", "completed"]);
    const types = (await events).map((e) => e.type);
    expect(types[0]).toBe("run-started");
    expect(types.filter((t) => t === "chain-started").length).toBe(4);
    expect(types.at(-1)).toBe("run-completed");
  });

  it("batches are views of the trace the workers wrote: values (draw-major), value(i, k) and statistics are the posterior's; the trace grows past its first capacity", async () => {
    // Early stop with a target never met: the sampling trace starts at 4096 draws and grows.
    const run = sample(eightSchools, { chains: 2, warmup: 200, draws: 6000, seed: 3, threads: 2, metric: "diag", schedule: "stan", earlyStop: { ess: 1e12 }, checkEvery: 1000, saveWarmup: true });
    const batches: DrawBatch[] = [];
    run.batches$.subscribe((b) => batches.push(b));
    const post = await run.result;
    expect(post.numDraws).toBe(6000);
    expect(batches.reduce((a, b) => a + b.count, 0)).toBe(2 * (post.numWarmup + 6000));
    const W = post.numWarmup;
    const D = post.numDraws;
    for (const b of batches) {
      const w = b.names.length;
      const chain = post.chains[b.chain]!;
      const sampling = b.phase === "sampling";
      const from = sampling ? b.start - W : b.start;
      const values = b.values;
      expect(values.length).toBe(b.count * w);
      for (let k = 0; k < w; k++) {
        const col = sampling ? chain.values.subarray(k * D + from, k * D + from + b.count) : chain.warmupValues!.subarray(k * W + from, k * W + from + b.count);
        expect(Array.from(b.quantity(k))).toEqual(Array.from(col));
      }
      for (let i = 0; i < b.count; i++) {
        for (let k = 0; k < w; k++) {
          const expected = sampling ? chain.values[k * D + from + i]! : chain.warmupValues![k * W + from + i]!;
          expect(values[i * w + k]).toBe(expected);
          expect(b.value(i, k)).toBe(expected);
        }
        const stats = sampling ? chain.stats : chain.warmupStats;
        expect(b.lp[i]).toBe(stats.lp[from + i]);
        expect(b.treeDepth[i]).toBe(stats.treeDepth[from + i]);
        expect(b.divergent[i]).toBe(stats.divergent[from + i]);
      }
    }
  });

  it("early stop: all chains stop at the first check point where R-hat < 1.01 and bulk/tail ESS >= 400", async () => {
    const opts = { chains: 4, warmup: 300, draws: 5000, seed: 5, earlyStop: true, checkEvery: 100 } as const;
    const run = sample(eightSchools, { ...opts, threads: 2 });
    const diags = lastValueFrom(run.diagnostics$.pipe(toArray()));
    // Chains do not wait at check points: some sample past the stop point, but the streams
    // carry exactly the result's draws (batches beyond it are held, then dropped).
    const sampling: [number, number][][] = [[], [], [], []];
    run.batches$.subscribe((b) => {
      if (b.phase === "sampling") sampling[b.chain]!.push([b.start, b.count]);
    });
    const post = await run.result;
    expect(post.status).toBe("stopped-early");
    expect(post.chainStatus.every((s) => s.status === "stopped-early")).toBe(true);
    expect(post.numDraws % 100).toBe(0);
    expect(post.numDraws).toBeLessThan(5000);
    for (const batches of sampling) {
      let next = post.numWarmup;
      for (const [start, count] of batches) {
        expect(start).toBe(next);
        next += count;
      }
      expect(next).toBe(post.numWarmup + post.numDraws);
    }
    const all = await diags;
    expect(all.map((d) => d.draws)).toEqual(Array.from({ length: post.numDraws / 100 }, (_, i) => (i + 1) * 100));
    expect(all.slice(0, -1).every((d) => !d.converged)).toBe(true);
    const final = all.at(-1)!;
    expect(final.converged).toBe(true);
    // The online numbers are src/diagnostics' numbers on the posterior's draws.
    for (const p of final.params) {
      const chains = post.draws(p.name);
      expect(p.rhat).toBe(rhat(chains));
      expect(p.essBulk).toBe(essBulk(chains));
      expect(p.essTail).toBe(essTail(chains));
      expect(p.rhat).toBeLessThan(1.01);
      expect(Math.min(p.essBulk, p.essTail)).toBeGreaterThanOrEqual(400);
    }
    expect(post.onlineDiagnostics).toEqual(final);
    // Deterministic: the same stop on one thread.
    const one = await sample(eightSchools, { ...opts, threads: 1 }).result;
    expectSameDraws(one, post);
  });

  it("extends warmup by another slow window when the last window's R-hat is too high", async () => {
    const run = sample(eightSchools, { ...small, warmupExtension: { rhat: 1.000001, max: 1 } });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const post = await run.result;
    const ext = (await events).filter((e) => e.type === "warmup-extended");
    expect(ext.length).toBe(1);
    const lastWindow = warmupSchedule(300).windows.at(-1)!;
    const by = lastWindow.end - lastWindow.start;
    expect(ext[0]).toMatchObject({ iteration: lastWindow.end, by, numWarmup: 300 + by });
    expect(post.numWarmup).toBe(300 + by);
    expect(post.warmupExtensions).toBe(1);
    expect(post.numDraws).toBe(300);
    for (const c of post.chains) {
      expect(c.warmupStats.lp.length).toBe(300 + by);
      expect(new Set(c.stats.stepSize).size).toBe(1);
    }
    // One more pooled window end after the extension window.
    const windows = (await events).filter((e) => e.type === "window-end");
    expect(windows.length).toBe(warmupSchedule(300).windows.length + 1);
  });

  it('metric "low-rank" (the Fisher adaptation): low-rank metric pooled at nutpie\'s switches, warmup ended by the rule, the same draws on 1 and 2 threads', async () => {
    // `warmup: N` is N iterations unless the adaptive length is asked for (D108).
    const opts = { chains: 4, warmup: 1000, draws: 200, seed: 12, metric: "low-rank", adaptiveWarmup: true } as const;
    const events: RunEvent[] = [];
    const a = sample(eightSchools, { ...opts, threads: 1 });
    a.events$.subscribe((e) => events.push(e));
    const one = await a.result;
    const two = await sample(eightSchools, { ...opts, threads: 2 }).result;
    expectSameDraws(one, two);
    expect(one.chains.every((c) => c.metric.kind === "low-rank")).toBe(true);
    const ended = events.find((e) => e.type === "warmup-ended");
    expect(ended, "the adaptive rule ended warmup before the cap").toBeDefined();
    if (ended?.type === "warmup-ended") {
      expect(one.numWarmup).toBe(ended.numWarmup);
      expect(one.numWarmup).toBeLessThan(1000);
      expect(ended.change).toBeLessThanOrEqual(0.2);
    }
    // Ended at a pooled switch on the merged last block: one metric for all chains.
    const inverse = one.chains.map((c) => Array.from(c.metric.inverse));
    for (const m of inverse) expect(m).toEqual(inverse[0]);
    // Switches every 10 iterations early on, each chain's own inside its chunks (D147): the chains
    // first meet at the early phase's last switch (iteration 299), then at the main phase's.
    const windows = events.filter((e) => e.type === "window-end");
    expect(windows.slice(0, 2).map((w) => (w.type === "window-end" ? w.iteration : -1))).toEqual([299, 379]);
    // On request, every switch pooled over the 4 chains (as before D147).
    const allEvents: RunEvent[] = [];
    const all = sample(eightSchools, { ...opts, draws: 50, threads: 2, sampler: { sharedSwitches: "all" } });
    all.events$.subscribe((e) => allEvents.push(e));
    await all.result;
    const allWindows = allEvents.filter((e) => e.type === "window-end");
    expect(allWindows.slice(0, 3).map((w) => (w.type === "window-end" ? w.iteration : -1))).toEqual([9, 19, 29]);
    expect(one.summary().every((r) => r.rhat < 1.05)).toBe(true);
    // Fixed length on request.
    const fixed = await sample(eightSchools, { ...opts, warmup: 300, adaptiveWarmup: false, threads: 2 }).result;
    expect(fixed.numWarmup).toBe(300);
    // And when warmup is given without asking for it: Stan's meaning.
    const given = await sample(eightSchools, { chains: 4, warmup: 300, draws: 100, seed: 12, threads: 2 }).result;
    expect(given.numWarmup).toBe(300);
  });

  it("takes user inits (mapped on the main thread) and module models", async () => {
    const post = await sample(eightSchools, { ...small, draws: 50, inits: { mu: 1, tau: 2, theta: [0, 0, 0, 0, 0, 0, 0, 0] } }).result;
    const sync = sampleSync(compile(eightSchools), { ...small, draws: 50, inits: { mu: 1, tau: 2, theta: [0, 0, 0, 0, 0, 0, 0, 0] } });
    expect(post.chains[0]!.warmupStats.lp[0]).toBeCloseTo(sync.chains[0]!.warmupStats.lp[0]!, 12);
    const run = sample(
      { backend: "module", module: new URL("./fixtures/faulty-normal.mjs", import.meta.url).pathname, options: { dim: 3 } },
      { chains: 2, warmup: 200, draws: 200, seed: 1 },
    );
    const first = firstValueFrom(run.draws$);
    const mod = await run.result;
    expect(mod.names).toEqual(["x[1]", "x[2]", "x[3]"]);
    expect((await first).values["x[2]"]).toBeTypeOf("number");
    expect(mod.summary().every((r) => r.rhat < 1.1)).toBe(true);
  });
});

/** The worker threads' CPU clock (actors/thread-cpu.ts): it advances with the thread's work, and a run reports it per chain. */
import { describe, expect, it } from "vitest";
import { threadCpuSeconds } from "../../actors/thread-cpu.js";
import { benchmarkModel } from "../../bench/models/index.js";
import { sample } from "../../src/api/sample.js";

describe("threadCpuSeconds", () => {
  it("advances while the thread computes, and not while it sleeps", async () => {
    const t0 = threadCpuSeconds();
    expect(Number.isFinite(t0)).toBe(true);
    const wallStart = performance.now();
    let x = 0;
    // Spin until the thread has run 50 ms (at most 10 s of wall time on a busy machine).
    while (threadCpuSeconds() - t0 < 0.05 && performance.now() - wallStart < 10_000) for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    const spun = threadCpuSeconds() - t0;
    expect(spun).toBeGreaterThanOrEqual(0.05);
    const s0 = threadCpuSeconds();
    await new Promise((r) => setTimeout(r, 200));
    expect(threadCpuSeconds() - s0).toBeLessThan(0.1);
  });

  it("is reported per chain by a run: the warmup's and the sampling's, finite and not negative, more than nothing in all", async () => {
    // The kernel updates a running thread's time at scheduler ticks (a few ms), so one short
    // chunk may read nothing; the chains' total may not.
    const p = await sample(benchmarkModel("eight_schools"), { chains: 2, warmup: 500, draws: 2000, seed: 1, threads: 2 }).result;
    let total = 0;
    for (const c of p.chains) {
      for (const s of [c.warmupCpuSeconds, c.samplingCpuSeconds]) {
        expect(Number.isFinite(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        total += s!;
      }
    }
    expect(total).toBeGreaterThan(0);
  });
});

/**
 * nutpie's early switches made inside the chunks (`sharedSwitches: "main"`, D147): the chain's
 * own switches are exactly those a coordinator would have handed it, the chains meet only at the
 * shared switches, and the draws stay a function of the seed (1 or 2 threads).
 */
import { describe, expect, it } from "vitest";
import { benchmarkModel } from "../../bench/models/index.js";
import { sample } from "../../src/api/sample.js";
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/index.js";
import { dist, gather, model } from "../../src/model/index.js";
import type { RunEvent } from "../../actors/events.js";
import { expectSameDraws } from "./helpers.js";

const eightSchools = benchmarkModel("eight_schools");
const fisher = { chains: 4, warmup: 400, draws: 100, seed: 21, metric: "diag-fisher", schedule: "nutpie", adaptiveWarmup: false, saveWarmup: true } as const;

function windowEnds(events: readonly RunEvent[]): number[] {
  return events.flatMap((e) => (e.type === "window-end" ? [e.iteration] : []));
}

describe("nutpie's early switches inside the chunks", () => {
  it("are the switches the coordinator would make: the early phase's draws equal per-chain warmup's with every switch shared", async () => {
    const events: RunEvent[] = [];
    const run = sample(eightSchools, { ...fisher, threads: 2 });
    run.events$.subscribe((e) => events.push(e));
    const local = await run.result;
    const shared = await sample(eightSchools, { ...fisher, threads: 2, pooledWarmup: false, sampler: { sharedSwitches: "all" } }).result;
    // Early phase: 120 iterations, switches every 10; the chains first meet after iteration 119
    // (its last switch, pooled), then at the main phase's switches.
    expect(windowEnds(events)[0]).toBe(119);
    for (const name of ["mu", "tau", "theta[3]"]) {
      const a = local.warmupDraws(name)!;
      const b = shared.warmupDraws(name)!;
      for (let c = 0; c < 4; c++) {
        expect(Array.from(a[c]!.subarray(0, 119)), `${name}, chain ${c}`).toEqual(Array.from(b[c]!.subarray(0, 119)));
        // From the first pooled switch on the chains adapt on all chains' draws.
        expect(Array.from(a[c]!.subarray(119, 200))).not.toEqual(Array.from(b[c]!.subarray(119, 200)));
      }
    }
  });

  it("give the same draws on 1 and 2 threads, pooled and per chain", async () => {
    for (const pooledWarmup of [true, false]) {
      const one = await sample(eightSchools, { ...fisher, pooledWarmup, threads: 1 }).result;
      const two = await sample(eightSchools, { ...fisher, pooledWarmup, threads: 2 }).result;
      expectSameDraws(one, two);
    }
  });

  it("meet at the switch that learns the parameterisation: every chain moves to the same lambdas, on 1 and 2 threads", async () => {
    const groups = 6;
    const group = Array.from({ length: 18 }, (_, i) => i % groups);
    const y = group.map((g, i) => 0.4 * g - 1 + Math.sin(3 * i));
    const hier = model(
      "hier",
      (m) => {
        const mu = m.param("mu", dist.normal(0, 5));
        const tau = m.param("tau", dist.halfNormal(2));
        const th = m.param("theta", dist.normal(mu, tau), { shape: [groups] });
        m.observe("y", dist.normal(gather(th, group), 1.5), y);
      },
      { noncentered: "learn" },
    );
    const opts = { ...fisher, warmup: 1000, seed: 4 };
    const events: RunEvent[] = [];
    const run = sample(hier, { ...opts, threads: 1 });
    run.events$.subscribe((e) => events.push(e));
    const one = await run.result;
    // The first switch at or after iteration 100 (reparamAt) is shared: 109, before the early phase's last (299).
    const ends = windowEnds(events);
    expect(ends.slice(0, 2)).toEqual([109, 299]);
    const learned = events.filter((e) => e.type === "reparameterised");
    expect(learned.length).toBe(1);
    expect(learned[0]!.type === "reparameterised" && learned[0]!.iteration).toBe(109);
    const two = await sample(hier, { ...opts, threads: 2 }).result;
    expectSameDraws(one, two);
  });

  it("is an option of sample only, checked before any work", () => {
    expect(() => sample(eightSchools, { ...fisher, sampler: { sharedSwitches: "some" as never } })).toThrow(/sampler\.sharedSwitches/);
    expect(() => sampleSync(compile(eightSchools), { chains: 1, warmup: 100, draws: 10, sampler: { sharedSwitches: "main" } })).toThrow(/sampler\.sharedSwitches/);
  });
});

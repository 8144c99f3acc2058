import { describe, expect, it } from "vitest";
import { Effect, Fiber } from "effect";
import { compile } from "../../src/compile/index.js";
import { benchmarkModel } from "../../bench/models/index.js";
import {
  initChainState,
  mergeWindowAccumulators,
  metricFromAccumulator,
  nextWindowEnd,
  runIterations,
  setMetricAtWindowEnd,
  warmupSchedule,
  NUTPIE_SCHEDULE,
  type ChainState,
} from "../../src/inference/index.js";
import { FREE_TABLE_ALLOWANCE_MS, FREE_TABLE_SHARE, MAX_LEAD, WarmupCoordinator, freeTableWait, type CoordinatorOptions, type WindowDecision } from "../../actors/coordinator.js";
import type { RunEvent, RunSink } from "../../actors/events.js";
import { TraceStore } from "../../actors/trace-store.js";
import { atLastWindowEnd, extendWarmup } from "../../actors/warmup-extension.js";

const density = compile(benchmarkModel("eight_schools"));
const settings = { numWarmup: 300, metricUpdate: "external" as const };

function toFirstWindowEnd(chain: number): ChainState {
  const s = initChainState(density, settings, { seed: 77, chain });
  const r = runIterations(density, s, 300, settings);
  expect(r.awaitingMetric).toBe(true);
  return r.state;
}

function coordinator(overrides: Partial<CoordinatorOptions> = {}): { coord: WarmupCoordinator; events: RunEvent[] } {
  const events: RunEvent[] = [];
  const sink: RunSink = {
    model: () => undefined,
    batch: () => undefined,
    event: (e) => events.push(e),
    progress: () => undefined,
    diagnostics: () => undefined,
    wantsDiagnostics: () => false,
  };
  const coord = new WarmupCoordinator({
    numChains: 3,
    pooled: true,
    adaptiveWarmup: null,
    fisher: NUTPIE_SCHEDULE,
    extension: null,
    checkEvery: 100,
    earlyStop: null,
    store: new TraceStore(density.names, 3, 300, 300),
    sink,
    gradients: () => 0,
    ...overrides,
  });
  return { coord, events };
}

/** The metric of a Stan-schedule window decision. */
function metricOf(d: WindowDecision) {
  if (d.update.kind !== "metric") throw new Error("expected a metric update");
  return d.update.metric;
}

describe("warmup coordinator", () => {
  it("broadcasts the metric of the merged accumulators (chain order, whatever the arrival order)", async () => {
    const states = [0, 1, 2].map(toFirstWindowEnd);
    const expected = metricFromAccumulator(mergeWindowAccumulators(states.map((s) => s.accumulator!)), states[0]!.metric);
    const { coord, events } = coordinator();
    const decisions = await Effect.runPromise(
      Effect.all([2, 0, 1].map((c) => coord.windowEnd(c, states[c]!)), { concurrency: "unbounded" }),
    );
    for (const d of decisions) {
      expect(Array.from(metricOf(d).inverse)).toEqual(Array.from(expected.inverse));
      expect(d.extendBy).toBe(0);
    }
    expect(events).toEqual([expect.objectContaining({ type: "window-end", window: 0, chains: [0, 1, 2], pooled: true })]);
  });

  it("does not wait for a chain that failed", async () => {
    const states = [0, 1, 2].map(toFirstWindowEnd);
    const { coord } = coordinator();
    const waiting = Effect.runFork(Effect.all([coord.windowEnd(0, states[0]!), coord.windowEnd(2, states[2]!)], { concurrency: "unbounded" }));
    await new Promise((r) => setTimeout(r, 20));
    expect(waiting.unsafePoll()).toBeNull();
    coord.chainFailed(1, 0);
    const [a] = await Effect.runPromise(Fiber.join(waiting));
    const expected = metricFromAccumulator(mergeWindowAccumulators([states[0]!.accumulator!, states[2]!.accumulator!]), states[0]!.metric);
    expect(Array.from(metricOf(a).inverse)).toEqual(Array.from(expected.inverse));
  });

  it("per-chain warmup: each chain gets its own metric at once", async () => {
    const states = [0, 1, 2].map(toFirstWindowEnd);
    const { coord } = coordinator({ pooled: false });
    const d = await Effect.runPromise(coord.windowEnd(1, states[1]!));
    expect(Array.from(metricOf(d).inverse)).toEqual(Array.from(metricFromAccumulator(states[1]!.accumulator!, states[1]!.metric).inverse));
  });
});

describe("warmup extension", () => {
  it("adds one slow window before the terminal buffer; sampling starts after it", () => {
    const schedule = warmupSchedule(300);
    const last = schedule.windows.at(-1)!;
    let s = initChainState(density, settings, { seed: 5 });
    while (!atLastWindowEnd(s)) {
      const r = runIterations(density, s, 300, settings);
      s = r.awaitingMetric && !atLastWindowEnd(r.state) ? setMetricAtWindowEnd(density, r.state, metricFromAccumulator(r.state.accumulator!, r.state.metric)) : r.state;
    }
    expect(s.iteration).toBe(last.end);
    const ext = extendWarmup(s, 60);
    expect(ext.numWarmup).toBe(360);
    expect(s.numWarmup).toBe(300); // the input is untouched
    let t = setMetricAtWindowEnd(density, ext, metricFromAccumulator(ext.accumulator!, ext.metric));
    expect(nextWindowEnd(t)).toBe(last.end + 60);
    const r = runIterations(density, t, 1000, settings);
    expect(r.iterations).toBe(60);
    expect(r.awaitingMetric).toBe(true);
    expect(r.state.accumulator!.draws.n).toBe(60);
    expect(atLastWindowEnd(r.state)).toBe(true);
    t = setMetricAtWindowEnd(density, r.state, metricFromAccumulator(r.state.accumulator!, r.state.metric));
    const steps = new Set<number>();
    let firstSampling = -1;
    runIterations(density, t, 200, settings, (d) => {
      if (!d.warmup) {
        if (firstSampling < 0) firstSampling = d.iteration;
        steps.add(d.stats.stepSize);
      }
    });
    expect(firstSampling).toBe(360);
    expect(steps.size).toBe(1);
    expect(() => extendWarmup(t, 10)).toThrow(/last slow window/);
  });

  it("early stop without barriers: a chain samples at most MAX_LEAD check intervals past the last examined point; sampling batches wait for the decision", async () => {
    // Sampling draws that never converge (ESS target out of reach), 3 chains x 400.
    const store = new TraceStore(density.names, 3, 300, 400);
    let x = 1;
    for (const c of store.chains) {
      const t = c.sampling.target(400);
      for (let i = 0; i < t.values.length; i++) t.values[i] = Math.sin((x += 1.7)) * 3 + (i % 7);
      expect(c.sampling.commit(t, 400)).toBe(true);
    }
    const { coord, events } = coordinator({ store, earlyStop: { rhat: 1.01, essBulk: 1e12, essTail: 400, minDraws: 0 } });
    expect(MAX_LEAD).toBe(1);
    const published: string[] = [];
    const publish = (chain: number, from: number) => coord.publishSampling(chain, from, () => published.push(`${chain}@${from}`), () => published.push(`dropped ${chain}@${from}`));
    publish(0, 0);
    expect(await Effect.runPromise(coord.sampled(0, 100))).toBe("continue"); // one interval ahead: goes on
    publish(0, 100); // after the first check point, not examined yet: held
    expect(published).toEqual(["0@0"]);
    const ahead = Effect.runFork(coord.sampled(0, 200)); // two ahead: waits
    await new Promise((r) => setTimeout(r, 20));
    expect(ahead.unsafePoll()).toBeNull();
    expect(await Effect.runPromise(coord.sampled(1, 100))).toBe("continue");
    expect(ahead.unsafePoll()).toBeNull();
    expect(await Effect.runPromise(coord.sampled(2, 100))).toBe("continue"); // point 100 examined: not converged
    expect(await Effect.runPromise(Fiber.join(ahead))).toBe("continue");
    expect(published).toEqual(["0@0", "0@100"]);
    publish(0, 200);
    expect(coord.stoppedAt).toBeNull();
    // The run ends (say, aborted at 200 draws): held batches within it are published, the rest dropped.
    coord.finish(200);
    expect(published).toEqual(["0@0", "0@100", "dropped 0@200"]);
    expect(events.filter((e) => e.type === "early-stop")).toEqual([]);
  });
});

describe("diagnostics$ tables without early stop (D52, D92)", () => {
  it("the first tables come at once, within the allowance", () => {
    expect(freeTableWait({ startedAt: 0, now: 0, spentMs: 0, lastDraws: 0, lastMs: 0 }, 100)).toBeLessThanOrEqual(0);
    expect(freeTableWait({ startedAt: 0, now: 10, spentMs: 20, lastDraws: 100, lastMs: 10 }, 200)).toBeLessThanOrEqual(0);
  });

  it("a table is predicted from the last one and starts only when it fits in the share", () => {
    // The last table: 1000 draws in 40 ms; 60 ms spent. The next one, at 4000 draws, should take 160 ms:
    // it may start once (60 + 160 - allowance) / share ms have passed.
    const b = { startedAt: 0, now: 1000, spentMs: 60, lastDraws: 1000, lastMs: 40 };
    const startsAt = (60 + 160 - FREE_TABLE_ALLOWANCE_MS) / FREE_TABLE_SHARE;
    expect(freeTableWait(b, 4000)).toBeCloseTo(startsAt - 1000, 6);
    expect(freeTableWait({ ...b, now: startsAt }, 4000)).toBeCloseTo(0, 6);
  });

  it("on a fast model (tables cost more per draw than the share allows) the time spent stays within the share", () => {
    // Simulated run: draws come at `rate` per ms whatever the main thread does (worker threads);
    // a table over d draws costs c * d ms; the coordinator's loop: wait, re-predict, compute.
    for (const [rate, c] of [
      [400, 1e-4], // simple at full speed: a table costs 4% of the time its draws took
      [40, 1e-4], // 0.4%: tables come regularly
      [400, 1e-6],
    ] as const) {
      let now = 0;
      let spent = 0;
      let lastDraws = 0;
      let lastMs = 0;
      let tables = 0;
      while (now < 60_000) {
        const draws = Math.floor(rate * now) + 1;
        const wait = freeTableWait({ startedAt: 0, now, spentMs: spent, lastDraws, lastMs }, draws);
        if (wait > 0) {
          now += Math.max(1, wait);
          continue;
        }
        const cost = c * draws;
        spent += cost;
        now += cost;
        lastDraws = draws;
        lastMs = cost;
        tables++;
        // Within the share at every table's end (prediction exact here, up to the draws made meanwhile).
        expect(spent).toBeLessThanOrEqual(FREE_TABLE_SHARE * now + FREE_TABLE_ALLOWANCE_MS + c * rate * cost + 1e-9);
      }
      expect(tables).toBeGreaterThan(0);
      if (c * rate < FREE_TABLE_SHARE) expect(tables).toBeGreaterThan(5);
    }
  });
});

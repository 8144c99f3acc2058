/**
 * Warmup as Stan (pitfall 6): window boundaries, regularisation, Welford merge, dual
 * averaging, step size restarts after metric updates, final step size.
 */
import { describe, expect, it } from "vitest";
import {
  initChainState,
  learnStepSize,
  initDualAveraging,
  metricFromAccumulator,
  mergeWindowAccumulators,
  nextWindowEnd,
  regularizedCovariance,
  regularizedVariance,
  runIterations,
  setMetricAtWindowEnd,
  warmupSchedule,
  welfordDense,
  welfordDenseAdd,
  welfordDiag,
  welfordDiagAdd,
  welfordMerge,
  fisherDiagonal,
  type ChainState,
  type WindowAccumulator,
} from "../../src/inference/index.js";
import { Rng } from "../../src/rng/index.js";
import { diagNormal, logSpacedScales, standardNormal } from "./models.js";

const w = (start: number, end: number) => ({ start, end });

describe("Stan's window schedule", () => {
  it("warmup 1000: 75 / 25, 50, 100, 200, 500 / 50", () => {
    const s = warmupSchedule(1000);
    expect(s.windows).toEqual([w(75, 100), w(100, 150), w(150, 250), w(250, 450), w(450, 950)]);
    expect([s.initBuffer, s.baseWindow, s.termBuffer]).toEqual([75, 25, 50]);
  });

  it("warmup 2000: the last window stretches to the terminal buffer", () => {
    expect(warmupSchedule(2000).windows).toEqual([
      w(75, 100), w(100, 150), w(150, 250), w(250, 450), w(450, 850), w(850, 1950),
    ]);
  });

  it("warmup 150: exactly one window of 25", () => {
    expect(warmupSchedule(150).windows).toEqual([w(75, 100)]);
  });

  it("short warmups scale to 15% / 75% / 10%", () => {
    const s100 = warmupSchedule(100);
    expect([s100.initBuffer, s100.baseWindow, s100.termBuffer]).toEqual([15, 75, 10]);
    expect(s100.windows).toEqual([w(15, 90)]);
    const s20 = warmupSchedule(20);
    expect([s20.initBuffer, s20.baseWindow, s20.termBuffer]).toEqual([3, 15, 2]);
    expect(s20.windows).toEqual([w(3, 18)]);
    expect(warmupSchedule(149).windows).toEqual([w(22, 135)]);
  });

  it("below 20 warmup iterations: no metric adaptation", () => {
    const s = warmupSchedule(19);
    expect(s.adaptsMetric).toBe(false);
    expect(s.windows).toEqual([]);
  });

  it("the kernel updates the metric exactly at the schedule's window ends", () => {
    for (const numWarmup of [20, 100, 1000]) {
      const model = standardNormal(3);
      const settings = { numWarmup, metricUpdate: "external" as const };
      let state = initChainState(model, settings, { seed: 1 });
      const ends: number[] = [];
      const expected = warmupSchedule(numWarmup).windows.map((x) => x.end);
      while (state.iteration < numWarmup + 5) {
        const predicted = nextWindowEnd(state);
        const r = runIterations(model, state, numWarmup + 5 - state.iteration, settings);
        state = r.state;
        if (r.awaitingMetric) {
          ends.push(state.iteration);
          expect(predicted).toBe(state.iteration);
          const n = state.accumulator!.draws.n;
          const win = warmupSchedule(numWarmup).windows[ends.length - 1]!;
          expect(n).toBe(win.end - win.start); // every draw of the window, none other
          state = setMetricAtWindowEnd(model, state, metricFromAccumulator(state.accumulator!, state.metric));
        }
      }
      expect(ends).toEqual(expected);
    }
  });
});

describe("metric estimation", () => {
  const rng = Rng.fromSeed(5);
  const samples = Array.from({ length: 37 }, () => Float64Array.from({ length: 3 }, (_, i) => (i + 1) * rng.normal() + i));

  function naiveVar(i: number): number {
    const m = samples.reduce((a, x) => a + x[i]!, 0) / samples.length;
    return samples.reduce((a, x) => a + (x[i]! - m) ** 2, 0) / (samples.length - 1);
  }

  it("diag: (n / (n + 5)) * var + 1e-3 * (5 / (n + 5))", () => {
    const acc = welfordDiag(3);
    for (const x of samples) welfordDiagAdd(acc, x);
    const n = samples.length;
    const out = regularizedVariance(acc, new Float64Array(3).fill(1));
    for (let i = 0; i < 3; i++) {
      expect(out[i]).toBeCloseTo((n / (n + 5)) * naiveVar(i) + 1e-3 * (5 / (n + 5)), 12);
    }
  });

  it("dense: (n / (n + 5)) * cov + 1e-3 * (5 / (n + 5)) * I", () => {
    const acc = welfordDense(3);
    const scratch = new Float64Array(3);
    for (const x of samples) welfordDenseAdd(acc, x, scratch);
    const n = samples.length;
    const id = new Float64Array(9);
    id[0] = id[4] = id[8] = 1;
    const out = regularizedCovariance(acc, id);
    const mean = [0, 1, 2].map((i) => samples.reduce((a, x) => a + x[i]!, 0) / n);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const cov = samples.reduce((a, x) => a + (x[i]! - mean[i]!) * (x[j]! - mean[j]!), 0) / (n - 1);
        const want = (n / (n + 5)) * cov + (i === j ? 1e-3 * (5 / (n + 5)) : 0);
        expect(out[i * 3 + j]).toBeCloseTo(want, 12);
      }
    }
    expect(out[1]).toBe(out[3]); // exactly symmetric
  });

  it("parallel Welford merge equals one pass over all samples", () => {
    const all = welfordDiag(3);
    const a = welfordDiag(3);
    const b = welfordDiag(3);
    const allD = welfordDense(3);
    const aD = welfordDense(3);
    const bD = welfordDense(3);
    const sc = new Float64Array(3);
    samples.forEach((x, k) => {
      welfordDiagAdd(all, x);
      welfordDenseAdd(allD, x, sc);
      welfordDiagAdd(k < 11 ? a : b, x);
      welfordDenseAdd(k < 11 ? aD : bD, x, sc);
    });
    const m = welfordMerge(a, b);
    const mD = welfordMerge(aD, bD);
    expect(m.n).toBe(all.n);
    for (let i = 0; i < 3; i++) {
      expect(m.mean[i]).toBeCloseTo(all.mean[i]!, 12);
      expect(m.m2[i]).toBeCloseTo(all.m2[i]!, 10);
    }
    for (let i = 0; i < 9; i++) expect(mD.m2[i]).toBeCloseTo(allD.m2[i]!, 10);
    // Merging with an empty accumulator is the identity.
    expect(Array.from(welfordMerge(a, welfordDiag(3)).m2)).toEqual(Array.from(a.m2));
  });

  it("Fisher diagonal: sqrt(var(q) / var(grad)) is exact for a Gaussian", () => {
    // For N(0, s^2): grad = -q / s^2, so var(q) / var(grad) = s^4 and the estimate is s^2.
    const draws = welfordDiag(2);
    const grads = welfordDiag(2);
    const s = [0.1, 30];
    for (const x of samples) {
      const q = Float64Array.of(x[0]! * s[0]!, x[1]! * s[1]!);
      welfordDiagAdd(draws, q);
      welfordDiagAdd(grads, Float64Array.of(-q[0]! / s[0]! ** 2, -q[1]! / s[1]! ** 2));
    }
    const out = fisherDiagonal(draws, grads, Float64Array.of(1, 1));
    expect(out[0]).toBeCloseTo(0.01, 12);
    expect(out[1]! / 900).toBeCloseTo(1, 12);
  });
});

describe("dual averaging and step sizes", () => {
  it("follows Stan's update", () => {
    const da = initDualAveraging(Math.log(10));
    const s = { delta: 0.8, gamma: 0.05, kappa: 0.75, t0: 10 };
    const e1 = learnStepSize(da, 0.5, s);
    const sBar1 = (1 / 11) * (0.8 - 0.5);
    const x1 = Math.log(10) - (sBar1 * 1) / 0.05;
    expect(e1).toBeCloseTo(Math.exp(x1), 12);
    expect(da.xBar).toBeCloseTo(x1, 12);
    const e2 = learnStepSize(da, 1.7, s); // clipped to 1
    const sBar2 = (1 - 1 / 12) * sBar1 + (1 / 12) * (0.8 - 1);
    const x2 = Math.log(10) - (sBar2 * Math.sqrt(2)) / 0.05;
    expect(e2).toBeCloseTo(Math.exp(x2), 12);
    const xe = Math.pow(2, -0.75);
    expect(da.xBar).toBeCloseTo((1 - xe) * x1 + xe * x2, 12);
  });

  it("starts with mu = log(10 * initStepSize), restarts with mu = log(10 * eps) after each metric update, ends at exp(x-bar)", () => {
    const model = diagNormal(logSpacedScales(10, 0.1, 10));
    const settings = { numWarmup: 200, metricUpdate: "external" as const, initStepSize: 1 };
    let state: ChainState = initChainState(model, settings, { seed: 3 });
    expect(state.dualAveraging.mu).toBeCloseTo(Math.log(10), 15);
    expect(state.dualAveraging.counter).toBe(0);
    let updates = 0;
    while (state.iteration < 200) {
      const r = runIterations(model, state, 200 - state.iteration, settings);
      state = r.state;
      if (r.awaitingMetric) {
        state = setMetricAtWindowEnd(model, state, metricFromAccumulator(state.accumulator!, state.metric));
        updates++;
        expect(state.dualAveraging.counter).toBe(0);
        expect(state.dualAveraging.xBar).toBe(0);
        expect(state.dualAveraging.mu).toBe(Math.log(10 * state.stepSize));
        expect(state.accumulator!.draws.n).toBe(0);
      }
    }
    expect(updates).toBe(warmupSchedule(200).windows.length);
    expect(state.stepSize).toBe(Math.exp(state.dualAveraging.xBar));
    // The step size stays fixed during sampling.
    const steps = new Set<number>();
    runIterations(model, state, 50, settings, (d) => steps.add(d.stats.stepSize));
    expect([...steps]).toEqual([state.stepSize]);
  });

  it("pooled metric across chains (coordinator path)", () => {
    const model = diagNormal([0.5, 4]);
    const settings = { numWarmup: 300, metricUpdate: "external" as const };
    let states = [0, 1, 2].map((chain) => initChainState(model, settings, { seed: 8, chain }));
    let windows = 0;
    while (states[0]!.iteration < 300) {
      const results = states.map((s) => runIterations(model, s, 300 - s.iteration, settings));
      states = results.map((r) => r.state);
      // Barrier: every chain stops at the same window end.
      expect(new Set(states.map((s) => s.iteration)).size).toBe(1);
      if (results[0]!.awaitingMetric) {
        windows++;
        const pooled = mergeWindowAccumulators(states.map((s) => s.accumulator as WindowAccumulator));
        expect(pooled.draws.n).toBe(states.reduce((a, s) => a + s.accumulator!.draws.n, 0));
        const metric = metricFromAccumulator(pooled, states[0]!.metric);
        states = states.map((s) => setMetricAtWindowEnd(model, s, metric));
        for (const s of states) expect(Array.from(s.metric.inverse)).toEqual(Array.from(metric.inverse));
      }
    }
    expect(windows).toBe(warmupSchedule(300).windows.length);
    const inv = states[0]!.metric.inverse;
    expect(inv[1]! / inv[0]!).toBeGreaterThan(16 * 0.5 * 4);
  });
});

/**
 * The kernel as explicit state: chunking, checkpoints, inits, divergences, per-draw stats.
 */
import { describe, expect, it } from "vitest";
import {
  chainStateFromJSON,
  chainStateToJSON,
  initChainState,
  InitializationError,
  metricFromAccumulator,
  runIterations,
  setMetricAtWindowEnd,
  type ChainState,
  type MetricKind,
  type SamplerSettings,
} from "../../src/inference/index.js";
import { Rng } from "../../src/rng/index.js";
import type { LogDensity } from "../../src/compile/types.js";
import {
  betaBinomialModel,
  correlatedNormal2,
  counting,
  diagNormal,
  makeModel,
  nanRegionNormal,
  standardNormal,
} from "./models.js";

interface Trace {
  positions: number[];
  stats: number[];
}

function record(trace: Trace) {
  return (d: { position: Float64Array; stats: { lp: number; stepSize: number; treeDepth: number; nLeapfrog: number; divergent: boolean; energy: number; acceptStat: number }; iteration: number }) => {
    trace.positions.push(d.iteration, ...d.position);
    const s = d.stats;
    trace.stats.push(s.lp, s.stepSize, s.treeDepth, s.nLeapfrog, s.divergent ? 1 : 0, s.energy, s.acceptStat);
  };
}

function runChunked(model: LogDensity, settings: Partial<SamplerSettings>, total: number, chunks: () => number, viaJson: boolean) {
  let state: ChainState = initChainState(model, settings, { seed: 77, chain: 1 });
  const trace: Trace = { positions: [], stats: [] };
  while (state.iteration < total) {
    const n = Math.min(chunks(), total - state.iteration);
    const r = runIterations(model, state, n, settings, record(trace));
    state = viaJson ? chainStateFromJSON(chainStateToJSON(r.state)) : structuredClone(r.state);
  }
  return { state, trace };
}

describe("chunked runs equal one run, bit for bit", () => {
  const cases: [string, LogDensity, MetricKind][] = [
    ["diag", diagNormal([0.1, 1, 10, 3]), "diag"],
    ["dense", correlatedNormal2(0.9, 1, 2), "dense"],
    ["diag-fisher", betaBinomialModel(2, 2, 10, 3).model, "diag-fisher"],
  ];
  for (const [name, model, metric] of cases) {
    it(`${name}: chunks of 1, of random sizes, across window ends and the end of warmup`, () => {
      const settings = { numWarmup: 160, metric };
      const total = 260;
      const whole = runChunked(model, settings, total, () => total, false);
      const ones = runChunked(model, settings, total, () => 1, false);
      const rng = Rng.fromSeed(4);
      const random = runChunked(model, settings, total, () => 1 + Math.floor(rng.uniform() * 40), true);
      expect(ones.trace).toEqual(whole.trace);
      expect(random.trace).toEqual(whole.trace);
      expect(chainStateToJSON(ones.state)).toBe(chainStateToJSON(whole.state));
      expect(chainStateToJSON(random.state)).toBe(chainStateToJSON(whole.state));
    });
  }

  it("external metric updates with each chain's own accumulator equal self updates", () => {
    const model = diagNormal([0.3, 5]);
    const self = runChunked(model, { numWarmup: 200 }, 300, () => 300, false);
    const settings = { numWarmup: 200, metricUpdate: "external" as const };
    let state = initChainState(model, settings, { seed: 77, chain: 1 });
    const trace: Trace = { positions: [], stats: [] };
    while (state.iteration < 300) {
      const r = runIterations(model, state, 300 - state.iteration, settings, record(trace));
      state = r.awaitingMetric ? setMetricAtWindowEnd(model, r.state, metricFromAccumulator(r.state.accumulator!, r.state.metric)) : r.state;
    }
    expect(trace).toEqual(self.trace);
  });

  it("a state is not modified by running from it", () => {
    const model = standardNormal(2);
    const s0 = initChainState(model, { numWarmup: 50 }, { seed: 1 });
    const before = chainStateToJSON(s0);
    runIterations(model, s0, 30, { numWarmup: 50 });
    expect(chainStateToJSON(s0)).toBe(before);
  });

  it("different chains of one seed differ; the same chain repeats", () => {
    const model = standardNormal(2);
    const a = initChainState(model, { numWarmup: 10 }, { seed: 5, chain: 0 });
    const b = initChainState(model, { numWarmup: 10 }, { seed: 5, chain: 1 });
    const a2 = initChainState(model, { numWarmup: 10 }, { seed: 5, chain: 0 });
    expect(Array.from(a.position)).not.toEqual(Array.from(b.position));
    expect(chainStateToJSON(a)).toBe(chainStateToJSON(a2));
  });
});

describe("inits (pitfall 8)", () => {
  it("random inits are uniform(-2, 2) on the unconstrained scale", () => {
    const model = standardNormal(50);
    for (let c = 0; c < 5; c++) {
      const s = initChainState(model, { numWarmup: 0 }, { seed: 3, chain: c });
      for (const v of s.position) expect(Math.abs(v)).toBeLessThan(2);
      expect(Math.max(...Array.from(s.position, Math.abs))).toBeGreaterThan(1.5);
    }
  });

  it("retries while the log density is not finite", () => {
    // Support only where q[0] > 1.5 (about 1 in 8 draws of uniform(-2, 2)).
    const base = standardNormal(2);
    const model = makeModel({
      dim: 2,
      logDensityGradient: (q, g) => (q[0]! > 1.5 ? base.logDensityGradient(q, g) : -Infinity),
    });
    const s = initChainState(model, { numWarmup: 0 }, { seed: 10 });
    expect(s.position[0]).toBeGreaterThan(1.5);
  });

  it("retries while the gradient is not finite", () => {
    const base = standardNormal(2);
    const model = makeModel({
      dim: 2,
      logDensityGradient: (q, g) => {
        const lp = base.logDensityGradient(q, g);
        if (q[1]! < 1) g[1] = NaN;
        return lp;
      },
    });
    const s = initChainState(model, { numWarmup: 0 }, { seed: 11 });
    expect(s.position[1]).toBeGreaterThan(1);
  });

  it("fails after 100 attempts with a clear error", () => {
    let calls = 0;
    const model = makeModel({
      dim: 3,
      unconstrainedNames: ["a", "sigma__log", "c"],
      logDensityGradient: (_q, g) => {
        calls++;
        g.fill(0);
        if (calls % 2 === 0) {
          g[1] = Infinity;
          return 0;
        }
        return -Infinity;
      },
    });
    let err: unknown;
    try {
      initChainState(model, { numWarmup: 10 }, { seed: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InitializationError);
    const msg = (err as Error).message;
    expect(calls).toBe(100);
    expect(msg).toMatch(/after 100 attempts/);
    expect(msg).toMatch(/non-finite log density 50 time/);
    expect(msg).toMatch(/non-finite gradient 50 time/);
    expect(msg).toMatch(/sigma__log is Infinity/);
  });

  it("user inits in constrained space go through model.unconstrain", () => {
    const { model } = betaBinomialModel(2, 3, 20, 7);
    const s = initChainState(model, { numWarmup: 0 }, { seed: 1, init: { theta: 0.3 } });
    expect(s.position[0]).toBeCloseTo(Math.log(0.3 / 0.7), 14);
    expect(() => initChainState(model, { numWarmup: 0 }, { seed: 1, init: { theta: 1.5 } })).toThrow(/user-specified initial values.*log density is NaN/);
  });
});

describe("divergences (pitfall 5)", () => {
  it("a density that is NaN in a region gives divergent transitions, never an exception, and no draw there", () => {
    const bound = 0.5;
    const model = nanRegionNormal(3, bound);
    const settings = { numWarmup: 300 };
    let divergent = 0;
    let n = 0;
    const s0 = initChainState(model, settings, { seed: 2, init: { "x[1]": 0, "x[2]": 0, "x[3]": 0 } });
    runIterations(model, s0, 1300, settings, (d) => {
      expect(d.position[0]).toBeLessThanOrEqual(bound);
      expect(Number.isFinite(d.stats.lp)).toBe(true);
      expect(Number.isFinite(d.stats.energy)).toBe(true);
      if (!d.warmup) {
        n++;
        if (d.stats.divergent) divergent++;
      }
    });
    expect(divergent).toBeGreaterThan(0);
    expect(divergent).toBeLessThan(n);
  });

  it("an energy error above 1000 is divergent; the draw comes from the valid part", () => {
    const model = standardNormal(20);
    const settings = { numWarmup: 0, initStepSize: 8 };
    let s = initChainState(model, settings, { seed: 3 });
    const q0 = Array.from(s.position);
    const r = runIterations(model, s, 5, settings, (d) => {
      expect(d.stats.divergent).toBe(true);
      expect(d.stats.treeDepth).toBe(0);
      expect(d.stats.nLeapfrog).toBe(1);
      expect(d.stats.acceptStat).toBeLessThan(1e-100);
    });
    s = r.state;
    // Nothing valid beyond the start: the chain stays put.
    expect(Array.from(s.position)).toEqual(q0);
  });
});

describe("per-draw statistics (pitfall 10)", () => {
  it("one gradient per leaf; stats are consistent", () => {
    const model = counting(diagNormal([1, 2, 0.5]));
    const settings = { numWarmup: 0, initStepSize: 0.3, maxTreeDepth: 4 };
    const s = initChainState(model, settings, { seed: 9 });
    model.count = 0;
    let leapfrogs = 0;
    let hits = 0;
    const r = runIterations(model, s, 500, settings, (d) => {
      const st = d.stats;
      leapfrogs += st.nLeapfrog;
      expect(st.treeDepth).toBeLessThanOrEqual(4);
      expect(st.nLeapfrog).toBeGreaterThanOrEqual(2 ** st.treeDepth - 1);
      expect(st.nLeapfrog).toBeLessThanOrEqual(2 ** (st.treeDepth + 1) - 1);
      expect(st.acceptStat).toBeGreaterThanOrEqual(0);
      expect(st.acceptStat).toBeLessThanOrEqual(1);
      expect(st.stepSize).toBe(0.3);
      expect(st.divergent).toBe(false);
      // energy = -lp + kinetic >= -lp
      expect(st.energy).toBeGreaterThanOrEqual(-st.lp);
      if (st.treeDepth === 4) {
        hits++;
        expect(st.nLeapfrog).toBe(15);
      }
    });
    expect(model.count).toBe(leapfrogs);
    expect(r.state.gradientEvaluations - s.gradientEvaluations).toBe(leapfrogs);
    expect(hits).toBeGreaterThan(0);
  });
});

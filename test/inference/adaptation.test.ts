/**
 * The Fisher-divergence estimators against their closed forms on Gaussian targets, nutpie's
 * schedule, and sampling with the low-rank metric against exact answers (4 MCSE).
 *
 * On a Gaussian N(0, C) the gradient is g = -C^-1 x, so:
 * - the diagonal estimate sqrt(Var(x_i) / Var(g_i)) tends to sqrt(C_ii / (C^-1)_ii)
 *   (C_ii itself when C is diagonal);
 * - the dense estimate S with S Cov(g) S = Cov(x) is C exactly for any sample (the sample
 *   covariances of x and of g = -C^-1 x satisfy C (C^-1 Sx C^-1) C = Sx), so with every
 *   eigenvalue kept the low-rank estimator returns C up to rounding and gamma.
 */
import { describe, expect, it } from "vitest";
import { sampleSync } from "../../src/api/sample-sync.js";
import {
  denseInverse,
  estimateMetric,
  estimatorAdd,
  estimatorCount,
  estimatorDiagonal,
  fisherStep,
  gradientInitVariance,
  initFisherSchedule,
  LOW_RANK_DEFAULTS,
  lowRankEstimate,
  mergeEstimators,
  newEstimator,
  nextFisherSwitch,
  NUTPIE_SCHEDULE,
  thinEstimator,
  type LowRankMetric,
} from "../../src/inference/index.js";
import { Rng } from "../../src/rng/index.js";
import { expectWithin4Mcse, zCovariance, zMean, zVariance, type ZScore } from "./helpers.js";
import { diagNormal, randomRotation, rotatedNormal } from "./models.js";

/** n draws of N(0, C) (C = R' diag(s^2) R) and their gradients -C^-1 x, row-major. */
function gaussianSample(scales: readonly number[], R: Float64Array, n: number, seed: number) {
  const d = scales.length;
  const rng = Rng.fromSeed(seed, 0);
  const draws = new Float64Array(n * d);
  const grads = new Float64Array(n * d);
  const z = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    rng.fillNormal(z);
    for (let i = 0; i < d; i++) {
      // x = R' (s * z); g = -R' (z / s)
      let x = 0;
      let g = 0;
      for (let k = 0; k < d; k++) {
        x += R[k * d + i]! * scales[k]! * z[k]!;
        g -= (R[k * d + i]! * z[k]!) / scales[k]!;
      }
      draws[t * d + i] = x;
      grads[t * d + i] = g;
    }
  }
  return { draws, grads };
}

function covariance(scales: readonly number[], R: Float64Array, power: number): Float64Array {
  const d = scales.length;
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += R[k * d + i]! * R[k * d + j]! * scales[k]! ** power;
    out[i * d + j] = s;
  }
  return out;
}

const identity = (d: number) => {
  const r = new Float64Array(d * d);
  for (let i = 0; i < d; i++) r[i * d + i] = 1;
  return r;
};

describe("diagonal Fisher estimator", () => {
  it("recovers a diagonal covariance: sigma_i^2 -> C_ii", () => {
    const scales = [0.01, 0.3, 1, 7, 250];
    const d = scales.length;
    const n = 4000;
    const { draws, grads } = gaussianSample(scales, identity(d), n, 3);
    const e = newEstimator("diag", d);
    for (let t = 0; t < n; t++) estimatorAdd(e, draws.subarray(t * d, (t + 1) * d), grads.subarray(t * d, (t + 1) * d));
    const m = estimateMetric(e, { kind: "diag", inverse: new Float64Array(d).fill(1) })!;
    // sqrt(var x / var g) = s^2 * sqrt(chi2 ratio): relative sd about sqrt(1/n) (two independent variances, halved).
    for (let i = 0; i < d; i++) expect(Math.abs(Math.log(m.inverse[i]! / scales[i]! ** 2))).toBeLessThan(4 * Math.sqrt(1 / n));
  });

  it("on a correlated Gaussian tends to sqrt(C_ii / (C^-1)_ii)", () => {
    const scales = [0.2, 1, 3, 10];
    const d = scales.length;
    const R = randomRotation(d, 5);
    const n = 20000;
    const { draws, grads } = gaussianSample(scales, R, n, 4);
    const C = covariance(scales, R, 2);
    const P = covariance(scales, R, -2);
    const e = newEstimator("diag", d);
    for (let t = 0; t < n; t++) estimatorAdd(e, draws.subarray(t * d, (t + 1) * d), grads.subarray(t * d, (t + 1) * d));
    const m = estimateMetric(e, { kind: "diag", inverse: new Float64Array(d).fill(1) })!;
    for (let i = 0; i < d; i++) {
      const exact = Math.sqrt(C[i * d + i]! / P[i * d + i]!);
      expect(Math.abs(Math.log(m.inverse[i]! / exact))).toBeLessThan(4 * Math.sqrt(1 / n));
    }
  });

  it("initial metric from the gradient: 1 / |g|, clamped, 1 where undefined", () => {
    const v = gradientInitVariance(Float64Array.of(2, -0.5, 0, NaN, 1e30));
    expect(Array.from(v)).toEqual([0.5, 2, 1e20, 1, 1e-20]);
  });

  it("merging chains' estimators equals one estimator over all draws", () => {
    const d = 3;
    const { draws, grads } = gaussianSample([1, 2, 3], identity(d), 90, 8);
    const all = newEstimator("diag", d);
    const parts = [newEstimator("diag", d), newEstimator("diag", d), newEstimator("diag", d)];
    for (let t = 0; t < 90; t++) {
      const x = draws.subarray(t * d, (t + 1) * d);
      const g = grads.subarray(t * d, (t + 1) * d);
      estimatorAdd(all, x, g);
      estimatorAdd(parts[Math.floor(t / 30)]!, x, g);
    }
    const prev = { kind: "diag" as const, inverse: new Float64Array(d).fill(1) };
    const a = estimateMetric(all, prev)!.inverse;
    const b = estimateMetric(mergeEstimators(parts, d), prev)!.inverse;
    for (let i = 0; i < d; i++) expect(b[i]).toBeCloseTo(a[i]!, 12);
  });
});

describe("low-rank plus diagonal Fisher estimator", () => {
  it("recovers a known dense covariance when every eigenvalue is kept", () => {
    const scales = [0.05, 0.5, 1, 4, 30, 100];
    const d = scales.length;
    const R = randomRotation(d, 11);
    const n = 50;
    const { draws, grads } = gaussianSample(scales, R, n, 12);
    const m = lowRankEstimate(draws, grads, n, d, new Float64Array(d).fill(1), { gamma: 1e-12, cutoff: 1 + 1e-12 })!;
    expect(m.values.length).toBe(d);
    const got = denseInverse(m, d);
    const C = covariance(scales, R, 2);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) expect(Math.abs(got[i * d + j]! - C[i * d + j]!)).toBeLessThan(1e-6 * Math.sqrt(C[i * d + i]! * C[j * d + j]!));
    }
  });

  it("small d keeps running co-moments, not rows (D235): the estimate equals the one from the rows, also merged and pooled", () => {
    const scales = [0.05, 0.5, 1, 4, 30, 100, 2, 0.3];
    const d = scales.length;
    const R = randomRotation(d, 21);
    const settings = { ...LOW_RANK_DEFAULTS, cutoff: 1.05 };
    const previous = new Float64Array(d).fill(1);
    const previousMetric = { kind: "low-rank" as const, inverse: previous, vectors: new Float64Array(0), values: new Float64Array(0) };
    // A mean far from 0 tests the co-moments' conditioning (Welford, not raw sums).
    const parts = [0, 1, 2].map((c) => {
      const { draws, grads } = gaussianSample(scales, R, 40 + 17 * c, 30 + c);
      return { draws: draws.map((x) => x + 1e4), grads };
    });
    const chains = parts.map(({ draws, grads }) => {
      const e = newEstimator("low-rank", d);
      for (let t = 0; t < draws.length / d; t++) estimatorAdd(e, draws.subarray(t * d, (t + 1) * d), grads.subarray(t * d, (t + 1) * d));
      return e;
    });
    const concat = (k: "draws" | "grads") => Float64Array.from(parts.flatMap((p) => Array.from(p[k])));
    const cases = [
      ...chains.map((e, c) => ({ e, draws: parts[c]!.draws, grads: parts[c]!.grads })),
      { e: mergeEstimators(chains, d), draws: concat("draws"), grads: concat("grads") },
    ];
    for (const { e, draws, grads } of cases) {
      if (e.kind !== "low-rank") throw new Error("low-rank estimator expected");
      expect(e.moments).toBeDefined();
      expect(e.draws.length).toBe(0);
      expect(estimatorCount(e)).toBe(draws.length / d);
      const fromMoments = estimateMetric(e, previousMetric, settings) as LowRankMetric;
      const fromRows = lowRankEstimate(draws, grads, draws.length / d, d, previous, settings)!;
      expect(fromMoments.values.length).toBe(fromRows.values.length);
      expect(fromMoments.values.length).toBeGreaterThan(3);
      const a = denseInverse(fromMoments, d);
      const b = denseInverse(fromRows, d);
      for (let i = 0; i < d * d; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-9 * Math.sqrt(b[Math.floor(i / d) * (d + 1)]! * b[(i % d) * (d + 1)]!));
      const diagRows = newEstimator("diag", d);
      for (let t = 0; t < draws.length / d; t++) estimatorAdd(diagRows, draws.subarray(t * d, (t + 1) * d), grads.subarray(t * d, (t + 1) * d));
      const want = estimatorDiagonal(diagRows, previous);
      const got = estimatorDiagonal(e, previous);
      for (let i = 0; i < d; i++) expect(Math.abs(got[i]! / want[i]! - 1)).toBeLessThan(1e-9);
    }
    // A window restored from a checkpoint made before D235 holds rows: merged with co-moment
    // windows, its rows are summarised first and the estimate is still the rows' estimate.
    const old = { kind: "low-rank" as const, n: parts[0]!.draws.length / d, draws: parts[0]!.draws, grads: parts[0]!.grads };
    const mixed = mergeEstimators([old, chains[1]!, chains[2]!], d);
    const mixedMetric = estimateMetric(mixed, previousMetric, settings) as LowRankMetric;
    const allRows = lowRankEstimate(concat("draws"), concat("grads"), concat("draws").length / d, d, previous, settings)!;
    const [ma, mb] = [denseInverse(mixedMetric, d), denseInverse(allRows, d)];
    for (let i = 0; i < d * d; i++) expect(Math.abs(ma[i]! - mb[i]!)).toBeLessThan(1e-9 * Math.sqrt(mb[Math.floor(i / d) * (d + 1)]! * mb[(i % d) * (d + 1)]!));
    // A co-moment estimator is never thinned: its size does not grow with draws.
    const merged = mergeEstimators(chains, d);
    expect(thinEstimator(merged, d, 20)).toBe(merged);
    // Above d = 2 (rank + 8) the estimator keeps rows.
    expect((newEstimator("low-rank", 2 * (LOW_RANK_DEFAULTS.rank! + 8) + 1) as { moments?: unknown }).moments).toBeUndefined();
  });

  it("finds planted directions in a high-dimensional Gaussian from fewer draws than dimensions", () => {
    // C = I + 399 u u' + 24 v v' in d = 80 (u, v orthonormal), 30 draws: 2n < d, so the
    // estimator works in the span of the draws and gradients.
    const d = 80;
    const R = randomRotation(d, 21);
    const scales = Array.from({ length: d }, (_, k) => (k === 0 ? 20 : k === 1 ? 5 : 1));
    const n = 30;
    const { draws, grads } = gaussianSample(scales, R, n, 22);
    const m = lowRankEstimate(draws, grads, n, d, new Float64Array(d).fill(1)) as LowRankMetric;
    const k = m.values.length;
    expect(k).toBeGreaterThanOrEqual(2);
    // The two largest eigenvalues' directions in the original coordinates (D^1/2 U), aligned with u and v.
    const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => m.values[b]! - m.values[a]!);
    for (const [rank, planted] of [[0, 0], [1, 1]] as const) {
      const j = order[rank]!;
      let dot = 0;
      let norm = 0;
      for (let i = 0; i < d; i++) {
        const w = Math.sqrt(m.inverse[i]!) * m.vectors[i * k + j]!;
        dot += w * R[planted * d + i]!;
        norm += w * w;
      }
      expect(Math.abs(dot) / Math.sqrt(norm)).toBeGreaterThan(0.97);
    }
    // Along u the metric's variance is of the planted order (400), far above the bulk's 1: in a
    // subspace of 60 of the 80 dimensions the Fisher solution is a compromise (the span of the
    // draws and gradients is not invariant under C), so it is not 400 itself.
    const dense = denseInverse(m, d);
    let q = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) q += R[i]! * dense[i * d + j]! * R[j]!;
    expect(q).toBeGreaterThan(40);
    expect(q).toBeLessThan(800);
  });

  it("the truncated subspace (d > 2 (rank + 8), n > rank + 8) keeps the exact estimate's strong directions", () => {
    // C = I + 399 u u' + 99 v v' + a weak third direction (scale 0.05) in d = 150 from 400
    // draws; the exact estimate (a rank large enough for all of R^d) against the default's
    // randomised range finder of 24 columns per side. In a subspace the Fisher solution is
    // pulled towards 1 ((V'BV)^-1 <= V'B^-1 V): measured 220 / 66 / 3.5e-3 against the exact
    // 292 / 87 / 2.6e-3 (truth 400 / 100 / 2.5e-3), so the values agree within a factor 1.5
    // and the directions closely.
    const d = 150;
    const R = randomRotation(d, 31);
    const scales = Array.from({ length: d }, (_, k) => (k === 0 ? 20 : k === 1 ? 10 : k === 2 ? 0.05 : 1));
    const n = 400;
    const { draws, grads } = gaussianSample(scales, R, n, 32);
    const ones = new Float64Array(d).fill(1);
    const exact = lowRankEstimate(draws, grads, n, d, ones, { ...LOW_RANK_DEFAULTS, rank: d }) as LowRankMetric;
    const fast = lowRankEstimate(draws, grads, n, d, ones) as LowRankMetric;
    expect(fast.values.length).toBeGreaterThanOrEqual(3);
    expect(fast.values.length).toBeLessThanOrEqual(2 * (LOW_RANK_DEFAULTS.rank! + 8));
    const leading = (m: LowRankMetric, which: "max" | "min", skip = 0) => {
      const k = m.values.length;
      const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => (which === "max" ? m.values[b]! - m.values[a]! : m.values[a]! - m.values[b]!));
      const j = order[skip]!;
      return { value: m.values[j]!, vector: Float64Array.from({ length: d }, (_, i) => m.vectors[i * k + j]!) };
    };
    for (const [which, skip] of [["max", 0], ["max", 1], ["min", 0]] as const) {
      const a = leading(exact, which, skip);
      const b = leading(fast, which, skip);
      expect(Math.abs(Math.log(b.value / a.value))).toBeLessThan(Math.log(1.5));
      let dotAB = 0;
      for (let i = 0; i < d; i++) dotAB += a.vector[i]! * b.vector[i]!;
      expect(Math.abs(dotAB)).toBeGreaterThan(0.99);
    }
    // Both diagonals are the same rescaling.
    for (let i = 0; i < d; i++) expect(fast.inverse[i]).toBe(exact.inverse[i]);
  });
});

describe("nutpie's schedule", () => {
  it("switches every 10 draws in the early phase, then after windows of 80 and 120 draws", () => {
    const d = 2;
    const x = new Float64Array(d);
    const count = initFisherSchedule("diag", 1000, NUTPIE_SCHEDULE, true, x, x);
    const iter = initFisherSchedule("diag", 1000, NUTPIE_SCHEDULE, false, x, x);
    const switches: number[] = [];
    const planned: number[] = [];
    let next = nextFisherSwitch(iter, 0, NUTPIE_SCHEDULE);
    for (let it = 0; it < 1000; it++) {
      if (fisherStep(count, it, true, x, x, NUTPIE_SCHEDULE) === "switch") {
        switches.push(it);
        count.foreground = count.background;
        count.background = newEstimator("diag", d);
        if (count.pendingWindow !== null) count.currentWindow = count.pendingWindow;
        count.pendingWindow = null;
      }
      if (fisherStep(iter, it, true, x, x, NUTPIE_SCHEDULE) === "switch") {
        expect(it).toBe(next);
        planned.push(it);
        iter.sinceSwitch = 0;
        if (iter.pendingWindow !== null) iter.currentWindow = iter.pendingWindow;
        iter.pendingWindow = null;
        next = nextFisherSwitch(iter, it + 1, NUTPIE_SCHEDULE);
      }
    }
    const early = Array.from({ length: 30 }, (_, k) => 8 + 10 * k);
    // After 498 the next window (180, then 270) would not end before the final phase (850).
    expect(switches).toEqual([...early, 378, 498]);
    expect(planned).toEqual(switches);
    expect(next).toBeNull();
    // The final 15% adapt the step size only.
    expect(count.finalStart).toBe(850);
  });

  it("counts only draws that moved (nutpie's rule), so a stuck chain switches later", () => {
    const x = new Float64Array(1);
    const fs = initFisherSchedule("diag", 1000, NUTPIE_SCHEDULE, true, x, x);
    const acts = Array.from({ length: 20 }, (_, it) => fisherStep(fs, it, it % 2 === 0, x, x, NUTPIE_SCHEDULE));
    // 1 (initial point) + 9 moved draws at it = 0, 2, ..., 16.
    expect(acts.indexOf("switch")).toBe(16);
  });

  it("releases the stored draws once the final phase starts (no pooled rows kept to the end of the run)", () => {
    const x = new Float64Array(3).fill(0.5);
    const fs = initFisherSchedule("low-rank", 100, NUTPIE_SCHEDULE, false, x, x);
    for (let it = 0; it < 84; it++) fisherStep(fs, it, true, x, x, NUTPIE_SCHEDULE);
    expect(estimatorCount(fs.foreground)).toBeGreaterThan(0);
    expect(fs.finalStart).toBe(85);
    expect(fisherStep(fs, 85, true, x, x, NUTPIE_SCHEDULE)).toBe("none");
    expect(estimatorCount(fs.foreground)).toBe(0);
    expect(estimatorCount(fs.background)).toBe(0);
  });

  it("a pooled low-rank window thinned to k rows keeps k evenly spaced rows, every chain's among them", () => {
    // Above 48 dimensions (below, the estimator keeps co-moments, not rows).
    const d = 50;
    const row = (a: number, b: number) => {
      const r = new Float64Array(d);
      r[0] = a;
      r[1] = b;
      return r;
    };
    const chains = Array.from({ length: 16 }, (_, c) => {
      const e = newEstimator("low-rank", d);
      for (let t = 0; t < 10; t++) estimatorAdd(e, row(c, t), row(-c, -t));
      return e;
    });
    const pooled = mergeEstimators(chains, d);
    const thin = thinEstimator(pooled, d, 40) as Extract<ReturnType<typeof newEstimator>, { kind: "low-rank" }>;
    expect(thin.n).toBe(40);
    const seen = new Set<number>();
    for (let j = 0; j < 40; j++) {
      const t = Math.floor((j * 160) / 40);
      expect(thin.draws[j * d]).toBe(Math.floor(t / 10));
      expect(thin.draws[j * d + 1]).toBe(t % 10);
      expect(thin.grads[j * d + 1]).toBe(-(t % 10));
      seen.add(thin.draws[j * d]!);
    }
    expect(seen.size).toBe(16);
    // At or under the bound: the estimator itself.
    expect(thinEstimator(pooled, d, 160)).toBe(pooled);
  });
});

describe("sampling with Fisher-divergence metrics (exact answers, 4 MCSE)", () => {
  const check = (metric: "diag-fisher" | "low-rank", seed: number) => {
    const d = 12;
    const scales = Array.from({ length: d }, (_, k) => Math.exp(((k - 5.5) / 5.5) * Math.log(30)));
    // Rotated (correlated) for the low-rank metric; axis-aligned for the diagonal one.
    const { model, cov } =
      metric === "low-rank"
        ? rotatedNormal(scales, 31)
        : { model: diagNormal(scales), cov: Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? scales[k / (d + 1)]! ** 2 : 0)) };
    const post = sampleSync(model, { seed, metric, schedule: "nutpie" });
    const scores: ZScore[] = [];
    const x = model.names.map((nm) => post.draws(nm));
    for (let i = 0; i < d; i++) {
      scores.push(zMean(x[i]!, 0, `x[${i + 1}] mean`), zVariance(x[i]!, 0, cov[i * d + i]!, `x[${i + 1}] var`));
      if (i > 0) scores.push(zCovariance(x[i - 1]!, x[i]!, 0, 0, cov[(i - 1) * d + i]!, `cov(x[${i}], x[${i + 1}])`));
    }
    expectWithin4Mcse(scores);
    expect(post.divergences().reduce((a, b) => a + b)).toBe(0);
    return post;
  };

  it("12-d normal with scales 1/30..30, nutpie's diagonal", () => {
    check("diag-fisher", 41);
  });

  it("12-d rotated normal, low-rank metric: exact moments and a learned correlation", () => {
    const post = check("low-rank", 42);
    for (const c of post.chains) {
      expect(c.metric.kind).toBe("low-rank");
      expect((c.metric as LowRankMetric).values.length).toBeGreaterThan(0);
    }
  });
});

/**
 * The optimised kernel against a literal, copy-based transcription of Stan's base_nuts
 * (reference-nuts.ts), bit for bit. This pins pitfalls 1-5 of sampler-pitfalls.md at the
 * level of single transitions: each extension starts from its own end, weights are
 * uncapped, biased progressive sampling at the top and balanced inside subtrees, the
 * seam checks, divergence handling and the acceptance statistic.
 */
import { describe, expect, it } from "vitest";
import type { LogDensity } from "../../src/compile/types.js";
import { emptyStats, lowRankFromDiagonal, NutsKernel } from "../../src/inference/index.js";
import { Rng } from "../../src/rng/index.js";
import { correlatedNormal2, diagNormal, logSpacedScales, nanRegionNormal, standardNormal } from "./models.js";
import { ReferenceNuts } from "./reference-nuts.js";

function compare(model: LogDensity, inv: Float64Array, eps: number, n: number, seed: number, maxDepth = 10) {
  const d = model.dim;
  const kernel = new NutsKernel(model, { kind: "diag", inverse: inv });
  const rngK = Rng.fromSeed(seed);
  const rngR = Rng.fromSeed(seed);
  const ref = new ReferenceNuts(model, inv, rngR, maxDepth);
  const q = new Float64Array(d).fill(0.1);
  const g = new Float64Array(d);
  let lp = model.logDensityGradient(q, g);
  kernel.setPoint(q, g, lp);
  const stats = emptyStats();
  let divergences = 0;
  let depthHits = 0;
  for (let t = 0; t < n; t++) {
    kernel.transition(rngK, eps, maxDepth, 1000, stats);
    const r = ref.transition(q, g, lp, eps);
    lp = r.lp;
    expect(stats.treeDepth).toBe(r.treeDepth);
    expect(stats.nLeapfrog).toBe(r.nLeapfrog);
    expect(stats.divergent).toBe(r.divergent);
    expect(stats.acceptStat).toBe(r.acceptStat);
    expect(stats.energy).toBe(r.energy);
    expect(stats.lp).toBe(r.lp);
    expect(Array.from(kernel.q)).toEqual(Array.from(q));
    expect(Array.from(kernel.g)).toEqual(Array.from(g));
    if (stats.divergent) divergences++;
    if (stats.treeDepth === maxDepth) depthHits++;
  }
  expect(rngK.getState()).toEqual(rngR.getState());
  return { divergences, depthHits };
}

describe("NUTS kernel equals a literal transcription of Stan's base_nuts", () => {
  it("standard normal, 5 dims", () => {
    compare(standardNormal(5), new Float64Array(5).fill(1), 0.7, 400, 1);
  });

  it("badly scaled 100-d normal with the identity metric (deep trees, max depth hits)", () => {
    const { depthHits } = compare(diagNormal(logSpacedScales()), new Float64Array(100).fill(1), 0.015, 30, 2, 8);
    expect(depthHits).toBeGreaterThan(0);
  });

  it("badly scaled 100-d normal with a non-trivial diagonal metric", () => {
    const sc = logSpacedScales();
    const inv = Float64Array.from(sc, (s, i) => s * s * (0.5 + (i % 7) / 5));
    compare(diagNormal(sc), inv, 0.5, 200, 3);
  });

  it("correlated normal (long trajectories, seam checks matter)", () => {
    compare(correlatedNormal2(0.99), new Float64Array(2).fill(1), 0.1, 300, 4);
  });

  it("divergences: step size far too large, and a NaN region", () => {
    const a = compare(standardNormal(20), new Float64Array(20).fill(1), 8, 100, 5);
    expect(a.divergences).toBeGreaterThan(0);
    const b = compare(nanRegionNormal(3, 0.5), new Float64Array(3).fill(1), 0.9, 300, 6);
    expect(b.divergences).toBeGreaterThan(0);
  });
});

describe("metric forms that are the same metric", () => {
  it("a low-rank metric with no low-rank part (k = 0) runs as its diagonal, bit for bit (D235)", () => {
    const sc = logSpacedScales();
    const model = diagNormal(sc);
    const inv = Float64Array.from(sc, (s, i) => s * s * (0.5 + (i % 7) / 5));
    const diag = new NutsKernel(model, { kind: "diag", inverse: inv });
    const lowRank = new NutsKernel(model, lowRankFromDiagonal(inv));
    const q = new Float64Array(model.dim).fill(0.1);
    const g = new Float64Array(model.dim);
    const lp = model.logDensityGradient(q, g);
    diag.setPoint(q, g, lp);
    lowRank.setPoint(q, g, lp);
    const [rngA, rngB] = [Rng.fromSeed(7), Rng.fromSeed(7)];
    const [a, b] = [emptyStats(), emptyStats()];
    for (let t = 0; t < 200; t++) {
      diag.transition(rngA, 0.5, 10, 1000, a);
      lowRank.transition(rngB, 0.5, 10, 1000, b);
      expect(b).toEqual(a);
      expect(Array.from(lowRank.q)).toEqual(Array.from(diag.q));
    }
  });
});

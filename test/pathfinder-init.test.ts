/** The initial metric `init: "pathfinder"` makes from Pathfinder's draws, in each metric form. */
import { describe, expect, it } from "vitest";
import { initsFromDraws, lowRankFromCovariance, MIN_DISTINCT } from "../src/api/pathfinder-init.js";
import { denseInverse } from "../src/inference/metric.js";
import { Rng } from "../src/rng/index.js";

/** A 3 x 3 covariance: sds 1, 10, 0.1; correlation 0.95 between the first two, 0.3 between the last two. */
const sd = [1, 10, 0.1];
const corr = [1, 0.95, 0, 0.95, 1, 0.3, 0, 0.3, 1];
const cov = Float64Array.from(corr, (r, i) => r * sd[Math.floor(i / 3)]! * sd[i % 3]!);

describe("lowRankFromCovariance", () => {
  it("is the covariance itself when every eigenvalue of the correlation is kept", () => {
    const m = lowRankFromCovariance(cov, 3, 1);
    // (1 is an eigenvalue of this correlation matrix: counted as 1 without being kept.)
    expect(m.values.length).toBe(2);
    const back = denseInverse(m, 3);
    back.forEach((v, i) => expect(v).toBeCloseTo(cov[i]!, 10));
  });

  it("keeps only the eigenvalues outside [1/cutoff, cutoff] (nutpie's 2), each an eigenpair of the correlation", () => {
    const m = lowRankFromCovariance(cov, 3);
    Array.from(m.inverse).forEach((v, k) => expect(v).toBeCloseTo(cov[k * 4]!, 12));
    const k = m.values.length;
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(3);
    m.values.forEach((lambda, j) => {
      expect(lambda > 2 || lambda < 0.5).toBe(true);
      const u = [0, 1, 2].map((i) => m.vectors[i * k + j]!);
      // C u = lambda u, and the metric scaled back by D^-1/2 acts on u the same way.
      const back = denseInverse(m, 3);
      for (let i = 0; i < 3; i++) {
        const cu = [0, 1, 2].reduce((acc, l) => acc + corr[i * 3 + l]! * u[l]!, 0);
        const mu = [0, 1, 2].reduce((acc, l) => acc + (back[i * 3 + l]! / (sd[i]! * sd[l]!)) * u[l]!, 0);
        expect(cu).toBeCloseTo(lambda * u[i]!, 10);
        expect(mu).toBeCloseTo(lambda * u[i]!, 10);
      }
    });
  });
});

describe("initsFromDraws", () => {
  const rng = Rng.fromSeed(1);
  const count = 400;
  const draws = new Float64Array(count * 2);
  for (let s = 0; s < count; s++) {
    const z = rng.normal();
    draws[2 * s] = z;
    draws[2 * s + 1] = 3 * (0.9 * z + Math.sqrt(1 - 0.81) * rng.normal());
  }

  it("gives distinct inits and the metric in the run's form", () => {
    const diag = initsFromDraws(draws, count, 2, 4, "diag");
    expect(new Set(diag.inits.map((x) => x.join(","))).size).toBe(4);
    expect(diag.metric!.kind).toBe("diag");
    expect(diag.metric!.inverse[1]! / diag.metric!.inverse[0]!).toBeGreaterThan(6);
    const dense = initsFromDraws(draws, count, 2, 4, "dense");
    expect(dense.metric!.kind).toBe("dense");
    const low = initsFromDraws(draws, count, 2, 4, "low-rank");
    expect(low.metric!.kind).toBe("low-rank");
    // Correlation 0.9: eigenvalues 1.9 (within [1/2, 2]: counts as 1) and 0.1 (kept).
    const lr = low.metric as { values: Float64Array; inverse: Float64Array };
    expect(lr.values.length).toBe(1);
    expect(lr.values[0]!).toBeLessThan(0.5);
    expect(Array.from(lr.inverse)).toEqual(Array.from(diag.metric!.inverse));
  });

  it("leaves the metric to the sampler when Pathfinder collapsed to a few draws", () => {
    const few = new Float64Array(count * 2);
    for (let s = 0; s < count; s++) few[2 * s] = s % (MIN_DISTINCT - 1);
    const r = initsFromDraws(few, count, 2, 4, "low-rank");
    expect(r.metric).toBeNull();
    expect(r.distinct).toBe(MIN_DISTINCT - 1);
  });
});

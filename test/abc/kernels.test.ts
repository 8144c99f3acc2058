import { describe, expect, it } from "vitest";
import {
  cumulativeSums,
  effectiveSampleSize,
  fitKernel,
  kernelLogDensity,
  madScales,
  perturb,
  pickByWeight,
  scaledDistance,
  simulationSeed,
  smcWeights,
  weightedQuantile,
} from "../../src/inference/abc.js";
import { Rng } from "../../src/rng/index.js";

describe("ABC population steps", () => {
  it("scales summaries by their MAD, falling back to the sd, then 1", () => {
    // Column 0: MAD of [1, 2, 3, 4, 100] is 1; column 1: mostly one value (MAD 0), sd instead; column 2: constant.
    const s = Float64Array.from([1, 5, 7, 2, 5, 7, 3, 5, 7, 4, 5, 7, 100, 9, 7]);
    const scales = madScales(s, 5, 3);
    expect(scales[0]).toBe(1);
    expect(scales[1]).toBeCloseTo(Math.sqrt(3.2), 12);
    expect(scales[2]).toBe(1);
    expect(scaledDistance([3, 5, 7], [1, 5, 7], scales)).toBe(2);
  });

  it("takes weighted quantiles and Kish's ESS", () => {
    expect(weightedQuantile([5, 1, 3, 2, 4], null, 0.5)).toBe(3);
    expect(weightedQuantile([1, 2, 3], [0.1, 0.1, 0.8], 0.5)).toBe(3);
    expect(effectiveSampleSize([1, 1, 1, 1])).toBe(4);
    expect(effectiveSampleSize([1, 0, 0, 0])).toBe(1);
    const c = cumulativeSums([0.2, 0.3, 0.5]);
    expect([0, 0.19, 0.21, 0.49, 0.51, 0.99].map((u) => pickByWeight(c, u))).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it("fits twice the weighted covariance as the global kernel, and evaluates its density", () => {
    const rng = Rng.fromSeed(1);
    const n = 4000;
    const x = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const z1 = rng.normal();
      const z2 = rng.normal();
      x[2 * i] = 3 * z1;
      x[2 * i + 1] = z1 + 0.5 * z2;
    }
    const k = fitKernel(x, n, 2, new Float64Array(n).fill(1), "global", 10);
    const L = k.chol[0]!;
    const cov = [L[0]! ** 2, L[2]! * L[0]!, L[2]! ** 2 + L[3]! ** 2];
    // Population covariance [[9, 3], [3, 1.25]]: the kernel's is twice it, within sampling error.
    expect(cov[0]).toBeCloseTo(18, 0);
    expect(cov[1]).toBeCloseTo(6, 0);
    expect(Math.abs(cov[2]! - 2.5)).toBeLessThan(0.15);
    // The density at the center: -log(2 pi) - log|L|.
    const work = new Float64Array(2);
    expect(kernelLogDensity(k, 0, [0, 0], [0, 0], work)).toBeCloseTo(-Math.log(2 * Math.PI) - Math.log(L[0]! * L[3]!), 12);
  });

  it("weights a population drawn from the kernel mixture to the prior (importance sampling identity)", () => {
    // Previous population: 200 equally weighted points of N(0, 1); next: draws from the kernel
    // mixture; weights prior / mixture with prior N(0, 2^2) must estimate E_prior[x^2] = 4.
    const rng = Rng.fromSeed(3);
    const n = 200;
    const previous = Float64Array.from({ length: n }, () => rng.normal());
    const w = new Float64Array(n).fill(1 / n);
    const kernel = fitKernel(previous, n, 1, w, "global", 10);
    const m = 20000;
    const next = new Float64Array(m);
    const out = new Float64Array(1);
    const cum = cumulativeSums(w);
    for (let j = 0; j < m; j++) {
      const i = pickByWeight(cum, rng.uniform());
      next[j] = perturb(kernel, i, [previous[i]!], [rng.normal()], out)[0]!;
    }
    const logPrior = Float64Array.from(next, (x) => -0.5 * (x / 2) ** 2 - Math.log(2 * Math.sqrt(2 * Math.PI)));
    const weights = smcWeights(next, m, logPrior, previous, n, w, kernel);
    let mean2 = 0;
    for (let j = 0; j < m; j++) mean2 += weights[j]! * next[j]! ** 2;
    const ess = effectiveSampleSize(weights);
    // E[x^2] = 4 under the prior; the sd of x^2 is 4 sqrt(2): 4 standard errors at this ESS.
    expect(Math.abs(mean2 - 4)).toBeLessThan((4 * 4 * Math.SQRT2) / Math.sqrt(ess));
  });

  it("seeds simulations by (seed, generation, index) without collisions in a run's range", () => {
    const seen = new Set<number>();
    for (let g = 0; g < 5; g++) for (let i = 0; i < 20000; i++) seen.add(simulationSeed(42, g, i));
    expect(seen.size).toBe(100000);
    expect(simulationSeed(42, 1, 7)).toBe(simulationSeed(42, 1, 7));
    expect(Number.isSafeInteger(simulationSeed(2 ** 40, 3, 5))).toBe(true);
  });
});

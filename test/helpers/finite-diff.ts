import { mulberry32 } from "./random.js";
import type { LogDensity } from "../../src/compile/types.js";

/** Central finite-difference gradient with a step scaled to each coordinate. */
export function finiteDifferenceGradient(f: (q: Float64Array) => number, q: Float64Array, relStep = 1e-6): Float64Array {
  const g = new Float64Array(q.length);
  const x = Float64Array.from(q);
  for (let i = 0; i < q.length; i++) {
    const h = relStep * Math.max(1, Math.abs(q[i]!));
    x[i] = q[i]! + h;
    const fp = f(x);
    x[i] = q[i]! - h;
    const fm = f(x);
    x[i] = q[i]!;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/**
 * Largest |analytic - numeric| / max(1, |numeric|) over coordinates, and where. `relStep` as
 * `finiteDifferenceGradient`'s (a density with a solver inside wants a larger one, so that the
 * solver's error over the step stays small).
 */
export function gradientError(model: LogDensity, q: Float64Array, relStep = 1e-6): { worst: number; index: number; analytic: Float64Array; numeric: Float64Array } {
  const analytic = new Float64Array(model.dim);
  model.logDensityGradient(q, analytic);
  const numeric = finiteDifferenceGradient((x) => model.logDensity(x), q, relStep);
  let worst = 0;
  let index = -1;
  for (let i = 0; i < q.length; i++) {
    const err = Math.abs(analytic[i]! - numeric[i]!) / Math.max(1, Math.abs(numeric[i]!));
    if (!(err <= worst)) {
      worst = err;
      index = i;
    }
  }
  return { worst, index, analytic, numeric };
}

/** Deterministic pseudo-random points (mulberry32), so failures reproduce. */
export function randomPoints(dim: number, count: number, seed: number, scale = 1): Float64Array[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => Float64Array.from({ length: dim }, () => (next() * 2 - 1) * scale));
}

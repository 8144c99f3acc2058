/**
 * one_comp_mm_elim_abs through the builder's `ode` (BDF, as Stan's integrate_ode_bdf): at the
 * points of stan-logprob.json (rstan 2.21) the log-density differences, the gradient and the
 * solution C equal Stan's, and the gradient equals central finite differences.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { oneCompMmElimAbsOde, posteriordbDir } from "../posteriordb/models.js";

interface StanPoint {
  readonly values: Record<string, number>;
  readonly upars: number[];
  readonly log_prob: number;
  readonly gradient: number[];
  readonly log_prob_tight: number;
  readonly constrained_tight: { C: number[][] };
}
const NAME = "one_comp_mm_elim_abs-one_comp_mm_elim_abs";
const data = JSON.parse(readFileSync(join(posteriordbDir, NAME, "data.json"), "utf8")) as Record<string, unknown>;
const points = (JSON.parse(readFileSync(join(posteriordbDir, NAME, "stan-logprob.json"), "utf8")) as { points: StanPoint[] }).points;

describe.each(["bdf", "rk45", "ckrk"] as const)("one_comp_mm_elim_abs with method %s", (method) => {
  const ld = compile(oneCompMmElimAbsOde(data, { method, ...(method === "bdf" ? {} : { rtol: 1e-10, atol: 1e-10 }) }));
  test("log-density differences, gradients and C equal Stan's", () => {
    const ours = points.map((p) => ld.logDensity(Float64Array.from(p.upars)));
    for (let k = 1; k < points.length; k++) {
      // Stan's tight solve (rk45 at 1e-12) is the reference for values.
      expect(Math.abs(ours[k]! - ours[0]! - (points[k]!.log_prob_tight - points[0]!.log_prob_tight))).toBeLessThan(1e-6);
    }
    const g = new Float64Array(ld.dim);
    for (const p of points) {
      const q = Float64Array.from(p.upars);
      expect(ld.logDensityGradient(q, g)).toBe(ld.logDensity(q));
      g.forEach((v, i) => expect(Math.abs(v - p.gradient[i]!) / Math.max(1, Math.abs(p.gradient[i]!))).toBeLessThan(1e-6));
      const C = ld.constrain(q)["C"]!.values;
      p.constrained_tight.C.forEach(([c], i) => expect(Math.abs(C[i]! - c!) / c!).toBeLessThan(1e-7));
    }
  });
});

/**
 * one_comp_mm_elim_abs through the builder's `ode` (BDF, as Stan's integrate_ode_bdf): at the
 * points of stan-logprob.json (rstan 2.21) the log-density differences, the gradient and the
 * solution C equal Stan's; sampled (4 x (500 + 500)) it passes posteriordb's pass rule; and a
 * solve that fails rejects the proposal instead of throwing.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/compile.js";
import { dist, model, ode, stack, sub, mul } from "../../src/model/index.js";
import { loadPosterior, oneCompMmElimAbsOde, posteriordbDir } from "../posteriordb/models.js";
import { checkAgainstReference } from "../validate/pass-rule.js";

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
    const g = new Float64Array(ld.dim);
    // logDensity solves the states alone and logDensityGradient with their sensitivities, as
    // Stan's double and var solves do (DECISIONS.md D226): each within 1e-6 of Stan's tight
    // solve (rk45 at 1e-12), the reference for values.
    const values = points.map((p) => ld.logDensity(Float64Array.from(p.upars)));
    const withGradient = points.map((p) => ld.logDensityGradient(Float64Array.from(p.upars), g));
    for (const ours of [values, withGradient])
      for (let k = 1; k < points.length; k++) {
        expect(Math.abs(ours[k]! - ours[0]! - (points[k]!.log_prob_tight - points[0]!.log_prob_tight))).toBeLessThan(1e-6);
      }
    for (const p of points) {
      const q = Float64Array.from(p.upars);
      ld.logDensityGradient(q, g);
      g.forEach((v, i) => expect(Math.abs(v - p.gradient[i]!) / Math.max(1, Math.abs(p.gradient[i]!))).toBeLessThan(1e-6));
      const C = ld.constrain(q)["C"]!.values;
      p.constrained_tight.C.forEach(([c], i) => expect(Math.abs(C[i]! - c!) / c!).toBeLessThan(1e-7));
    }
  });
});

// Tens of seconds on an idle machine, so behind its own script: npm run validate:ode.
test.runIf(process.env["ODE_VALIDATE"] === "1")("one_comp_mm_elim_abs with bdf passes the pass rule (4 x (500 + 500))", () => {
  const { reference } = loadPosterior(NAME);
  const posterior = sampleSync(compile(oneCompMmElimAbsOde(data)), { chains: 4, warmup: 500, draws: 500, seed: 20261207 });
  const check = checkAgainstReference(posterior, reference.parameters);
  expect(check.failures).toEqual([]);
});

test("a failed solve makes the log density -Infinity (no exception)", () => {
  // Exponential growth dy/dt = r y with a step budget too small for large r.
  const m = model("growth", (b) => {
    const r = b.param("r", dist.normal(0, 5));
    const y = ode((_t, y, [rate]) => mul(rate!, y), { y0: [1], ts: [1, 2, 3], args: [stack([r]).reshape([])], maxSteps: 40 });
    b.observe("obs", dist.normal(sub(y.reshape([3]), 0), 1), [2.7, 7.4, 20.1]);
  });
  const ld = compile(m);
  const g = new Float64Array(1);
  expect(Number.isFinite(ld.logDensityGradient(Float64Array.from([1]), g))).toBe(true);
  expect(ld.logDensity(Float64Array.from([200]))).toBe(-Infinity);
  expect(ld.logDensityGradient(Float64Array.from([200]), g)).toBe(-Infinity);
  expect(ld.constrain(Float64Array.from([200]))["r"]!.values[0]).toBe(200);
});

/**
 * The posteriordb translations (test/posteriordb/models.ts): each compiles, reports every
 * parameter of its reference.json, has an exact gradient, and has Stan's density: at the
 * points of stan-logprob.json (written by scripts/stan-logprob.R with rstan 2.21) our
 * unconstrained coordinates are Stan's, log-density differences between points are Stan's, and
 * so are the gradient and the transformed parameters / generated quantities.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile } from "../src/compile/compile.js";
import type { LogDensity } from "../src/compile/types.js";
import { finiteDifferenceGradient, randomPoints } from "./helpers/finite-diff.js";
import { loadPosterior, oneCompMmElimAbs, posteriordbDir, posteriordbModels } from "./posteriordb/models.js";

interface StanPoint {
  readonly values: Record<string, number | number[]>;
  readonly upars: number[];
  readonly log_prob: number;
  readonly gradient: number[];
  /** Stan's constrain_pars: parameters, transformed parameters, generated quantities. */
  readonly constrained: Record<string, NestedNumbers>;
  /** one_comp_mm_elim_abs only: the same program with integrate_ode_rk45 at rtol = atol = 1e-12. */
  readonly log_prob_tight?: number;
  readonly constrained_tight?: Record<string, NestedNumbers>;
}
type NestedNumbers = number | NestedNumbers[];

const ODE = "one_comp_mm_elim_abs-one_comp_mm_elim_abs";
/** Stan outputs we do not report: C_ppc is a random draw (lognormal_rng). */
const NOT_REPORTED: Record<string, readonly string[]> = { [ODE]: ["C_ppc"] };
const names = Object.keys(posteriordbModels);

function stanPoints(name: string): StanPoint[] {
  const file = join(posteriordbDir, name, "stan-logprob.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { points: StanPoint[] }).points;
}

/**
 * Like `gradientError` (same measure: |analytic - numeric| / max(1, |numeric|), worst
 * coordinate), but the numeric gradient is Richardson-extrapolated from the helper's central
 * differences at relative steps 1e-3 and 5e-4: error O(h^4) instead of O(h^2), so the step can
 * be large enough for rounding not to matter. With gradientError's fixed step of 1e-6, rounding
 * alone costs up to 2e-5 here (diamonds: 5,000 terms; earn_height: |lp| ~ 1e12 at the origin;
 * gp_pois_regr: the Cholesky factor of a covariance matrix with condition number ~1e10), while
 * this stays below 2e-7 at every point for every model (below 1e-8 at most).
 */
function extrapolatedGradientError(ld: LogDensity, q: Float64Array) {
  const analytic = new Float64Array(ld.dim);
  ld.logDensityGradient(q, analytic);
  const f = (x: Float64Array) => ld.logDensity(x);
  const [coarse, fine] = [finiteDifferenceGradient(f, q, 1e-3), finiteDifferenceGradient(f, q, 5e-4)];
  const numeric = fine.map((v, i) => (4 * v - coarse[i]!) / 3);
  let [worst, index] = [0, -1];
  for (let i = 0; i < ld.dim; i++) {
    const err = Math.abs(analytic[i]! - numeric[i]!) / Math.max(1, Math.abs(numeric[i]!));
    if (!(err <= worst)) [worst, index] = [err, i];
  }
  return { worst, index, analytic, numeric };
}

const flatten = (v: NestedNumbers): number[] => (Array.isArray(v) ? v.flatMap(flatten) : [v]);

/** max |a - b| / max(1, |b|) over elements. */
function worstRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

test("every posteriordb folder has a model, and every model a folder", () => {
  const folders = readdirSync(posteriordbDir).filter((f) => existsSync(join(posteriordbDir, f, "model.stan")));
  expect([...names].sort()).toEqual(folders.sort());
  expect(names).toHaveLength(26);
});

describe.each(names)("%s", (name) => {
  const { model, reference } = loadPosterior(name);
  const ld: LogDensity = compile(model);
  const points = stanPoints(name);

  test("reports every parameter of reference.json", () => {
    const reported = new Set(ld.names);
    const missing = Object.keys(reference.parameters).filter((k) => !reported.has(k));
    expect(missing).toEqual([]);
  });

  test("gradient matches central finite differences", () => {
    // Random points around the origin of the unconstrained space and around a posterior draw
    // (spread like Stan's draws: 2 sd per coordinate).
    const draws = points.map((p) => p.upars);
    const center = draws[0]!;
    const spread = center.map((_, i) => {
      const xs = draws.map((u) => u[i]!);
      const m = xs.reduce((s, x) => s + x, 0) / xs.length;
      return 2 * Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
    });
    const qs = [
      ...randomPoints(ld.dim, 3, 4321, 1),
      ...randomPoints(ld.dim, 3, 1234, 1).map((r) => r.map((v, i) => center[i]! + v * spread[i]!)),
    ];
    for (const q of qs) {
      expect(Number.isFinite(ld.logDensity(q))).toBe(true);
      const e = extrapolatedGradientError(ld, q);
      expect(e.worst, `coordinate ${ld.unconstrainedNames[e.index]}: ${e.analytic[e.index]} vs ${e.numeric[e.index]}`).toBeLessThan(1e-6);
    }
  });

  test("logDensity equals the value of logDensityGradient", () => {
    // Exactly: both generated functions add the terms in the same order.
    const g = new Float64Array(ld.dim);
    for (const q of [...randomPoints(ld.dim, 3, 99, 1), ...points.map((p) => Float64Array.from(p.upars))]) {
      const [value, withGradient] = [ld.logDensity(q), ld.logDensityGradient(q, g)];
      expect(Number.isFinite(value)).toBe(true);
      expect(withGradient).toBe(value);
    }
  });

  test("unconstrained coordinates, log-density differences and gradients equal Stan's", () => {
    const ours = points.map((p) => ld.logDensity(ld.unconstrain(p.values)));
    // Our parameterisation is Stan's: same coordinates, in the same order.
    for (const p of points) expect(worstRelative(ld.unconstrain(p.values), p.upars)).toBeLessThan(1e-12);
    // The ODE model: compare with Stan's tightly solved variant (the original uses BDF at
    // rtol = atol = 1e-6, so its log_prob is only good to about 1e-4; checked separately below).
    const stan = points.map((p) => (name === ODE ? p.log_prob_tight! : p.log_prob));
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) {
        const [dOurs, dStan] = [ours[i]! - ours[j]!, stan[i]! - stan[j]!];
        expect(Math.abs(dOurs - dStan), `points ${i}, ${j}: ${dOurs} vs Stan ${dStan}`).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(dStan)));
      }
    }
    const g = new Float64Array(ld.dim);
    for (const p of points) {
      ld.logDensityGradient(Float64Array.from(p.upars), g);
      // The ODE model: Stan's gradient comes from the BDF solve (rtol = atol = 1e-6).
      expect(worstRelative(g, p.gradient), `gradient at ${JSON.stringify(p.values)}`).toBeLessThan(name === ODE ? 1e-4 : 1e-8);
    }
  });

  test("reported quantities equal Stan's parameters, transformed parameters and generated quantities", () => {
    for (const p of points) {
      const ours = ld.constrain(ld.unconstrain(p.values));
      // The ODE model: against Stan's tightly solved variant, as above.
      const stanOut = name === ODE ? p.constrained_tight! : p.constrained;
      for (const [key, value] of Object.entries(stanOut)) {
        if (NOT_REPORTED[name]?.includes(key)) continue;
        expect(ours[key], `${key} is not reported`).toBeDefined();
        expect(worstRelative(ours[key]!.values, flatten(value)), `${key} at ${JSON.stringify(p.values)}`).toBeLessThan(1e-9);
      }
    }
  });
});

describe("one_comp_mm_elim_abs: the RK4 grid that replaces Stan's BDF solver", () => {
  const { data } = loadPosterior(ODE);
  const points = stanPoints(ODE);
  const coarse = compile(oneCompMmElimAbs(data, 1));
  const fine = compile(oneCompMmElimAbs(data, 2));

  test("halving every step changes C by less than 2e-10 relative, the log-density by less than 1e-8", () => {
    for (const p of points) {
      const q = coarse.unconstrain(p.values);
      expect(Math.abs(coarse.logDensity(q) - fine.logDensity(q))).toBeLessThan(1e-8);
      const [c, f] = [coarse.constrain(q)["C"]!.values, fine.constrain(q)["C"]!.values];
      expect(Math.max(...Array.from(c, (x, i) => Math.abs(x / f[i]! - 1)))).toBeLessThan(2e-10);
    }
  });

  test("agrees with Stan's own program (BDF, rtol = atol = 1e-6) to its solver tolerance", () => {
    // Relative errors of 1e-6 in C move this log-density by up to ~1e-4; observed: 1.3e-7.
    const ours = points.map((p) => coarse.logDensity(coarse.unconstrain(p.values)));
    for (let i = 1; i < points.length; i++) {
      const [dOurs, dStan] = [ours[i]! - ours[0]!, points[i]!.log_prob - points[0]!.log_prob];
      expect(Math.abs(dOurs - dStan)).toBeLessThan(1e-4);
    }
  });
});

/**
 * Constrained parameters the front end adds to the builder's: arrays of simplexes and of
 * ordered vectors transform row by row, exactly as separate vectors would (Stan's layout: the
 * free coordinates of row 1, then of row 2, ...).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { projectRoot } from "../../bench/paths.js";
import { compile } from "../../src/compile/compile.js";
import { stanModel } from "../../src/stan/index.js";

const quiet = { onWarning: () => {} };

test.each([
  ["simplex[3]", "dirichlet([2, 3, 4]')"],
  ["ordered[3]", "normal(0, 1)"],
  ["positive_ordered[3]", "exponential(1)"],
])("an array of %s is the rows declared one by one", (type, prior) => {
  const together = compile(stanModel(`parameters { array[2] ${type} t; }\nmodel { for (k in 1:2) t[k] ~ ${prior}; }`, {}, quiet));
  const apart = compile(stanModel(`parameters { ${type} a; ${type} b; }\nmodel { a ~ ${prior}; b ~ ${prior}; }`, {}, quiet));
  expect(together.dim).toBe(apart.dim);
  const q = Float64Array.from({ length: together.dim }, (_, i) => Math.sin(i + 1));
  const [g1, g2] = [new Float64Array(together.dim), new Float64Array(apart.dim)];
  expect(together.logDensityGradient(q, g1)).toBeCloseTo(apart.logDensityGradient(q, g2), 12);
  g1.forEach((v, i) => expect(v).toBeCloseTo(g2[i]!, 12));
  // unconstrain inverts constrain, row by row.
  const values = together.constrain(q);
  const back = together.unconstrain({ t: values.t!.values });
  back.forEach((v, i) => expect(v).toBeCloseTo(q[i]!, 10));
});

test("many short simplexes (transformed a coordinate at a time over all of them) are the rows declared one by one", () => {
  const names = ["a", "b", "c", "d", "e"];
  // No model block: the log density is the transforms' Jacobians alone.
  const together = compile(stanModel("parameters { array[5] simplex[3] t; }", {}, quiet));
  const apart = compile(stanModel(`parameters { ${names.map((n) => `simplex[3] ${n};`).join(" ")} }`, {}, quiet));
  expect(together.dim).toBe(10);
  const q = Float64Array.from({ length: 10 }, (_, i) => 3 * Math.sin(i + 1));
  const [g1, g2] = [new Float64Array(10), new Float64Array(10)];
  expect(together.logDensityGradient(q, g1)).toBeCloseTo(apart.logDensityGradient(q, g2), 12);
  g1.forEach((v, i) => expect(v).toBeCloseTo(g2[i]!, 12));
  const rows = together.constrain(q).t!.values;
  const separate = apart.constrain(q);
  names.forEach((n, r) => separate[n]!.values.forEach((v, j) => expect(rows[r * 3 + j]!).toBeCloseTo(v, 14)));
  together.unconstrain({ t: rows }).forEach((v, i) => expect(v).toBeCloseTo(q[i]!, 10));
});

/**
 * Every constrained type Stan has (offset/multiplier, cholesky_factor_corr/cov, corr_matrix,
 * cov_matrix, unit_vector, arrays of them) in test/stan/programs/constraints.stan, against
 * rstan 2.21 (scripts/stan-constraints.R): the log density up to a constant (Jacobians
 * included), its gradient and the constrained values are Stan's.
 */
describe("Stan's constrained types", () => {
  const dir = join(projectRoot(), "test", "stan", "programs");
  const source = readFileSync(join(dir, "constraints.stan"), "utf8");
  const data = readFileSync(join(dir, "constraints.data.json"), "utf8");
  const points = (JSON.parse(readFileSync(join(dir, "constraints.stan-logprob.json"), "utf8")) as { points: ConstraintPoint[] }).points;
  const ld = compile(stanModel(source, data, quiet));

  test("the unconstrained coordinates are Stan's, in Stan's order", () => {
    expect(ld.dim).toBe(points[0]!.upars.length);
  });

  test.each(points.map((p, i) => [i, p] as const))("point %i: log density, gradient and constrained values equal Stan's", (_, p) => {
    const q = Float64Array.from(p.upars);
    const g = new Float64Array(ld.dim);
    const lp = ld.logDensityGradient(q, g);
    // As for every other fixture, the log density up to one constant across points (D153).
    const offset = ld.logDensity(Float64Array.from(points[0]!.upars)) - points[0]!.log_prob;
    expect(Math.abs(lp - p.log_prob - offset) / Math.max(1, Math.abs(p.log_prob))).toBeLessThan(1e-10);
    p.gradient.forEach((v, i) => expect(Math.abs(g[i]! - v) / Math.max(1, Math.abs(v)), ld.unconstrainedNames[i]).toBeLessThan(1e-8));
    const values = ld.constrain(q);
    for (const [name, stan] of Object.entries(p.constrained)) {
      if (name === "lp__") continue;
      const ours = values[name]!.values;
      expect(ours.length, name).toBe(stan.length);
      stan.forEach((v, i) => expect(ours[i]!, `${name}[${i}]`).toBeCloseTo(v, 10));
    }
    // unconstrain inverts constrain (a unit vector's coordinates only up to their length, as Stan's
    // unit_vector_free: so the check is on the constrained values).
    const back = ld.constrain(ld.unconstrain(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.values]))));
    for (const [name, v] of Object.entries(values)) v.values.forEach((x, i) => expect(back[name]!.values[i]!, `${name}[${i}]`).toBeCloseTo(x, 8));
  });

  test("a bad multiplier and a too-small correlation matrix are errors naming the parameter", () => {
    expect(() => stanModel("parameters { real<multiplier=-1> a; }\nmodel { a ~ normal(0, 1); }", {}, quiet)).toThrow(/a: the multiplier must be positive/);
    expect(() => stanModel("parameters { cholesky_factor_corr[1] L; }\nmodel { }", {}, quiet)).toThrow(/L: choleskyFactorCorr needs at least 2 x 2/);
  });
});

interface ConstraintPoint {
  readonly upars: readonly number[];
  readonly log_prob: number;
  readonly gradient: readonly number[];
  readonly constrained: Readonly<Record<string, readonly number[]>>;
}

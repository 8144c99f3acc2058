/**
 * Constrained parameters the front end adds to the builder's: arrays of simplexes and of
 * ordered vectors transform row by row, exactly as separate vectors would (Stan's layout: the
 * free coordinates of row 1, then of row 2, ...).
 */
import { expect, test } from "vitest";
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

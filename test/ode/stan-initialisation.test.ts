/**
 * posteriordb's lotka_volterra at the point where validate:references' chain 0 stuck at seed 1
 * (DECISIONS.md D206): there Stan's two solves part. Its log_prob on doubles (the states alone)
 * takes the prey below zero at t = 4, so the lognormal's location is NaN and Stan's initialize
 * rejects the point; its log_prob with gradient (the states and their sensitivities, other
 * steps) keeps the prey positive. Ours now does both as Stan does (D225, D226), so our
 * initialisation rejects the point too. Stan's values: scripts/stan-rk45-steps.cpp at this
 * point (`plain` and `out` lines).
 */
import { expect, test } from "vitest";
import { compile, stanModel } from "../../src/index.js";
import { findInitialPoint, InitializationError } from "../../src/inference/init.js";
import { Rng } from "../../src/rng/index.js";
import { dataText, programPath, programSource } from "../stan/corpus.js";

const ld = compile(stanModel(programSource("lotka_volterra"), dataText("hudson_lynx_hare")!, { file: programPath("lotka_volterra"), onWarning: () => undefined }));
/** Chain 0's first init at seed 1 with a finite log density and gradient before D226. */
const stuck = {
  theta: [2.4852919332567538, 0.67833564609667008, 0.22881948670944174, 0.34777706246970053],
  z_init: [0.58607671903968139, 0.18061750379663544],
  sigma: [0.7868, 0.6883],
};
/** Stan's prey at t = 4 there on doubles (with sensitivities it is 2.3989319616261969e-6). */
const STAN_PLAIN_PREY_4 = -5.9882467343911539e-6;

test("the value pass solves as Stan's doubles (prey below zero), the gradient pass as its vars", () => {
  const q = ld.unconstrain(stuck);
  const prey4 = ld.constrain(q)["z"]!.values[3 * 2]!;
  expect(Math.abs(prey4 - STAN_PLAIN_PREY_4) / Math.abs(STAN_PLAIN_PREY_4)).toBeLessThan(1e-8);
  // log of a negative prey: NaN, where Stan's lognormal throws (a rejection either way).
  expect(ld.logDensity(q)).toBeNaN();
  const g = new Float64Array(ld.dim);
  expect(Number.isFinite(ld.logDensityGradient(q, g))).toBe(true);
  expect(g.every(Number.isFinite)).toBe(true);
});

test("initialisation rejects it, as Stan's does: as user values, and among random inits", () => {
  expect(() => findInitialPoint(ld, Rng.fromSeed(1, 0), { values: stuck })).toThrow(InitializationError);
  expect(() => findInitialPoint(ld, Rng.fromSeed(1, 0), { values: stuck })).toThrow(/without its gradient/);
  const init = findInitialPoint(ld, Rng.fromSeed(1, 0));
  expect(init.attempts).toBe(4);
  expect(Math.abs(Math.exp(init.position[0]!) - stuck.theta[0]!)).toBeGreaterThan(0.1);
});

/**
 * posteriordb's soil_incubation and sir, as Stan programs through the front end (their
 * `integrate_ode_rk45` mapped onto the builder's `ode`), against Stan's log density and
 * gradient at the points of test/stan/posteriordb/fixtures (rstan 2.21,
 * scripts/stan-logprob-corpus.R: soil_incubation at Stan's default initialisation, uniform(-2, 2)
 * on every unconstrained coordinate; sir, finite at only 3 of 100 of those, at draws of a short
 * rstan NUTS run from a point near its posterior). Both programs solve with rk45 at integrate_ode_rk45's defaults
 * (rtol = atol = 1e-6); Stan's log_prob with gradient integrates the coupled system under Boost's
 * dopri5 control as ours does, so the two agree far below the solver's tolerance, not exactly
 * (the corpus's 1e-8 is for programs without a solver). Stated bounds: differences of the log
 * density within 1e-5 relative (max(1, |difference|)), gradients within 2e-5, as lotka_volterra's.
 */
import { expect, test } from "vitest";
import { compile, stanModel } from "../../src/index.js";
import { comparePoints, dataText, loadFixture, loadManifest, programPath, programSource } from "../stan/corpus.js";

const manifest = loadManifest();

test.each(["soil_carbon-soil_incubation", "sir-sir"])("%s: log density differences and gradient equal Stan's", (name) => {
  const entry = manifest.find((p) => p.posterior === name)!;
  const fixture = loadFixture(name);
  if (fixture.kind !== "points") throw new Error(`${name}: no fixture (${fixture.kind})`);
  const ld = compile(stanModel(programSource(entry.model), dataText(entry.data)!, { file: programPath(entry.model), onWarning: () => undefined }));
  const c = comparePoints(ld, fixture.points);
  console.log(`${name}: worst difference ${c.worstDifference.toExponential(2)}, worst gradient ${c.worstGradient.toExponential(2)}`);
  expect(c.worstDifference).toBeLessThan(1e-5);
  expect(c.worstGradient).toBeLessThan(2e-5);
});

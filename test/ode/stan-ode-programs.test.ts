/**
 * posteriordb's soil_incubation and sir, as Stan programs through the front end (their
 * `integrate_ode_rk45` mapped onto the builder's `ode`), against Stan's log density and
 * gradient at the points of test/stan/posteriordb/fixtures (rstan 2.21,
 * scripts/stan-logprob-corpus.R: soil_incubation at Stan's default initialisation, uniform(-2, 2)
 * on every unconstrained coordinate; sir, finite at only 3 of 100 of those, at draws of a short
 * rstan NUTS run from a point near its posterior). Both programs solve with rk45 at integrate_ode_rk45's defaults
 * (rtol = atol = 1e-6); ours takes the steps of Stan's Boost dopri5 (DECISIONS.md D225), so
 * the two agree to rounding: measured worst log-density difference 4.8e-13 (soil_incubation)
 * and 7.2e-12 (sir), gradients 1.6e-8 and 5.9e-12 (before D225: 1.3e-9 / 6.1e-8 and 1.05e-6 /
 * 1.26e-6). Bounds: 1e-10 on the differences, and on the gradients 1e-7 (soil_incubation) and
 * 1e-10 (sir).
 */
import { expect, test } from "vitest";
import { compile, stanModel } from "../../src/index.js";
import { comparePoints, dataText, loadFixture, loadManifest, programPath, programSource } from "../stan/corpus.js";

const manifest = loadManifest();

test.each([
  ["soil_carbon-soil_incubation", 1e-7],
  ["sir-sir", 1e-10],
] as const)("%s: log density differences and gradient equal Stan's", (name, gradientBound) => {
  const entry = manifest.find((p) => p.posterior === name)!;
  const fixture = loadFixture(name);
  if (fixture.kind !== "points") throw new Error(`${name}: no fixture (${fixture.kind})`);
  const ld = compile(stanModel(programSource(entry.model), dataText(entry.data)!, { file: programPath(entry.model), onWarning: () => undefined }));
  const c = comparePoints(ld, fixture.points);
  console.log(`${name}: worst difference ${c.worstDifference.toExponential(2)}, worst gradient ${c.worstGradient.toExponential(2)}`);
  expect(c.worstDifference).toBeLessThan(1e-10);
  expect(c.worstGradient).toBeLessThan(gradientBound);
});

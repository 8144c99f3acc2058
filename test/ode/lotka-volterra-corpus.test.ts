/**
 * posteriordb's lotka_volterra at the Stan corpus's points (test/stan/posteriordb/fixtures: Stan's
 * default initialisation, far from the posterior), where `npm run validate:stan` found our
 * gradient 2.4e-3 relative from Stan's at the worst coordinate. Against the exact gradient
 * (scripts/lotka-volterra-exact-gradient.py: central differences of SciPy DOP853 solves at
 * 1e-12; DECISIONS.md D207):
 * - at tight tolerances (1e-12) our forward sensitivities give it to 1e-7;
 * - at the program's own tolerances (integrate_ode_rk45 at rtol 1e-5, atol 1e-3) both Stan's
 *   gradient and ours are off it by 1e-3 to 8e-2 relative: the program's tolerances, not either
 *   solver;
 * - and there ours is Stan's to rounding (measured 7.2e-12 at worst), since it takes the steps of
 *   Stan's Boost dopri5 (DECISIONS.md D225; the 2.4e-3 between the two before came from another
 *   interpolant at the output times).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { compile, stanModel } from "../../src/index.js";
import { projectRoot } from "../../bench/paths.js";
import { dataText, loadFixture, programPath, programSource } from "../stan/corpus.js";

interface ExactPoint {
  readonly upars: number[];
  readonly gradient: number[];
}
const exact = (JSON.parse(readFileSync(join(projectRoot(), "test", "fixtures", "ode", "lotka-volterra-exact-gradient.json"), "utf8")) as { points: ExactPoint[] }).points;
const fixture = loadFixture("hudson_lynx_hare-lotka_volterra");
if (fixture.kind !== "points") throw new Error("no Stan fixture for lotka_volterra");
const stanPoints = fixture.points;

const program = programSource("lotka_volterra");
const PROGRAM_TOLERANCES = "1e-5, 1e-3, 5e2";
if (!program.includes(PROGRAM_TOLERANCES)) throw new Error("lotka_volterra's integrate_ode_rk45 tolerances are not the expected ones");
const compileWith = (source: string) => compile(stanModel(source, dataText("hudson_lynx_hare")!, { file: programPath("lotka_volterra"), onWarning: () => undefined }));
const asWritten = compileWith(program);
const tight = compileWith(program.replace(PROGRAM_TOLERANCES, "1e-12, 1e-12, 1e8"));

/** Largest |a - b| / max(1, |b|) over the coordinates (validate:stan's measure). */
const worstRelative = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(b, (v, i) => Math.abs(a[i]! - v) / Math.max(1, Math.abs(v))));
const gradientAt = (ld: typeof asWritten, upars: readonly number[]) => {
  const g = new Float64Array(ld.dim);
  ld.logDensityGradient(Float64Array.from(upars), g);
  return g;
};

test("the fixtures hold the same points", () => {
  expect(exact.map((p) => p.upars)).toEqual(stanPoints.map((p) => p.upars));
});

test("at 1e-12 our gradient is the exact one to 1e-7", () => {
  for (const p of exact) expect(worstRelative(gradientAt(tight, p.upars), p.gradient)).toBeLessThan(1e-7);
});

test("at the program's tolerances ours is no farther from the exact gradient than Stan's", () => {
  stanPoints.forEach((p, i) => {
    const ours = worstRelative(gradientAt(asWritten, p.upars), exact[i]!.gradient);
    const stan = worstRelative(p.gradient, exact[i]!.gradient);
    const between = worstRelative(gradientAt(asWritten, p.upars), p.gradient);
    console.log(`point ${i}: from the exact gradient, ours ${ours.toExponential(2)}, Stan's ${stan.toExponential(2)}; ours from Stan's ${between.toExponential(2)}`);
    expect(ours).toBeLessThanOrEqual(1.01 * stan);
    // What the two miss is the solver's error, not a disagreement between them.
    expect(between).toBeLessThan(stan);
    expect(between).toBeLessThan(1e-10);
  });
});

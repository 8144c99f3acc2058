/**
 * The vendored posteriordb corpus (test/stan/posteriordb) is whole, and a fast slice of
 * `npm run validate:stan`: a handful of its programs through the Stan front end, their log
 * density and gradient against Stan's (rstan 2.21 fixtures) at Stan's unconstrained points.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { checkStanProgram, compile, stanModel } from "../../src/index.js";
import { comparePoints, corpusDir, dataText, DIFFERENCE_TOLERANCE, GRADIENT_TOLERANCE, loadFixture, loadManifest, programPath, programs, programSource } from "./corpus.js";

const manifest = loadManifest();

test("the corpus: 147 posteriors of 120 programs, each program and (but mnist) each data set vendored", () => {
  expect(manifest).toHaveLength(147);
  expect(programs(manifest).size).toBe(120);
  for (const p of manifest) {
    expect(existsSync(join(corpusDir, "models", `${p.model}.stan`)), p.model).toBe(true);
    expect(existsSync(join(corpusDir, "data", `${p.data}.json.gz`)), p.data).toBe(p.data_vendored);
  }
  expect(manifest.filter((p) => !p.data_vendored).map((p) => p.posterior)).toEqual(["mnist-nn_rbm1bJ100"]);
});

test("every fixture has finite log densities and gradients of one dimension", () => {
  for (const p of manifest) {
    const f = loadFixture(p.posterior);
    if (f.kind !== "points") continue;
    expect(f.points.length, p.posterior).toBeGreaterThanOrEqual(4);
    for (const point of f.points) {
      expect(Number.isFinite(point.log_prob), p.posterior).toBe(true);
      expect(point.gradient).toHaveLength(point.upars.length);
      expect(point.gradient.every(Number.isFinite), p.posterior).toBe(true);
    }
  }
});

test("every program passes the static checks (scope, blocks and types, without data)", () => {
  for (const model of programs(manifest).keys()) {
    const check = checkStanProgram(programSource(model), { file: programPath(model) });
    const messages = check.errors.map((e) => `${e.line}:${e.column} ${e.message.split("\n")[0]}`);
    expect(messages, model).toEqual([]);
  }
});

/** Small, quick programs (simple regressions, a hierarchical model, a rate model) with Stan's points. */
const SLICE = [
  "eight_schools-eight_schools_centered",
  "wells_data-wells_dist",
  "sesame_data-sesame_one_pred_a",
  "Rate_1_data-Rate_1_model",
  "kidiq-kidscore_momhsiq",
];

describe.each(SLICE)("%s through the front end", (name) => {
  const entry = manifest.find((p) => p.posterior === name)!;
  test("log density differences and gradient equal Stan's at its points", () => {
    const fixture = loadFixture(name);
    if (fixture.kind !== "points") throw new Error(`${name}: no fixture`);
    const ld = compile(stanModel(programSource(entry.model), dataText(entry.data)!, { file: programPath(entry.model), onWarning: () => undefined }));
    const c = comparePoints(ld, fixture.points);
    expect(c.detail).toBe("");
    expect(c.worstDifference).toBeLessThanOrEqual(DIFFERENCE_TOLERANCE);
    expect(c.worstGradient).toBeLessThanOrEqual(GRADIENT_TOLERANCE);
  });
});

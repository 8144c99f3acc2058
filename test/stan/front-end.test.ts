/**
 * The Stan front end against Stan: every posterior of test/posteriordb, from its model.stan
 * unmodified, has Stan's log density (rstan 2.21's `log_prob` at the points of
 * stan-logprob.json, to 1e-8 relative: `~` leaves out the same constants, D244) and Stan's
 * gradient (1e-6), on Stan's unconstrained coordinates.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { stanModel } from "../../src/stan/index.js";
import { posteriordbDir } from "../posteriordb/models.js";

interface StanPoint {
  readonly upars: number[];
  readonly log_prob: number;
  readonly gradient: number[];
}

/** Programs the front end does not run yet, with the error it gives. */
const UNSUPPORTED: Record<string, RegExp> = {};

const names = readdirSync(posteriordbDir).filter((f) => existsSync(join(posteriordbDir, f, "model.stan")));

test("all 26 posteriors are here", () => {
  expect(names).toHaveLength(26);
});

describe.each(names)("%s", (name) => {
  const source = readFileSync(join(posteriordbDir, name, "model.stan"), "utf8");
  const data = JSON.parse(readFileSync(join(posteriordbDir, name, "data.json"), "utf8")) as Record<string, unknown>;
  const points = (JSON.parse(readFileSync(join(posteriordbDir, name, "stan-logprob.json"), "utf8")) as { points: StanPoint[] }).points;

  if (UNSUPPORTED[name]) {
    test("is refused with an error naming what is missing", () => {
      expect(() => stanModel(source, data, { file: `${name}.stan`, onWarning: () => {} })).toThrow(UNSUPPORTED[name]);
    });
    return;
  }

  test("log density and gradients equal Stan's", () => {
    const ld = compile(stanModel(source, data, { file: `${name}.stan`, onWarning: () => {} }));
    expect(ld.dim).toBe(points[0]!.upars.length);
    const offsets = points.map((p) => ld.logDensity(Float64Array.from(p.upars)) - p.log_prob);
    const scale = Math.max(1, ...points.map((p) => Math.abs(p.log_prob)));
    for (const o of offsets) expect(Math.abs(o) / scale).toBeLessThan(1e-8);
    const g = new Float64Array(ld.dim);
    for (const p of points) {
      ld.logDensityGradient(Float64Array.from(p.upars), g);
      p.gradient.forEach((v, i) => expect(Math.abs(g[i]! - v) / Math.max(1, Math.abs(v)), `${ld.unconstrainedNames[i]}`).toBeLessThan(1e-6));
    }
  });
});

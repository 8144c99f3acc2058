/**
 * The censored, truncated and mixture models of examples/likelihoods.ts against rstan
 * (test/stan-references, made by scripts/stan-references.R and scripts/stan-logprob.R): at
 * Stan's points, the same unconstrained coordinates, log-density differences and gradients as
 * Stan's log_prob (Stan's `T[L, U]`, `weibull_lccdf`, `log_mix`); and a quick run of
 * posteriordb's pass rule (4 chains x 1000 draws; the full check is `npm run validate:references`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { sampleSync } from "../src/api/sample-sync.js";
import { compile } from "../src/compile/compile.js";
import { likelihoodModels, loadReferenceData } from "../examples/likelihoods.js";
import { projectRoot } from "../bench/paths.js";
import type { Reference } from "./posteriordb/models.js";
import { checkAgainstReference } from "./validate/pass-rule.js";

interface StanPoint {
  readonly values: Record<string, number | number[]>;
  readonly upars: number[];
  readonly log_prob: number;
  readonly gradient: number[];
}

const dir = (name: string) => join(projectRoot(), "test", "stan-references", name);
const worstRelative = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(b, (v, i) => Math.abs(a[i]! - v) / Math.max(1, Math.abs(v))));

describe.each(Object.keys(likelihoodModels))("%s", (name) => {
  const m = likelihoodModels[name]!(loadReferenceData(name));
  const ld = compile(m);
  const reference = JSON.parse(readFileSync(join(dir(name), "reference.json"), "utf8")) as Reference;

  test("Stan's unconstrained coordinates, log-density differences and gradients", () => {
    const points = (JSON.parse(readFileSync(join(dir(name), "stan-logprob.json"), "utf8")) as { points: StanPoint[] }).points;
    const ours = points.map((p) => ld.logDensity(ld.unconstrain(p.values)));
    for (const p of points) expect(worstRelative(ld.unconstrain(p.values), p.upars)).toBeLessThan(1e-12);
    for (let i = 1; i < points.length; i++) {
      const [dOurs, dStan] = [ours[i]! - ours[0]!, points[i]!.log_prob - points[0]!.log_prob];
      expect(Math.abs(dOurs - dStan), `points ${i}, 0: ${dOurs} vs Stan ${dStan}`).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(dStan)));
    }
    const g = new Float64Array(ld.dim);
    for (const p of points) {
      ld.logDensityGradient(Float64Array.from(p.upars), g);
      expect(worstRelative(g, p.gradient)).toBeLessThan(1e-8);
    }
  });

  test("posteriordb's pass rule against the rstan reference (4 chains x 1000 draws)", () => {
    const posterior = sampleSync(ld, { chains: 4, warmup: 1000, draws: 1000, seed: 20261130 });
    const check = checkAgainstReference(posterior, reference.parameters);
    expect(check.failures).toEqual([]);
    expect(Object.keys(reference.parameters).length).toBeGreaterThanOrEqual(3);
  });
});

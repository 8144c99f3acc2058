/**
 * Pareto smoothing (src/diagnostics/psis.ts) against R's loo 2.5.1: for every observation of
 * the fixture's cases, PSIS of the log ratios -log_lik with loo's tail length (from the
 * case's r_eff) gives loo's Pareto k and, through the smoothed weights, its pointwise elpd_loo.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { logSumExpOf } from "../src/diagnostics/logsumexp.js";
import { gpdFit, normalizeLogWeights, psis, psisTailLength, qgpd } from "../src/diagnostics/psis.js";

interface Case {
  readonly name: string;
  readonly log_lik: number[][][];
  readonly expected: { readonly r_eff: number[]; readonly pareto_k: number[]; readonly pointwise_elpd_loo: number[] };
}
const fixture = JSON.parse(readFileSync(join(__dirname, "fixtures", "loo-reference.json"), "utf8")) as { cases: Case[] };

describe("PSIS as R's loo", () => {
  for (const c of fixture.cases) {
    it(`${c.name}: Pareto k and pointwise elpd_loo to 1e-8`, () => {
      const n = c.expected.pareto_k.length;
      const draws = c.log_lik.flatMap((chain) => chain);
      for (let i = 0; i < n; i++) {
        const ll = Float64Array.from(draws, (d) => d[i]!);
        const tail = psisTailLength(ll.length, c.expected.r_eff[i]!);
        const r = psis(ll.map((v) => -v), tail);
        expect(r.paretoK).toBeCloseTo(c.expected.pareto_k[i]!, 8);
        const w = normalizeLogWeights(r.logWeights);
        const elpd = logSumExpOf(Float64Array.from(ll, (v, s) => v + Math.log(w[s]!)));
        const want = c.expected.pointwise_elpd_loo[i]!;
        expect(Math.abs(elpd - want)).toBeLessThan(1e-8 * Math.max(1, Math.abs(want)));
      }
    });
  }

  it("recovers the shape of a generalised Pareto sample", () => {
    // Exact quantiles of GPD(k = 0.5, sigma = 1) at evenly spaced probabilities.
    const x = Float64Array.from({ length: 2000 }, (_, i) => qgpd((i + 0.5) / 2000, 0.5, 1));
    const fit = gpdFit(x, false);
    expect(fit.k).toBeCloseTo(0.5, 1);
    expect(fit.sigma).toBeCloseTo(1, 1);
  });

  it("leaves short vectors unsmoothed (k = Inf) and truncates at the largest ratio", () => {
    const r = psis([0, 1, 2, 3], 2);
    expect(r.paretoK).toBe(Infinity);
    expect(Array.from(r.logWeights)).toEqual([0, 1, 2, 3]);
  });
});

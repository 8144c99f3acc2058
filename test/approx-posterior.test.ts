/** What the approximations' results print: SMC's warning when its independent runs disagree. */
import { describe, expect, it } from "vitest";
import { chainFromDraws, SmcPosterior } from "../src/api/approx-posterior.js";
import { Rng } from "../src/rng/index.js";

function smcResult(shifts: readonly number[]): SmcPosterior {
  const rng = Rng.fromSeed(2);
  const n = 500;
  const chains = shifts.map((shift, c) => chainFromDraws(c, Float64Array.from({ length: n }, () => shift + rng.normal()), n, 1, null, 0));
  return new SmcPosterior({
    names: ["x"],
    paramCount: 1,
    seed: 1,
    chains,
    numDraws: n,
    method: "smc",
    gradientEvaluations: 0,
    densityEvaluations: 0,
    seconds: 0,
    threads: 1,
    kernel: "imh",
    chainInfo: shifts.map((_, chain) => ({ chain, status: "completed" as const, error: null, logMarginalLikelihood: -1, stages: [] })),
  });
}

describe("SmcPosterior.formatSummary", () => {
  it("warns when the runs disagree (R-hat >= 1.01), naming the NUTS kernel", () => {
    expect(smcResult([0, 0, 3, 3]).formatSummary()).toMatch(/WARNING: the runs disagree \(max R-hat [\d.]+\): the mutations did not mix; try kernel: "nuts"/);
  });

  it("says nothing when they agree", () => {
    expect(smcResult([0, 0, 0, 0]).formatSummary()).not.toMatch(/WARNING/);
  });
});

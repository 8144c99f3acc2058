/**
 * A quick slice of the posteriordb validation inside `npm test`: a few posteriors of different
 * kinds, 4 chains x 500 warmup + 500 draws, judged by posteriordb's pass rule with the Monte
 * Carlo standard errors of this shorter run (the full suite: `npm run validate:posteriordb`).
 */
import { describe, expect, test } from "vitest";
import { sampleSync } from "../src/api/sample-sync.js";
import { compile } from "../src/compile/compile.js";
import { loadPosterior } from "./posteriordb/models.js";
import { checkAgainstReference } from "./validate/pass-rule.js";

const QUICK = [
  "kidiq-kidscore_momhs", // linear regression
  "eight_schools-eight_schools_noncentered", // hierarchical
  "garch-garch11", // recurrence through scan, a bound that depends on another parameter
  "low_dim_gauss_mix-low_dim_gauss_mix", // ordered, log_mix
  "hmm_example-hmm_example", // simplex, positive_ordered, forward algorithm
  "arK-arK", // lagged regression
  "mesquite-logmesquite", // 8 parameters
];

describe("posteriordb, quick", () => {
  for (const name of QUICK) {
    test(name, () => {
      const { model, reference } = loadPosterior(name);
      const control = (reference.reference_method as { method_arguments?: { control?: { adapt_delta?: number } } }).method_arguments?.control;
      const posterior = sampleSync(compile(model), { chains: 4, warmup: 500, draws: 500, seed: 20261121, targetAccept: control?.adapt_delta ?? 0.8 });
      const check = checkAgainstReference(posterior, reference.parameters);
      expect(check.failures).toEqual([]);
    });
  }
});

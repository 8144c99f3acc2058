/**
 * `npm run validate:smc`: SMC's must-shows with their figures.
 * 1. Log marginal likelihood against closed forms: a conjugate normal model and a Bayesian
 *    linear regression with a normal-inverse-gamma prior (estimate, Monte Carlo SE, exact).
 * 2. Mode weights on a two-mode target (0.3 / 0.7).
 * 3. posteriordb's pass rule (4 MCSE, R-hat < 1.01) on every posterior of test/posteriordb whose
 *    priors are proper (SMC starts from prior draws), with each mutation kernel: independent
 *    Metropolis-Hastings (PyMC's default) and NUTS moves. 4 runs x 2000 particles, seed 1.
 * Last line: `smc posteriordb: imh N/M passed, nuts K/M passed`.
 *
 *   node dist/test/validate/smc.js [--only a,b] [--kernels imh,nuts] [--seed 1]
 */
import { parseArgs } from "node:util";
import { smc } from "../../src/api/approx.js";
import type { SmcOptions } from "../../src/api/approx-options.js";
import { createWorkerPool } from "../../src/api/worker-pool.js";
import { priorSampler } from "../../src/compile/prior.js";
import { loadPosterior, posteriordbModels } from "../posteriordb/models.js";
import { conjugateNormal, nigRegression, twoModes } from "./smc-targets.js";
import { checkAgainstReference } from "./pass-rule.js";

const { values: args } = parseArgs({
  options: { only: { type: "string" }, kernels: { type: "string", default: "imh,nuts" }, seed: { type: "string", default: "1" } },
});
const seed = Number(args.seed);
const kernels = args.kernels!.split(",") as ("imh" | "nuts")[];
const pool = createWorkerPool({ threads: 2 });

if (args.only === undefined) {
  for (const [label, target] of [
    ["conjugate normal", conjugateNormal()],
    ["normal-inverse-gamma regression", nigRegression()],
  ] as const) {
    const p = await smc(target.model, { seed, pool }).result;
    const diff = p.logMarginalLikelihood - target.evidence;
    console.log(
      `evidence, ${label}: estimate ${p.logMarginalLikelihood.toFixed(4)} +- ${p.logMarginalLikelihoodSe.toFixed(4)} (MC SE, 4 runs), exact ${target.evidence.toFixed(4)}, ` +
        `difference ${diff.toFixed(4)} = ${(diff / p.logMarginalLikelihoodSe).toFixed(2)} SE; runs ${p.chainInfo.map((c) => c.logMarginalLikelihood.toFixed(4)).join(", ")}`,
    );
  }
  const modes = twoModes();
  const p = await smc(modes.model, { seed, pool }).result;
  const shares = p.draws("x").map((c) => c.filter((v) => v < 0).length / c.length);
  console.log(`mode weights (exact 0.3 / 0.7): left-mode share per run ${shares.map((s) => s.toFixed(3)).join(", ")}; log evidence ${p.logMarginalLikelihood.toFixed(3)} +- ${p.logMarginalLikelihoodSe.toFixed(3)} (exact ${modes.evidence.toFixed(3)})`);
}

const proper = Object.keys(posteriordbModels).filter((name) => {
  if (args.only !== undefined && !args.only.split(",").includes(name)) return false;
  try {
    priorSampler(loadPosterior(name).model);
    return true;
  } catch {
    return false;
  }
});
console.log(`\nposteriors with proper priors: ${proper.join(", ")}`);
const passed: Record<string, number> = {};
for (const kernel of kernels) {
  passed[kernel] = 0;
  for (const name of proper) {
    const { model, reference } = loadPosterior(name);
    const t0 = performance.now();
    const options: SmcOptions = { seed, pool, kernel };
    try {
      const p = await smc(model, options).result;
      const check = checkAgainstReference(p, reference.parameters);
      if (check.passed) passed[kernel]!++;
      console.log(
        `${kernel} ${name}: ${check.passed ? "pass" : "FAIL"} (${((performance.now() - t0) / 1000).toFixed(1)} s) stages ${p.chainInfo.map((c) => c.stages.length).join("/")}, ` +
          `worst |mean z| ${check.worstMeanZ.toFixed(2)}, worst sd ratio ${check.worstSdRatio.toFixed(3)}, max R-hat ${check.maxRhat.toFixed(3)}, min ESS ${check.minEss.toFixed(0)}, ` +
          `log evidence ${p.logMarginalLikelihood.toFixed(2)} +- ${p.logMarginalLikelihoodSe.toFixed(2)}, ${p.gradientEvaluations} gradients + ${p.densityEvaluations} log densities` +
          (check.failures.length ? `\n    ${check.failures.slice(0, 4).join("\n    ")}` : ""),
      );
    } catch (e) {
      console.log(`${kernel} ${name}: FAIL (${(e as Error).message})`);
    }
  }
}
await pool.close();
console.log(`smc posteriordb: ${kernels.map((k) => `${k} ${passed[k]}/${proper.length} passed`).join(", ")}`);

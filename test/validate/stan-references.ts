/**
 * `npm run validate:references`: the censored survival model, the truncated normal regression
 * and the two-component mixture (examples/likelihoods.ts) sampled by the supervised runtime
 * (`sample`: 4 chains on worker threads, 1000 warmup + 1000 draws, the runtime's defaults,
 * seed 1) and judged by posteriordb's pass rule (test/validate/pass-rule.ts) against the rstan
 * references of test/stan-references (scripts/stan-references.R: 10 chains x 10,000 draws).
 * Prints a line per model and a table; last line `stan references: N/3 passed`.
 *
 *   node dist/test/validate/stan-references.js [--seed 1]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sample } from "../../src/api/sample.js";
import { projectRoot } from "../../bench/paths.js";
import { likelihoodModels, loadReferenceData } from "../../examples/likelihoods.js";
import type { Reference } from "../posteriordb/models.js";
import { checkAgainstReference } from "./pass-rule.js";

const { values } = parseArgs({ options: { seed: { type: "string", default: "1" } } });
const seed = Number(values.seed);
let passed = 0;
const rows: string[] = [];
for (const [name, make] of Object.entries(likelihoodModels)) {
  const reference = JSON.parse(readFileSync(join(projectRoot(), "test", "stan-references", name, "reference.json"), "utf8")) as Reference;
  const started = performance.now();
  const posterior = await sample(make(loadReferenceData(name)), { chains: 4, warmup: 1000, draws: 1000, seed }).result;
  const seconds = (performance.now() - started) / 1000;
  const check = checkAgainstReference(posterior, reference.parameters);
  if (check.passed) passed++;
  console.log(`${name}: ${check.passed ? "pass" : "FAIL"} (${seconds.toFixed(1)} s)${check.failures.length ? "\n  " + check.failures.join("\n  ") : ""}`);
  rows.push(
    [name.padEnd(28), check.passed ? "yes" : "NO", check.worstMeanZ.toFixed(2).padStart(8), check.worstSdRatio.toFixed(3).padStart(8), String(check.divergences).padStart(5), check.minEss.toFixed(0).padStart(6), check.maxRhat.toFixed(3).padStart(6)].join("  "),
  );
}
console.log(`\n${"posterior".padEnd(28)}  pass  |mean z|  sd ratio   div  minESS  R-hat`);
for (const r of rows) console.log(r);
console.log(`\nruntime (sample), 4 chains x 1000 draws, seed ${seed}`);
console.log(`stan references: ${passed}/${Object.keys(likelihoodModels).length} passed`);

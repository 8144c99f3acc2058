/**
 * `npm run validate:references`: the censored survival model, the truncated normal regression
 * and the two-component mixture (examples/likelihoods.ts), and posteriordb's ODE posteriors
 * hudson_lynx_hare-lotka_volterra and sir-sir (their Stan programs through `stanModel`), sampled
 * by the supervised runtime (`sample`: 4 chains on worker threads, 1000 warmup + 1000 draws, the
 * runtime's defaults, seed 1) and judged by posteriordb's pass rule (test/validate/pass-rule.ts)
 * against the rstan references of test/stan-references (scripts/stan-references.R: 10 chains x
 * 10,000 draws; the ODE posteriors 10 x 6,000 and 10 x 5,000). sir's chains start where Stan's
 * did (its random inits are finite at 3 of 100 points: scripts/stan-logprob-corpus.R).
 * The ODE posteriors take tens of seconds each on 2 cores, too long for `npm test` (which checks
 * their log density and gradient against Stan's: test/ode/stan-ode-programs.test.ts and
 * test/ode/lotka-volterra.test.ts). A reference not yet made is reported as missing.
 * Prints a line per model and a table; last line `stan references: N/M passed`.
 *
 *   node dist/test/validate/stan-references.js [--seed 1] [--only name,name]
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sample } from "../../src/api/sample.js";
import type { Model } from "../../src/model/index.js";
import { stanModel } from "../../src/stan/index.js";
import { projectRoot } from "../../bench/paths.js";
import { likelihoodModels, loadReferenceData } from "../../examples/likelihoods.js";
import type { Reference } from "../posteriordb/models.js";
import { checkAgainstReference } from "./pass-rule.js";

const { values } = parseArgs({ options: { seed: { type: "string", default: "1" }, only: { type: "string" } } });
const seed = Number(values.seed);
const only = values.only?.split(",");
const dir = (name: string) => join(projectRoot(), "test", "stan-references", name);

/** posteriordb's ODE posteriors: the folder's Stan program and data, and where the chains start (Stan's too). */
const odeInits: Record<string, Record<string, number> | undefined> = {
  "hudson_lynx_hare-lotka_volterra": undefined,
  "sir-sir": { beta: 1, gamma: 0.2, xi: 10, delta: 0.35 },
};
const stanProgram = (name: string): Model =>
  stanModel(readFileSync(join(dir(name), "model.stan"), "utf8"), readFileSync(join(dir(name), "data.json"), "utf8"), {
    file: join("test", "stan-references", name, "model.stan"),
    onWarning: () => undefined,
  });
const models: [string, () => Model, Record<string, number> | undefined][] = [
  ...Object.entries(likelihoodModels).map(([name, make]): [string, () => Model, undefined] => [name, () => make(loadReferenceData(name)), undefined]),
  ...Object.entries(odeInits).map(([name, inits]): [string, () => Model, Record<string, number> | undefined] => [name, () => stanProgram(name), inits]),
].filter(([name]) => only === undefined || only.includes(name));

let passed = 0;
const rows: string[] = [];
for (const [name, make, inits] of models) {
  if (!existsSync(join(dir(name), "reference.json"))) {
    console.log(`${name}: no reference.json yet (scripts/stan-references.R ${name})`);
    rows.push(`${name.padEnd(31)}  missing`);
    continue;
  }
  const reference = JSON.parse(readFileSync(join(dir(name), "reference.json"), "utf8")) as Reference;
  const started = performance.now();
  const posterior = await sample(make(), { chains: 4, warmup: 1000, draws: 1000, seed, ...(inits !== undefined ? { inits } : {}) }).result;
  const seconds = (performance.now() - started) / 1000;
  const check = checkAgainstReference(posterior, reference.parameters);
  if (check.passed) passed++;
  console.log(`${name}: ${check.passed ? "pass" : "FAIL"} (${seconds.toFixed(1)} s)${check.failures.length ? "\n  " + check.failures.join("\n  ") : ""}`);
  rows.push(
    [name.padEnd(31), check.passed ? "yes" : "NO", check.worstMeanZ.toFixed(2).padStart(8), check.worstSdRatio.toFixed(3).padStart(8), String(check.divergences).padStart(5), check.minEss.toFixed(0).padStart(6), check.maxRhat.toFixed(3).padStart(6)].join("  "),
  );
}
console.log(`\n${"posterior".padEnd(31)}  pass  |mean z|  sd ratio   div  minESS  R-hat`);
for (const r of rows) console.log(r);
console.log(`\nruntime (sample), 4 chains x 1000 draws, seed ${seed}`);
console.log(`stan references: ${passed}/${models.length} passed`);

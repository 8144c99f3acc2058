/**
 * `npm run fuzz`: the long fuzz run. Every case in its own child process under a time limit
 * (`--batch` lets a child run cases one after another instead, as the fast slice in `npm
 * test` does). Prints every case that needs a look, then, as its last line,
 * `fuzz: N cases, typed errors T, untyped U, crashes or hangs C, injected I, accepted garbage G`.
 *
 * Options: --cases N (1200), --seed S (1), --jobs J (2), --timeout ms per case (60000), --batch.
 */
import { parseArgs } from "node:util";
import { generateCases, ISSUE_REPRODUCTION } from "./cases.js";
import { describeResult, problems, runCases, tally, tallyLine } from "./runner.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "1200" },
    seed: { type: "string", default: "1" },
    jobs: { type: "string", default: "2" },
    timeout: { type: "string", default: "60000" },
    batch: { type: "boolean", default: false },
  },
});
const n = Number(values.cases);
const cases = [{ id: 0, ...ISSUE_REPRODUCTION }, ...generateCases(n - 1, Number(values.seed)).map((c) => ({ ...c, id: c.id + 1 }))];
const t0 = Date.now();
let finished = 0;
const results = await runCases(cases, {
  jobs: Number(values.jobs),
  timeoutMs: Number(values.timeout),
  perCase: !values.batch,
  onResult: () => {
    if (++finished % 100 === 0) console.error(`${finished}/${cases.length} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  },
});
const t = tally(results);
for (const r of problems(results)) console.log(describeResult(r));
const byFamily = new Map<string, number>();
for (const r of results) byFamily.set(r.case.family.split(":")[0]!, (byFamily.get(r.case.family.split(":")[0]!) ?? 0) + 1);
console.log(`families: ${[...byFamily].map(([f, k]) => `${f} ${k}`).join(", ")}`);
console.log(`accepted (valid input, sane result) ${t.accepted}; typed errors on valid input ${t.falseRejects}; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(tallyLine(t));

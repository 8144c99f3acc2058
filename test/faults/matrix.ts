/**
 * `npm run test:faults`: every fault scenario (`scenarios.ts`) a few times, each judged by the
 * checker, then the matrix of scenarios x invariants (held, or what broke), and each fault's
 * recovery time (median and worst of its repeats). Exits 1 if any invariant broke.
 *
 *   --scenarios a,b   only these (default: all)
 *   --repeats N       runs of each scenario (default 3); fault lengths and moments vary over the repeats
 *                     (recovery "never": a chain the fault touched stored nothing after it began)
 *   --timings fast|default   runner timings: the tests' (lock expiration 4 s) or the defaults (15 s)
 *   --results FILE    also append each run's result to FILE (JSON lines) and print the matrix of
 *                     every run in it: the matrix can be run in pieces (a few scenarios each)
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { sample } from "../../src/api/sample.js";
import { compile } from "../../src/compile/index.js";
import { benchmarkModel } from "../../bench/models/index.js";
import { INVARIANTS } from "./checker.js";
import { chainDigest } from "./digest.js";
import { namespacesAvailable } from "./netns.js";
import { DEFAULT_TIMINGS, FAST_TIMINGS } from "./harness.js";
import { runScenario, SCENARIOS, type ScenarioName, type ScenarioResult, type Workload } from "./scenarios.js";

// Interrupted: exit through the process's exit handlers (they kill the children and delete the namespaces).
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
const { values } = parseArgs({ options: { scenarios: { type: "string" }, repeats: { type: "string" }, timings: { type: "string" }, results: { type: "string" } } });
const why = namespacesAvailable();
if (why !== null) {
  process.stderr.write(`test:faults needs network namespaces: ${why}\n`);
  process.exit(2);
}
const chosen = (values.scenarios?.split(",") ?? SCENARIOS) as ScenarioName[];
for (const s of chosen) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (known: ${SCENARIOS.join(", ")})`);
const repeats = Number(values.repeats ?? 3);
const timings = values.timings === "default" ? DEFAULT_TIMINGS : FAST_TIMINGS;
// The default metric (Stan's diag), whose warmup this workload extends twice (to 250 iterations).
const workload: Workload = { chains: 4, warmup: 100, draws: 400, seed: 11 };

const t0 = performance.now();
const reference = await sample(compile(benchmarkModel("logistic")), { ...workload, progress: false }).result;
const ref = { chains: reference.chains, digests: reference.chains.map(chainDigest) };
console.log(`local reference run (${workload.chains} x (${workload.warmup} + ${workload.draws}), seed ${workload.seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const results: ScenarioResult[] = [];
for (const scenario of chosen) {
  for (let i = 0; i < repeats; i++) {
    // Fault lengths vary over the repeats (past the lease, 4 s fast or 15 s default, by more each
    // time), and so does the fault's moment (after 2, 3, 4 chunks of every chain: with 6 some
    // chains of this short workload had finished before the fault, which then touched nothing).
    const faultSeconds = (values.timings === "default" ? 20 : 8) + 4 * i;
    const faultAfterChunks = 2 + (i % 3);
    let r: ScenarioResult;
    try {
      r = await runScenario(scenario, { workload, reference: ref, faultSeconds, faultAfterChunks, runnerArgs: timings, log: (l) => console.log(`  ${l}`) });
      console.log(`  ${scenario}: ${INVARIANTS.map((inv) => `${inv} ${r.verdicts[inv]?.held ? "held" : `BROKE (${r.verdicts[inv]?.detail})`}`).join(", ")}`);
    } catch (e) {
      console.log(`  ${scenario}: the harness failed: ${e instanceof Error ? e.message : String(e)}`);
      r = { scenario, verdicts: {}, recoverySeconds: null, runSeconds: NaN, status: "harness failed", fenced: 0 };
    }
    results.push(r);
    if (values.results !== undefined) appendFileSync(values.results, `${JSON.stringify({ ...r, faultSeconds, faultAfterChunks })}\n`);
  }
}
// With --results: the matrix of every run recorded there (earlier pieces too).
const all: ScenarioResult[] =
  values.results !== undefined && existsSync(values.results)
    ? readFileSync(values.results, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as ScenarioResult)
    : results;
const shown = SCENARIOS.filter((s) => all.some((r) => r.scenario === s));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
// This invocation's runs decide the exit status; the table shows every recorded run.
const broken = results.reduce((n, r) => n + INVARIANTS.filter((inv) => r.verdicts[inv] === undefined || !r.verdicts[inv]!.held).length, 0);
console.log(`\n| scenario | ${INVARIANTS.join(" | ")} | recovery median / worst (s) | runs |`);
console.log(`|---|${INVARIANTS.map(() => "---").join("|")}|---|---|`);
for (const scenario of shown) {
  const rs = all.filter((r) => r.scenario === scenario);
  const cells = INVARIANTS.map((inv) => {
    const vs = rs.map((r) => r.verdicts[inv]);
    const bad = vs.filter((v) => v === undefined || !v.held).length;
    return bad === 0 ? `held ${vs.length}/${vs.length}` : `BROKE ${bad}/${vs.length}`;
  });
  const rec = rs.map((r) => r.recoverySeconds).filter((x): x is number => x !== null);
  const never = rs.length - rec.length;
  console.log(`| ${scenario} | ${cells.join(" | ")} | ${rec.length ? `${median(rec).toFixed(1)} / ${Math.max(...rec).toFixed(1)}` : "-"}${never ? ` (${never} never)` : ""} | ${rs.map((r) => r.status).join(", ")} |`);
}
console.log("\nwhat broke:");
for (const r of results) for (const inv of INVARIANTS) if (r.verdicts[inv] !== undefined && !r.verdicts[inv]!.held) console.log(`  ${r.scenario}: ${inv}: ${r.verdicts[inv]!.detail}`);
console.log(`\nfenced replies (refused by the database from runners that had lost the shard): ${results.map((r) => `${r.scenario} ${r.fenced}`).join(", ")}`);
console.log(`test:faults: ${broken === 0 ? "every invariant held" : `${broken} violations`} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exit(broken === 0 ? 0 : 1);

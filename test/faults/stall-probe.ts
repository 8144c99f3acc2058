/**
 * A probe (not a test): one fault scenario, then the store's history of every request of the run
 * (stored, read by whom, replied by whom) and the runners' logs around the fault, to find why a
 * chain stalled. `node dist/test/faults/stall-probe.js SCENARIO FAULT_SECONDS AFTER_CHUNKS`.
 */
import { sample } from "../../src/api/sample.js";
import { compile } from "../../src/compile/index.js";
import { benchmarkModel } from "../../bench/models/index.js";
import { chainDigest } from "./digest.js";
import { runScenario, type ScenarioName, type Workload } from "./scenarios.js";

const [scenario, seconds, after] = process.argv.slice(2) as [ScenarioName, string, string];
const workload: Workload = { chains: 4, warmup: 100, draws: 400, seed: 11 };
const reference = await sample(compile(benchmarkModel("logistic")), { ...workload, progress: false }).result;
const r = await runScenario(scenario, {
  workload,
  reference: { chains: reference.chains, digests: reference.chains.map(chainDigest) },
  faultSeconds: Number(seconds),
  faultAfterChunks: Number(after ?? 2),
  log: (l) => console.log(l),
  inspect: (c, run) => {
    console.log(c.query(`SELECT m.id, m.entity_id, m.payload::json->>'seq' AS seq, m.payload::json->>'attempt' AS att, to_char(m.stored_at, 'HH24:MI:SS.MS') AS stored FROM fault_messages m WHERE m.entity_id LIKE '${run}/%' AND m.tag = 'RunChunk' ORDER BY m.stored_at`));
    console.log("--- reads");
    console.log(c.query(`SELECT f.id, to_char(f.at, 'HH24:MI:SS.MS'), f.session FROM fault_reads f JOIN fault_messages m ON m.id = f.id WHERE m.entity_id LIKE '${run}/%' ORDER BY f.at`));
    console.log("--- replies");
    console.log(c.query(`SELECT r.request_id, r.kind, to_char(r.stored_at, 'HH24:MI:SS.MS'), r.session FROM fault_replies r JOIN fault_messages m ON m.id = r.request_id WHERE m.entity_id LIKE '${run}/%' ORDER BY r.stored_at`));
    console.log("--- locks");
    console.log(c.query(`SELECT shard_id, address, to_char(at, 'HH24:MI:SS.MS') FROM fault_locks WHERE at > (SELECT min(stored_at) FROM fault_messages) ORDER BY at LIMIT 40`));
    for (const [i, rr] of c.runners.entries()) console.log(`--- runner ${i} ${rr.address}\n${rr.log.join("").slice(-12000)}`);
  },
});
console.log(JSON.stringify({ ...r, verdicts: Object.fromEntries(Object.entries(r.verdicts).map(([k, v]) => [k, v?.held])) }));
process.exit(0);

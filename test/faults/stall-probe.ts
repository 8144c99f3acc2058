/**
 * A probe (not a test): one fault scenario, then the store's history of every request of the run
 * (stored, read by whom, replied by whom) and the runners' logs around the fault, to find why a
 * chain stalled. `node dist/test/faults/stall-probe.js SCENARIO FAULT_SECONDS AFTER_CHUNKS [--lost-send]`.
 *
 * `--lost-send`: the database holds the first write of chain 0's chunk 3 for 30 s (a trigger
 * that sleeps before the insert), as a send whose connection never answers: the client must
 * find the request missing and send it again (D180) long before that.
 */
import { sample } from "../../src/api/sample.js";
import { compile } from "../../src/compile/index.js";
import { benchmarkModel } from "../../bench/models/index.js";
import { chainDigest } from "./digest.js";
import type { FaultCluster } from "./harness.js";
import { runScenario, type ScenarioName, type Workload } from "./scenarios.js";

const [scenario, seconds, after, mode] = process.argv.slice(2) as [ScenarioName, string, string, string | undefined];
const LOST_SEND = `CREATE SEQUENCE probe_lost;
CREATE FUNCTION probe_lost_send() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.message_id LIKE '%/0/RunChunk/3.0' AND nextval('probe_lost') = 1 THEN PERFORM pg_sleep(30); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER probe_lost_send BEFORE INSERT ON cluster_messages FOR EACH ROW EXECUTE FUNCTION probe_lost_send();`;
const workload: Workload = { chains: 4, warmup: 100, draws: 400, seed: 11 };
const reference = await sample(compile(benchmarkModel("logistic")), { ...workload, progress: false }).result;
const r = await runScenario(scenario, {
  workload,
  reference: { chains: reference.chains, digests: reference.chains.map(chainDigest) },
  faultSeconds: Number(seconds),
  faultAfterChunks: Number(after ?? 2),
  log: (l) => console.log(l),
  ...(mode === "--lost-send" ? { prepare: (c: FaultCluster) => void c.query(LOST_SEND) } : {}),
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

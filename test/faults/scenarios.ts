/**
 * The fault scenarios (the nemesis): each starts a cluster (`harness.ts`), a client run of
 * the `logistic` model, waits until every chain has stored a few chunks, injects its fault,
 * heals it after a set time, waits for the run to settle within a bound, and hands the store
 * to the checker (`checker.ts`). Recovery is read from the store: the longest a chain that
 * the fault touched went without a stored chunk after the fault began.
 */
import type { ChainResult } from "../../src/api/posterior.js";
import type { MetricKind } from "../../src/inference/index.js";
import { check, longestStall, type Verdicts } from "./checker.js";
import { FAST_TIMINGS, startFaultCluster, type ClientRun, type ClusterOptions, type FaultCluster } from "./harness.js";

export type ScenarioName =
  | "runner-kill"
  | "runner-freeze"
  | "partition-runner-db"
  | "partition-runner-client"
  | "partition-client-db"
  | "partition-client-db-long"
  | "partition-half"
  | "db-restart-fast"
  | "db-restart-immediate"
  | "db-kill"
  | "link-slow"
  | "link-resets";

export const SCENARIOS: readonly ScenarioName[] = [
  "runner-kill",
  "runner-freeze",
  "partition-runner-db",
  "partition-runner-client",
  "partition-client-db",
  "partition-client-db-long",
  "partition-half",
  "db-restart-fast",
  "db-restart-immediate",
  "db-kill",
  "link-slow",
  "link-resets",
];

export interface Workload {
  readonly chains: number;
  readonly warmup: number;
  readonly draws: number;
  readonly seed: number;
  readonly metric?: MetricKind;
}

export interface Reference {
  readonly chains: readonly ChainResult[];
  readonly digests: readonly string[];
}

export interface ScenarioOptions {
  readonly workload: Workload;
  readonly reference: Reference;
  /** How long the fault lasts before it is healed (seconds). */
  readonly faultSeconds: number;
  /** The fault comes once every chain has stored this many chunks (2; repeats vary it, so the fault falls at other moments). */
  readonly faultAfterChunks?: number;
  readonly runners?: number;
  /** Runner options (timings); default `FAST_TIMINGS`. */
  readonly runnerArgs?: readonly string[];
  /** The most the run may take (seconds) before it counts as hung. */
  readonly boundSeconds?: number;
  readonly log?: (line: string) => void;
  /** Called with the cluster before the client starts (to set a trap in the store). */
  readonly prepare?: (cluster: FaultCluster) => void;
  /** Called with the cluster and the run once the run has settled, before anything is stopped (to look at the store and the logs). */
  readonly inspect?: (cluster: FaultCluster, run: string) => void;
}

export interface ScenarioResult {
  readonly scenario: ScenarioName;
  readonly verdicts: Verdicts;
  /** Longest stall of a chain the fault touched, during the fault (s; `longestStall`); null: one never moved again. */
  readonly recoverySeconds: number | null;
  readonly runSeconds: number;
  readonly status: string;
  /** Replies the database refused from runners that no longer held the chain's shard (the fence). */
  readonly fenced: number;
}

const NETNS: ReadonlySet<ScenarioName> = new Set(["partition-runner-db", "partition-runner-client", "partition-client-db", "partition-client-db-long", "partition-half"]);
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/** Runs until every chain has stored `n` replies (or throws after `timeout` s). */
async function waitForProgress(c: FaultCluster, client: ClientRun, chains: number, n: number, timeout = 180): Promise<string> {
  const t0 = performance.now();
  for (;;) {
    const run = client.run();
    if (run !== null) {
      const counts = c.query(`SELECT count(*) FROM fault_replies r JOIN fault_messages m ON m.id = r.request_id WHERE m.entity_id LIKE '${run}/%' GROUP BY m.entity_id HAVING count(*) >= ${n}`);
      if (counts !== "" && counts.split("\n").length >= chains) return run;
    }
    if ((performance.now() - t0) / 1000 > timeout) throw new Error(`the run made no progress within ${timeout} s:\n${client.stderr.join("").slice(-2000)}`);
    await sleep(0.25);
  }
}

/** The chains whose last stored chunk came from `address`. */
function chainsOf(c: FaultCluster, run: string, address: string): number[] {
  const rows = c.query(
    `SELECT DISTINCT ON (m.entity_id) split_part(m.entity_id, '/', 2), r.session FROM fault_replies r JOIN fault_messages m ON m.id = r.request_id WHERE m.entity_id LIKE '${run}/%' ORDER BY m.entity_id, r.stored_at DESC`,
  );
  return rows
    .split("\n")
    .filter((l) => l.endsWith(` ${address}`))
    .map((l) => Number(l.split("|")[0]));
}

/** The runner holding the most chains (its index). */
function busiest(c: FaultCluster, run: string): number {
  const counts = c.runners.map((r) => chainsOf(c, run, r.address).length);
  return counts.indexOf(Math.max(...counts));
}

export async function runScenario(scenario: ScenarioName, options: ScenarioOptions): Promise<ScenarioResult> {
  const log = options.log ?? (() => undefined);
  const w = options.workload;
  const runners = options.runners ?? 2;
  const long = scenario === "partition-client-db-long";
  const clusterOptions: ClusterOptions = {
    runners,
    netns: NETNS.has(scenario),
    runnerArgs: [...(options.runnerArgs ?? FAST_TIMINGS), "--sweep-every", "1", "--sweep-grace", "1"],
    // The whole run on slow, jittery, lossy links to the runners: 200 +- 50 ms each way, 5% of connections reset.
    ...(scenario === "link-slow" ? { link: { latencyMs: 200, jitterMs: 50, resetShare: 0.05, resetWithinMs: 20_000 } } : {}),
    // The whole run on links that reset their connection on 5% of the messages (either way).
    ...(scenario === "link-resets" ? { link: { resetPerMessage: 0.05 } } : {}),
    // A client cut off from the database longer than its lease: its chunks are refused and time out, its chains fail.
    // Otherwise the default lease (30 s, renewed every 10 s): a shorter one lapses during an 8 s cut
    // (the renewal before the cut may be a third of a lease old), and the run's chunks are refused.
    workload: { ...w, lease: long ? "4 seconds" : "30 seconds", replyTimeout: long ? "6 seconds" : "60 seconds", chunkTimeout: long ? "4 seconds" : "60 seconds" },
  };
  const c = await startFaultCluster(scenario.replace(/-/g, "_"), clusterOptions);
  let client: ClientRun | null = null;
  try {
    options.prepare?.(c);
    client = c.startClient();
    const t0 = performance.now();
    const run = await waitForProgress(c, client, w.chains, options.faultAfterChunks ?? 2);
    const victimIndex = busiest(c, run);
    const victim = c.runners[victimIndex]!;
    const victimNode = `r${victimIndex}`;
    let touched = Array.from({ length: w.chains }, (_, i) => i);
    const faultAt = c.dbNow();
    log(`${scenario}: fault at ${((performance.now() - t0) / 1000).toFixed(1)} s of the run`);
    switch (scenario) {
      case "runner-kill":
        touched = chainsOf(c, run, victim.address);
        await victim.kill();
        break;
      case "runner-freeze":
        touched = chainsOf(c, run, victim.address);
        process.kill(victim.pid, "SIGSTOP");
        await sleep(options.faultSeconds);
        process.kill(victim.pid, "SIGCONT");
        break;
      case "partition-runner-db":
      case "partition-runner-client":
        touched = chainsOf(c, run, victim.address);
        c.topology!.cut(victimNode, scenario === "partition-runner-db" ? "db" : "client");
        await sleep(options.faultSeconds);
        c.topology!.heal(victimNode, scenario === "partition-runner-db" ? "db" : "client");
        break;
      case "partition-client-db":
      case "partition-client-db-long":
        c.topology!.cut("client", "db");
        await sleep(options.faultSeconds);
        c.topology!.heal("client", "db");
        break;
      case "partition-half":
        for (let i = 0; i < runners / 2; i++) for (let j = Math.ceil(runners / 2); j < runners; j++) c.topology!.cut(`r${i}`, `r${j}`);
        await sleep(options.faultSeconds);
        for (let i = 0; i < runners / 2; i++) for (let j = Math.ceil(runners / 2); j < runners; j++) c.topology!.heal(`r${i}`, `r${j}`);
        break;
      case "link-slow":
      case "link-resets":
        break;
      case "db-restart-fast":
      case "db-restart-immediate":
      case "db-kill":
        await c.pg.restart(scenario === "db-restart-fast" ? "fast" : scenario === "db-restart-immediate" ? "immediate" : "kill", options.faultSeconds * 1000);
        break;
    }
    const healedAt = c.dbNow();
    const bound = options.boundSeconds ?? 300;
    const timer = sleep(Math.max(1, bound - (performance.now() - t0) / 1000)).then(() => "timeout" as const);
    const outcome = await Promise.race([client.done, timer]);
    const seconds = (performance.now() - t0) / 1000;
    if (outcome === "timeout") await client.kill();
    const settled = outcome === "timeout" ? null : outcome;
    // What a client that could not end its run left is swept by the runners (1 s of grace here).
    const leftovers = () => c.query(`SELECT count(*) FROM cluster_messages WHERE entity_id LIKE '${run}/%'`);
    for (let i = 0; i < 40 && leftovers() !== "0"; i++) await sleep(0.5);
    const verdicts = check({
      cluster: c,
      run,
      outcome: settled,
      seconds,
      boundSeconds: bound,
      mayFail: long,
      reference: options.reference.chains,
      referenceDigests: options.reference.digests,
    });
    const recoverySeconds = longestStall(c, run, faultAt, healedAt, touched);
    const fenced = c.pg.logLines(/no longer holds shard|no longer exists/).length;
    options.inspect?.(c, run);
    if (scenario === "link-slow" || scenario === "link-resets") log(`${scenario}: ${c.proxies.reduce((a, x) => a + x.connections(), 0)} connections through the proxies, ${c.proxies.reduce((a, x) => a + x.resets(), 0)} reset`);
    const left = await c.stop();
    const processes = left.processes.length === 0 && left.namespaces.length === 0;
    verdicts.noProcessLeft = { held: processes, detail: processes ? "none" : `processes ${left.processes.join(", ")}; namespaces ${left.namespaces.join(", ")}` };
    const status = settled?.done?.status ?? settled?.error ?? "hung";
    log(`${scenario}: ${status} in ${seconds.toFixed(1)} s; recovery ${recoverySeconds?.toFixed(1) ?? "never"} s; fenced replies ${fenced}`);
    return { scenario, verdicts, recoverySeconds, runSeconds: seconds, status, fenced };
  } catch (e) {
    await client?.kill();
    await c.stop();
    throw e;
  }
}

/**
 * Chains across processes (`npm run bench:cluster`, runs from dist/): a throw-away
 * PostgreSQL, runner processes (`bin/bayests-runner.js`) on loopback, and the same run on
 * the local pool, on this 2-core machine.
 *
 * The run: the `logistic` benchmark model, 8 chains x (300 + draws) (`--draws`, 1000), seed 1,
 * the defaults otherwise (a cluster's chunks aim at 250 ms of compute, the local pool's at
 * 50 ms). Configurations, each with a database of its own and its runners kept between
 * repeats (warm, as the local pool: a shared `createWorkerPool` that ran the model first):
 *
 *   local 1t / local 2t   the local pool with 1 and 2 threads
 *   1 runner x 2t         one runner process with 2 threads (all of this machine's cores)
 *   2 runners x 1t        two runner processes of 1 thread each
 *   3 runners x 1t        three of 1 thread each (more threads than cores)
 *
 * Every configuration runs once untimed (warm-up), then `--reps` (3) times interleaved, the
 * order rotating. Reported per configuration (medians over repeats): wall seconds,
 * throughput (draws a second, warmup included), efficiency (the local 2-thread wall /
 * this wall: the share of the local pool's throughput on the same two cores); per chunk:
 * the round trip (request to reply, as the client sees it), the time on the runner (from the
 * request reaching the entity to its reply: queueing behind other chains' chunks and the
 * compute), the transport (round trip minus time on the runner: network, storage, the
 * cluster's machinery), and bytes: the signed request (mean and largest) and reply bodies,
 * what the client's sockets carried to the runners (cluster RPC) and to the database, and
 * what the runners' sockets carried to the database (read from their goodbye line; it
 * includes their idle polling). CPU seconds of the whole run (/proc: this process with its
 * threads, the runner processes, PostgreSQL and its backends) and their ratio to the local
 * 2-thread run's: less noisy than the wall on a shared machine, and the cluster path's cost in
 * work rather than in waiting.
 *
 * Failover: 3 runners x 1 thread with the tests' timings (lock expiration 4 s, health check
 * every 1 s); once every chain samples, the runner holding the most chains is SIGKILLed.
 * Recovery = from the kill to the first reply from its new runner of the last chain that
 * moved. The run's draws must equal the local pool's, bit for bit (checked).
 *
 * Distance (`--latency-ms`, 50; 0 leaves it out): the 1-runner x 2-thread configuration again,
 * every connection to the runner through a TCP proxy (`test/faults/proxy.ts`) that delays each
 * chunk of bytes by that much each way (a round trip costs twice it): the cost of distance on
 * the wire protocol, beside the loopback figure.
 *
 * `--only local,1x2,far` runs only those configurations (names: local1, local2, 1x2, 2x1, 3x1,
 * far: the distance one), and `--no-failover` leaves the failover run out: the pieces of the
 * bench fit a short quiet slot of a shared machine. local2 is always run (the reference).
 *
 * Last line: `cluster: overhead vs local pool X% ; failover recovery Y s`, where X is the
 * wall-clock overhead of one runner process with 2 threads against the local pool with 2
 * threads (the whole cost of the cluster path, no placement imbalance: see the table for
 * 2 and 3 runners, where chains hash to runners unevenly).
 */
import { parseArgs } from "node:util";
import type { RunEvent } from "../actors/events.js";
import type { Posterior } from "../src/api/posterior.js";
import { sample } from "../src/api/sample.js";
import type { SampleOptions } from "../src/api/sample-options.js";
import { createWorkerPool } from "../src/api/worker-pool.js";
import { compile } from "../src/compile/index.js";
import { startPostgres } from "../test/helpers/postgres.js";
import { cpuSeconds, cpuSecondsWithChildren } from "../test/helpers/proc-cpu.js";
import { FAST_FAILOVER, startRunner, waitForShards, type RunnerProcess } from "../test/helpers/runners.js";
import { freePort } from "../supervisors/cluster/free-port.js";
import { startProxy, type FaultProxy } from "../test/faults/proxy.js";
import { benchmarkModel } from "./models/index.js";

const { values } = parseArgs({
  options: { draws: { type: "string" }, reps: { type: "string" }, "latency-ms": { type: "string" }, only: { type: "string" }, "no-failover": { type: "boolean" } },
});
const ONLY = values.only === undefined ? null : new Set(["local2", ...values.only.split(",")]);
const wanted = (name: string) => ONLY === null || ONLY.has(name);
const LATENCY_MS = Number(values["latency-ms"] ?? 50);
const DRAWS = Number(values.draws ?? 1000);
const REPS = Number(values.reps ?? 3);
const KEY = "bench-cluster-key-0123456789abcdef";
const CHAINS = 8;
const WARMUP = 300;

const FAR = `1 runner x 2t @${LATENCY_MS}ms`;
const density = compile(benchmarkModel("logistic"));
const base: SampleOptions = { chains: CHAINS, warmup: WARMUP, draws: DRAWS, seed: 1, progress: false };

interface Measured {
  readonly wall: number;
  readonly stats: Extract<RunEvent, { type: "cluster-stats" }> | null;
  readonly posterior: Posterior;
  /** CPU seconds during the run: this process (the client), the runners (all their threads), PostgreSQL. */
  readonly cpu: { readonly client: number; readonly runners: number; readonly database: number };
}

let databasePid: number | null = null;

async function timed(options: SampleOptions, runners: readonly RunnerProcess[] = []): Promise<Measured> {
  const run = sample(density, options);
  let stats: Measured["stats"] = null;
  run.events$.subscribe((e) => {
    if (e.type === "cluster-stats") stats = e;
  });
  const runnersCpu = () => runners.reduce((a, r) => a + cpuSeconds(r.pid), 0);
  const dbCpu = () => (databasePid === null ? 0 : cpuSecondsWithChildren(databasePid));
  const c0 = process.cpuUsage();
  const r0 = runnersCpu();
  const d0 = dbCpu();
  const t0 = performance.now();
  const posterior = await run.result;
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = { client: (c.user + c.system) / 1e6, runners: runnersCpu() - r0, database: dbCpu() - d0 };
  return { wall, stats, posterior, cpu };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function sameDraws(a: Posterior, b: Posterior): boolean {
  if (a.numDraws !== b.numDraws || a.numWarmup !== b.numWarmup) return false;
  return a.chains.every((x, c) => {
    const y = b.chains[c]!;
    const same = (p: ArrayLike<number>, q: ArrayLike<number>) => p.length === q.length && Array.prototype.every.call(p, (v: number, i: number) => Object.is(v, q[i]));
    return same(x.values, y.values) && same(x.stats.lp, y.stats.lp) && same(x.warmupStats.stepSize, y.warmupStats.stepSize);
  });
}

interface Config {
  readonly name: string;
  readonly threads: number;
  readonly options: () => SampleOptions;
  readonly runners: RunnerProcess[];
  readonly results: Measured[];
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  databasePid = pg.pid;
  const configs: Config[] = [];
  const pools = [createWorkerPool({ threads: 1 }), createWorkerPool({ threads: 2 })];
  const proxies: FaultProxy[] = [];
  try {
    configs.push({ name: "local 2t", threads: 2, options: () => ({ ...base, pool: pools[1]! }), runners: [], results: [] });
    if (wanted("local1")) configs.push({ name: "local 1t", threads: 1, options: () => ({ ...base, pool: pools[0]! }), runners: [], results: [] });
    for (const [n, threads] of [
      [1, 2],
      [2, 1],
      [3, 1],
    ] as const) {
      if (!wanted(`${n}x${threads}`)) continue;
      const database = await pg.createDatabase(`bench_${n}`);
      const runners: RunnerProcess[] = [];
      for (let i = 0; i < n; i++) runners.push(await startRunner({ database, key: KEY, threads }));
      await waitForShards(database, n);
      configs.push({ name: `${n} runner${n > 1 ? "s" : ""} x ${threads}t`, threads: n * threads, options: () => ({ ...base, cluster: { database, key: KEY } }), runners, results: [] });
    }
    if (LATENCY_MS > 0 && wanted("far")) {
      // The runner listens on 127.0.0.1 and registers 127.0.0.2, where the proxy listens.
      const database = await pg.createDatabase("bench_latency");
      const port = await freePort();
      proxies.push(await startProxy({ listenHost: "127.0.0.2", listenPort: port, targetHost: "127.0.0.1", targetPort: port, latencyMs: LATENCY_MS }));
      const runner = await startRunner({ database, key: KEY, threads: 2, host: "127.0.0.2", args: ["--port", String(port), "--listen-host", "127.0.0.1"] });
      await waitForShards(database, 1);
      configs.push({ name: FAR, threads: 2, options: () => ({ ...base, cluster: { database, key: KEY } }), runners: [runner], results: [] });
    }
    process.stderr.write(`bench:cluster: logistic, ${CHAINS} x (${WARMUP} + ${DRAWS}), ${REPS} repeats; warming up\n`);
    for (const c of configs) await timed(c.options(), c.runners);
    for (let r = 0; r < REPS; r++) {
      for (let k = 0; k < configs.length; k++) {
        const c = configs[(k + r) % configs.length]!;
        const m = await timed(c.options(), c.runners);
        c.results.push(m);
        process.stderr.write(`  rep ${r + 1}: ${c.name.padEnd(16)} ${m.wall.toFixed(2)} s\n`);
      }
    }
    const reference = configs[0]!.results[0]!.posterior;
    for (const c of configs) for (const m of c.results) if (!sameDraws(m.posterior, reference)) throw new Error(`${c.name}: draws differ from the local pool's`);

    // Runners say what their sockets carried when they leave.
    for (const c of configs) await Promise.all(c.runners.map((r) => r.stop()));
    const iterations = CHAINS * (WARMUP + DRAWS);
    const local2 = median(configs[0]!.results.map((m) => m.wall));
    const cpuOf = (m: Measured) => m.cpu.client + m.cpu.runners + m.cpu.database;
    const local2Cpu = median(configs[0]!.results.map(cpuOf));
    const rows: string[][] = [
      ["configuration", "wall s", "draws/s", "efficiency", "CPU s", "CPU x", "chunks", "round trip ms", "on runner ms", "transport ms", "request B", "largest B", "reply B", "client RPC B", "client DB B", "runners DB B"],
    ];
    const kb = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(0)}k` : x.toFixed(0));
    for (const c of configs) {
      const wall = median(c.results.map((m) => m.wall));
      const cpu = median(c.results.map(cpuOf));
      const row = [c.name, wall.toFixed(2), (iterations / wall).toFixed(0), (local2 / wall).toFixed(2), cpu.toFixed(1), (cpu / local2Cpu).toFixed(2)];
      if (c.runners.length === 0) {
        rows.push([...row, ...Array.from({ length: rows[0]!.length - row.length }, () => "")]);
        continue;
      }
      const stats = c.results.map((m) => m.stats!);
      const chunks = median(stats.map((s) => s.chunks));
      const per = (f: (s: (typeof stats)[number]) => number) => median(stats.map((s) => f(s) / s.chunks));
      const runnerDb = (await Promise.all(c.runners.map((r) => r.stopped))).reduce((a, s) => a + (s?.wireBytes.database ?? 0), 0);
      // Every run of this configuration (the warm-up too) went through its runners.
      const allChunks = stats.reduce((a, s) => a + s.chunks, 0) * ((REPS + 1) / REPS);
      rows.push([
        ...row,
        chunks.toFixed(0),
        per((s) => 1000 * s.roundTripSeconds).toFixed(0),
        per((s) => 1000 * s.runnerSeconds).toFixed(0),
        per((s) => 1000 * (s.roundTripSeconds - s.runnerSeconds)).toFixed(1),
        kb(per((s) => s.requestBytes)),
        kb(median(stats.map((s) => s.largestRequestBytes))),
        kb(per((s) => s.replyBytes)),
        kb(per((s) => s.wireBytes!.cluster)),
        kb(per((s) => s.wireBytes!.database)),
        kb(runnerDb / allChunks),
      ]);
    }
    const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
    for (const r of rows) console.log(r.map((x, j) => (j === 0 ? x.padEnd(widths[j]!) : x.padStart(widths[j]!))).join("  "));

    const recovery = values["no-failover"] === true ? null : await failover(pg, reference);
    const wallOf = (name: string) => {
      const c = configs.find((x) => x.name === name);
      return c === undefined ? null : median(c.results.map((m) => m.wall));
    };
    const oneRunner = wallOf("1 runner x 2t");
    const far = wallOf(FAR);
    if (far !== null && oneRunner !== null) {
      console.log(`distance: 1 runner x 2t at ${LATENCY_MS} ms each way ${far.toFixed(2)} s against ${oneRunner.toFixed(2)} s on loopback (+${(100 * (far / oneRunner - 1)).toFixed(1)}%)`);
    }
    const overhead = oneRunner === null ? "not run" : `${(100 * (oneRunner / local2 - 1)).toFixed(1)}%`;
    console.log(`cluster: overhead vs local pool ${overhead} ; failover recovery ${recovery === null ? "not run" : `${recovery.toFixed(1)} s`}`);
  } finally {
    for (const c of configs) await Promise.all(c.runners.map((r) => r.kill()));
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await pg.stop();
  }
}

/** A 3-runner run whose busiest runner is SIGKILLed once every chain samples; seconds from the kill to the last moved chain's reply. */
async function failover(pg: Awaited<ReturnType<typeof startPostgres>>, reference: Posterior): Promise<number> {
  const database = await pg.createDatabase("bench_failover");
  const runners: RunnerProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) runners.push(await startRunner({ database, key: KEY, args: FAST_FAILOVER }));
    await waitForShards(database, 3);
    const run = sample(density, { ...base, cluster: { database, key: KEY } });
    const placed = new Map<number, string>();
    let killedAt = 0;
    let victim: string | null = null;
    let last = 0;
    const moved: string[] = [];
    run.events$.subscribe((e) => {
      if (e.type === "chain-placed") placed.set(e.chain, e.runner);
      if (e.type === "chain-moved") {
        last = performance.now();
        moved.push(`chain ${e.chain} ${e.from} -> ${e.to} at iteration ${e.fromIteration}`);
      }
    });
    run.progress$.subscribe((p) => {
      if (victim !== null || p.chains.length < CHAINS || !p.chains.every((c) => c.phase === "sampling" && c.iteration > WARMUP + DRAWS / 4)) return;
      const counts = new Map<string, number>();
      for (const r of placed.values()) counts.set(r, (counts.get(r) ?? 0) + 1);
      victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
      killedAt = performance.now();
      void runners.find((r) => r.address === victim)!.kill();
    });
    const posterior = await run.result;
    if (!sameDraws(posterior, reference)) throw new Error("failover: the draws differ from the local pool's");
    if (victim === null || moved.length === 0) throw new Error("failover: the run ended before a runner could be killed (use more --draws)");
    console.log(`failover: killed ${victim}; moved: ${moved.join("; ")}; draws equal the local pool's`);
    return (last - killedAt) / 1000;
  } finally {
    await Promise.all(runners.map((r) => r.kill()));
  }
}

await main();

/**
 * Where a cheap model's `sample` run spends its CPU, by thread: runs MODEL R times (4 x (W + D),
 * warm pool of 2 threads, after 3 untimed runs) on the build under ROOT and prints the process's
 * CPU per run and each thread's (from /proc/self/task/<tid>/stat, 10 ms ticks), and a hash of every
 * draw of the first run of each seed (the draws must not change with the runtime).
 *
 *   [CHUNK_MAX=n] node scripts/runtime-threads.mjs ROOT MODEL [previous|lrc] [R=40] [W=1000] [D=1000]
 *
 * With PERF_OUT=file (run node with --perf-basic-prof), `perf record -e cpu-clock -g` samples the
 * timed runs only (attached to this process after the untimed ones) into that file.
 */
import { readFileSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { spawn } from "node:child_process";

const [root, modelName = "funnel", configName = "previous", runsArg = "40", warmupArg = "1000", drawsArg = "1000"] = process.argv.slice(2);
const at = (p) => import(pathToFileURL(`${root}/dist/${p}`).href);
const { sample, compile, createWorkerPool } = await at("src/index.js");
const { benchmarkModel } = await at("bench/models/index.js");
const { WorkerPool } = await at("supervisors/worker-pool.js");
// Counts the tasks posted (chunks), to split a run's CPU into per-run and per-task parts.
let tasks = 0;
const post = WorkerPool.prototype.run;
WorkerPool.prototype.run = function (task) {
  tasks++;
  return post.call(this, task);
};
const CONFIGS = {
  previous: { metric: "diag", schedule: "stan", adaptiveWarmup: false },
  lrc: { metric: "low-rank", schedule: "nutpie", pooledWarmup: false, adaptiveWarmup: true },
};
const options = {
  ...CONFIGS[configName],
  chains: 4,
  warmup: Number(warmupArg),
  draws: Number(drawsArg),
  // CHUNK_MAX=n caps a chunk's iterations: more tasks for the same draws (the per-task cost's slope).
  ...(process.env.CHUNK_MAX ? { chunk: { max: Number(process.env.CHUNK_MAX) } } : {}),
};
const model = compile(benchmarkModel(modelName));
// Threads that exist before the pool starts: the main thread and V8's platform threads (GC, compiler).
const startupThreads = new Set(readdirSync("/proc/self/task"));
const pool = createWorkerPool({ threads: 2 });

/** CPU ms of every thread of this process, by "tid:name". */
function threadCpu() {
  const out = {};
  for (const tid of readdirSync("/proc/self/task")) {
    const s = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    out[`${tid}:${s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"))}`] = (Number(f[11]) + Number(f[12])) * 10;
  }
  return out;
}

function drawsHash(p) {
  const h = createHash("sha256");
  for (const name of p.names) for (const chain of p.draws(name)) h.update(new Uint8Array(Float64Array.from(chain).buffer));
  return h.digest("hex").slice(0, 16);
}

const hashes = [];
for (let seed = 1; seed <= 3; seed++) hashes.push(drawsHash(await sample(model, { ...options, seed, pool }).result));
const runs = Number(runsArg);
let perf = null;
if (process.env.PERF_OUT) {
  perf = spawn("perf", ["record", "-e", "cpu-clock", "-F", "1999", "-g", "-p", String(process.pid), "-o", process.env.PERF_OUT], { stdio: "inherit" });
  await new Promise((r) => setTimeout(r, 1000));
}
const before = threadCpu();
tasks = 0;
const c0 = process.cpuUsage();
const t0 = performance.now();
for (let r = 0; r < runs; r++) await sample(model, { ...options, seed: 1 + (r % 3), pool }).result;
const wall = (performance.now() - t0) / runs;
const c = process.cpuUsage(c0);
const after = threadCpu();
if (perf !== null) {
  perf.kill("SIGINT");
  await new Promise((r) => perf.on("exit", r));
}
console.log(`${modelName} ${configName} 4 x (${warmupArg} + ${drawsArg}), ${runs} runs: wall ${wall.toFixed(1)} ms, process CPU ${((c.user + c.system) / 1e3 / runs).toFixed(1)} ms a run, ${(tasks / runs).toFixed(1)} tasks a run; draws ${hashes.join(" ")}`);
const mainTid = String(process.pid);
let workers = 0;
let others = 0;
let main = 0;
const perThread = [];
for (const k of Object.keys(after)) {
  const d = (after[k] - (before[k] ?? 0)) / runs;
  if (k.startsWith(mainTid + ":")) main = d;
  else if (!startupThreads.has(k.split(":")[0])) workers += d;
  else others += d;
  if (d > 0.2) perThread.push(`${k} ${d.toFixed(1)}`);
}
console.log(`  main ${main.toFixed(1)}, pool threads ${workers.toFixed(1)}, V8 helper threads ${others.toFixed(1)} ms a run  [${perThread.join(", ")}]`);
await pool.close?.();
process.exit(0);

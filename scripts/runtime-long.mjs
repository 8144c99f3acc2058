/**
 * A long run's CPU by thread, `sampleSync` against `sample` on a warm pool (per-chain warmup, no
 * extension: the same draws), interleaved: the main thread's CPU of the `sample` run is the
 * runtime's own coordinating work (issue 27 item 5), with the tasks it posted.
 *
 *   node scripts/runtime-long.mjs ROOT [MODEL=simple] [DRAWS=300000] [THREADS=1] [REPS=3]
 */
import { readFileSync, readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [root, name = "simple", drawsArg = "300000", threadsArg = "1", repsArg = "3"] = process.argv.slice(2);
const at = (p) => import(pathToFileURL(`${root}/dist/${p}`).href);
const { sample, compile, createWorkerPool, sampleSync } = await at("src/index.js");
const { benchmarkModel } = await at("bench/models/index.js");
const { WorkerPool } = await at("supervisors/worker-pool.js");
let tasks = 0; const post = WorkerPool.prototype.run; WorkerPool.prototype.run = function (t) { tasks++; return post.call(this, t); };
const d = compile(benchmarkModel(name));
const startup = new Set(readdirSync("/proc/self/task"));
const pool = createWorkerPool({ threads: Number(threadsArg) });
const opts = { chains: 4, warmup: 1000, draws: Number(drawsArg), seed: 1 }; const same = { pooledWarmup: false, warmupExtension: false };
function threadCpu() { const out = {}; for (const tid of readdirSync("/proc/self/task")) { const s = readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8"); out[tid] = Number(s.split(" ")[0]) / 1e6; } return out; }
sampleSync(d, { ...opts, warmup: 200, draws: 200, seed: 9 }); await sample(d, { ...opts, ...same, warmup: 200, draws: 200, seed: 9, pool }).result;
const split = (a, b) => { let main = 0, workers = 0, others = 0; for (const k of Object.keys(b)) { const x = b[k] - (a[k] ?? 0); if (k === String(process.pid)) main += x; else if (startup.has(k)) others += x; else workers += x; } return `main ${main.toFixed(0)} workers ${workers.toFixed(0)} V8 helpers ${others.toFixed(0)} ms`; };
for (let r = 0; r < Number(repsArg); r++) {
  let a = threadCpu(); let t = performance.now(); sampleSync(d, opts); let b = threadCpu();
  console.log(`sampleSync        wall ${((performance.now() - t)).toFixed(0)} ms; ${split(a, b)}`);
  tasks = 0; a = threadCpu(); t = performance.now(); await sample(d, { ...opts, ...same, pool }).result; b = threadCpu();
  console.log(`sample ${threadsArg} thread(s) wall ${((performance.now() - t)).toFixed(0)} ms; ${split(a, b)}; ${tasks} tasks`);
}
await pool.close(); process.exit(0);

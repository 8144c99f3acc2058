/**
 * Paired CPU comparison of two builds of this project (e.g. main's and a branch's `dist`) on the
 * benchmark models, one adaptation, in one process: each build's own warm pool of 2 threads, runs
 * interleaved (A B B A ...) after two untimed runs of each, 4 x (1000 + 1000). Prints medians of
 * wall and process CPU seconds, the chains' warmup and sampling CPU seconds (worker threads),
 * min bulk ESS, and ESS per CPU second, with the ratio B / A. Run it under /work/wt/quiet.
 *
 *   node scripts/compare-builds.mjs OLD_ROOT NEW_ROOT [models=simple,eight_schools,funnel,sv] [reps=5] [config=low-rank]
 */
import { pathToFileURL } from "node:url";

const [oldRoot, newRoot, modelList = "simple,eight_schools,funnel,sv", repsArg = "5", configName = "low-rank"] = process.argv.slice(2);
if (!oldRoot || !newRoot) throw new Error("usage: node scripts/compare-builds.mjs OLD_ROOT NEW_ROOT [models] [reps] [config]");
const CONFIGS = {
  "low-rank": { metric: "low-rank", schedule: "nutpie", pooledWarmup: true, adaptiveWarmup: true },
  "low-rank-chain": { metric: "low-rank", schedule: "nutpie", pooledWarmup: false, adaptiveWarmup: true },
  previous: { metric: "diag", schedule: "stan", adaptiveWarmup: false },
};
const options = CONFIGS[configName];
const reps = Number(repsArg);

async function load(root) {
  const at = (p) => import(pathToFileURL(`${root}/dist/${p}`).href);
  const api = await at("src/index.js");
  const { benchmarkModel } = await at("bench/models/index.js");
  const { essBulk } = await at("src/diagnostics/index.js");
  const pool = await api.createWorkerPool({ threads: 2 });
  return { api, benchmarkModel, essBulk, pool };
}

const builds = { A: await load(oldRoot), B: await load(newRoot) };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(b, density, seed) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const p = await b.api.sample(density, { chains: 4, warmup: 1000, draws: 1000, seed, pool: b.pool, ...options }).result;
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  let warmupCpu = 0;
  let samplingCpu = 0;
  for (const ch of p.chains) {
    warmupCpu += ch.warmupCpuSeconds ?? NaN;
    samplingCpu += ch.samplingCpuSeconds ?? NaN;
  }
  const chains = p.healthyChains();
  let ess = Infinity;
  for (const n of p.names.slice(0, p.paramCount)) {
    const all = p.draws(n);
    ess = Math.min(ess, b.essBulk(chains.map((ch) => all[ch])));
  }
  return { wall, cpu, warmupCpu, samplingCpu, ess, essPerCpu: ess / cpu };
}

console.log(`config ${configName}, ${reps} paired reps; A = ${oldRoot}, B = ${newRoot}`);
console.log("| model | build | wall s | CPU s | warmup CPU s (chains) | sampling CPU s (chains) | min bulk ESS | ESS per CPU s |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
const summary = [];
for (const name of modelList.split(",")) {
  const dens = {};
  for (const k of ["A", "B"]) dens[k] = builds[k].api.compile(builds[k].benchmarkModel(name));
  for (const k of ["A", "B"]) for (let i = 0; i < 2; i++) await once(builds[k], dens[k], 100 + i);
  const runs = { A: [], B: [] };
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? ["A", "B"] : ["B", "A"];
    for (const k of order) runs[k].push(await once(builds[k], dens[k], 1 + (r % 3)));
  }
  const med = {};
  for (const k of ["A", "B"]) {
    const m = (f) => median(runs[k].map((x) => x[f]));
    med[k] = { wall: m("wall"), cpu: m("cpu"), warmupCpu: m("warmupCpu"), samplingCpu: m("samplingCpu"), ess: m("ess"), essPerCpu: m("essPerCpu") };
    const x = med[k];
    console.log(`| ${name} | ${k} | ${x.wall.toFixed(3)} | ${x.cpu.toFixed(3)} | ${x.warmupCpu.toFixed(3)} | ${x.samplingCpu.toFixed(3)} | ${x.ess.toFixed(0)} | ${x.essPerCpu.toFixed(0)} |`);
  }
  summary.push(`${name}: warmup CPU B/A ${(med.B.warmupCpu / med.A.warmupCpu).toFixed(2)}, process CPU B/A ${(med.B.cpu / med.A.cpu).toFixed(2)}, ESS per CPU s B/A ${(med.B.essPerCpu / med.A.essPerCpu).toFixed(2)}`);
}
console.log("\n" + summary.join("\n"));
for (const k of ["A", "B"]) await builds[k].pool.close();

/**
 * CPU of one-thread `sampleSync` runs of a benchmark model under three adaptations, interleaved
 * in one process (after 3 untimed rounds), 4 x (1000 + 1000), seeds 1-5 in turn: the previous
 * default (diagonal, Stan's windows), low-rank and diagonal Fisher (nutpie's schedule). Prints
 * the median CPU milliseconds per run and low-rank's over the previous default's. Without
 * threads, chunks or the coordinator, this isolates the adaptation's and the kernel's own cost
 * (DECISIONS.md D235). Needs `npm run build`.
 *
 *   node scripts/adaptation-cpu.mjs [model=funnel] [runs=30]
 */
import { compile, sampleSync } from "../dist/src/index.js";
import { benchmarkModel } from "../dist/bench/models/index.js";

const name = process.argv[2] ?? "funnel";
const runs = Number(process.argv[3] ?? 30);
const configs = {
  previous: { metric: "diag", schedule: "stan" },
  "low-rank": { metric: "low-rank", schedule: "nutpie" },
  "diag-fisher": { metric: "diag-fisher", schedule: "nutpie" },
};
const density = compile(benchmarkModel(name));
const times = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
for (let r = 0; r < runs + 3; r++) {
  for (const [k, options] of Object.entries(configs)) {
    const c0 = process.cpuUsage();
    sampleSync(density, { ...options, chains: 4, seed: (r % 5) + 1 });
    const c = process.cpuUsage(c0);
    if (r >= 3) times[k].push((c.user + c.system) / 1e3);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const line = Object.keys(configs).map((k) => `${k} ${median(times[k]).toFixed(1)} ms`).join(" | ");
console.log(`${name}: ${line} | low-rank / previous ${(median(times["low-rank"]) / median(times.previous)).toFixed(2)}`);

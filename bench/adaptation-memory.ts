/**
 * `npm run bench:memory`: memory held by a run against its chain count, per warmup adaptation
 * (issue 26: pooled low-rank statistics grew with the square of the chain count).
 *
 * Each cell is a fresh Node process (so that nothing of an earlier run is held)
 * running `sample(simple, { chains, warmup: 1000, draws: 1000, seed: 1, threads: 2, ...config })`.
 * Reported: ArrayBuffer bytes held when the result has arrived (after a full GC, the result
 * still referenced: the draws themselves are 2 x 2000 x 8 bytes = 32 kB per chain with
 * warmup saved, plus the chains' checkpoints), the process's peak RSS (worker threads
 * included), wall seconds, and the per-chain growth between the smallest and largest count.
 *
 *   node dist/bench/adaptation-memory.js [--chains 16,64,128,256] [--configs previous,low-rank,...]
 */
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sample } from "../src/api/sample.js";
import { SCALING_CONFIGS } from "./adaptation-configs.js";
import { benchmarkModel } from "./models/index.js";

const { values: args } = parseArgs({
  options: {
    chains: { type: "string", default: "16,64,128,256" },
    configs: { type: "string", default: Object.keys(SCALING_CONFIGS).join(",") },
    child: { type: "string" },
  },
});

interface Cell {
  readonly arrayBuffersMB: number;
  readonly peakRssMB: number;
  readonly seconds: number;
}

async function child(config: string, chains: number): Promise<Cell> {
  // Not `node --expose-gc`: worker threads refuse that flag in execArgv (issue 26, item 3).
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const t0 = performance.now();
  const p = await sample(benchmarkModel("simple"), { chains, warmup: 1000, draws: 1000, seed: 1, threads: 2, ...SCALING_CONFIGS[config] }).result;
  const seconds = (performance.now() - t0) / 1000;
  gc();
  gc();
  const held = process.memoryUsage().arrayBuffers;
  if (p.chains.length !== chains) throw new Error("lost chains");
  return { arrayBuffersMB: held / 2 ** 20, peakRssMB: process.resourceUsage().maxRSS / 1024, seconds };
}

function main(): void {
  const counts = args.chains.split(",").map(Number);
  const configs = args.configs.split(",");
  for (const c of configs) if (SCALING_CONFIGS[c] === undefined) throw new Error(`unknown configuration ${c}`);
  console.log(`| configuration | ${counts.map((n) => `${n} chains: held MB / peak RSS MB / s`).join(" | ")} | held MB per chain, ${counts[0]} to ${counts.at(-1)} (x ratio of per-chain at ends) | load |`);
  console.log(`| --- | ${counts.map(() => "---").join(" | ")} | --- | --- |`);
  for (const config of configs) {
    const cells: Cell[] = [];
    const loads: number[] = [];
    for (const n of counts) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--child", JSON.stringify([config, n])], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
      cells.push(JSON.parse(out.trim().split("\n").at(-1)!) as Cell);
      loads.push(loadavg()[0]!);
      process.stderr.write(`${config} ${n} chains: ${JSON.stringify(cells.at(-1))} load ${loads.at(-1)!.toFixed(1)}\n`);
    }
    const first = cells[0]!;
    const last = cells.at(-1)!;
    const perChain = (last.arrayBuffersMB - first.arrayBuffersMB) / (counts.at(-1)! - counts[0]!);
    const ratio = last.arrayBuffersMB / counts.at(-1)! / (first.arrayBuffersMB / counts[0]!);
    console.log(
      `| ${config} | ${cells.map((c) => `${c.arrayBuffersMB.toFixed(1)} / ${c.peakRssMB.toFixed(0)} / ${c.seconds.toFixed(1)}`).join(" | ")} | ${perChain.toFixed(3)} (x${ratio.toFixed(2)}) | ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} |`,
    );
  }
}

if (args.child !== undefined) {
  const [config, n] = JSON.parse(args.child) as [string, number];
  console.log(JSON.stringify(await child(config, n)));
  process.exit(0);
} else {
  main();
}

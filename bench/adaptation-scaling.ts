/**
 * `npm run bench:adaptation-scaling`: what each warmup adaptation costs in seconds as the
 * dimension grows (issue 27). Three Gaussian-like targets, built with the model DSL:
 *
 * - `diag`: independent normals with scales spread log-evenly over three orders of magnitude;
 * - `corr`: an AR(1) chain with rho = 0.9 (unit marginal variances, correlation rho^|i-j|);
 * - `hier`: a centred hierarchical normal, mu and tau with d - 2 group means, one observation
 *   of unit noise per group (data from the model at tau = 2, seed 1).
 *
 * Every run is `sample(model, { chains: 4, warmup: 1000, draws: 1000, seed, pool, ...config })`
 * on one shared pool of 2 threads; configurations and seeds are interleaved (seed-major), so
 * load drifts touch every configuration alike. Per run: wall seconds; CPU seconds of the
 * process (worker threads and the coordinator on the main thread: on a loaded machine the
 * steadier measure of what a run costs); warmup seconds (the worker threads' CPU time in
 * warmup, summed over chains) per iteration per chain; gradients; min bulk ESS over the
 * parameters and ESS per CPU second; and the warmup's cost per iteration over d k (k: the
 * low-rank metric's directions, 1 for a diagonal metric), which should stay flat as d grows.
 * The load average is printed with every row.
 *
 *   node dist/bench/adaptation-scaling.js [--dims 10,50,200] [--targets diag,corr,hier]
 *        [--configs previous,low-rank,low-rank-chain,fisher-diag] [--seeds 1] [--out FILE]
 *        [--max-seconds 120]
 *
 * `--max-seconds`: a configuration whose run took longer than this is not run at larger d
 * (its later cells say "skipped").
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { sample } from "../src/api/sample.js";
import { createWorkerPool } from "../src/api/worker-pool.js";
import { essBulk } from "../src/diagnostics/index.js";
import { LOW_RANK_DEFAULTS } from "../src/inference/index.js";
import { SCALING_CONFIGS } from "./adaptation-configs.js";
import { SCALING_TARGETS } from "./models/gaussians.js";


interface Row {
  readonly target: string;
  readonly d: number;
  readonly config: string;
  readonly seed: number;
  readonly seconds: number;
  /** CPU seconds of the whole process over the run: the worker threads and the main thread (coordinator). */
  readonly cpuSeconds: number;
  readonly warmupSeconds: number;
  readonly gradients: number;
  readonly minBulk: number;
  readonly numWarmup: number;
  readonly load: number;
}

/**
 * k of the d k the warmup's cost per iteration should grow with: the low-rank metric's
 * directions (`rank + 8` sought in the draws and in the gradients, at most d: D100), 1 for a
 * diagonal metric.
 */
function directions(config: string, d: number): number {
  const o = SCALING_CONFIGS[config]!;
  return o.metric === "low-rank" ? Math.min(d, (LOW_RANK_DEFAULTS.rank ?? 16) + 8) : 1;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      dims: { type: "string", default: "10,50,200,500,1000,2000" },
      targets: { type: "string", default: "diag,corr,hier" },
      configs: { type: "string", default: Object.keys(SCALING_CONFIGS).join(",") },
      seeds: { type: "string", default: "1" },
      out: { type: "string" },
      "max-seconds": { type: "string", default: "120" },
    },
  });
  const dims = args.dims.split(",").map(Number);
  const targets = args.targets.split(",");
  const configs = args.configs.split(",");
  for (const c of configs) if (SCALING_CONFIGS[c] === undefined) throw new Error(`unknown configuration ${c}`);
  for (const t of targets) if (SCALING_TARGETS[t] === undefined) throw new Error(`unknown target ${t}`);
  const seeds = args.seeds.split(",").map(Number);
  const maxSeconds = Number(args["max-seconds"]);
  const rows: Row[] = [];
  const tooSlow = new Set<string>();
  const pool = await createWorkerPool({ threads: 2 });
  try {
    for (const target of targets) {
      for (const d of dims) {
        const m = SCALING_TARGETS[target]!(d);
        for (const seed of seeds) {
          for (const config of configs) {
            if (tooSlow.has(`${target}|${config}`)) continue;
            const t0 = performance.now();
            const c0 = process.cpuUsage();
            const p = await sample(m, { chains: 4, warmup: 1000, draws: 1000, seed, pool, ...SCALING_CONFIGS[config] }).result;
            const seconds = (performance.now() - t0) / 1000;
            const cpu = process.cpuUsage(c0);
            const chains = p.healthyChains();
            let minBulk = Infinity;
            for (const name of p.names.slice(0, p.paramCount)) {
              const all = p.draws(name);
              const e = essBulk(chains.map((c) => all[c]!));
              minBulk = Math.min(minBulk, Number.isNaN(e) ? 0 : e);
            }
            const row: Row = {
              target,
              d,
              config,
              seed,
              seconds,
              cpuSeconds: (cpu.user + cpu.system) / 1e6,
              warmupSeconds: p.chains.reduce((a, c) => a + (c.warmupCpuSeconds ?? c.warmupSeconds), 0),
              gradients: p.chains.reduce((a, c) => a + c.gradientEvaluations, 0),
              minBulk,
              numWarmup: p.numWarmup,
              load: loadavg()[0]!,
            };
            rows.push(row);
            if (seconds > maxSeconds) tooSlow.add(`${target}|${config}`);
            process.stderr.write(
              `${target} d=${d} s${seed} ${config}: ${seconds.toFixed(2)} s, cpu ${row.cpuSeconds.toFixed(2)} s (warmup ${row.warmupSeconds.toFixed(2)} chain-s, ${((1e6 * row.warmupSeconds) / (4 * row.numWarmup)).toFixed(0)} us/iter), ESS ${minBulk.toFixed(0)}, ESS/s ${(minBulk / seconds).toFixed(1)}, ESS per cpu-s ${(minBulk / row.cpuSeconds).toFixed(1)}, grads ${row.gradients}, warmup ${row.numWarmup}, load ${row.load.toFixed(2)}\n`,
            );
          }
        }
      }
    }
  } finally {
    await pool.close();
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const lines: string[] = [];
  const base = configs[0]!;
  lines.push(`| target | d | ${configs.map((c) => `${c}: wall s / cpu s / ESS per cpu-s / warmup us per iter / ns per iter per d k`).join(" | ")} | ESS per cpu-s vs ${base} | load |`);
  lines.push(`| --- | --- | ${configs.map(() => "---").join(" | ")} | --- | --- |`);
  for (const target of targets) {
    for (const d of dims) {
      const cells: string[] = [];
      const essPerS = new Map<string, number>();
      const load: number[] = [];
      for (const c of configs) {
        const rs = rows.filter((r) => r.target === target && r.d === d && r.config === c);
        if (rs.length === 0) {
          cells.push("skipped");
          continue;
        }
        load.push(...rs.map((r) => r.load));
        const s = median(rs.map((r) => r.seconds));
        const cs = median(rs.map((r) => r.cpuSeconds));
        const e = median(rs.map((r) => r.minBulk / r.cpuSeconds));
        const w = median(rs.map((r) => (1e6 * r.warmupSeconds) / (4 * r.numWarmup)));
        essPerS.set(c, e);
        cells.push(`${s.toFixed(2)} / ${cs.toFixed(2)} / ${e.toFixed(0)} / ${w.toFixed(0)} / ${((1000 * w) / (d * directions(c, d))).toFixed(2)}`);
      }
      const b = essPerS.get(base);
      const ratios = configs.slice(1).map((c) => (essPerS.has(c) && b !== undefined ? `${c} ${(essPerS.get(c)! / b).toFixed(2)}x` : `${c} -`));
      lines.push(`| ${target} | ${d} | ${cells.join(" | ")} | ${ratios.join(", ")} | ${load.length ? `${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}` : "-"} |`);
    }
  }
  const text = lines.join("\n") + "\n";
  if (args.out !== undefined) writeFileSync(args.out, text);
  console.log(text);
}

await main();

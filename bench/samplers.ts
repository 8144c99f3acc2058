/**
 * `npm run bench:samplers`: the seven benchmark models with each metric adaptation (Stan's
 * variance-based diagonal, the Fisher-divergence diagonal, dense), 4 chains x 1000 warmup +
 * 1000 draws, three seeds, sequential on one thread. Prints, per model and metric, the median
 * (and range) of: divergences after warmup, min bulk ESS over parameters, ESS per 1000
 * gradients (warmup included), max R-hat; and Stan's row from bench/models/README.md.
 *
 *   node dist/bench/samplers.js [--models simple,funnel] [--metrics diag,diag-fisher] [--seeds 1,2,3]
 */
import { parseArgs } from "node:util";
import { sampleSync } from "../src/api/sample-sync.js";
import type { Posterior } from "../src/api/posterior.js";
import { compile } from "../src/compile/compile.js";
import type { MetricKind } from "../src/inference/index.js";
import { BENCHMARK_NAMES, benchmarkModel, type BenchmarkName } from "./models/index.js";

/** Stan 2.21 on this machine (bench/models/README.md): min bulk ESS, ESS per 1000 gradients, divergences, max R-hat. */
export const STAN: Record<BenchmarkName, { ess: number; essPer1000: number; divergences: number; rhat: number }> = {
  simple: { ess: 2624, essPer1000: 80.8, divergences: 0, rhat: 1.002 },
  medium: { ess: 1386, essPer1000: 19.4, divergences: 56, rhat: 1.004 },
  stress: { ess: 2275, essPer1000: 21.4, divergences: 6, rhat: 1.003 },
  eight_schools: { ess: 148, essPer1000: 0.75, divergences: 52, rhat: 1.059 },
  funnel: { ess: 69, essPer1000: 0.33, divergences: 3, rhat: 1.057 },
  logistic: { ess: 5502, essPer1000: 93.8, divergences: 0, rhat: 1.006 },
  sv: { ess: 85, essPer1000: 0.09, divergences: 0, rhat: 1.084 },
};

export interface RunFigures {
  readonly divergences: number;
  readonly minEss: number;
  readonly gradients: number;
  readonly essPer1000: number;
  readonly maxRhat: number;
  readonly seconds: number;
}

/** Figures of one run: parameters only (no lp__), gradients over warmup and sampling. */
export function figures(posterior: Posterior, seconds: number): RunFigures {
  const rows = posterior.summary(posterior.names.slice(0, posterior.paramCount), false);
  const gradients = posterior.chains.reduce((s, c) => s + c.gradientEvaluations, 0);
  const minEss = Math.min(...rows.map((r) => r.essBulk));
  return {
    divergences: posterior.divergences().reduce((a, b) => a + b, 0),
    minEss,
    gradients,
    essPer1000: minEss / (gradients / 1000),
    maxRhat: Math.max(...rows.map((r) => r.rhat)),
    seconds,
  };
}

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, digits: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(digits));
export const spread = (xs: readonly number[], digits = 1) =>
  `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}-${fmt(Math.max(...xs), digits)})`;

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { values: args } = parseArgs({
    options: {
      models: { type: "string", default: BENCHMARK_NAMES.join(",") },
      metrics: { type: "string", default: "diag,diag-fisher,dense" },
      seeds: { type: "string", default: "1,2,3" },
    },
  });
  const models = args.models.split(",") as BenchmarkName[];
  const metrics = args.metrics.split(",") as MetricKind[];
  const seeds = args.seeds.split(",").map(Number);

  const header = ["model", "metric", "divergences", "min bulk ESS", "ESS/1000 grads", "max R-hat", "seconds"];
  const rows: string[][] = [];
  for (const name of models) {
    const density = compile(benchmarkModel(name));
    for (const metric of metrics) {
      const runs = seeds.map((seed) => {
        const t0 = performance.now();
        const post = sampleSync(density, { chains: 4, warmup: 1000, draws: 1000, seed, metric });
        return figures(post, (performance.now() - t0) / 1000);
      });
      rows.push([
        name,
        metric,
        spread(runs.map((r) => r.divergences), 0),
        spread(runs.map((r) => r.minEss), 0),
        spread(runs.map((r) => r.essPer1000), 2),
        spread(runs.map((r) => r.maxRhat), 3),
        spread(runs.map((r) => r.seconds), 2),
      ]);
      console.error(`${name} ${metric}: done`);
    }
    const stan = STAN[name];
    rows.push([name, "Stan 2.21", String(stan.divergences), String(stan.ess), String(stan.essPer1000), stan.rhat.toFixed(3), "-"]);
  }
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (cells: string[]) => cells.map((c, k) => (k < 2 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

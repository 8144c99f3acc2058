/**
 * `npm run bench:reparam`: the learned parameterisation (`noncentered: "learn"`, DECISIONS.md
 * D70) against the fixed forms, on the benchmark models with hierarchical normals (medium,
 * stress, eight_schools, funnel), posteriordb's eight schools written centred (judged by the
 * posteriordb pass rule against its reference) and weakly / strongly informed group models
 * (bench/group-models.ts, among them the issue's Poisson GLM with 5 observations per group).
 * Every run: `sample(model, { chains: 4, warmup: 1000, draws: 1000, seed, ...adaptation })`,
 * seeds 1-3; the adaptation is `--config` (a bench:adaptation configuration name).
 * Writes bench/REPARAM.md; per model and form: divergences after warmup (sum over seeds), ESS
 * per gradient (min bulk ESS / all gradients, warmup included; median over seeds), max R-hat,
 * and the lambdas learned (pooled, per node).
 *
 *   node dist/bench/reparam.js [--config low-rank/pooled/adaptive] [--seeds 1,2,3] [--models a,b]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sample } from "../src/api/sample.js";
import { createWorkerPool } from "../src/api/worker-pool.js";
import { compile } from "../src/compile/compile.js";
import type { Model, ModelOptions } from "../src/model/builder.js";
import { essBulk, rhat } from "../src/diagnostics/index.js";
import { loadPosterior } from "../test/posteriordb/models.js";
import { checkAgainstReference } from "../test/validate/pass-rule.js";
import { CONFIGS } from "./adaptation-configs.js";
import { GROUP_MODELS } from "./group-models.js";
import { benchmarkModel, loadBenchmarkData, type BenchmarkName } from "./models/index.js";
import { projectRoot } from "./paths.js";

const { values: args } = parseArgs({
  options: {
    config: { type: "string", default: "low-rank/pooled/adaptive" },
    seeds: { type: "string", default: "1,2,3" },
    models: { type: "string" },
    out: { type: "string" },
  },
});

interface Case {
  readonly name: string;
  readonly build: (o: ModelOptions) => Model;
  readonly targetAccept: number;
  readonly reference: Record<string, { mean: number; sd: number; q05: number; q95: number; q25: number; q50: number; q75: number }> | null;
}

const pdbEight = loadPosterior("eight_schools-eight_schools_noncentered");
const CASES: Case[] = [
  ...(["medium", "stress", "eight_schools", "funnel"] as const).map((n: BenchmarkName) => ({ name: n, build: (o: ModelOptions) => benchmarkModel(n, loadBenchmarkData(n), o), targetAccept: 0.8, reference: null })),
  { name: "posteriordb eight_schools (centred)", build: (o) => benchmarkModel("eight_schools", pdbEight.data, o), targetAccept: 0.95, reference: pdbEight.reference.parameters },
  ...GROUP_MODELS.map((g) => ({ name: g.name, build: g.build, targetAccept: 0.8, reference: null })),
];

const FORMS: readonly { label: string; option: ModelOptions["noncentered"] }[] = [
  { label: "auto (D10's count: before)", option: "auto" },
  { label: "learned (after)", option: "learn" },
  { label: "non-centred", option: true },
  { label: "centred", option: false },
];

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const config = CONFIGS.find((c) => c.name === args.config);
  if (config === undefined) throw new Error(`unknown configuration ${args.config} (known: ${CONFIGS.map((c) => c.name).join(", ")})`);
  const seeds = args.seeds.split(",").map(Number);
  const only = args.models?.split(",");
  const pool = await createWorkerPool({ threads: 2 });
  const rows: string[][] = [];
  try {
    for (const c of CASES.filter((x) => only === undefined || only.includes(x.name))) {
      for (const form of FORMS) {
        const model = c.build({ noncentered: form.option });
        const density = compile(model);
        const res: { div: number; essPerGrad: number; rhat: number; lambda: string; pass: boolean | null }[] = [];
        for (const seed of seeds) {
          const run = sample(density, { chains: 4, warmup: 1000, draws: 1000, seed, targetAccept: c.targetAccept, pool, ...config.options });
          let lambda = "";
          run.events$.subscribe((e) => {
            if (e.type === "reparameterised") lambda = e.lambda.map((x) => x.toFixed(2)).join(", ");
          });
          const p = await run.result;
          const names = p.names.slice(0, p.paramCount);
          let minBulk = Infinity;
          let maxR = 0;
          for (const n of names) {
            minBulk = Math.min(minBulk, essBulk(p.draws(n)));
            maxR = Math.max(maxR, rhat(p.draws(n)));
          }
          const grads = p.chains.reduce((a, ch) => a + ch.gradientEvaluations, 0);
          let pass: boolean | null = null;
          if (c.reference !== null) {
            const ref = Object.fromEntries(Object.entries(c.reference).filter(([k]) => p.names.includes(k)));
            pass = checkAgainstReference(p, ref).passed;
          }
          res.push({ div: p.divergences().reduce((a, b) => a + b, 0), essPerGrad: (1000 * minBulk) / grads, rhat: maxR, lambda, pass });
        }
        const initial = density.reparam?.nodes.map((n) => `${n.param} ${n.initial}`).join(", ") ?? "";
        rows.push([
          c.name,
          form.label,
          String(res.reduce((a, r) => a + r.div, 0)),
          median(res.map((r) => r.essPerGrad)).toFixed(2),
          median(res.map((r) => r.rhat)).toFixed(3),
          form.option === "learn" ? `${res.map((r) => r.lambda || "-").join(" / ")} (from ${initial})` : "",
          c.reference === null ? "" : `${res.filter((r) => r.pass).length}/${res.length}`,
        ]);
        process.stderr.write(`${c.name} ${form.label}: ${rows[rows.length - 1]!.slice(2).join(" | ")}\n`);
      }
    }
  } finally {
    await pool.close();
  }
  const header = ["model", "parameterisation", "divergences (all seeds)", "ESS/1000 grads (median)", "max R-hat (median)", "learned lambda per seed", "pass rule"];
  const text = [
    "# Learned parameterisation (`npm run bench:reparam`)",
    "",
    `Generated by \`bench/reparam.ts\`; adaptation \`${config.name}\`; 4 chains x (1000 warmup cap + 1000 draws), seeds ${seeds.join(", ")}. ESS per gradient counts warmup; lambda 0 is non-centred, 1 centred (one per hierarchical node, learned from warmup's draws and gradients and pooled over chains). Models: ${CASES.map((c) => c.name).join(", ")}; group models: ${GROUP_MODELS.map((g) => `${g.name}: ${g.description}`).join("; ")}.`,
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
  ].join("\n");
  writeFileSync(args.out ?? join(projectRoot(), "bench", "REPARAM.md"), text);
  console.log(text);
}

await main();

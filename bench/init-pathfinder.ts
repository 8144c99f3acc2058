/**
 * `npm run bench:init`: what `sample(model, { init: "pathfinder" })` saves on top of `sample`'s
 * default adaptation (low-rank metric, nutpie's schedule, pooled, adaptive warmup length: D71),
 * on the posteriors of test/posteriordb. Each posterior, each seed, two early-stop runs (4
 * chains, stop at R-hat < 1.01 and bulk/tail ESS >= 400, checked every 100 draws, at most
 * `--max-draws` draws per chain; each reference's own adapt_delta and max_treedepth), one after
 * the other on one shared 2-thread pool:
 *   default      `sample`'s default adaptation from Stan's random inits (`init: "random"`);
 *   pathfinder   the same with `init: "pathfinder"` (Pathfinder's draws as inits, its covariance
 *                in the low-rank form as the initial metric).
 * Cost to the answer = NUTS gradients (warmup included, draws kept) + Pathfinder's gradients
 * and log-density evaluations (counted as gradients: an upper bound on their cost). A run
 * that does not reach the target counts as not reached. The pass rule (test/validate/pass-rule.ts)
 * is applied to every run. Prints a line per run and a summary; writes bench/INIT.md.
 *
 * Each run is appended to bench/stan/out/init-runs.jsonl; `--resume` keeps the runs there (same
 * seeds and settings) and makes only the missing ones. Posteriors are done one at a time, all
 * seeds each, so that a run cut short leaves whole posteriors.
 *
 *   node dist/bench/init-pathfinder.js [--only a,b] [--seeds 1,2] [--max-draws 5000] [--out bench/INIT.md] [--resume]
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sample } from "../src/api/sample.js";
import { createWorkerPool } from "../src/api/worker-pool.js";
import { loadPosterior, posteriordbModels } from "../test/posteriordb/models.js";
import { checkAgainstReference } from "../test/validate/pass-rule.js";
import { projectRoot } from "./paths.js";

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    seeds: { type: "string", default: "1" },
    "max-draws": { type: "string", default: "5000" },
    out: { type: "string", default: join(projectRoot(), "bench", "INIT.md") },
    resume: { type: "boolean", default: false },
  },
});
const RUNS = join(projectRoot(), "bench", "stan", "out", "init-runs.jsonl");
// In the order given by --only (slow posteriors can go last), else posteriordb's.
const names = args.only === undefined ? Object.keys(posteriordbModels) : args.only.split(",").filter((n) => n in posteriordbModels);
const seeds = args.seeds!.split(",").map(Number);
const maxDraws = Number(args["max-draws"]);

type Config = "default" | "pathfinder";
const CONFIGS: readonly Config[] = ["default", "pathfinder"];

interface Record {
  readonly name: string;
  readonly seed: number;
  readonly config: Config;
  readonly reached: boolean;
  /** NUTS gradients (warmup + kept draws) and Pathfinder's evaluations. */
  readonly nuts: number;
  readonly pathfinder: number;
  readonly draws: number;
  /** Warmup iterations the run made (adaptive length). */
  readonly warmup?: number;
  readonly passed: boolean;
  readonly paretoK: number;
  readonly seconds: number;
  /** Why Pathfinder gave no inits (the run then started from random inits), or null. */
  readonly fallback: string | null;
}

const pool = createWorkerPool({ threads: 2 });
mkdirSync(join(projectRoot(), "bench", "stan", "out"), { recursive: true });
if (!args.resume) rmSync(RUNS, { force: true });
const records: Record[] = existsSync(RUNS)
  ? readFileSync(RUNS, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record)
      .filter((r) => names.includes(r.name) && seeds.includes(r.seed))
  : [];
for (const name of names) {
  for (const seed of seeds) {
    const { model, reference } = loadPosterior(name);
    const control = (reference.reference_method as { method_arguments?: { control?: { adapt_delta?: number; max_treedepth?: number } } }).method_arguments?.control;
    const base = { chains: 4, seed, pool, earlyStop: true, draws: maxDraws, targetAccept: control?.adapt_delta ?? 0.8, maxTreeDepth: control?.max_treedepth ?? 10 };
    for (const config of CONFIGS) {
      if (records.some((r) => r.name === name && r.seed === seed && r.config === config)) continue;
      const options = config === "default" ? { ...base, init: "random" as const } : { ...base, init: "pathfinder" as const };
      const t0 = performance.now();
      const run = sample(model, options);
      let pf = 0;
      let paretoK = NaN;
      let fallback: string | null = null;
      run.events$.subscribe((e) => {
        if (e.type === "pathfinder-init") {
          pf = e.gradientEvaluations + e.densityEvaluations;
          paretoK = e.paretoK;
          fallback = e.fallback;
        }
      });
      const p = await run.result;
      const seconds = (performance.now() - t0) / 1000;
      const check = checkAgainstReference(p, reference.parameters);
      const r: Record = {
        name,
        seed,
        config,
        reached: p.status === "stopped-early",
        nuts: p.gradientEvaluations,
        pathfinder: pf,
        draws: p.numDraws,
        warmup: p.numWarmup,
        passed: check.passed,
        paretoK,
        seconds,
        fallback: fallback as string | null,
      };
      records.push(r);
      appendFileSync(RUNS, JSON.stringify(r) + "\n");
      process.stderr.write(
        `${name} seed ${seed} ${config}: ${r.reached ? "reached" : "NOT reached"} at ${r.draws} draws, ${r.nuts} + ${r.pathfinder} evaluations, ${r.passed ? "pass" : "FAIL"}, ${seconds.toFixed(1)} s${r.fallback !== null ? ` (Pathfinder failed, random inits: ${r.fallback.slice(0, 80)})` : ""}\n`,
      );
    }
  }
}
await pool.close();

const cost = (r: Record) => (r.reached ? r.nuts + r.pathfinder : Infinity);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2;
};
const fmt = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "not reached");
const lines: string[] = [
  "# Warmup saved by `init: \"pathfinder\"` on top of the default adaptation",
  "",
  `Generated by \`npm run bench:init\` (bench/init-pathfinder.ts), seeds ${seeds.join(", ")}, at most ${maxDraws} draws per chain, ${new Date().toISOString()}.`,
  "Both configurations use `sample`'s default adaptation (low-rank metric, nutpie's schedule, pooled, adaptive warmup length, D71); `default` starts from Stan's random inits, `pathfinder` from Pathfinder's draws with its covariance as the initial low-rank metric.",
  "Cost to the answer (R-hat < 1.01, bulk and tail ESS >= 400, 4 chains) in gradients, warmup included (medians over the seeds); Pathfinder's gradients and log densities counted as gradients. Saved = 1 - pathfinder / default.",
  "",
  "| posterior | default | pathfinder (of which Pathfinder) | saved | warmup iterations (default / pathfinder) | Pareto k | pass rule (default / pathfinder) |",
  "| --- | --- | --- | --- | --- | --- | --- |",
];
const ratios: number[] = [];
let helps = 0;
let hurts = 0;
const done = names.filter((name) => CONFIGS.every((c) => records.some((r) => r.name === name && r.config === c)));
for (const name of done) {
  const at = (c: Config) => records.filter((r) => r.name === name && r.config === c);
  const med = (c: Config) => median(at(c).map(cost));
  const pf = at("pathfinder");
  const saved = 1 - med("pathfinder") / med("default");
  if (Number.isFinite(saved)) ratios.push(med("pathfinder") / med("default"));
  if (saved > 0.1) helps++;
  if (!(saved > -0.1)) hurts++;
  const passes = CONFIGS.map((c) => `${at(c).filter((r) => r.passed).length}/${at(c).length}`).join(" / ");
  const warm = CONFIGS.map((c) => fmt(median(at(c).map((r) => r.warmup ?? NaN)))).join(" / ");
  const fell = pf.some((r) => r.fallback !== null) ? " (Pathfinder failed: random inits)" : "";
  lines.push(
    `| ${name} | ${fmt(med("default"))} | ${fmt(med("pathfinder"))} (${fmt(median(pf.map((r) => r.pathfinder)))})${fell} | ${Number.isFinite(saved) ? `${(100 * saved).toFixed(0)}%` : "-"} | ${warm} | ${median(pf.map((r) => r.paretoK)).toFixed(2)} | ${passes} |`,
  );
}
const geo = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
const passCount = (c: Config) => records.filter((r) => r.config === c && r.passed && done.includes(r.name)).length;
const runCount = (c: Config) => records.filter((r) => r.config === c && done.includes(r.name)).length;
lines.push(
  "",
  `Pass rule: ${CONFIGS.map((c) => `${c} ${passCount(c)}/${runCount(c)}`).join(", ")}.`,
  "",
  `init pathfinder vs default: cost ratio geometric mean ${geo.toFixed(2)} over ${ratios.length} posteriors reached by both; saves > 10% on ${helps}, costs > 10% more (or misses the target) on ${hurts}.`,
);
writeFileSync(args.out!, lines.join("\n") + "\n");
console.log(lines.join("\n"));

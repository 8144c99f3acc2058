/**
 * `npm run bench:init`: the warmup `sample(model, { init: "pathfinder" })` saves, on every
 * posterior of test/posteriordb. Each posterior, each seed, four early-stop runs (4 chains,
 * stop at R-hat < 1.01 and bulk/tail ESS >= 400, checked every 100 draws, at most
 * `--max-draws` draws per chain; each reference's own adapt_delta and max_treedepth), in this
 * order, on one shared 2-thread pool:
 *   random-1000      the default: Stan's random inits, identity metric, 1000 warmup;
 *   pathfinder       init: "pathfinder" with its defaults (warmup PATHFINDER_WARMUP);
 *   random-short     random inits with the same short warmup and windows (the control:
 *                    what the shorter warmup alone does);
 *   pathfinder-1000  Pathfinder's inits and metric with Stan's 1000-iteration warmup.
 * Cost to the answer = NUTS gradients (warmup included, draws kept) + Pathfinder's gradients
 * and log-density evaluations (counted as gradients: an upper bound on their cost). A run
 * that does not reach the target counts as not reached. The pass rule (test/validate/pass-rule.ts)
 * is applied to every run. Prints a table per run and a summary; writes bench/INIT.md.
 *
 * Each run is appended to bench/stan/out/init-runs.jsonl; `--resume` keeps the runs there (same
 * seeds and settings) and makes only the missing ones.
 *
 *   node dist/bench/init-pathfinder.js [--only a,b] [--seeds 1,2] [--max-draws 5000] [--out bench/INIT.md] [--resume]
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sample } from "../src/api/sample.js";
import { createWorkerPool } from "../src/api/worker-pool.js";
import { PATHFINDER_WARMUP, PATHFINDER_WINDOWS } from "../src/api/pathfinder-init.js";
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
const names = Object.keys(posteriordbModels).filter((n) => args.only === undefined || args.only.split(",").includes(n));
const seeds = args.seeds!.split(",").map(Number);
const maxDraws = Number(args["max-draws"]);

type Config = "random-1000" | "pathfinder" | "random-short" | "pathfinder-1000";
const CONFIGS: readonly Config[] = ["random-1000", "pathfinder", "random-short", "pathfinder-1000"];

interface Record {
  readonly name: string;
  readonly seed: number;
  readonly config: Config;
  readonly reached: boolean;
  /** NUTS gradients (warmup + kept draws) and Pathfinder's evaluations. */
  readonly nuts: number;
  readonly pathfinder: number;
  readonly draws: number;
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
for (const seed of seeds) {
  for (const name of names) {
    const { model, reference } = loadPosterior(name);
    const control = (reference.reference_method as { method_arguments?: { control?: { adapt_delta?: number; max_treedepth?: number } } }).method_arguments?.control;
    const base = { chains: 4, seed, pool, earlyStop: true, draws: maxDraws, targetAccept: control?.adapt_delta ?? 0.8, maxTreeDepth: control?.max_treedepth ?? 10 };
    for (const config of CONFIGS) {
      if (records.some((r) => r.name === name && r.seed === seed && r.config === config)) continue;
      const options =
        config === "random-1000"
          ? base
          : config === "pathfinder"
            ? { ...base, init: "pathfinder" as const }
            : config === "random-short"
              ? { ...base, warmup: PATHFINDER_WARMUP, sampler: { windows: PATHFINDER_WINDOWS } }
              : { ...base, init: "pathfinder" as const, warmup: 1000, sampler: { windows: { initBuffer: 75, baseWindow: 25, termBuffer: 50 } } };
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
  "# Warmup saved by `init: \"pathfinder\"`",
  "",
  `Generated by \`npm run bench:init\` (bench/init-pathfinder.ts), seeds ${seeds.join(", ")}, at most ${maxDraws} draws per chain, ${new Date().toISOString()}.`,
  `Cost to the answer (R-hat < 1.01, bulk and tail ESS >= 400, 4 chains) in gradients, warmup included; Pathfinder's gradients and log densities counted as gradients. Saved = 1 - pathfinder / random-1000. Short warmup: ${PATHFINDER_WARMUP} iterations, windows ${JSON.stringify(PATHFINDER_WINDOWS)}.`,
  "",
  "| posterior | random-1000 | pathfinder (of which Pathfinder) | saved | random-short | pathfinder-1000 | Pareto k | pass rule (r1000 / pf / r-short / pf-1000) |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
];
const ratios: number[] = [];
let helps = 0;
let hurts = 0;
for (const name of names) {
  const at = (c: Config) => records.filter((r) => r.name === name && r.config === c);
  const med = (c: Config) => median(at(c).map(cost));
  const pf = at("pathfinder");
  const saved = 1 - med("pathfinder") / med("random-1000");
  if (Number.isFinite(saved)) ratios.push(med("pathfinder") / med("random-1000"));
  if (saved > 0.1) helps++;
  if (!(saved > -0.1)) hurts++;
  const passes = CONFIGS.map((c) => `${at(c).filter((r) => r.passed).length}/${at(c).length}`).join(" / ");
  const fell = pf.some((r) => r.fallback !== null) ? " (Pathfinder failed: random inits)" : "";
  lines.push(
    `| ${name} | ${fmt(med("random-1000"))} | ${fmt(med("pathfinder"))} (${fmt(median(pf.map((r) => r.pathfinder)))})${fell} | ${Number.isFinite(saved) ? `${(100 * saved).toFixed(0)}%` : "-"} | ${fmt(med("random-short"))} | ${fmt(med("pathfinder-1000"))} | ${median(pf.map((r) => r.paretoK)).toFixed(2)} | ${passes} |`,
  );
}
const geo = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
const passCount = (c: Config) => records.filter((r) => r.config === c && r.passed).length;
lines.push(
  "",
  `Pass rule: ${CONFIGS.map((c) => `${c} ${passCount(c)}/${records.filter((r) => r.config === c).length}`).join(", ")}.`,
  "",
  `init pathfinder vs random-1000: cost ratio geometric mean ${geo.toFixed(2)} over ${ratios.length} posteriors reached by both; saves > 10% on ${helps}, costs > 10% more (or misses the target) on ${hurts}.`,
);
writeFileSync(args.out!, lines.join("\n") + "\n");
console.log(lines.join("\n"));

/**
 * `npm run bench:approx`: Pathfinder and ADVI (mean-field, full-rank) on every posterior of
 * test/posteriordb, next to rstan 2.21's `vb()` (mean-field and full-rank) on the same posterior
 * in the same run. Per posterior and method: gradient evaluations, log-density evaluations,
 * wall seconds, and the error of each parameter's mean in units of the reference sd (the
 * median and the largest over the posterior's parameters). Writes bench/APPROX.md; its last
 * line (and this script's):
 *
 *   approximations, median |mean error| / ref sd: pathfinder X.XX, advi-meanfield Y.YY, advi-fullrank Z.ZZ, stan-vb-meanfield W.WW
 *
 * (the median over every parameter of every posterior; rstan's full-rank figure is in the
 * report). Ours run on one shared 2-thread pool (threads started once, as a long-lived
 * service would); the first method on a posterior pays the workers' model build and JIT.
 * Stan's side: bench/stan/run-vb.R, compiled models cached in bench/stan/.cache (as
 * `bench:stan`); compile time is not counted. Seed 1 on both sides; same order per posterior:
 * pathfinder, advi meanfield, advi fullrank, Stan. Targets (printed, not asserted):
 * Pathfinder at least as accurate as Stan's ADVI at a tenth of its gradients; our ADVI no
 * worse than Stan's.
 *
 *   node dist/bench/approx.js [--only a,b] [--seed 1] [--no-stan] [--recompile] [--out bench/APPROX.md]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { advi, pathfinder } from "../src/api/approx.js";
import type { Posterior } from "../src/api/posterior.js";
import { createWorkerPool } from "../src/api/worker-pool.js";
import { loadPosterior, posteriordbModels, type Reference } from "../test/posteriordb/models.js";
import { projectRoot } from "./paths.js";

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    seed: { type: "string", default: "1" },
    "no-stan": { type: "boolean", default: false },
    recompile: { type: "boolean", default: false },
    out: { type: "string", default: join(projectRoot(), "bench", "APPROX.md") },
  },
});
const ROOT = projectRoot();
const WORK = join(ROOT, "bench", "stan", "out", "vb");
const seed = Number(args.seed);
const names = Object.keys(posteriordbModels).filter((n) => args.only === undefined || args.only.split(",").includes(n));
const log = (s: string) => process.stderr.write(s + "\n");

type Method = "pathfinder" | "advi-meanfield" | "advi-fullrank" | "stan-vb-meanfield" | "stan-vb-fullrank";
const METHODS: readonly Method[] = ["pathfinder", "advi-meanfield", "advi-fullrank", "stan-vb-meanfield", "stan-vb-fullrank"];

interface Result {
  readonly posterior: string;
  readonly method: Method;
  readonly gradients: number;
  readonly logDensities: number;
  readonly seconds: number;
  /** |mean - ref mean| / ref sd per reference parameter (empty when the method failed). */
  readonly errors: readonly number[];
  readonly note: string;
}

function meanErrors(means: (name: string) => number | undefined, ref: Reference): number[] {
  return Object.entries(ref.parameters).map(([name, r]) => {
    const m = means(name);
    return m === undefined || !Number.isFinite(m) ? Infinity : Math.abs(m - r.mean) / r.sd;
  });
}

function posteriorMeans(p: Posterior): (name: string) => number | undefined {
  return (name) => {
    if (!p.names.includes(name)) return undefined;
    let s = 0;
    let n = 0;
    for (const c of p.draws(name)) for (const v of c) (s += v), n++;
    return s / n;
  };
}

function stanProblem(): string | null {
  if (args["no-stan"]) return "--no-stan given";
  const r = spawnSync("Rscript", ["-e", 'for (p in c("rstan", "jsonlite", "digest")) if (!requireNamespace(p, quietly = TRUE)) { cat(p); quit(status = 3) }'], { encoding: "utf8" });
  if (r.error !== undefined) return `Rscript could not start (${r.error.message})`;
  if (r.status === 3) return `R package ${r.stdout.trim()} is not installed`;
  return r.status === 0 ? null : `Rscript exited with status ${r.status}`;
}

interface VbOut {
  readonly seconds: number;
  readonly error?: string;
  readonly eta_trials?: number;
  readonly iterations?: number;
  readonly converged?: boolean;
  readonly gradients?: number;
  readonly log_densities?: number;
  readonly means?: Record<string, number | null>;
}

/** Stan's flat names (theta.1) to ours (theta[1]). */
const ourName = (stan: string) => {
  const parts = stan.split(".");
  return parts.length === 1 ? stan : `${parts[0]}[${parts.slice(1).join(",")}]`;
};

function runStan(name: string, ref: Reference): Result[] {
  mkdirSync(WORK, { recursive: true });
  const out = join(WORK, `${name}-${seed}.json`);
  rmSync(out, { force: true });
  const r = spawnSync("Rscript", [join("bench", "stan", "run-vb.R"), name, String(seed), out, ...(args.recompile ? ["--recompile"] : [])], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0 || !existsSync(out)) {
    const note = `rstan failed (status ${r.status}): ${(r.stderr ?? "").trim().split("\n").slice(-2).join(" ")}`;
    return (["stan-vb-meanfield", "stan-vb-fullrank"] as const).map((method) => ({ posterior: name, method, gradients: NaN, logDensities: NaN, seconds: NaN, errors: [], note }));
  }
  let s: { meanfield: VbOut; fullrank: VbOut; compile: { cached: boolean; seconds: number } };
  try {
    s = JSON.parse(readFileSync(out, "utf8")) as typeof s;
  } catch (e) {
    const note = `rstan's output could not be read: ${(e as Error).message}`;
    return (["stan-vb-meanfield", "stan-vb-fullrank"] as const).map((method) => ({ posterior: name, method, gradients: NaN, logDensities: NaN, seconds: NaN, errors: [], note }));
  }
  return (["meanfield", "fullrank"] as const).map((family) => {
    const v = s[family];
    const method: Method = `stan-vb-${family}`;
    if (v.error !== undefined || v.means === undefined) return { posterior: name, method, gradients: NaN, logDensities: NaN, seconds: v.seconds, errors: [], note: `vb failed: ${v.error ?? "no draws"}` };
    const means = new Map(Object.entries(v.means).map(([k, m]) => [ourName(k), m ?? NaN]));
    return {
      posterior: name,
      method,
      gradients: v.gradients ?? NaN,
      logDensities: v.log_densities ?? NaN,
      seconds: v.seconds,
      errors: meanErrors((n) => means.get(n), ref),
      note: `eta trials ${v.eta_trials}, ${v.iterations} iterations${v.converged ? "" : ", not converged"}`,
    };
  });
}

const problem = stanProblem();
if (problem !== null) log(`Stan skipped: ${problem}`);
const pool = createWorkerPool({ threads: 2 });
const results: Result[] = [];
for (const name of names) {
  const { model, reference } = loadPosterior(name);
  const ours: [Method, () => Promise<Posterior & { gradientEvaluations: number; densityEvaluations: number }>, (p: Posterior) => string][] = [
    ["pathfinder", () => pathfinder(model, { seed, pool }).result, (p) => `Pareto k ${(p as unknown as { paretoK: number }).paretoK.toFixed(2)}`],
    ["advi-meanfield", () => advi(model, { seed, pool, family: "meanfield" }).result, (p) => adviNote(p)],
    ["advi-fullrank", () => advi(model, { seed, pool, family: "fullrank" }).result, (p) => adviNote(p)],
  ];
  for (const [method, run, note] of ours) {
    const t0 = performance.now();
    try {
      const p = await run();
      const seconds = (performance.now() - t0) / 1000;
      results.push({ posterior: name, method, gradients: p.gradientEvaluations, logDensities: p.densityEvaluations, seconds, errors: meanErrors(posteriorMeans(p), reference), note: note(p) });
    } catch (e) {
      results.push({ posterior: name, method, gradients: NaN, logDensities: NaN, seconds: (performance.now() - t0) / 1000, errors: [], note: `failed: ${(e as Error).message.slice(0, 120)}` });
    }
    log(`${name} ${method}: ${describe(results[results.length - 1]!)}`);
  }
  if (problem === null) {
    for (const r of runStan(name, reference)) {
      results.push(r);
      log(`${name} ${r.method}: ${describe(r)}`);
    }
  }
}
await pool.close();

function adviNote(p: Posterior): string {
  const a = p as unknown as { eta: number; iterations: number; converged: boolean };
  return `eta ${a.eta}, ${a.iterations} iterations${a.converged ? "" : ", not converged"}`;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2;
}

function describe(r: Result): string {
  if (r.errors.length === 0) return r.note;
  return `median err ${median(r.errors).toFixed(2)}, max ${Math.max(...r.errors).toFixed(2)}, ${r.gradients} gradients + ${r.logDensities} log densities, ${r.seconds.toFixed(2)} s (${r.note})`;
}

const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits)) : x === Infinity ? "inf" : "-");
const cell = (r: Result | undefined) =>
  r === undefined || r.errors.length === 0 ? (r?.note ? `failed` : "-") : `${fmt(median(r.errors))} / ${fmt(Math.max(...r.errors))}`;

const lines: string[] = [
  "# Pathfinder and ADVI against rstan's vb()",
  "",
  `Generated by \`npm run bench:approx\` (bench/approx.ts), seed ${seed}, ${new Date().toISOString()}.`,
  "Error: |mean - reference mean| / reference sd for each parameter of posteriordb's reference, shown as median / largest over the posterior's parameters.",
  "Gradients: gradient evaluations; log densities: evaluations of the log density alone (ELBO estimates, importance weights, draws).",
  "Ours: one shared 2-thread worker pool; Stan: rstan 2.21 `vb()` with its defaults, compiled model cached, compile time excluded.",
  "",
  "| posterior | pathfinder err | advi-meanfield err | advi-fullrank err | stan-vb-meanfield err | stan-vb-fullrank err | pathfinder grads + lp | advi-mf grads + lp | advi-fr grads + lp | vb-mf grads + lp | vb-fr grads + lp | pathfinder s | advi-mf s | advi-fr s | vb-mf s | vb-fr s |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const name of names) {
  const at = (m: Method) => results.find((r) => r.posterior === name && r.method === m);
  const cost = (m: Method) => {
    const r = at(m);
    return r === undefined || !Number.isFinite(r.gradients) ? "-" : `${fmt(r.gradients, 0)} + ${fmt(r.logDensities, 0)}`;
  };
  const secs = (m: Method) => fmt(at(m)?.seconds ?? NaN);
  lines.push(`| ${name} | ${METHODS.map((m) => cell(at(m))).join(" | ")} | ${METHODS.map(cost).join(" | ")} | ${METHODS.map(secs).join(" | ")} |`);
}
lines.push("", "Notes per run:", "");
for (const r of results) lines.push(`- ${r.posterior}, ${r.method}: ${r.note}`);
const pooled = (m: Method) => median(results.filter((r) => r.method === m).flatMap((r) => (r.errors.length === 0 ? Object.keys(loadPosterior(r.posterior).reference.parameters).map(() => Infinity) : r.errors)));
const gradMedian = (m: Method) => median(results.filter((r) => r.method === m && Number.isFinite(r.gradients)).map((r) => r.gradients));
lines.push(
  "",
  `Median gradients per posterior: ${METHODS.map((m) => `${m} ${fmt(gradMedian(m), 0)}`).join(", ")}.`,
  `Median |mean error| / ref sd over every parameter (a failed run counts as infinite): ${METHODS.map((m) => `${m} ${fmt(pooled(m))}`).join(", ")}.`,
  `Targets: Pathfinder at least as accurate as Stan's ADVI (meanfield ${fmt(pooled("stan-vb-meanfield"))}) at a tenth of its gradients (${fmt(gradMedian("pathfinder"), 0)} against ${fmt(gradMedian("stan-vb-meanfield"), 0)}); our ADVI no worse than Stan's (meanfield ${fmt(pooled("advi-meanfield"))} vs ${fmt(pooled("stan-vb-meanfield"))}, fullrank ${fmt(pooled("advi-fullrank"))} vs ${fmt(pooled("stan-vb-fullrank"))}).`,
  "",
  `approximations, median |mean error| / ref sd: pathfinder ${fmt(pooled("pathfinder"))}, advi-meanfield ${fmt(pooled("advi-meanfield"))}, advi-fullrank ${fmt(pooled("advi-fullrank"))}, stan-vb-meanfield ${fmt(pooled("stan-vb-meanfield"))}`,
);
writeFileSync(args.out!, lines.join("\n") + "\n");
console.log(lines.join("\n"));

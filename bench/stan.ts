/**
 * `npm run bench:stan`: this runtime against Stan (rstan) on the seven benchmark models,
 * measured in the same process run on the same machine; writes bench/RESULTS.md and ends
 * its stdout with
 *
 *   vs Stan, geometric mean over models: ESS/s X.XXx, ESS per gradient Y.YYx, time to answer Z.Zx
 *
 * For every model and seed, interleaved (ours, Stan, ours):
 *   1. ours, defaults (`sample(model, { chains: 4, warmup: 1000, draws: 1000, seed })`:
 *      worker threads, pooled warmup, warmup extension), compiled beforehand (timed);
 *   2. Stan: `Rscript bench/stan/run-stan.R` = rstan `sampling(..., chains = 4, cores = 2,
 *      iter = 2000, warmup = 1000, seed = s)`, compiled model cached in bench/stan/.cache
 *      (the compile time reported is the one measured when it was compiled cold);
 *   3. ours in early-stop mode (`earlyStop: true`: bulk and tail ESS >= 400 and R-hat < 1.01
 *      over all parameters, checked every 100 draws, at most `--max-draws` draws per chain).
 * ESS and R-hat of both sides come from src/diagnostics, on the draws (Stan's exported
 * from R). After the runs, the seed-1 run of ours for each model is written as Stan CSV
 * (bench/stan/out/csv/<model>_<chain>.csv) and read back in R (bench/stan/check-csv.R),
 * which must give the same means.
 *
 *   node dist/bench/stan.js [--models simple,sv] [--seeds 1,2,3] [--recompile] [--no-stan]
 *                           [--max-draws 10000] [--out bench/RESULTS.md] [--no-runtime]
 *   node dist/bench/stan.js --render     (the report of the last run again, from
 *                                         bench/stan/out/last-run.json: after editing NOTES.md)
 *   node dist/bench/stan.js --models sv --saved piece-sv.json    (one piece of a run, saved
 *                                         under that name in bench/stan/out/)
 *   node dist/bench/stan.js --render --pieces piece-a.json,piece-b.json   (one report from
 *                                         pieces run one after another, e.g. a model each, so
 *                                         that each fits a quiet slot of the machine)
 *
 * --recompile: compile each Stan model cold (once per model, at its first seed) instead of
 * loading it from the cache. Without Rscript or rstan, Stan is skipped with the reason.
 * Without the supervised runtime (src/api/sample.ts), or with --no-runtime, our fixed-length
 * runs use `sampleSync` and the early-stop runs are not made (said in the output).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Posterior } from "../src/api/posterior.js";
import { DEFAULT_ADAPTATION } from "../src/api/sample-options.js";
import { sampleSync } from "../src/api/sample-sync.js";
import { compile } from "../src/compile/compile.js";
import { essBulk, essTail, rhat } from "../src/diagnostics/index.js";
import { writeStanCsv } from "../src/io/index.js";
import { BENCHMARK_NAMES, benchmarkModel, type BenchmarkName } from "./models/index.js";
import { projectRoot } from "./paths.js";
import { probeStan as probeRstan, runRstan, type StanOutput } from "./stan-runner.js";

// ---- options ---------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    models: { type: "string" },
    seeds: { type: "string", default: "1,2,3" },
    render: { type: "boolean", default: false },
    recompile: { type: "boolean", default: false },
    "no-stan": { type: "boolean", default: false },
    "no-runtime": { type: "boolean", default: false },
    "max-draws": { type: "string", default: "10000" },
    out: { type: "string" },
    saved: { type: "string", default: "last-run.json" },
    pieces: { type: "string" },
  },
});
let MODELS = (args.models?.split(",") ?? [...BENCHMARK_NAMES]) as BenchmarkName[];
let SEEDS = args.seeds.split(",").map(Number);
const RENDER = args.render;
const RECOMPILE = args.recompile;
const NO_STAN = args["no-stan"];
const MAX_DRAWS = Number(args["max-draws"]);
const ROOT = projectRoot();
const OUT = args.out ?? join(ROOT, "bench", "RESULTS.md");
const WORK = join(ROOT, "bench", "stan", "out");
for (const m of MODELS) if (!BENCHMARK_NAMES.includes(m)) throw new Error(`unknown model ${m} (known: ${BENCHMARK_NAMES.join(", ")})`);

/** The answer a user wants: every parameter with bulk and tail ESS >= 400 and R-hat < 1.01. */
const TARGET = { ess: 400, rhat: 1.01, every: 100 };

const log = (s: string) => process.stderr.write(s + "\n");

/** 1-minute load average seen before each run (other processes share the cores). */
let loads: number[] = [];
const noteLoad = () => loads.push(loadavg()[0]!);

// ---- records ---------------------------------------------------------------------------

type System = "ours" | "ours-early" | "stan";

interface TimeToAnswer {
  /** Seconds: compile + warmup + sampling up to the answer (see `how`). */
  readonly seconds: number;
  readonly gradients: number;
  /** Draws per chain at the answer. */
  readonly draws: number;
}

interface RunRecord {
  readonly system: System;
  readonly model: BenchmarkName;
  readonly seed: number;
  readonly compileSeconds: number;
  /** Stan: compiled model loaded from the cache (compile time from its cold compile). */
  readonly compileCached: boolean;
  /** Wall seconds of the run, compile excluded. */
  readonly wallSeconds: number;
  /**
   * Sum over chains of the sampler's own warmup + sampling time, as CPU seconds on both sides
   * (Stan: rstan's elapsed times, `clock()` in run_adaptive_sampler.hpp; ours: the worker
   * threads' CPU per chunk, /proc/thread-self). Ours falls back to per-chunk wall time where
   * CPU time is not measured (`samplerClock` says which).
   */
  readonly samplerSeconds: number;
  readonly samplerClock?: "cpu" | "wall";
  /** Gradient evaluations, warmup included. */
  readonly gradients: number;
  readonly drawsPerChain: number;
  readonly minBulk: number;
  readonly minTail: number;
  readonly maxRhat: number;
  readonly divergences: number;
  /** null: not reached within the run. */
  readonly tta: TimeToAnswer | null;
  readonly note: string;
}

const essPerSecond = (r: RunRecord) => r.minBulk / r.wallSeconds;
const essPer1000 = (r: RunRecord) => (1000 * r.minBulk) / r.gradients;

/** Draws of every parameter, per chain, plus per-draw leapfrog steps (sampling). */
interface DrawsTable {
  readonly names: readonly string[];
  /** draws[k][c]: parameter k, chain c (sampling draws). */
  readonly draws: readonly (readonly Float64Array[])[];
  /** nLeapfrog[c][i] of sampling draw i. */
  readonly nLeapfrog: readonly ArrayLike<number>[];
}

interface Convergence {
  readonly minBulk: number;
  readonly minTail: number;
  readonly maxRhat: number;
}

function convergence(t: DrawsTable, n: number | null = null, stopEarly = false): Convergence {
  let minBulk = Infinity;
  let minTail = Infinity;
  let maxRhat = -Infinity;
  for (const chains of t.draws) {
    const cs: Float64Array[] = n === null ? [...chains] : chains.map((c) => c.subarray(0, n));
    const b = essBulk(cs);
    const tl = essTail(cs);
    const r = rhat(cs);
    // NaN (a constant or non-finite quantity) counts as failing.
    minBulk = Math.min(minBulk, Number.isNaN(b) ? -Infinity : b);
    minTail = Math.min(minTail, Number.isNaN(tl) ? -Infinity : tl);
    maxRhat = Math.max(maxRhat, Number.isNaN(r) ? Infinity : r);
    if (stopEarly && !passes({ minBulk, minTail, maxRhat })) break;
  }
  return { minBulk, minTail, maxRhat };
}

const passes = (c: Convergence) => c.minBulk >= TARGET.ess && c.minTail >= TARGET.ess && c.maxRhat < TARGET.rhat;

/**
 * Time to answer of a fixed-length run: the fewest draws per chain (a multiple of 100) at
 * which every parameter passes, over the first n draws of every chain; its gradients are
 * warmup's plus those of the first n draws; its time is compile + the run's wall time x the
 * share of the run's gradients spent up to there (proportional to gradients: neither rstan
 * nor our runtime records per-iteration times).
 */
function timeToAnswer(t: DrawsTable, compileSeconds: number, wallSeconds: number, totalGradients: number): TimeToAnswer | null {
  const nDraws = t.nLeapfrog[0]?.length ?? 0;
  for (let n = TARGET.every; n <= nDraws; n += TARGET.every) {
    if (!passes(convergence(t, n, true))) continue;
    let after = 0;
    for (const c of t.nLeapfrog) for (let i = n; i < c.length; i++) after += c[i]!;
    const gradients = totalGradients - after;
    return { seconds: compileSeconds + (wallSeconds * gradients) / totalGradients, gradients, draws: n };
  }
  return null;
}

function oursTable(p: Posterior): DrawsTable {
  const chains = "healthyChains" in p ? (p as RunResult).healthyChains() : p.chains.map((c) => c.chain);
  const names = p.names.slice(0, p.paramCount);
  return {
    names,
    draws: names.map((n) => {
      const all = p.draws(n);
      return chains.map((c) => all[c]!);
    }),
    nLeapfrog: chains.map((c) => p.chains[c]!.stats.nLeapfrog),
  };
}

function oursRecord(system: System, model: BenchmarkName, seed: number, p: Posterior, compileSeconds: number, wallSeconds: number, note: string): RunRecord {
  const t = oursTable(p);
  const c = convergence(t);
  const gradients = p.chains.reduce((a, ch) => a + ch.gradientEvaluations, 0);
  let tta: TimeToAnswer | null;
  if (system === "ours-early") {
    const stopped = (p as RunResult).status === "stopped-early";
    tta = stopped && passes(c) ? { seconds: compileSeconds + wallSeconds, gradients, draws: p.numDraws } : null;
  } else {
    tta = timeToAnswer(t, compileSeconds, wallSeconds, gradients);
  }
  return {
    system,
    model,
    seed,
    compileSeconds,
    compileCached: false,
    wallSeconds,
    ...samplerTime(p),
    gradients,
    drawsPerChain: p.numDraws,
    ...c,
    divergences: p.divergences().reduce((a, b) => a + b, 0),
    tta,
    note,
  };
}

// ---- ours ------------------------------------------------------------------------------

/**
 * What this harness uses of the supervised runtime (`sample` in src/api/sample.ts, landing
 * separately): loaded at run time, so that the harness builds and runs (fixed-length runs on
 * `sampleSync`, no early-stop runs) where the runtime is absent.
 */
interface RunResult extends Posterior {
  readonly status: string;
  readonly threads: number;
  readonly warmupExtensions: number;
  readonly chainStatus: readonly { readonly status: string }[];
  healthyChains(): number[];
}
type SampleFn = (model: unknown, options: Record<string, unknown>) => { readonly result: Promise<RunResult> };

let sampleFn: SampleFn | null = null;
let runtimeProblem: string | null = null;

async function loadRuntime(): Promise<void> {
  if (args["no-runtime"]) {
    runtimeProblem = "--no-runtime given: fixed-length runs use sampleSync (chains in sequence on one thread); early-stop runs need sample() and were not made";
    return;
  }
  const spec: string = "../src/api/sample.js";
  try {
    const m = (await import(spec)) as { sample?: SampleFn };
    if (typeof m.sample !== "function") throw new Error("it exports no sample()");
    sampleFn = m.sample;
  } catch (e) {
    runtimeProblem =
      `the supervised runtime (src/api/sample.ts) could not be loaded: ${(e as Error).message.split("\n")[0]}. ` +
      "Fixed-length runs use sampleSync (chains in sequence on one thread); early-stop runs need sample() with its earlyStop option and were not made";
  }
}

async function runOurs(model: BenchmarkName, seed: number, early: boolean): Promise<{ record: RunRecord | null; posterior: Posterior | null }> {
  const system: System = early ? "ours-early" : "ours";
  const t0 = performance.now();
  const density = compile(benchmarkModel(model));
  const compileSeconds = (performance.now() - t0) / 1000;
  const base = { chains: 4, warmup: 1000, seed };
  if (sampleFn !== null) {
    try {
      const t1 = performance.now();
      const run = sampleFn(density, early ? { ...base, draws: MAX_DRAWS, earlyStop: true, checkEvery: TARGET.every } : { ...base, draws: 1000 });
      const p = await run.result;
      const wall = (performance.now() - t1) / 1000;
      const failed = p.chainStatus.filter((s) => s.status === "failed").length;
      const note = `${p.threads} threads` + (p.warmupExtensions > 0 ? `, warmup extended ${p.warmupExtensions}x` : "") + (failed > 0 ? `, ${failed} chain(s) FAILED` : "");
      return { record: oursRecord(system, model, seed, p, compileSeconds, wall, note), posterior: p };
    } catch (e) {
      sampleFn = null;
      runtimeProblem = `sample() failed on ${model} seed ${seed} (${(e as Error).message}); from there on fixed-length runs use sampleSync and early-stop runs were not made`;
      log(`  ${runtimeProblem}`);
    }
  }
  if (early) return { record: null, posterior: null };
  const t1 = performance.now();
  const p = sampleSync(density, { ...base, draws: 1000 });
  const wall = (performance.now() - t1) / 1000;
  return { record: oursRecord(system, model, seed, p, compileSeconds, wall, "sampleSync (1 thread)"), posterior: p };
}

// ---- Stan ------------------------------------------------------------------------------

/** Why Stan cannot run here, or null when it can. */
function probeStan(): string | null {
  if (NO_STAN) return "--no-stan given";
  return probeRstan();
}

let stanVersions: StanOutput["versions"] | null = null;
let stanCompiles: Record<string, { seconds: number; at: string; coldInThisRun: boolean }> = {};

function runStan(model: BenchmarkName, seed: number, recompile: boolean, names: readonly string[]): { record: RunRecord | null; error: string | null } {
  const run = runRstan(model, seed, join(WORK, "stan"), { recompile });
  if (run.output === null) return { record: null, error: run.error };
  const s = run.output;
  stanVersions = s.versions;
  if (!s.compile.cached || stanCompiles[model] === undefined) {
    stanCompiles[model] = { seconds: s.compile.seconds, at: s.compile.compiled_at, coldInThisRun: !s.compile.cached };
  }
  const missing = names.filter((n) => s.chains[0]!.draws[n] === undefined);
  if (missing.length > 0) return { record: null, error: `Stan's output lacks ${missing.join(", ")}` };
  const table: DrawsTable = {
    names,
    draws: names.map((n) => s.chains.map((c) => Float64Array.from(c.draws[n]!, (x) => (x === null ? NaN : x)))),
    nLeapfrog: s.chains.map((c) => c.n_leapfrog),
  };
  const gradients = s.chains.reduce((a, c) => a + c.n_leapfrog_warmup.reduce((x, y) => x + y, 0) + c.n_leapfrog.reduce((x, y) => x + y, 0), 0);
  const conv = convergence(table);
  return {
    record: {
      system: "stan",
      model,
      seed,
      compileSeconds: s.compile.seconds,
      compileCached: s.compile.cached,
      wallSeconds: s.wall_seconds,
      samplerSeconds: s.chains.reduce((a, c) => a + c.warmup_seconds + c.sampling_seconds, 0),
      gradients,
      drawsPerChain: s.chains[0]!.n_leapfrog.length,
      ...conv,
      divergences: s.chains.reduce((a, c) => a + c.divergent.reduce((x, y) => x + y, 0), 0),
      tta: timeToAnswer(table, s.compile.seconds, s.wall_seconds, gradients),
      note: s.compile.cached ? `compiled model loaded from cache in ${s.compile.load_seconds.toFixed(2)} s` : "cold compile",
    },
    error: null,
  };
}

// ---- Stan CSV check --------------------------------------------------------------------

interface CsvCheck {
  readonly model: BenchmarkName;
  readonly ok: boolean;
  readonly detail: string;
}

function checkCsv(exports: { model: BenchmarkName; prefix: string; means: Map<string, number> }[], stanProblem: string | null): CsvCheck[] {
  if (exports.length === 0) return [];
  if (stanProblem !== null) return exports.map((e) => ({ model: e.model, ok: false, detail: `written, not checked: ${stanProblem}` }));
  const out = join(WORK, "csv-check.json");
  rmSync(out, { force: true });
  const r = spawnSync("Rscript", [join("bench", "stan", "check-csv.R"), out, ...exports.map((e) => e.prefix)], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0 || !existsSync(out)) {
    const why = `check-csv.R failed (status ${r.status}): ${(r.stderr ?? "").trim().slice(-300)}`;
    return exports.map((e) => ({ model: e.model, ok: false, detail: why }));
  }
  const res = JSON.parse(readFileSync(out, "utf8")) as Record<string, { error?: string; reader?: string; chains?: number; iterations?: number; means?: Record<string, number | null> }>;
  return exports.map((e) => {
    const got = res[e.prefix];
    if (got === undefined || got.error !== undefined) return { model: e.model, ok: false, detail: got?.error ?? "no answer from R" };
    let worst = 0;
    const problems: string[] = [];
    for (const [name, mean] of e.means) {
      const r = got.means?.[name];
      if (r === undefined || r === null) {
        problems.push(`${name} missing`);
        continue;
      }
      worst = Math.max(worst, Math.abs(r - mean) / Math.max(1, Math.abs(mean)));
    }
    const extra = Object.keys(got.means ?? {}).filter((n) => !e.means.has(n));
    if (extra.length > 0) problems.push(`unexpected ${extra.join(", ")}`);
    const ok = problems.length === 0 && worst <= 1e-12;
    return {
      model: e.model,
      ok,
      detail: `${got.reader}: ${got.chains} chains x ${got.iterations} draws, ${e.means.size} means, largest relative difference ${worst.toExponential(1)}${problems.length ? "; " + problems.join("; ") : ""}`,
    };
  });
}

/** Our sampler seconds: the worker threads' CPU time when every chain has it, else per-chunk wall time. */
function samplerTime(p: Posterior): { samplerSeconds: number; samplerClock: "cpu" | "wall" } {
  if (p.chains.every((ch) => ch.warmupCpuSeconds !== undefined && ch.samplingCpuSeconds !== undefined)) {
    return { samplerSeconds: p.chains.reduce((a, ch) => a + ch.warmupCpuSeconds! + ch.samplingCpuSeconds!, 0), samplerClock: "cpu" };
  }
  return { samplerSeconds: p.chains.reduce((a, ch) => a + ch.warmupSeconds + ch.samplingSeconds, 0), samplerClock: "wall" };
}

// ---- formatting ------------------------------------------------------------------------

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function num(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x === Infinity ? "inf" : x === -Infinity ? "-inf" : "NaN";
  const a = Math.abs(x);
  if (a >= 10_000) return Math.round(x).toLocaleString("en-US");
  if (a >= 100) return x.toFixed(0);
  return x.toFixed(digits);
}

/** Median (min-max) over seeds. */
function spread(xs: readonly number[], digits: number): string {
  if (xs.length === 0) return "-";
  const m = num(median(xs), digits);
  if (xs.length === 1) return m;
  return `${m} (${num(Math.min(...xs), digits)}-${num(Math.max(...xs), digits)})`;
}

/** Time to answer over seeds: median with not-reached as infinite. */
function ttaCell(rs: readonly RunRecord[]): string {
  const secs = rs.map((r) => r.tta?.seconds ?? Infinity);
  const reached = rs.filter((r) => r.tta !== null).length;
  const m = median(secs);
  const draws = rs.filter((r) => r.tta !== null).map((r) => r.tta!.draws);
  if (!Number.isFinite(m)) return reached === 0 ? "not reached" : `not reached (${reached}/${rs.length} seeds reached)`;
  const fin = secs.filter(Number.isFinite);
  const range = rs.length > 1 ? ` (${num(Math.min(...fin), 2)}-${reached < rs.length ? "not reached" : num(Math.max(...fin), 2)})` : "";
  return `${num(m, 2)}${range} at ${median(draws)} draws`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

const SYSTEM_LABEL: Record<System, string> = { ours: "ours, 1000 draws", "ours-early": "ours, early stop", stan: "rstan, 1000 draws" };

function resultRows(records: readonly RunRecord[]): string[][] {
  const rows: string[][] = [];
  for (const model of MODELS) {
    for (const system of ["ours", "ours-early", "stan"] as const) {
      const rs = records.filter((r) => r.model === model && r.system === system);
      if (rs.length === 0) continue;
      rows.push([
        model,
        SYSTEM_LABEL[system],
        spread(rs.map((r) => r.compileSeconds), system === "stan" ? 1 : 3),
        spread(rs.map((r) => r.wallSeconds), 2),
        spread(rs.map((r) => r.samplerSeconds), 3) + (rs.some((r) => r.samplerClock === "wall") ? " (wall)" : ""),
        spread(rs.map((r) => r.gradients), 0),
        spread(rs.map((r) => r.drawsPerChain), 0),
        spread(rs.map((r) => r.minBulk), 0),
        spread(rs.map((r) => r.minTail), 0),
        spread(rs.map((r) => r.maxRhat), 3),
        spread(rs.map((r) => r.divergences), 0),
        spread(rs.map(essPerSecond), 1),
        spread(rs.map(essPer1000), 2),
        ttaCell(rs),
      ]);
    }
  }
  return rows;
}

const RESULT_HEADER = [
  "model",
  "run",
  "compile s",
  "wall s",
  "sampler s",
  "gradients",
  "draws/chain",
  "min bulk ESS",
  "min tail ESS",
  "max R-hat",
  "divergences",
  "ESS/s (wall)",
  "ESS/1000 grads",
  "time to answer s",
];

interface Ratios {
  readonly model: BenchmarkName;
  readonly essPerSecond: number;
  readonly essPerGradient: number;
  /** Min bulk ESS per second of the sampler's own time (summed over chains): raw speed, start-up left out. */
  readonly essPerSamplerSecond: number;
  /** Stan / ours; `bound`: Stan never reached the answer, so its time is at least its whole run. */
  readonly timeToAnswer: number;
  readonly ttaBound: "exact" | "lower bound" | "ours not reached";
}

function ratios(records: readonly RunRecord[]): Ratios[] {
  const out: Ratios[] = [];
  for (const model of MODELS) {
    const of = (s: System) => records.filter((r) => r.model === model && r.system === s);
    const ours = of("ours");
    const early = of("ours-early");
    const stan = of("stan");
    if (ours.length === 0 || stan.length === 0) continue;
    const stanTta = stan.map((r) => r.tta?.seconds ?? Infinity);
    const stanMedian = median(stanTta);
    const stanBound = median(stan.map((r) => r.tta?.seconds ?? r.compileSeconds + r.wallSeconds));
    const ourSide = early.length > 0 ? early : ours;
    const ourMedian = median(ourSide.map((r) => r.tta?.seconds ?? Infinity));
    let tta: number;
    let kind: Ratios["ttaBound"];
    if (!Number.isFinite(ourMedian)) {
      tta = stanBound / median(ourSide.map((r) => r.compileSeconds + r.wallSeconds));
      kind = "ours not reached";
    } else if (!Number.isFinite(stanMedian)) {
      tta = stanBound / ourMedian;
      kind = "lower bound";
    } else {
      tta = stanMedian / ourMedian;
      kind = "exact";
    }
    out.push({
      model,
      essPerSecond: median(ours.map(essPerSecond)) / median(stan.map(essPerSecond)),
      essPerGradient: median(ours.map(essPer1000)) / median(stan.map(essPer1000)),
      essPerSamplerSecond: median(ours.map((r) => r.minBulk / r.samplerSeconds)) / median(stan.map((r) => r.minBulk / r.samplerSeconds)),
      timeToAnswer: tta,
      ttaBound: kind,
    });
  }
  return out;
}

const geomean = (xs: readonly number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

function sh(cmd: string, a: string[]): string {
  const r = spawnSync(cmd, a, { encoding: "utf8", cwd: ROOT });
  return r.status === 0 ? r.stdout.trim() : "?";
}

// ---- main ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg();
  await loadRuntime();
  if (runtimeProblem !== null) console.log(`note: ${runtimeProblem}`);
  const stanProblem = probeStan();
  if (stanProblem !== null) console.log(`Stan skipped: ${stanProblem}. Only our runs are made.`);
  log(`bench:stan: models ${MODELS.join(", ")}; seeds ${SEEDS.join(", ")}; Stan ${stanProblem === null ? "on" : "off"}`);

  const records: RunRecord[] = [];
  const stanErrors: string[] = [];
  const exports: { model: BenchmarkName; prefix: string; means: Map<string, number> }[] = [];
  rmSync(join(WORK, "csv"), { recursive: true, force: true });

  for (const model of MODELS) {
    const names = compile(benchmarkModel(model)).names;
    for (const [k, seed] of SEEDS.entries()) {
      noteLoad();
      const fixed = await runOurs(model, seed, false);
      if (fixed.record !== null) {
        records.push(fixed.record);
        log(`${model} seed ${seed} ours:  ${brief(fixed.record)}`);
      }
      if (k === 0 && fixed.posterior !== null) {
        const prefix = join(WORK, "csv", model);
        writeStanCsv(fixed.posterior, prefix, { model, dataFile: `bench/models/${model}/data.json` });
        const means = new Map<string, number>();
        for (const n of fixed.posterior.names) {
          const all = fixed.posterior.draws(n);
          means.set(n, all.reduce((a, c) => a + c.reduce((x, y) => x + y, 0), 0) / (all.length * fixed.posterior.numDraws));
        }
        // writeStanCsv adds the pointwise log-likelihood as log_lik[1..N] when the model observes data.
        if ((fixed.posterior.model?.observed.length ?? 0) > 0) {
          const ll = fixed.posterior.logLikelihood();
          const size = ll[0]?.[0]?.length ?? 0;
          const draws = ll.reduce((a, c) => a + c.length, 0);
          for (let k = 0; k < size; k++) means.set(`log_lik[${k + 1}]`, ll.reduce((a, c) => a + c.reduce((x, row) => x + row[k]!, 0), 0) / draws);
        }
        exports.push({ model, prefix, means });
      }
      if (stanProblem === null) {
        noteLoad();
        const s = runStan(model, seed, RECOMPILE && k === 0, fixed.posterior?.names.slice(0, fixed.posterior.paramCount) ?? names);
        if (s.record !== null) {
          records.push(s.record);
          log(`${model} seed ${seed} Stan:  ${brief(s.record)}`);
        } else {
          stanErrors.push(`${model} seed ${seed}: ${s.error}`);
          log(`${model} seed ${seed} Stan:  FAILED: ${s.error}`);
        }
      }
      noteLoad();
      const early = await runOurs(model, seed, true);
      if (early.record !== null) {
        records.push(early.record);
        log(`${model} seed ${seed} early: ${brief(early.record)}`);
      }
    }
  }

  const csv = checkCsv(exports, stanProblem);
  const run: SavedRun = {
    models: MODELS,
    seeds: SEEDS,
    records,
    csv,
    stanProblem,
    stanErrors,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    loadBefore,
    loadAfter: loadavg(),
    loads,
    stanVersions,
    stanCompiles,
    runtimeProblem,
    maxDraws: MAX_DRAWS,
    commit: sh("git", ["rev-parse", "--short", "HEAD"]) + (sh("git", ["status", "--porcelain", "--untracked-files=no"]) === "" ? "" : " (with uncommitted changes)"),
    node: process.version,
  };
  mkdirSync(WORK, { recursive: true });
  writeFileSync(SAVED, JSON.stringify(run, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)));
  output(run);
}

/** Everything a report is made of, saved after a run (bench/stan/out/last-run.json) for `--render`. */
interface SavedRun {
  readonly models: BenchmarkName[];
  readonly seeds: number[];
  readonly records: RunRecord[];
  readonly csv: CsvCheck[];
  readonly stanProblem: string | null;
  readonly stanErrors: string[];
  readonly started: string;
  readonly finished: string;
  readonly loadBefore: number[];
  readonly loadAfter: number[];
  readonly loads: number[];
  readonly stanVersions: StanOutput["versions"] | null;
  readonly stanCompiles: typeof stanCompiles;
  readonly runtimeProblem: string | null;
  readonly maxDraws: number;
  readonly commit: string;
  readonly node: string;
  /** Runs this report was assembled from (`--pieces`); absent: one. */
  readonly pieces?: number;
}

// Relative to the work folder; an absolute path as it is.
const SAVED = resolve(WORK, args.saved);

function readSaved(path: string): SavedRun {
  if (!existsSync(path)) throw new Error(`--render: no saved run at ${path}; run the benchmark first`);
  return JSON.parse(readFileSync(path, "utf8"), (_, v) => (v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v === "NaN" ? NaN : v)) as SavedRun;
}

/** One run made of pieces run one after another (models in the pieces' order; times from the first start to the last end). */
function mergePieces(pieces: readonly SavedRun[]): SavedRun {
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const distinct = <T>(xs: readonly T[]) => [...new Set(xs)];
  return {
    models: distinct(pieces.flatMap((p) => p.models)),
    seeds: distinct(pieces.flatMap((p) => p.seeds)),
    records: pieces.flatMap((p) => p.records),
    csv: pieces.flatMap((p) => p.csv),
    stanProblem: pieces.find((p) => p.stanProblem !== null)?.stanProblem ?? null,
    stanErrors: pieces.flatMap((p) => p.stanErrors),
    started: first.started,
    finished: last.finished,
    loadBefore: first.loadBefore,
    loadAfter: last.loadAfter,
    loads: pieces.flatMap((p) => p.loads),
    stanVersions: pieces.find((p) => p.stanVersions !== null)?.stanVersions ?? null,
    stanCompiles: Object.assign({}, ...pieces.map((p) => p.stanCompiles)) as SavedRun["stanCompiles"],
    runtimeProblem: pieces.find((p) => p.runtimeProblem !== null)?.runtimeProblem ?? null,
    maxDraws: first.maxDraws,
    commit: distinct(pieces.map((p) => p.commit)).join(", "),
    node: first.node,
    pieces: pieces.length,
  };
}

/** Writes the report and prints the tables; the last line on stdout is the summary line. */
function output(run: SavedRun): void {
  const rs = ratios(run.records);
  writeFileSync(OUT, render(run, rs));
  console.log(table(RESULT_HEADER, resultRows(run.records)));
  console.log("");
  if (rs.length > 0) console.log(table(RATIO_HEADER, ratioRows(rs)));
  for (const c of run.csv) console.log(`Stan CSV ${c.model}: ${c.ok ? "OK" : c.detail.startsWith("written, not checked") ? "not checked" : "NOT OK"}: ${c.detail}`);
  if (run.runtimeProblem !== null) console.log(`note: ${run.runtimeProblem}`);
  console.log(`wrote ${OUT}`);
  console.log(finalLine(rs, run.stanProblem));
}

/** `--render`: the report of the last run again (e.g. after editing bench/stan/NOTES.md), no sampling. */
function renderSaved(): void {
  const run = args.pieces === undefined ? readSaved(SAVED) : mergePieces(args.pieces.split(",").map((p) => readSaved(resolve(WORK, p))));
  MODELS = run.models;
  SEEDS = run.seeds;
  loads = run.loads;
  stanVersions = run.stanVersions;
  stanCompiles = run.stanCompiles;
  runtimeProblem = run.runtimeProblem;
  output(run);
}

function brief(r: RunRecord): string {
  return (
    `wall ${r.wallSeconds.toFixed(2)} s, ${r.gradients} grads, ${r.drawsPerChain} draws/chain, bulk ${r.minBulk.toFixed(0)}, tail ${r.minTail.toFixed(0)}, ` +
    `R-hat ${r.maxRhat.toFixed(3)}, div ${r.divergences}, answer ${r.tta === null ? "not reached" : `${r.tta.seconds.toFixed(2)} s @ ${r.tta.draws}`}`
  );
}

const RATIO_HEADER = ["model", "ESS/s ours/Stan", "ESS per gradient ours/Stan", "time to answer Stan/ours", "(ESS per sampler s ours/Stan)", "targets met (ESS/grad >= 1, ESS/s >= 0.5, answer >= 10)"];

function ratioRows(rs: readonly Ratios[]): string[][] {
  return rs.map((r) => [
    r.model,
    `${r.essPerSecond.toFixed(2)}x`,
    `${r.essPerGradient.toFixed(2)}x`,
    `${r.ttaBound === "lower bound" ? ">= " : r.ttaBound === "ours not reached" ? "~" : ""}${r.timeToAnswer.toFixed(1)}x${r.ttaBound === "lower bound" ? " (Stan not reached)" : r.ttaBound === "ours not reached" ? " (ours not reached)" : ""}`,
    `${r.essPerSamplerSecond.toFixed(2)}x`,
    [r.essPerGradient >= 1 ? "yes" : "no", r.essPerSecond >= 0.5 ? "yes" : "no", r.timeToAnswer >= 10 && r.ttaBound !== "ours not reached" ? "yes" : "no"].join(" / "),
  ]);
}

function finalLine(rs: readonly Ratios[], stanProblem: string | null): string {
  if (rs.length === 0) return `vs Stan, geometric mean over models: skipped (${stanProblem ?? "no Stan runs succeeded"})`;
  const a = geomean(rs.map((r) => r.essPerSecond));
  const b = geomean(rs.map((r) => r.essPerGradient));
  const c = geomean(rs.map((r) => r.timeToAnswer));
  return `vs Stan, geometric mean over models: ESS/s ${a.toFixed(2)}x, ESS per gradient ${b.toFixed(2)}x, time to answer ${c.toFixed(1)}x`;
}

function render(run: SavedRun, rs: readonly Ratios[]): string {
  const { records, csv, stanProblem, stanErrors, loadBefore, loadAfter } = run;
  const started = new Date(run.started);
  const cpu = cpus();
  const minutes = (new Date(run.finished).getTime() - started.getTime()) / 60_000;
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const lines: string[] = [];
  lines.push("# Side-by-side with Stan (`npm run bench:stan`)", "");
  lines.push(`Generated by \`bench/stan.ts\` on ${started.toISOString().slice(0, 16).replace("T", " ")} UTC in ${minutes.toFixed(1)} min${run.pieces !== undefined && run.pieces > 1 ? ` (${run.pieces} pieces run one after another, \`--render --pieces\`)` : ""}; do not edit by hand (the reading at the end comes from \`bench/stan/NOTES.md\`).`, "");
  lines.push("## Machine and versions", "");
  lines.push(`- CPU: ${cpu[0]?.model ?? "?"}, ${cpu.length} cores; RAM ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average (1 min) ${loadBefore[0]!.toFixed(2)} at start, ${loadAfter[0]!.toFixed(2)} at end, ${spread(loads, 2)} before each run (median, min-max; it counts this benchmark's own previous run too; ${cpu.length} = both cores busy)`);
  lines.push(`- Node ${run.node}; @bayests/runtime ${pkg.version} at commit ${run.commit}`);
  if (stanProblem !== null) lines.push(`- Stan: **skipped** (${stanProblem})`);
  else if (stanVersions !== null) lines.push(`- R ${stanVersions.R}, rstan ${stanVersions.rstan}, StanHeaders ${stanVersions.StanHeaders}; ESS and R-hat of both sides by this package's diagnostics (checked against R's posterior 1.4)`);
  lines.push(`- Models: ${MODELS.join(", ")}; seeds ${SEEDS.join(", ")}; per model and seed, interleaved: ours (1000 draws), rstan, ours (early stop)`);
  lines.push("");
  lines.push("## What was run", "");
  lines.push(
    runtimeProblem === null
      ? `- **ours, 1000 draws**: \`sample(compile(model), { chains: 4, warmup: 1000, draws: 1000, seed })\`, everything else default: the default adaptation (\`metric: "${DEFAULT_ADAPTATION.metric}"\`, \`schedule: "${DEFAULT_ADAPTATION.schedule}"\`, adaptive warmup length ${DEFAULT_ADAPTATION.adaptiveWarmup ? "on" : "off"}: Stan's windowed diagonal metric, DECISIONS.md D94), threads = cores, pooled warmup, warmup extension when R-hat of the last window > 1.05.`
      : "- **ours, 1000 draws**: `sample(compile(model), { chains: 4, warmup: 1000, draws: 1000, seed })` where the runtime worked, otherwise `sampleSync(compile(model), { chains: 4, warmup: 1000, draws: 1000, seed })` (see *Runtime problem* below).",
    `- **ours, early stop**: the same with \`earlyStop: true\` (bulk and tail ESS >= ${TARGET.ess}, R-hat < ${TARGET.rhat} over all parameters, checked every ${TARGET.every} draws), \`draws: ${run.maxDraws}\` as the most per chain${runtimeProblem === null ? "" : " (only with the runtime's sample())"}.`,
    "- **rstan, 1000 draws**: `sampling(sm, data, chains = 4, cores = 2, iter = 2000, warmup = 1000, seed = s, refresh = 0)` in `Rscript bench/stan/run-stan.R`; draws of all parameters, `n_leapfrog__`, `divergent__` and `get_elapsed_time()` exported to JSON (17 digits).",
    "",
    "Columns: *compile s*: ours `compile(model)`; Stan `stan_model()` from a cold compile (measured when the cached model was built; see below). *wall s*: the run as a user waits for it, compile excluded (ours: `sample()` to its result, worker start included; Stan: the `sampling()` call, its cluster start included). *sampler s*: the sampler's own time summed over the 4 chains (warmup + sampling), CPU seconds on both sides (Stan: rstan's elapsed times, `clock()`; ours: the worker threads' CPU time per chunk from /proc/thread-self, so that load from other processes moves neither side; a run of ours without it is marked `(wall)`). *gradients*: warmup + sampling (Stan: `n_leapfrog__` summed; ours: every gradient evaluation, initialisation included). *min bulk/tail ESS*, *max R-hat*: over all parameters. *ESS/s (wall)* = min bulk ESS / wall s. *ESS/1000 grads* = min bulk ESS per 1000 gradients.",
    "",
    `*time to answer*: compile + sampling until every parameter has bulk and tail ESS >= ${TARGET.ess} and R-hat < ${TARGET.rhat}. Early stop: compile + wall of the run that stopped there. Fixed-length runs: the fewest draws per chain (checked every ${TARGET.every}) at which the first n draws of every chain pass; time = compile + wall x (warmup gradients + gradients of those draws) / all gradients of the run (proportional to gradients, since neither side records per-iteration times; this scales Stan's fixed start-up cost down too, in Stan's favour); "not reached" when 1000 draws are not enough.`,
    "",
    "Cells are the median over seeds (min-max in brackets).",
    "",
  );
  lines.push("## Results", "", table(RESULT_HEADER, resultRows(records)), "");
  if (rs.length > 0) {
    lines.push("## Against Stan, per model", "");
    lines.push("Ratios of medians; ESS/s and ESS per gradient compare the two 1000-draw runs; time to answer compares rstan's 1000-draw run with ours in early-stop mode (\">=\": Stan never got there in 1000 draws, so its whole run, compile included, is a lower bound of its time to answer).", "");
    lines.push(table(RATIO_HEADER, ratioRows(rs)), "");
    const met = (f: (r: Ratios) => boolean) => rs.filter(f).map((r) => r.model);
    const list = (xs: string[]) => (xs.length === 0 ? "none" : xs.join(", "));
    lines.push(
      `- ESS per gradient >= Stan's on every model: ${met((r) => r.essPerGradient >= 1).length === rs.length ? "**reached**" : `**not reached** (below on ${list(met((r) => r.essPerGradient < 1))})`}`,
      `- ESS/s >= 0.5x Stan's: ${met((r) => r.essPerSecond >= 0.5).length === rs.length ? "**reached** on every model" : `reached on ${list(met((r) => r.essPerSecond >= 0.5))}; **not** on ${list(met((r) => r.essPerSecond < 0.5))}`}`,
      `- time to answer >= 10x better than rstan's: ${met((r) => r.timeToAnswer >= 10 && r.ttaBound !== "ours not reached").length === rs.length ? "**reached** on every model" : `reached on ${list(met((r) => r.timeToAnswer >= 10 && r.ttaBound !== "ours not reached"))}; **not** on ${list(met((r) => !(r.timeToAnswer >= 10 && r.ttaBound !== "ours not reached")))}`}`,
      "",
    );
  }
  if (stanProblem === null) {
    lines.push("## Stan compile times", "");
    lines.push("rstan 2.21 compiles each model in C++ once (`stan_model`); the compiled model is cached in `bench/stan/.cache/` (keyed by an MD5 of the program and the R/rstan versions) and the time of its cold compile is what the table reports. `--recompile` compiles every model cold again.", "");
    lines.push(
      table(
        ["model", "cold compile s", "compiled"],
        MODELS.filter((m) => stanCompiles[m] !== undefined).map((m) => [m, stanCompiles[m]!.seconds.toFixed(1), stanCompiles[m]!.coldInThisRun ? "in this run" : `from cache, compiled ${stanCompiles[m]!.at}`]),
      ),
      "",
    );
  }
  if (stanErrors.length > 0) lines.push("## Stan failures", "", ...stanErrors.map((e) => `- ${e}`), "");
  if (runtimeProblem !== null) lines.push("## Runtime problem", "", `- ${runtimeProblem}`, "");
  lines.push("## Stan CSV export", "");
  lines.push("The seed-1 run of ours for each model, written with `writeStanCsv` (src/io/stan-csv.ts) to `bench/stan/out/csv/<model>_<chain>.csv` and read back in R (`bench/stan/check-csv.R`): the means of every parameter must equal ours (relative difference <= 1e-12).", "");
  for (const c of csv) lines.push(`- ${c.model}: ${c.ok ? "same means" : "**DIFFERENT or unchecked**"} (${c.detail})`);
  lines.push("");
  const notes = join(ROOT, "bench", "stan", "NOTES.md");
  if (existsSync(notes)) lines.push(readFileSync(notes, "utf8").trimEnd(), "");
  lines.push("## Final line", "", "```", finalLine(rs, stanProblem), "```", "");
  return lines.join("\n");
}

if (RENDER) renderSaved();
else await main();

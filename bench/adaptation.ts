/**
 * `npm run bench:adaptation`: every warmup adaptation against rstan 2.21, on the posteriordb
 * posteriors of test/posteriordb and the seven benchmark models, seeds 1-3; writes
 * bench/ADAPTATION.md, whose last two lines (and this script's last stdout lines) are
 *
 *   adaptation vs Stan, ESS per gradient incl. warmup: median X.XXx, worst Y.YYx over N posteriors (default: NAME)
 *   adaptation vs previous default, ESS per second: median X.XXx, worst Y.YYx over N of M posteriors (CANDIDATE against BASELINE; ...)
 *
 * The default is chosen by D94's rule (`chooseDefault`): the previous default stays unless a
 * configuration run on every posterior passes the pass rule wherever the previous default does, adds no divergences
 * where the previous default had none, and is faster in seconds (median above 1x, none below
 * 0.9x). The second line names the fastest configuration run on every posterior and, if it is
 * not the default, what it misses.
 *
 * Configurations (`CONFIGS`): Stan's variance diagonal on Stan's windows, nutpie's
 * Fisher-divergence diagonal and the low-rank plus diagonal metric on nutpie's schedule; each
 * pooled across chains or per chain; fixed warmup (1000) or adaptive length (cap 1000). Every
 * run is `sample(model, { chains: 4, warmup: 1000, draws: 1000, seed, ... })` on a shared pool of
 * 2 threads, with the reference's adapt_delta / max_treedepth for posteriordb posteriors (as
 * `validate:posteriordb`); rstan runs `sampling(..., chains = 4, iter = 2000, warmup = 1000, seed)`
 * with the same control (bench/stan-runner.ts; compiled models cached in bench/stan/.cache/).
 *
 * Per run: min bulk ESS over parameters / all gradients (warmup included: ESS per gradient);
 * the gradients to the answer (every parameter with bulk and tail ESS >= 400 and R-hat < 1.01
 * over the first n draws of every chain, n checked every 100: what early stop would spend,
 * warmup included); divergences after warmup; posteriordb's pass rule (test/validate/pass-rule.ts)
 * where a reference exists. A configuration's ratio on a posterior is the median over seeds of
 * its ESS per gradient over the median of Stan's; a run that fails the pass rule is not counted
 * (its cell says so) and a configuration that fails anywhere cannot be the default.
 *
 * Results accumulate in bench/adaptation/results.json (one record per posterior, system and seed),
 * so a grid can be run in parts (`--resume` skips what is there) and `--render` rebuilds the report.
 *
 *   node dist/bench/adaptation.js [--posteriors a,b | --set bench|pdb|all] [--configs x,y] [--seeds 1,2,3]
 *                                 [--no-stan] [--resume] [--render] [--out bench/ADAPTATION.md] [--warm-jit] [--repeat N]
 *
 * A run on the seven benchmark models with both the previous default and
 * low-rank/pooled/adaptive also prints issue 27's targets and whether they are met.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Posterior } from "../src/api/posterior.js";
import { sample } from "../src/api/sample.js";
import { createWorkerPool } from "../src/api/worker-pool.js";
import { compile } from "../src/compile/compile.js";
import type { Model } from "../src/model/builder.js";
import { essBulk, essTail, rhat } from "../src/diagnostics/index.js";
import { loadPosterior, posteriordbModels, type Reference } from "../test/posteriordb/models.js";
import { checkAgainstReference } from "../test/validate/pass-rule.js";
import { BENCHMARK_NAMES, benchmarkModel, type BenchmarkName } from "./models/index.js";
import { projectRoot } from "./paths.js";
import { probeStan, runRstan, type StanOutput } from "./stan-runner.js";

import { CONFIGS, EXTRA_CONFIGS, type AdaptationConfig } from "./adaptation-configs.js";

/** Every configuration a run may name: the grid's and those run only when named. */
const KNOWN_CONFIGS = [...CONFIGS, ...EXTRA_CONFIGS];

/** The present default before this benchmark (D12, D14): the baseline for "new divergences". */
const BASELINE = "stan-diag/pooled/fixed";

// ---- options -----------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    posteriors: { type: "string" },
    set: { type: "string", default: "all" },
    configs: { type: "string" },
    seeds: { type: "string", default: "1,2,3" },
    "no-stan": { type: "boolean", default: false },
    resume: { type: "boolean", default: false },
    render: { type: "boolean", default: false },
    out: { type: "string" },
    results: { type: "string", default: "results.json" },
    /**
     * Before a posterior's timed runs, one short untimed run of each configuration on it, so
     * that no timed run pays for compiling its code paths (the first run of a process spent
     * 5x the CPU of a whole later run on `simple`; D196).
     */
    "warm-jit": { type: "boolean", default: false },
    /**
     * Runs of each configuration per seed (interleaved); the record kept is the one with the
     * median CPU seconds (the draws are the same in every repeat): a run of 0.05-0.15 CPU s
     * varies by a third between repeats on this machine (D196).
     */
    repeat: { type: "string", default: "1" },
  },
});
const ROOT = projectRoot();
const OUT = args.out ?? join(ROOT, "bench", "ADAPTATION.md");
const WORK = join(ROOT, "bench", "adaptation");
/** This process's results file; the report merges every results*.json (parts of a grid run at once). */
const RESULTS = join(WORK, args.results);
const PDB = Object.keys(posteriordbModels);
const ALL = [...BENCHMARK_NAMES, ...PDB];
const log = (s: string) => process.stderr.write(s + "\n");

// ---- records -----------------------------------------------------------------------------

export interface RunRecord {
  readonly posterior: string;
  /** A configuration's name, or "rstan". */
  readonly system: string;
  readonly seed: number;
  readonly gradients: number;
  readonly warmupGradients: number;
  readonly numWarmup: number;
  readonly minBulk: number;
  readonly minTail: number;
  readonly maxRhat: number;
  readonly divergences: number;
  /** Gradients (warmup included) until every parameter has bulk/tail ESS >= 400 and R-hat < 1.01; null: not within the run. */
  readonly toAnswer: number | null;
  /** posteriordb's pass rule; null without a reference. */
  readonly pass: boolean | null;
  readonly failures: readonly string[];
  readonly seconds: number;
  /** CPU seconds of the process (worker threads and main thread) over the run; absent in older records and for rstan. */
  readonly cpuSeconds?: number;
}

interface DrawsTable {
  /** draws[k][c]: parameter k, chain c. */
  readonly draws: readonly (readonly Float64Array[])[];
  readonly nLeapfrog: readonly ArrayLike<number>[];
}

function measures(t: DrawsTable) {
  let minBulk = Infinity;
  let minTail = Infinity;
  let maxRhat = -Infinity;
  for (const chains of t.draws) {
    const b = essBulk(chains as Float64Array[]);
    const tl = essTail(chains as Float64Array[]);
    const r = rhat(chains as Float64Array[]);
    minBulk = Math.min(minBulk, Number.isNaN(b) ? -Infinity : b);
    minTail = Math.min(minTail, Number.isNaN(tl) ? -Infinity : tl);
    maxRhat = Math.max(maxRhat, Number.isNaN(r) ? Infinity : r);
  }
  return { minBulk, minTail, maxRhat };
}

/** Gradients to the answer: the first n (multiple of 100) where the first n draws of every chain pass. */
function gradientsToAnswer(t: DrawsTable, total: number): number | null {
  const n0 = t.nLeapfrog[0]?.length ?? 0;
  outer: for (let n = 100; n <= n0; n += 100) {
    for (const chains of t.draws) {
      const cs = chains.map((c) => c.subarray(0, n));
      if (!(rhat(cs) < 1.01 && essBulk(cs) >= 400 && essTail(cs) >= 400)) continue outer;
    }
    let after = 0;
    for (const c of t.nLeapfrog) for (let i = n; i < c.length; i++) after += c[i]!;
    return total - after;
  }
  return null;
}

function record(posterior: string, system: string, seed: number, t: DrawsTable, gradients: number, warmupGradients: number, numWarmup: number, divergences: number, check: { pass: boolean | null; failures: readonly string[] }, seconds: number): RunRecord {
  return { posterior, system, seed, gradients, warmupGradients, numWarmup, ...measures(t), divergences, toAnswer: gradientsToAnswer(t, gradients), ...check, seconds };
}

// ---- runs --------------------------------------------------------------------------------

interface Target {
  readonly name: string;
  readonly model: Model;
  readonly reference: Reference | null;
  readonly adaptDelta: number;
  readonly maxTreeDepth: number;
  /** What run-stan.R takes: a benchmark name or a posteriordb folder. */
  readonly stanModel: string;
}

function target(name: string): Target {
  if ((BENCHMARK_NAMES as readonly string[]).includes(name)) {
    return { name, model: benchmarkModel(name as BenchmarkName), reference: null, adaptDelta: 0.8, maxTreeDepth: 10, stanModel: name };
  }
  const { model, reference } = loadPosterior(name);
  const control = (reference.reference_method as { method_arguments?: { control?: { adapt_delta?: number; max_treedepth?: number } } }).method_arguments?.control;
  return { name, model, reference, adaptDelta: control?.adapt_delta ?? 0.8, maxTreeDepth: control?.max_treedepth ?? 10, stanModel: join("test", "posteriordb", name) };
}

function passCheck(t: Target, p: Pick<Posterior, "names" | "draws" | "divergences">): { pass: boolean | null; failures: readonly string[] } {
  if (t.reference === null) return { pass: null, failures: [] };
  const c = checkAgainstReference(p as Posterior, t.reference.parameters);
  return { pass: c.passed, failures: c.failures.slice(0, 3) };
}

async function runOurs(t: Target, density: ReturnType<typeof compile>, config: AdaptationConfig, seed: number, pool: Awaited<ReturnType<typeof createWorkerPool>>): Promise<RunRecord> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const p = await sample(density, { chains: 4, warmup: 1000, draws: 1000, seed, targetAccept: t.adaptDelta, maxTreeDepth: t.maxTreeDepth, pool, ...config.options }).result;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const chains = p.healthyChains();
  const names = p.names.slice(0, p.paramCount);
  const table: DrawsTable = {
    draws: names.map((n) => {
      const all = p.draws(n);
      return chains.map((c) => all[c]!);
    }),
    nLeapfrog: chains.map((c) => p.chains[c]!.stats.nLeapfrog),
  };
  const gradients = p.chains.reduce((a, c) => a + c.gradientEvaluations, 0);
  const warmupGradients = p.chains.reduce((a, c) => a + c.warmupStats.nLeapfrog.reduce((x, y) => x + y, 0), 0);
  const divergences = p.divergences().reduce((a, b) => a + b, 0);
  return { ...record(t.name, config.name, seed, table, gradients, warmupGradients, p.numWarmup, divergences, passCheck(t, p), seconds), cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function runStanOnce(t: Target, seed: number, names: readonly string[]): RunRecord | string {
  const t0 = performance.now();
  const r = runRstan(t.stanModel, seed, join(WORK, "stan"), { adaptDelta: t.adaptDelta, maxTreedepth: t.maxTreeDepth });
  if (r.output === null) return r.error!;
  const s: StanOutput = r.output;
  const missing = names.filter((n) => s.chains[0]!.draws[n] === undefined);
  if (missing.length > 0) return `Stan's output lacks ${missing.slice(0, 5).join(", ")}`;
  const draws = names.map((n) => s.chains.map((c) => Float64Array.from(c.draws[n]!, (x) => (x === null ? NaN : x))));
  const table: DrawsTable = { draws, nLeapfrog: s.chains.map((c) => c.n_leapfrog) };
  const warmupGradients = s.chains.reduce((a, c) => a + c.n_leapfrog_warmup.reduce((x, y) => x + y, 0), 0);
  const gradients = warmupGradients + s.chains.reduce((a, c) => a + c.n_leapfrog.reduce((x, y) => x + y, 0), 0);
  const divergences = s.chains.reduce((a, c) => a + c.divergent.reduce((x, y) => x + y, 0), 0);
  const view = {
    names,
    draws: (n: string) => draws[names.indexOf(n)]!,
    divergences: () => [divergences],
  };
  return record(t.name, "rstan", seed, table, gradients, warmupGradients, 1000, divergences, passCheck(t, view as unknown as Posterior), (performance.now() - t0) / 1000);
}

// ---- results file ------------------------------------------------------------------------

interface Saved {
  records: RunRecord[];
  notes: string[];
  runs: { started: string; finished: string; load: number[]; what: string }[];
}

const keyOf = (r: Pick<RunRecord, "posterior" | "system" | "seed">) => `${r.posterior}|${r.system}|${r.seed}`;

function readSaved(file: string): Saved {
  if (!existsSync(file)) return { records: [], notes: [], runs: [] };
  return JSON.parse(readFileSync(file, "utf8"), (_, v) => (v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v)) as Saved;
}

function load(): Saved {
  return readSaved(RESULTS);
}

/**
 * Every results*.json of the work folder merged: for the same key a record with CPU seconds
 * (the newer format) wins over one without, else the later file's.
 */
function loadAll(): Saved {
  const files = existsSync(WORK) ? readdirSync(WORK).filter((f) => /^results.*\.json$/.test(f)).sort() : [];
  const byKey = new Map<string, RunRecord>();
  const out: Saved = { records: [], notes: [], runs: [] };
  for (const f of files) {
    const s = readSaved(join(WORK, f));
    for (const r of s.records) {
      const had = byKey.get(keyOf(r));
      if (had === undefined || r.cpuSeconds !== undefined || had.cpuSeconds === undefined) byKey.set(keyOf(r), r);
    }
    out.notes.push(...s.notes);
    out.runs.push(...s.runs);
  }
  out.records = [...byKey.values()];
  return out;
}

function save(s: Saved): void {
  mkdirSync(WORK, { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(s, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)));
}

// ---- report ------------------------------------------------------------------------------

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const essPerGrad = (r: RunRecord) => Math.max(0, r.minBulk) / r.gradients;

/**
 * The seconds a comparison uses: CPU seconds (process, all threads) when every record in it
 * has them, wall seconds otherwise (older records); never a mix.
 */
type Clock = "cpu" | "wall";
const clockOf = (rs: readonly RunRecord[]): Clock => (rs.every((r) => r.cpuSeconds !== undefined) ? "cpu" : "wall");

/**
 * The records of a configuration and of the baseline to compare in seconds: where both have
 * runs with CPU seconds (the same run measures both, interleaved), those alone, in CPU
 * seconds; otherwise all of them, in wall seconds.
 */
function timePair(ours: readonly RunRecord[], base: readonly RunRecord[]): { ours: readonly RunRecord[]; base: readonly RunRecord[]; clock: Clock } {
  const oc = ours.filter((r) => r.cpuSeconds !== undefined);
  const bc = base.filter((r) => r.cpuSeconds !== undefined && oc.some((o) => o.seed === r.seed));
  const oc2 = oc.filter((r) => bc.some((b) => b.seed === r.seed));
  if (oc2.length > 0 && bc.length > 0) return { ours: oc2, base: bc, clock: "cpu" };
  return { ours, base, clock: "wall" };
}
const secondsOf = (r: RunRecord, clock: Clock) => (clock === "cpu" ? r.cpuSeconds! : r.seconds);
const essPerSecond = (r: RunRecord, clock: Clock) => Math.max(0, r.minBulk) / secondsOf(r, clock);
const secondsToAnswer = (r: RunRecord, clock: Clock) => (r.toAnswer === null ? Infinity : (secondsOf(r, clock) * r.toAnswer) / r.gradients);

interface TimeSummary {
  readonly system: string;
  readonly n: number;
  readonly median: number;
  readonly worst: number;
  readonly worstAt: string;
  readonly below09: number;
}

/** Per configuration: ESS per second against the baseline's, over the posteriors both ran (runs failing the pass rule included: time is time). */
function timeSummaries(records: readonly RunRecord[], posteriors: readonly string[], systems: readonly string[]): TimeSummary[] {
  return systems.map((system) => {
    const ratios: { p: string; r: number }[] = [];
    for (const p of posteriors) {
      const rs = records.filter((r) => r.posterior === p && r.system === system);
      const base = records.filter((r) => r.posterior === p && r.system === BASELINE);
      if (rs.length === 0 || base.length === 0) continue;
      const t = timePair(rs, base);
      ratios.push({ p, r: median(t.ours.map((r) => essPerSecond(r, t.clock))) / median(t.base.map((r) => essPerSecond(r, t.clock))) });
    }
    const worst = ratios.reduce((w, x) => (x.r < w.r ? x : w), { p: "-", r: Infinity });
    return { system, n: ratios.length, median: median(ratios.map((x) => x.r)), worst: worst.r, worstAt: worst.p, below09: ratios.filter((x) => x.r < 0.9).length };
  });
}

interface Cell {
  readonly ratio: number;
  readonly pass: boolean;
  readonly passes: string;
  readonly divergences: number;
  readonly answer: number;
  readonly warmup: number;
}

function cell(records: readonly RunRecord[], posterior: string, system: string, stan: readonly RunRecord[]): Cell | null {
  const rs = records.filter((r) => r.posterior === posterior && r.system === system);
  if (rs.length === 0 || stan.length === 0) return null;
  const passN = rs.filter((r) => r.pass !== false).length;
  const ours = median(rs.map(essPerGrad));
  const theirs = median(stan.map(essPerGrad));
  const toAns = (xs: readonly RunRecord[]) => median(xs.map((r) => r.toAnswer ?? Infinity));
  return {
    ratio: ours / theirs,
    pass: passN === rs.length,
    passes: `${passN}/${rs.length}`,
    divergences: rs.reduce((a, r) => a + r.divergences, 0),
    answer: toAns(stan) / toAns(rs),
    warmup: median(rs.map((r) => r.numWarmup)),
  };
}

interface Summary {
  readonly system: string;
  readonly n: number;
  readonly median: number;
  readonly worst: number;
  readonly worstAt: string;
  readonly failed: readonly string[];
  readonly below09: number;
  /** Posteriors where the baseline had no divergence (all seeds) and this configuration has some. */
  readonly newDivergences: readonly string[];
  /** Posteriors where it has more divergences than the baseline (information). */
  readonly moreDivergences: readonly string[];
  readonly answerMedian: number;
  readonly complete: boolean;
}

function summarise(records: readonly RunRecord[], posteriors: readonly string[], systems: readonly string[]): Summary[] {
  return systems.map((system) => {
    const counted: { p: string; ratio: number; answer: number }[] = [];
    const failed: string[] = [];
    const newDiv: string[] = [];
    const moreDiv: string[] = [];
    let ran = 0;
    for (const p of posteriors) {
      const stan = records.filter((r) => r.posterior === p && r.system === "rstan");
      const c = cell(records, p, system, stan);
      if (c === null) continue;
      ran++;
      if (!c.pass) failed.push(p);
      else counted.push({ p, ratio: c.ratio, answer: c.answer });
      const base = records.filter((r) => r.posterior === p && r.system === BASELINE).reduce((a, r) => a + r.divergences, 0);
      if (c.divergences > base) moreDiv.push(`${p} (${c.divergences} vs ${base})`);
      if (c.divergences > 0 && base === 0) newDiv.push(`${p} (${c.divergences})`);
    }
    const worst = counted.reduce((w, x) => (x.ratio < w.ratio ? x : w), { p: "-", ratio: Infinity, answer: NaN });
    return {
      system,
      n: counted.length,
      median: median(counted.map((x) => x.ratio)),
      worst: worst.ratio,
      worstAt: worst.p,
      failed,
      below09: counted.filter((x) => x.ratio < 0.9).length,
      newDivergences: newDiv,
      moreDivergences: moreDiv,
      answerMedian: median(counted.map((x) => x.answer).filter((x) => !Number.isNaN(x))),
      complete: ran === posteriors.length,
    };
  });
}

/** A configuration against the previous default over every posterior of the grid: what D94's rule asks of it. */
interface Verdict {
  readonly time: TimeSummary;
  /** Posteriors of the grid it was run on. */
  readonly ran: number;
  readonly complete: boolean;
  /** Posteriors where a seed fails posteriordb's pass rule (with or without an rstan run) and the previous default passes. */
  readonly failed: readonly string[];
  /** Posteriors where both fail it (no sampler here passes one_comp_mm_elim_abs: D146). */
  readonly failedAsBaseline: readonly string[];
  /** Posteriors where the previous default had no divergence (all seeds) and this configuration has some. */
  readonly newDivergences: readonly string[];
  /** What keeps it from being the default; empty when nothing does. */
  readonly misses: readonly string[];
}

function verdicts(records: readonly RunRecord[], posteriors: readonly string[], timed: readonly TimeSummary[]): Verdict[] {
  return timed
    .filter((t) => t.system !== BASELINE)
    .map((time) => {
      const failed: string[] = [];
      const failedAsBaseline: string[] = [];
      const newDivergences: string[] = [];
      let ran = 0;
      for (const p of posteriors) {
        const rs = records.filter((r) => r.posterior === p && r.system === time.system);
        if (rs.length === 0) continue;
        ran++;
        const baseRecords = records.filter((r) => r.posterior === p && r.system === BASELINE);
        if (rs.some((r) => r.pass === false)) (baseRecords.some((r) => r.pass === false) ? failedAsBaseline : failed).push(p);
        const base = baseRecords.reduce((a, r) => a + r.divergences, 0);
        const ours = rs.reduce((a, r) => a + r.divergences, 0);
        if (ours > 0 && base === 0) newDivergences.push(`${p} (${ours})`);
      }
      const complete = ran === posteriors.length;
      const misses = [
        ...(complete ? [] : [`run on ${ran} of ${posteriors.length} posteriors`]),
        ...(failed.length ? [`fails the pass rule on ${failed.join(", ")}`] : []),
        ...(newDivergences.length ? [`new divergences on ${newDivergences.join(", ")}`] : []),
        ...(time.below09 > 0 ? [`${time.below09} below 0.9x (worst ${fmt(time.worst)}x, ${time.worstAt})`] : []),
        ...(!(time.median > 1) ? [`median ${fmt(time.median)}x`] : []),
      ];
      return { time, ran, complete, failed, failedAsBaseline, newDivergences, misses };
    });
}

/**
 * D94's rule (supersedes D71's): the previous default stays unless a configuration misses
 * nothing (`Verdict.misses`); among those, the best median ESS per second. `candidate` is the
 * fastest configuration among those run on the most posteriors (the one the second final line
 * reports; every posterior, once the grid is complete).
 */
function chooseDefault(v: readonly Verdict[]): { system: string; candidate: Verdict | null } {
  const best = (xs: readonly Verdict[]) => (xs.length === 0 ? null : xs.reduce((a, b) => (b.time.median > a.time.median ? b : a)));
  const winner = best(v.filter((x) => x.misses.length === 0));
  const most = Math.max(...v.map((x) => x.ran));
  return { system: winner?.time.system ?? BASELINE, candidate: winner ?? best(v.filter((x) => x.ran === most)) };
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(d)) : x > 0 ? "inf" : "-");
const table = (h: readonly string[], rows: readonly (readonly string[])[]) => [`| ${h.join(" | ")} |`, `| ${h.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

function render(saved: Saved): { text: string; last: string } {
  const records = saved.records;
  const posteriors = ALL.filter((p) => records.some((r) => r.posterior === p && r.system === "rstan"));
  const systems = KNOWN_CONFIGS.map((c) => c.name).filter((n) => records.some((r) => r.system === n));
  const summaries = summarise(records, posteriors, systems);
  // Seconds against the previous default need no Stan run: every posterior it was run on.
  const timedPosteriors = ALL.filter((p) => records.some((r) => r.posterior === p && r.system === BASELINE));
  const timed = timeSummaries(records, timedPosteriors, systems);
  const judged = verdicts(records, ALL, timed);
  const { system: chosen, candidate } = chooseDefault(judged);
  const lines: string[] = [];
  lines.push("# Warmup adaptation against Stan (`npm run bench:adaptation`)", "");
  lines.push(`Generated by \`bench/adaptation.ts\` from \`bench/adaptation/results.json\`; do not edit by hand. Machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, shared with other engineers' work (load averages per part below): seconds are noisy, gradients and ESS are not (the same seed gives the same draws).`, "");
  lines.push("Runs: " + saved.runs.map((r) => `${r.what} (${r.started.slice(0, 16).replace("T", " ")} to ${r.finished.slice(11, 16)} UTC, load ${r.load.map((x) => x.toFixed(1)).join("-")})`).join("; ") + ".", "");
  lines.push(
    "Every run: 4 chains x 1000 draws after a warmup of 1000 (the cap, with adaptive length), seeds as listed; posteriordb posteriors with their reference's adapt_delta / max_treedepth (Stan too). ",
    "**ESS per gradient** = min bulk ESS over parameters / all gradients, warmup included. **Ratio** = median over seeds of ours / median of rstan 2.21's. **answer** = rstan's gradients to reach bulk and tail ESS >= 400 with R-hat < 1.01 over ours (both with warmup; inf: Stan never got there within 1000 draws, ours did). A run failing posteriordb's pass rule is not counted (cell marked FAIL with the seeds that passed); *div* = divergences after warmup over the seeds.",
    "",
  );
  lines.push("## Summary per configuration", "");
  lines.push(
    table(
      ["configuration", "posteriors counted", "median ratio", "worst ratio (where)", "below 0.9x", "failed pass rule", "new divergences (none in " + BASELINE + ")", "more divergences than it", "median answer ratio"],
      summaries.map((s) => [
        s.system === chosen ? `**${s.system}**` : s.system,
        `${s.n}${s.complete ? "" : " (not run on all)"}`,
        `${fmt(s.median)}x`,
        `${fmt(s.worst)}x (${s.worstAt})`,
        String(s.below09),
        s.failed.length ? s.failed.join(", ") : "none",
        s.newDivergences.length ? s.newDivergences.join(", ") : "none",
        s.moreDivergences.length ? s.moreDivergences.join(", ") : "none",
        `${fmt(s.answerMedian, 1)}x`,
      ]),
    ),
    "",
  );
  lines.push(`The default (in bold) is chosen in seconds over every posterior, below: a table against Stan covers only the posteriors with an rstan run (${posteriors.length} of ${ALL.length}).`, "");
  lines.push("## Per posterior: ESS per gradient, ours / Stan", "");
  const header = ["posterior", "Stan ESS/1000 grads", "Stan div", ...systems];
  const rows = posteriors.map((p) => {
    const stan = records.filter((r) => r.posterior === p && r.system === "rstan");
    const stanPass = stan.filter((r) => r.pass !== false).length;
    return [
      p,
      `${fmt(1000 * median(stan.map(essPerGrad)))}${stan.some((r) => r.pass === false) ? ` (pass ${stanPass}/${stan.length})` : ""}`,
      String(stan.reduce((a, r) => a + r.divergences, 0)),
      ...systems.map((sys) => {
        const c = cell(records, p, sys, stan);
        if (c === null) return "";
        const w = sys.endsWith("adaptive") ? ` w${c.warmup}` : "";
        return `${c.pass ? "" : `FAIL ${c.passes} `}${fmt(c.ratio)}x${c.divergences > 0 ? ` d${c.divergences}` : ""}${w}`;
      }),
    ];
  });
  lines.push(table(header, rows), "");
  lines.push("Cell: ratio, `dN` divergences over the seeds, `wN` median warmup length (adaptive).", "");
  lines.push(`## In seconds: ESS per second against the previous default (${BASELINE})`, "");
  lines.push(
    "Same runs, same process and pool, configurations interleaved per seed. **ESS/s** = min bulk ESS / the run's seconds (pool warm, compile excluded): CPU seconds of the process, worker threads and main thread, over the seeds where both configurations were run with them (one run, interleaved; marked `(cpu)`: the machine's load made wall seconds vary 5x between minutes), else wall seconds over all seeds (older records, from runs at other times and loads: compare those with care); a cell is the median over seeds of ours / the median of " +
      BASELINE +
      "'s; **s to answer** = the run's seconds times its share of gradients spent until bulk and tail ESS >= 400 and R-hat < 1.01 (seconds are spread over gradients evenly, which flatters a costly warmup: a lower bound for it), median over seeds. Timings share the machine with other work (load per part above): ratios within a seed are steadier than the seconds.",
    "",
  );
  lines.push(
    table(
      ["posterior", `${BASELINE} ESS/s`, `${BASELINE} s to answer`, ...systems.filter((x) => x !== BASELINE).map((x) => `${x} ESS/s ratio, s to answer`)],
      timedPosteriors.map((p) => {
        const base = records.filter((r) => r.posterior === p && r.system === BASELINE);
        const clock = clockOf(base);
        const mark = clock === "cpu" ? " (cpu)" : "";
        return [
          p,
          base.length ? fmt(median(base.map((r) => essPerSecond(r, clock))), 1) + mark : "",
          base.length ? fmt(median(base.map((r) => secondsToAnswer(r, clock))), 2) + mark : "",
          ...systems
            .filter((x) => x !== BASELINE)
            .map((sys) => {
              const rs = records.filter((r) => r.posterior === p && r.system === sys);
              if (rs.length === 0 || base.length === 0) return "";
              const t = timePair(rs, base);
              return `${fmt(median(t.ours.map((r) => essPerSecond(r, t.clock))) / median(t.base.map((r) => essPerSecond(r, t.clock))))}x, ${fmt(median(t.ours.map((r) => secondsToAnswer(r, t.clock))), 2)}${t.clock === "cpu" ? " (cpu)" : ""}`;
            }),
        ];
      }),
    ),
    "",
  );
  lines.push(
    table(
      ["configuration", "posteriors", "median ESS/s ratio", "worst (where)", "below 0.9x", "failed pass rule", `new divergences (none in ${BASELINE})`],
      timed.map((t) => {
        const v = judged.find((x) => x.time.system === t.system);
        const name = t.system === chosen ? `**${t.system}**` : t.system;
        const complete = v === undefined ? timedPosteriors.length === ALL.length : v.complete;
        const baseFailed = timedPosteriors.filter((p) => records.some((r) => r.posterior === p && r.system === BASELINE && r.pass === false));
        const failed = v === undefined ? baseFailed : [...v.failed, ...v.failedAsBaseline.map((p) => `${p} (${BASELINE} too)`)];
        return [name, `${t.n}${complete ? "" : " (not run on all)"}`, `${fmt(t.median)}x`, `${fmt(t.worst)}x (${t.worstAt})`, String(t.below09), failed.join(", ") || "none", v?.newDivergences.join(", ") || "none"];
      }),
    ),
    "",
  );
  const verdict =
    chosen === BASELINE
      ? `**${BASELINE}** stays (no configuration meets every condition over the ${ALL.length} posteriors${candidate === null ? "" : `; the fastest, ${candidate.time.system}: ${candidate.misses.join("; ")}`})`
      : `**${chosen}** (median ${fmt(candidate!.time.median)}x, worst ${fmt(candidate!.time.worst)}x over ${candidate!.time.n} posteriors)`;
  lines.push(
    `Default by D94's rule (a configuration replaces ${BASELINE} only if it was run on every posterior, passes the pass rule at every seed wherever ${BASELINE} does, has no divergences where ${BASELINE} had none, and is faster in seconds: median above 1x, none below 0.9x; it must also pass the stress corpus, test/stress): ${verdict}.`,
    "",
  );
  const notes = join(WORK, "NOTES.md");
  if (existsSync(notes)) lines.push(readFileSync(notes, "utf8").trimEnd(), "");
  const base = summaries.find((x) => x.system === chosen);
  const last =
    base === undefined || base.n === 0
      ? `adaptation vs Stan, ESS per gradient incl. warmup: not measured (default: ${chosen})`
      : `adaptation vs Stan, ESS per gradient incl. warmup: median ${base.median.toFixed(2)}x, worst ${base.worst.toFixed(2)}x over ${base.n} posteriors (default: ${chosen})`;
  const second =
    candidate === null
      ? "adaptation vs previous default, ESS per second: no configuration was run on every posterior"
      : `adaptation vs previous default, ESS per second: median ${candidate.time.median.toFixed(2)}x, worst ${candidate.time.worst.toFixed(2)}x over ${candidate.time.n} of ${ALL.length} posteriors (${candidate.time.system} against ${BASELINE}; ${candidate.misses.length === 0 ? "the default" : `not the default: ${candidate.misses.join("; ")}`})`;
  lines.push("## Final lines", "", last, "", second, "");
  return { text: lines.join("\n"), last: `${last}\n${second}` };
}

// ---- main --------------------------------------------------------------------------------

/** The configuration issue 27's targets hold to account against the previous default. */
const TARGET_CANDIDATE = "low-rank/pooled/adaptive";

/**
 * Issue 27's targets on the seven benchmark models, from this run's records (D196): ESS per
 * CPU second of `low-rank/pooled/adaptive` against the previous default, per model (ratio of
 * the medians over seeds, as in the report), their geometric mean (target: at least 1.5x) and
 * the lowest (target: nowhere below 0.9x). Printed only when this run has both on all seven.
 */
function printBenchTargets(records: readonly RunRecord[]): void {
  const rows: { name: string; base: number; ratio: number; clock: Clock }[] = [];
  for (const name of BENCHMARK_NAMES) {
    const ours = records.filter((r) => r.posterior === name && r.system === TARGET_CANDIDATE);
    const base = records.filter((r) => r.posterior === name && r.system === BASELINE);
    if (ours.length === 0 || base.length === 0) return;
    const t = timePair(ours, base);
    const b = median(t.base.map((r) => essPerSecond(r, t.clock)));
    rows.push({ name, base: b, ratio: median(t.ours.map((r) => essPerSecond(r, t.clock))) / b, clock: t.clock });
  }
  console.log(`\n${TARGET_CANDIDATE} against ${BASELINE}, this run (ESS per ${rows.every((r) => r.clock === "cpu") ? "CPU" : "wall"} second, median over seeds):\n`);
  console.log("| model | previous default, ESS per s | ratio |");
  console.log("| --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.name} | ${r.base.toFixed(0)} | ${r.ratio.toFixed(2)}x |`);
  const geo = Math.exp(rows.reduce((a, r) => a + Math.log(r.ratio), 0) / rows.length);
  const low = rows.reduce((w, r) => (r.ratio < w.ratio ? r : w));
  console.log(`\nissue 27's targets: geometric mean >= 1.5x: ${geo.toFixed(2)}x, ${geo >= 1.5 ? "met" : "not met"}; nowhere below 0.9x: lowest ${low.ratio.toFixed(2)}x (${low.name}), ${low.ratio >= 0.9 ? "met" : "not met"}`);
}

async function main(): Promise<void> {
  const saved = load();
  if (args.render) {
    const { text, last } = render(loadAll());
    writeFileSync(OUT, text);
    console.log(last);
    return;
  }
  const posteriors = args.posteriors?.split(",") ?? (args.set === "bench" ? [...BENCHMARK_NAMES] : args.set === "pdb" ? PDB : ALL);
  for (const p of posteriors) if (!ALL.includes(p)) throw new Error(`unknown posterior ${p} (known: ${ALL.join(", ")})`);
  const configs = args.configs === undefined ? CONFIGS : args.configs.split(",").map((n) => KNOWN_CONFIGS.find((c) => c.name === n) ?? (() => { throw new Error(`unknown configuration ${n} (known: ${KNOWN_CONFIGS.map((c) => c.name).join(", ")})`); })());
  const seeds = args.seeds.split(",").map(Number);
  const repeat = Number(args.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a whole number >= 1, got ${args.repeat}`);
  const stanProblem = args["no-stan"] ? "--no-stan given" : probeStan();
  if (stanProblem !== null) log(`Stan skipped: ${stanProblem}`);
  const have = new Set(loadAll().records.map(keyOf));
  const started = new Date().toISOString();
  const loads: number[] = [loadavg()[0]!];
  const pool = await createWorkerPool({ threads: 2 });
  try {
    for (const name of posteriors) {
      const t = target(name);
      const density = compile(t.model);
      const names = density.names.slice(0, density.paramCount);
      if (args["warm-jit"]) {
        for (const config of configs) await sample(density, { chains: 4, warmup: 150, draws: 100, seed: 999, targetAccept: t.adaptDelta, maxTreeDepth: t.maxTreeDepth, pool, ...config.options }).result;
      }
      for (const seed of seeds) {
        const todo = configs.filter((config) => !(args.resume && have.has(keyOf({ posterior: name, system: config.name, seed }))));
        const repeats = new Map<string, RunRecord[]>(todo.map((c) => [c.name, []]));
        for (let rep = 0; rep < repeat; rep++) for (const config of todo) repeats.get(config.name)!.push(await runOurs(t, density, config, seed, pool));
        for (const config of todo) {
          const key = keyOf({ posterior: name, system: config.name, seed });
          const runs = repeats.get(config.name)!.sort((a, b) => a.cpuSeconds! - b.cpuSeconds!);
          const r = runs[(runs.length - 1) >> 1]!;
          saved.records = saved.records.filter((x) => keyOf(x) !== key).concat(r);
          log(`${name} s${seed} ${config.name}: ess/1000g ${(1000 * essPerGrad(r)).toFixed(2)} warmup ${r.numWarmup} div ${r.divergences} pass ${r.pass} ${r.seconds.toFixed(2)}s cpu ${r.cpuSeconds!.toFixed(2)}s ess/cpu-s ${(r.minBulk / r.cpuSeconds!).toFixed(1)} load ${loadavg()[0]!.toFixed(1)}`);
          save(saved);
        }
        const key = keyOf({ posterior: name, system: "rstan", seed });
        if (stanProblem === null && !(args.resume && have.has(key))) {
          const s = runStanOnce(t, seed, names);
          if (typeof s === "string") {
            saved.notes.push(`${name} seed ${seed}: rstan failed: ${s}`);
            log(`${name} s${seed} rstan FAILED: ${s}`);
          } else {
            saved.records = saved.records.filter((x) => keyOf(x) !== key).concat(s);
            log(`${name} s${seed} rstan: ess/1000g ${(1000 * essPerGrad(s)).toFixed(2)} div ${s.divergences} pass ${s.pass} ${s.seconds.toFixed(1)}s`);
          }
          save(saved);
        }
        loads.push(loadavg()[0]!);
      }
    }
  } finally {
    await pool.close();
  }
  saved.runs.push({ started, finished: new Date().toISOString(), load: [Math.min(...loads), Math.max(...loads)], what: `${posteriors.length} posteriors x ${configs.length} configurations x seeds ${seeds.join(",")}` });
  save(saved);
  const thisRun = new Set(posteriors);
  printBenchTargets(saved.records.filter((r) => thisRun.has(r.posterior) && seeds.includes(r.seed)));
  const { text, last } = render(loadAll());
  writeFileSync(OUT, text);
  console.log(last);
}

await main();

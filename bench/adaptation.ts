/**
 * `npm run bench:adaptation`: every warmup adaptation against rstan 2.21, on the posteriordb
 * posteriors of test/posteriordb and the seven benchmark models, seeds 1-3; writes
 * bench/ADAPTATION.md, whose last line (and this script's last stdout line) is
 *
 *   adaptation vs Stan, ESS per gradient incl. warmup: median X.XXx, worst Y.YYx over N posteriors (default: NAME)
 *
 * followed by the same configuration in seconds against the previous default (issue 27):
 *
 *   adaptation vs previous default, ESS per second: median X.XXx, worst Y.YYx over N posteriors
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
 *                                 [--no-stan] [--resume] [--render] [--out bench/ADAPTATION.md]
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

/** Every results*.json of the work folder merged (a later file's record wins for the same key). */
function loadAll(): Saved {
  const files = existsSync(WORK) ? readdirSync(WORK).filter((f) => /^results.*\.json$/.test(f)).sort() : [];
  const byKey = new Map<string, RunRecord>();
  const out: Saved = { records: [], notes: [], runs: [] };
  for (const f of files) {
    const s = readSaved(join(WORK, f));
    for (const r of s.records) byKey.set(keyOf(r), r);
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

/** D71's rule: the best median among configurations run on every posterior, passing everywhere, none below 0.9x, no new divergences. */
function chooseDefault(s: readonly Summary[]): { choice: Summary | null; why: string } {
  const eligible = s.filter((x) => x.complete && x.failed.length === 0 && x.below09 === 0 && x.newDivergences.length === 0);
  if (eligible.length > 0) return { choice: eligible.reduce((a, b) => (b.median > a.median ? b : a)), why: "best median among the configurations that pass everywhere, with no posterior below 0.9x Stan and no new divergences" };
  const complete = s.filter((x) => x.complete);
  if (complete.length === 0) return { choice: null, why: "no configuration was run on every posterior" };
  const fewest = complete.reduce((a, b) => (b.failed.length + b.newDivergences.length + b.below09 < a.failed.length + a.newDivergences.length + a.below09 || (b.failed.length + b.newDivergences.length + b.below09 === a.failed.length + a.newDivergences.length + a.below09 && b.median > a.median) ? b : a));
  return { choice: fewest, why: "no configuration met every condition; this one misses the fewest (then the best median)" };
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(d)) : x > 0 ? "inf" : "-");
const table = (h: readonly string[], rows: readonly (readonly string[])[]) => [`| ${h.join(" | ")} |`, `| ${h.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

function render(saved: Saved): { text: string; last: string } {
  const records = saved.records;
  const posteriors = ALL.filter((p) => records.some((r) => r.posterior === p && r.system === "rstan"));
  const systems = KNOWN_CONFIGS.map((c) => c.name).filter((n) => records.some((r) => r.system === n));
  const summaries = summarise(records, posteriors, systems);
  const { choice, why } = chooseDefault(summaries);
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
        s.system === choice?.system ? `**${s.system}**` : s.system,
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
  lines.push(`Default by D71's rule: **${choice?.system ?? "none"}** (${why}).`, "");
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
  const timed = timeSummaries(records, posteriors, systems);
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
      posteriors.map((p) => {
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
  lines.push(table(["configuration", "posteriors", "median ESS/s ratio", "worst (where)", "below 0.9x"], timed.map((t) => [t.system, String(t.n), `${fmt(t.median)}x`, `${fmt(t.worst)}x (${t.worstAt})`, String(t.below09)])), "");
  const notes = join(WORK, "NOTES.md");
  if (existsSync(notes)) lines.push(readFileSync(notes, "utf8").trimEnd(), "");
  let last: string;
  if (choice === null) last = "adaptation vs Stan, ESS per gradient incl. warmup: no configuration was run on every posterior";
  else last = `adaptation vs Stan, ESS per gradient incl. warmup: median ${choice.median.toFixed(2)}x, worst ${choice.worst.toFixed(2)}x over ${choice.n} posteriors (default: ${choice.system})`;
  const byTime = choice === null ? undefined : timed.find((t) => t.system === choice.system);
  const second =
    byTime === undefined || byTime.n === 0
      ? "adaptation vs previous default, ESS per second: not measured"
      : `adaptation vs previous default, ESS per second: median ${byTime.median.toFixed(2)}x, worst ${byTime.worst.toFixed(2)}x over ${byTime.n} posteriors (${byTime.system} against ${BASELINE})`;
  lines.push("## Final lines", "", last, "", second, "");
  return { text: lines.join("\n"), last: `${last}\n${second}` };
}

// ---- main --------------------------------------------------------------------------------

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
      for (const seed of seeds) {
        for (const config of configs) {
          const key = keyOf({ posterior: name, system: config.name, seed });
          if (args.resume && have.has(key)) continue;
          const r = await runOurs(t, density, config, seed, pool);
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
  const { text, last } = render(loadAll());
  writeFileSync(OUT, text);
  console.log(last);
}

await main();

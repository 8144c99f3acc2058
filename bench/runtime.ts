/**
 * The multi-chain runtime's numbers (`npm run bench:runtime`, runs from dist/).
 *
 * Sections (`node dist/bench/runtime.js [sections...] [--quick] [--reps N] [--models a,b]`;
 * default all):
 *
 * 1. startup:   the fixed cost of a run: a 4 x (10 + 10) run (no work to speak of) with
 *               `sample` (first run in a fresh process, and later runs) against `sampleSync`.
 *               Thread start, module loading and a cold JIT in every worker thread: paid once
 *               per run, whatever its length, by a run with a pool of its own (the default);
 *               not by a run on a warm shared pool (`createWorkerPool`), also shown.
 * 2. overhead + speedup, every benchmark model, each in a fresh process (so that the kernel
 *               on the main thread has seen that model only, as a worker's has), runs
 *               interleaved (sampleSync, 1 thread, 2 threads, 2 threads with a default pool;
 *               the order rotates per repeat),
 *               9 repeats (or `--reps`; 1 with --quick). Per-chain warmup and no extension:
 *               `sample` then makes the very same draws as `sampleSync` (tested), so the
 *               difference is the runtime. The compiled model is passed to both. Ratios are
 *               medians over repeats of the ratio within a repeat (the runs of a repeat are
 *               adjacent in time, which cancels most of this shared machine's drift).
 *               Two run lengths: the standard 4 x (1000 + 1000), and a long run per model
 *               sized so that `sampleSync` takes about 4 s on this machine (start-up amortised).
 *               Like sampleSync's main thread, which has run the model before it is timed, the
 *               runtime is timed warm: on shared pools (`createWorkerPool`) of 1 and 2 threads
 *               that ran the model once before; the same 2-thread run with a pool of its own
 *               (started and ended with the run, cold) is reported next to it.
 *   - overhead: wall-clock of `sample` on 1 thread against `sampleSync` (the bare kernel loop:
 *               the same chains, same seed, one after another on one thread), minus 1.
 *   - main thread: the 1-thread run's main-thread CPU against sampleSync's CPU: the runtime's
 *               own per-chunk work, read from one thread's clock (a change of a point shows
 *               there when the overhead, a difference of two noisy totals, cannot show it).
 *   - speedup:  wall-clock of `sampleSync` (4 chains in sequence) against `sample` on 2 threads.
 *   - contention (long runs): how much slower this machine runs the kernel when both cores
 *               are busy: two threads each running sampleSync's first 2 chains at once, against
 *               one such thread alone (both JIT-warm). ceiling = 2 / contention (less if one
 *               chain is more than half the work): the speedup a runtime with no cost at all
 *               could reach here.
 *   - views (long runs): the same 1-thread run with the terminal progress drawing (to a
 *               terminal that discards what it gets: log-update's escapes and all, 10 frames
 *               a second) and with a dashboard connected (serveDashboard, and a page in a
 *               worker thread that parses every frame and acknowledges it, as a browser
 *               does): their overhead against sampleSync is printed above the headline.
 *   HEADLINE (the last line): over the LONG runs of ALL seven models, the geometric mean of
 *   the per-model ratios: runtime overhead = geomean(1-thread wall / sampleSync wall) - 1;
 *   4-chain speedup on 2 threads = geomean(sampleSync wall / 2-thread wall). Long runs because
 *   what the runtime is for is runs of seconds or more (for a run of a few milliseconds
 *   `sampleSync` is the right tool); the fixed start-up cost is reported on its own (1.) and
 *   in the standard-length table, and the same speedup with a default pool per run is
 *   printed next to the headline's. All seven models so that nothing is picked: on the small
 *   ones a 4 s run means 10^5-10^6 draws per chain, the worst case for per-draw costs.
 * 3. pooled:    ESS per 1000 gradients (min bulk ESS over all quantities / gradients of
 *               warmup + sampling, 4 chains, 1000 + 1000), pooled vs per-chain warmup,
 *               seeds 1, 2, 3 (median), the 7 benchmark models.
 * 4. earlystop: gradients (warmup included) until bulk and tail ESS >= 400 and R-hat < 1.01
 *               (checked every 100 draws, at most 10000 draws per chain).
 * 5. streaming: throughput cost of subscribing to the streams on `simple` (long run, 2 threads;
 *               9 repeats, or `--reps`; `--models` for others),
 *               the terminal progress and a connected dashboard included.
 * 6. barriers:  wall-clock cost of waiting at barriers: pooled vs per-chain warmup, and
 *               early-stop check points (a target never met) vs no early stop.
 * 7. fixedcost: where a cheap model's run spends its CPU (issue 27): 4 x (1000 + 1000) on a
 *               warm shared pool of 2 threads, the previous default adaptation and the pooled
 *               low-rank one, each thread's CPU time from /proc/self/task (the main thread, the
 *               pool's worker threads, and the process's other threads: V8's garbage collector
 *               and compilers), beside the CPU the chunks themselves report and the tasks posted
 *               (`--models`; simple, eight_schools and funnel by default), and
 *               `sampleSync`'s CPU for the same chains (the bare kernel loop, per-chain windows).
 *
 * Timings carry the CPU other processes used meanwhile (/proc/stat): rows where that exceeded
 * 10% of a core are flagged with `*` (this includes kernel threads, e.g. returning the memory
 * of a previous long run). What the host does to this VM's two vCPUs is not visible there:
 * their speed varies by up to ~60% from minute to minute, hence interleaved repeats and
 * medians of ratios. The decisions behind these numbers: DECISIONS.md D21.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { compile } from "../src/compile/index.js";
import { sampleSync } from "../src/api/sample-sync.js";
import { sample } from "../src/api/sample.js";
import { createWorkerPool } from "../src/api/worker-pool.js";
import type { SampleOptions } from "../src/api/sample-options.js";
import type { Posterior } from "../src/api/posterior.js";
import type { SampleRun } from "../src/api/sample.js";
import { serveDashboard, type Dashboard } from "../src/view/dashboard/server.js";
import { showProgress } from "../src/view/progress/terminal.js";
import { mainThreadCpuSeconds } from "../test/helpers/proc-cpu.js";
import { BENCHMARK_NAMES, benchmarkModel, type BenchmarkName } from "./models/index.js";

const { values: args, positionals: sections } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string" },
    "no-views": { type: "boolean", default: false },
    models: { type: "string" },
    /** Internal: run one job (JSON) in this fresh process and print its result. */
    child: { type: "string" },
  },
  allowPositionals: true,
});
const quick = args.quick;
const reps = Number(args.reps ?? (quick ? 1 : 5));
/**
 * Repeats of the overhead section: 9 unless `--reps` (issue 27: with 3-5 the half-IQR of the
 * paired ratios was 2-8 points, too wide to see a regression of 3).
 */
const overheadReps = args.reps !== undefined ? reps : quick ? 1 : 9;
const noViews = args["no-views"];
const modelFilter = args.models?.split(",");
const want = (s: string) => sections.length === 0 || sections.includes(s);
const seeds = quick ? [1] : [1, 2, 3];
const models = BENCHMARK_NAMES.filter((m) => modelFilter === undefined || modelFilter.includes(m));

/** Long-run sampling draws per chain: sampleSync takes about 4 s on this machine (4 x (1000 + draws)). */
const LONG_DRAWS: Record<BenchmarkName, number> = {
  simple: 1_000_000,
  medium: 350_000,
  stress: 90_000,
  eight_schools: 350_000,
  funnel: 500_000,
  logistic: 4000,
  sv: 5000,
};

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function geomean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

function gradients(p: Posterior): number {
  return p.chains.reduce((a, c) => a + c.gradientEvaluations, 0);
}

function minEss(p: Posterior): { bulk: number; tail: number; rhat: number } {
  const rows = p.summary(p.names, false);
  const finite = (xs: number[]) => xs.filter((x) => Number.isFinite(x));
  return {
    bulk: Math.min(...finite(rows.map((r) => r.essBulk))),
    tail: Math.min(...finite(rows.map((r) => r.essTail))),
    rhat: Math.max(...finite(rows.map((r) => r.rhat))),
  };
}

/** Busy CPU seconds of the whole machine so far (Linux /proc/stat; NaN elsewhere). */
function machineBusySeconds(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = line as [number, number, number, number, number, number, number, number];
    return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ = 100
  } catch {
    return NaN;
  }
}

interface Timing {
  readonly wall: number;
  /** CPU seconds of this process (main thread and workers). */
  readonly cpu: number;
  /** CPU seconds of the main thread alone (where subscribers, the display and the dashboard run). */
  readonly mainCpu: number;
  /** CPU seconds other processes used meanwhile (this machine may be shared). */
  readonly foreign: number;
}

async function measure(f: () => Promise<unknown> | unknown): Promise<Timing> {
  const c = process.cpuUsage();
  const m = mainThreadCpuSeconds();
  const b = machineBusySeconds();
  const t = performance.now();
  await f();
  const wall = (performance.now() - t) / 1000;
  const d = process.cpuUsage(c);
  const cpu = (d.user + d.system) / 1e6;
  return { wall, cpu, mainCpu: mainThreadCpuSeconds() - m, foreign: Math.max(0, machineBusySeconds() - b - cpu) };
}

const busy = (ts: readonly Timing[]) => ts.some((t) => t.foreign > 0.1 * t.wall);
let foreignNoted = 0;
const flag = (ts: readonly Timing[]) => {
  if (!busy(ts)) return "";
  foreignNoted++;
  return "*";
};

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const pct = (x: number) => `${x >= 0 ? "+" : ""}${fmt(100 * x, 1)}%`;
// Stan's diagonal metric and windows, per chain: what sampleSync does (sample's default adapts otherwise, D71).
const same: SampleOptions = { metric: "diag", pooledWarmup: false, warmupExtension: false };

// ---- child processes and threads ---------------------------------------------------------

interface RunsJob {
  readonly kind: "runs";
  readonly model: BenchmarkName;
  readonly draws: number;
  readonly reps: number;
  readonly contention: boolean;
  /** Also time the 1-thread run with the terminal progress and with a dashboard connected. */
  readonly views: boolean;
}

interface StartupJob {
  readonly kind: "startup";
  readonly model: BenchmarkName;
  readonly reps: number;
}

interface StreamingJob {
  readonly kind: "streaming";
  readonly model: BenchmarkName;
  readonly draws: number;
  readonly reps: number;
}

interface FixedCostJob {
  readonly kind: "fixedcost";
  readonly model: BenchmarkName;
  readonly reps: number;
}

type Job = RunsJob | StartupJob | StreamingJob | FixedCostJob;

interface RunsResult {
  readonly sync: Timing[];
  /** On a warm shared pool (`createWorkerPool`) of 1 and of 2 threads. */
  readonly one: Timing[];
  readonly two: Timing[];
  /** The default: a pool of the run's own, started and ended with the run. */
  readonly fresh: Timing[];
  /** 1 thread (warm pool) with the terminal progress drawing, and with a dashboard connected. */
  readonly progress: Timing[];
  readonly dashboard: Timing[];
  /** Per-chain seconds of sampleSync (median over repeats). */
  readonly chainSeconds: number[];
  /** sampleSync of chains 0-1 on one thread alone / on two threads at once (the slower), seconds. */
  readonly alone: number[];
  readonly together: number[];
}

interface StartupResult {
  readonly sync: number[];
  /** First `sample` run of the process: time to the first batch and to the result. */
  readonly coldFirst: number;
  readonly cold: number;
  readonly first1: number[];
  readonly result1: number[];
  readonly first2: number[];
  readonly result2: number[];
  /** On a warm shared pool of 2 threads. */
  readonly firstWarm: number[];
  readonly resultWarm: number[];
}

/** Runs a job in a fresh Node process (dist/bench/runtime.js --child <job>). */
function inChild<R>(job: Job): R {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--child", JSON.stringify(job)], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as R;
}

/** A thread of the contention measurement: runs sampleSync's first 2 chains when told. */
interface ContentionData {
  readonly contention: true;
  readonly model: BenchmarkName;
  readonly draws: number;
}

function contentionThread(data: ContentionData): void {
  const d = compile(benchmarkModel(data.model));
  sampleSync(d, { chains: 2, warmup: 200, draws: 200, seed: 99 }); // JIT warm-up
  parentPort!.on("message", () => {
    const t = performance.now();
    sampleSync(d, { chains: 2, warmup: 1000, draws: data.draws, seed: 1 });
    parentPort!.postMessage((performance.now() - t) / 1000);
  });
  parentPort!.postMessage("ready");
}

/** Seconds until the slowest of `n` warm threads, started together, has run sampleSync's first 2 chains. */
async function threadsAtOnce(n: number, model: BenchmarkName, draws: number): Promise<number> {
  const threads = Array.from({ length: n }, () => new Worker(fileURLToPath(import.meta.url), { workerData: { contention: true, model, draws } satisfies ContentionData }));
  const next = (w: Worker) => new Promise<unknown>((r) => w.once("message", r));
  await Promise.all(threads.map(next));
  const done = threads.map(next);
  for (const w of threads) w.postMessage("go");
  const times = (await Promise.all(done)) as number[];
  await Promise.all(threads.map((w) => w.terminate()));
  return Math.max(...times);
}

// ---- views: terminal progress and a connected dashboard --------------------------------

/** A terminal that discards what it is sent (the progress draws as on a real one: escapes, 10 frames a second). */
function nullTerminal(): NodeJS.WriteStream {
  const w = new Writable({ write: (_chunk, _enc, cb) => cb() }) as unknown as NodeJS.WriteStream;
  Object.assign(w, { isTTY: true, columns: 120, rows: 40 });
  return w;
}

/** The dashboard's page: a thread of its own (bench/dashboard-page.ts), started once per process. */
let pageThread: Worker | null = null;

type ViewMode = "progress" | "dashboard";

/** Attaches a view to a run; resolves once it is attached (a dashboard: its page connected); the returned function ends it. */
async function attachView(run: SampleRun, mode: ViewMode): Promise<() => Promise<void>> {
  if (mode === "progress") {
    const p = showProgress(run, { stream: nullTerminal(), mode: "tty", title: "bench" });
    return async () => {
      await p.done;
    };
  }
  const d: Dashboard = await serveDashboard(run, { log: null });
  const page = (pageThread ??= new Worker(fileURLToPath(new URL("./dashboard-page.js", import.meta.url))));
  page.unref();
  page.postMessage({ url: d.url });
  return async () => {
    page.postMessage("done");
    const frames = (await new Promise((r) => page.once("message", r))) as number;
    if (frames < 1) throw new Error("the dashboard's page got no frame");
    await d.close();
  };
}

/** A timed run with a view attached (attaching is not timed: the run starts on the next turn of the event loop, a dashboard's page connects after). */
async function measureWithView(start: () => SampleRun, mode: ViewMode): Promise<Timing> {
  let end: () => Promise<void> = async () => undefined;
  const t = await measure(async () => {
    const run = start();
    if (mode === "progress") end = await attachView(run, mode);
    else {
      // The run must not wait for the page: it starts at once, the page joins as soon as it can.
      const attached = attachView(run, mode);
      await run.result;
      end = await attached;
      return;
    }
    await run.result;
  });
  await end();
  return t;
}

async function runsJob(job: RunsJob): Promise<RunsResult> {
  const d = compile(benchmarkModel(job.model));
  const opts = { chains: 4, warmup: 1000, draws: job.draws, seed: 1 } as const;
  const pools = { one: createWorkerPool({ threads: 1 }), two: createWorkerPool({ threads: 2 }) };
  // JIT warm-up, as much for every contender: the main thread's kernel (sampleSync) and
  // runtime code, and the threads of the shared pools.
  const warm = { ...opts, ...same, warmup: 200, draws: 200, seed: 99 };
  sampleSync(d, { ...opts, warmup: 200, draws: 200, seed: 99 });
  await sample(d, { ...warm, threads: 2 }).result;
  await sample(d, { ...warm, pool: pools.one }).result;
  await sample(d, { ...warm, pool: pools.two }).result;
  const r: RunsResult = { sync: [], one: [], two: [], fresh: [], progress: [], dashboard: [], chainSeconds: [], alone: [], together: [] };
  const perChain: number[][] = [[], [], [], []];
  const modes = job.views ? (["sync", "one", "two", "fresh", "progress", "dashboard"] as const) : (["sync", "one", "two", "fresh"] as const);
  for (let rep = 0; rep < job.reps; rep++) {
    for (let m = 0; m < modes.length; m++) {
      const mode = modes[(m + rep) % modes.length]!;
      if (mode === "sync") {
        let post: Posterior | null = null;
        r.sync.push(await measure(() => (post = sampleSync(d, opts))));
        post!.chains.forEach((c, i) => perChain[i]!.push(c.warmupSeconds + c.samplingSeconds));
      } else if (mode === "fresh") {
        r.fresh.push(await measure(() => sample(d, { ...opts, ...same, threads: 2 }).result));
      } else if (mode === "progress" || mode === "dashboard") {
        r[mode].push(await measureWithView(() => sample(d, { ...opts, ...same, pool: pools.one }), mode));
      } else {
        r[mode].push(await measure(() => sample(d, { ...opts, ...same, pool: pools[mode] }).result));
      }
    }
    if (job.contention) {
      r.alone.push(await threadsAtOnce(1, job.model, job.draws));
      r.together.push(await threadsAtOnce(2, job.model, job.draws));
    }
  }
  r.chainSeconds.push(...perChain.map(median));
  await Promise.all([pools.one.close(), pools.two.close()]);
  return r;
}

async function startupJob(job: StartupJob): Promise<StartupResult> {
  const d = compile(benchmarkModel(job.model));
  const opts = { chains: 4, warmup: 10, draws: 10, seed: 1 } as const;
  const timeRun = async (where: Pick<SampleOptions, "threads" | "pool">): Promise<[number, number]> => {
    const t = performance.now();
    const run = sample(d, { ...opts, ...same, ...where });
    let first = NaN;
    run.batches$.subscribe(() => {
      if (Number.isNaN(first)) first = (performance.now() - t) / 1000;
    });
    await run.result;
    return [first, (performance.now() - t) / 1000];
  };
  const [coldFirst, cold] = await timeRun({ threads: 1 });
  const r: StartupResult = { sync: [], coldFirst, cold, first1: [], result1: [], first2: [], result2: [], firstWarm: [], resultWarm: [] };
  sampleSync(d, opts);
  const pool = createWorkerPool({ threads: 2 });
  await timeRun({ pool });
  for (let rep = 0; rep < job.reps; rep++) {
    const t = performance.now();
    sampleSync(d, opts);
    r.sync.push((performance.now() - t) / 1000);
    const [f1, r1] = await timeRun({ threads: 1 });
    r.first1.push(f1);
    r.result1.push(r1);
    const [f2, r2] = await timeRun({ threads: 2 });
    r.first2.push(f2);
    r.result2.push(r2);
    const [fw, rw] = await timeRun({ pool });
    r.firstWarm.push(fw);
    r.resultWarm.push(rw);
  }
  await pool.close();
  return r;
}

// ---- sections --------------------------------------------------------------------------

async function startup(): Promise<void> {
  const n = quick ? 3 : 7;
  console.log(`\n## Start-up: the fixed cost of a run (4 x (10 + 10), per-chain warmup; medians of ${n}; fresh process per model)\n`);
  console.log(
    "A run of 4 x (10 + 10) iterations does no work to speak of: its wall-clock is the runtime's fixed cost (by default: worker threads started, worker module loaded, each worker's JIT cold, pool torn down; on a warm shared pool, `createWorkerPool`, none of that).\n",
  );
  console.log("| model | sampleSync ms | first run of the process: first batch / result ms | 1 thread: first batch / result ms | 2 threads: first batch / result ms | warm pool of 2 threads: first batch / result ms |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const name of models) {
    const r = inChild<StartupResult>({ kind: "startup", model: name, reps: n });
    const ms = (x: number) => fmt(1000 * x, 0);
    console.log(
      `| ${name} | ${fmt(1000 * median(r.sync), 1)} | ${ms(r.coldFirst)} / ${ms(r.cold)} | ${ms(median(r.first1))} / ${ms(median(r.result1))} | ${ms(median(r.first2))} / ${ms(median(r.result2))} | ${ms(median(r.firstWarm))} / ${ms(median(r.resultWarm))} |`,
    );
  }
}

interface Headline {
  overhead: number[];
  /** The same 1-thread runs with the terminal progress, and with a dashboard connected. */
  progress: number[];
  dashboard: number[];
  speedup: number[];
  /** The same with the default pool per run (start-up paid in every run). */
  speedupFresh: number[];
  /** The overhead in the process's CPU seconds (1-thread run against sampleSync). */
  overheadCpu: number[];
  /** Each model's speedup as a share of this machine's ceiling (2 threads / contention). */
  ofCeiling: number[];
  /** The 1-thread run's main-thread CPU over sampleSync's CPU: the runtime's own work, without the kernel's noise. */
  mainShare: number[];
}
const headline: Headline = { overhead: [], progress: [], dashboard: [], speedup: [], speedupFresh: [], overheadCpu: [], ofCeiling: [], mainShare: [] };

/** Median over repeats of a / b within each repeat (wall-clock, or the process's CPU seconds). */
function pairedRatio(a: readonly Timing[], b: readonly Timing[], clock: "wall" | "cpu" = "wall"): number {
  return median(a.map((x, i) => x[clock] / b[i]![clock]));
}

/**
 * The spread of the paired ratios a / b, as the half-width of their interquartile range, in
 * points of overhead: a change in overhead larger than about twice this is above the noise.
 */
function pairedSpread(a: readonly Timing[], b: readonly Timing[], clock: "wall" | "cpu" = "wall"): number {
  const r = a.map((x, i) => x[clock] / b[i]![clock]).sort((x, y) => x - y);
  if (r.length < 2) return NaN;
  const q = (f: number) => {
    const i = f * (r.length - 1);
    const lo = Math.floor(i);
    return r[lo]! + (i - lo) * (r[Math.min(lo + 1, r.length - 1)]! - r[lo]!);
  };
  return (q(0.75) - q(0.25)) / 2;
}

const viewRows: string[] = [];

async function overheadAndSpeedup(): Promise<void> {
  for (const long of [false, true]) {
    const title = long
      ? "Long runs: 4 x (1000 + draws), sized so that sampleSync takes about 4 s (start-up amortised). THE HEADLINE NUMBERS."
      : "Standard runs: 4 x (1000 + 1000) (start-up included)";
    console.log(`\n## Overhead (1 thread) and speedup (2 threads) against sampleSync, seed 1, per-chain warmup (same draws). ${title}\n`);
    console.log(
      `Wall-clock seconds: medians of ${overheadReps} interleaved runs (range in brackets), a fresh process per model; overhead and speedup: medians of the ratios within each repeat. ` +
        "Runtime 1 and 2 threads: on a warm shared pool (`createWorkerPool`, as warm as sampleSync's main thread); default pool: `sample` with a pool of its own (threads started, modules loaded and JIT cold in every run)." +
        (long ? " Contention: two threads each running 2 chains at once against one alone; ceiling: what a runtime of no cost could reach here." : "") +
        " Main thread: the 1-thread run's main-thread CPU over sampleSync's CPU (median of the ratios; the runtime's own coordinating work, read from the thread's clock: steadier than the overhead, a difference of two noisy totals)." +
        "\n",
    );
    console.log(
      "| model | draws/chain | sampleSync s | runtime 1 thread s | overhead (IQR/2) | overhead in CPU s (IQR/2) | main thread (IQR/2) | runtime 2 threads s | speedup |" +
        (long ? " contention | ceiling |" : "") +
        " default pool, 2 threads s | speedup | CPU s: sampleSync / 2 threads / default pool |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |" + (long ? " --- | --- |" : "") + " --- | --- | --- |");
    for (const name of models) {
      const draws = long ? (quick ? Math.round(LONG_DRAWS[name] / 4) : LONG_DRAWS[name]) : 1000;
      const r = inChild<RunsResult>({ kind: "runs", model: name, draws, reps: overheadReps, contention: long, views: long && !noViews });
      const w = (ts: Timing[]) => median(ts.map((t) => t.wall));
      const range = (ts: Timing[]) => `${fmt(w(ts), 3)} (${fmt(Math.min(...ts.map((t) => t.wall)), 2)}-${fmt(Math.max(...ts.map((t) => t.wall)), 2)})`;
      const overhead = pairedRatio(r.one, r.sync);
      const overheadCpu = pairedRatio(r.one, r.sync, "cpu");
      const spread = (clock: "wall" | "cpu") => fmt(100 * pairedSpread(r.one, r.sync, clock), 1);
      // The main thread's CPU as a Timing's `cpu`, to pair it with sampleSync's by the same helpers.
      const mainOfOne = r.one.map((t) => ({ ...t, cpu: t.mainCpu }));
      const mainShare = pairedRatio(mainOfOne, r.sync, "cpu");
      const speedup = pairedRatio(r.sync, r.two);
      const speedupFresh = pairedRatio(r.sync, r.fresh);
      const total = r.chainSeconds.reduce((a, b) => a + b, 0);
      const contention = median(r.together) / median(r.alone);
      const ceiling = total / Math.max(total / 2, ...r.chainSeconds) / contention;
      const cpu = [r.sync, r.two, r.fresh].map((ts) => fmt(median(ts.map((t) => t.cpu)), 2)).join(" / ");
      const f = flag([...r.sync, ...r.one, ...r.two, ...r.fresh]);
      console.log(
        `| ${name}${f} | ${draws} | ${range(r.sync)} | ${range(r.one)} | ${pct(overhead - 1)} (${spread("wall")}) | ${pct(overheadCpu - 1)} (${spread("cpu")}) | ${pct(mainShare)} (${fmt(100 * pairedSpread(mainOfOne, r.sync, "cpu"), 1)}) | ${range(r.two)} | ${fmt(speedup)}x |` +
          (long ? ` ${fmt(contention)}x | ${fmt(ceiling)}x |` : "") +
          ` ${range(r.fresh)} | ${fmt(speedupFresh)}x | ${cpu} |`,
      );
      if (long) {
        if (r.progress.length > 0) {
          headline.progress.push(pairedRatio(r.progress, r.sync));
          headline.dashboard.push(pairedRatio(r.dashboard, r.sync));
          viewRows.push(`| ${name}${flag([...r.sync, ...r.one, ...r.progress, ...r.dashboard])} | ${range(r.one)} | ${pct(overhead - 1)} | ${range(r.progress)} | ${pct(pairedRatio(r.progress, r.sync) - 1)} | ${range(r.dashboard)} | ${pct(pairedRatio(r.dashboard, r.sync) - 1)} |`);
        }
        headline.overhead.push(overhead);
        headline.overheadCpu.push(overheadCpu);
        headline.mainShare.push(mainShare);
        headline.ofCeiling.push(speedup / ceiling);
        headline.speedup.push(speedup);
        headline.speedupFresh.push(speedupFresh);
      }
    }
    if (long && viewRows.length > 0) {
      console.log("\n## The same long runs on 1 thread with a view: the terminal progress drawing (10 frames a second), a dashboard connected (a page parsing and acknowledging every frame)\n");
      console.log("| model | 1 thread s | overhead | with progress s | overhead | with a dashboard s | overhead |");
      console.log("| --- | --- | --- | --- | --- | --- | --- |");
      for (const row of viewRows) console.log(row);
    }
    if (long && headline.overhead.length > 0) {
      console.log(
        `\nGeometric means over the ${headline.overhead.length} long runs: overhead ${pct(geomean(headline.overhead) - 1)} (in CPU seconds ${pct(geomean(headline.overheadCpu) - 1)}), speedup ${fmt(geomean(headline.speedup))}x ` +
          `(with a default pool per run: ${fmt(geomean(headline.speedupFresh))}x).`,
      );
    }
  }
}

async function pooled(): Promise<void> {
  console.log("\n## Pooled vs per-chain warmup: ESS per 1000 gradients (median over seeds " + seeds.join(", ") + "), 4 x (1000 + 1000)\n");
  console.log("| model | per-chain | pooled | pooled / per-chain | pooled + extension | extensions | max R-hat per-chain / pooled / +ext |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  const base = { chains: 4, warmup: 1000, draws: 1000 } as const;
  for (const name of models) {
    const m = benchmarkModel(name);
    const per: number[] = [];
    const pool: number[] = [];
    const ext: number[] = [];
    const nExt: number[] = [];
    const rh: [number[], number[], number[]] = [[], [], []];
    for (const seed of seeds) {
      for (const [i, opts] of [
        { pooledWarmup: false, warmupExtension: false },
        { pooledWarmup: true, warmupExtension: false },
        { pooledWarmup: true, warmupExtension: true },
      ].entries()) {
        const p = await sample(m, { ...base, ...opts, seed, threads: 2 }).result;
        const e = minEss(p);
        const v = (1000 * e.bulk) / gradients(p);
        (i === 0 ? per : i === 1 ? pool : ext).push(v);
        rh[i as 0 | 1 | 2].push(e.rhat);
        if (i === 2) nExt.push(p.warmupExtensions);
      }
    }
    const a = median(per);
    const b = median(pool);
    console.log(
      `| ${name} | ${fmt(a, 3)} | ${fmt(b, 3)} | ${fmt(b / a)}x | ${fmt(median(ext), 3)} | ${nExt.join(",")} | ${fmt(median(rh[0]), 3)} / ${fmt(median(rh[1]), 3)} / ${fmt(median(rh[2]), 3)} |`,
    );
  }
}

async function earlyStop(): Promise<void> {
  console.log("\n## Early stop: gradients to bulk and tail ESS >= 400 with R-hat < 1.01 (4 chains, 1000 warmup, check every 100, at most 10000 draws)\n");
  console.log("| model | seed | stopped at draws/chain | gradients (warmup + sampling) | min bulk / tail ESS at stop | max R-hat | fixed 1000 draws: gradients | ratio |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  const base = { chains: 4, warmup: 1000, draws: 1000 } as const;
  for (const name of models) {
    const m = benchmarkModel(name);
    for (const seed of seeds) {
      const p = await sample(m, { ...base, draws: 10_000, seed, threads: 2, earlyStop: true, checkEvery: 100 }).result;
      const fixed = await sample(m, { ...base, seed, threads: 2 }).result;
      const d = p.onlineDiagnostics;
      const g = gradients(p);
      const stopped = p.status === "stopped-early" ? String(p.numDraws) : `not reached (${p.numDraws})`;
      console.log(
        `| ${name} | ${seed} | ${stopped} | ${g} | ${fmt(d?.minEssBulk ?? NaN, 0)} / ${fmt(d?.minEssTail ?? NaN, 0)} | ${fmt(d?.maxRhat ?? NaN, 3)} | ${gradients(fixed)} | ${fmt(g / gradients(fixed))} |`,
      );
    }
  }
}

const STREAM_MODES = ["none", "batches$ quantity(k)", "batches$ values", "draws$", "progress", "dashboard"] as const;
type StreamMode = (typeof STREAM_MODES)[number];

/** The streaming runs, in a fresh process: every mode once to warm the JIT, then `reps` rounds, modes interleaved. */
async function streamingJob(job: StreamingJob): Promise<Record<StreamMode, Timing[]>> {
  const d = compile(benchmarkModel(job.model));
  // On a warm shared pool, as the headline's runs: no start-up in the baseline to dilute the cost.
  const pool = createWorkerPool({ threads: 2 });
  const opts: SampleOptions = { chains: 4, warmup: 1000, draws: job.draws, seed: 1, pool };
  let sink = 0;
  const once = (mode: StreamMode, o: SampleOptions): Promise<unknown> => {
    if (mode === "progress" || mode === "dashboard") return measureWithView(() => sample(d, o), mode);
    const run = sample(d, o);
    if (mode === "batches$ quantity(k)") run.batches$.subscribe((b) => (sink += b.quantity(0)[0]! + b.lp[0]! + b.count));
    if (mode === "batches$ values") run.batches$.subscribe((b) => (sink += b.values[0]! + b.lp[0]! + b.count));
    if (mode === "draws$") run.draws$.subscribe((x) => (sink += x.values.mu! + x.stats.lp));
    return run.result;
  };
  for (const mode of STREAM_MODES) await once(mode, { ...opts, draws: Math.min(job.draws, 20_000) });
  const times = Object.fromEntries(STREAM_MODES.map((m) => [m, [] as Timing[]])) as Record<StreamMode, Timing[]>;
  for (let r = 0; r < job.reps; r++) {
    for (let m = 0; m < STREAM_MODES.length; m++) {
      const mode = STREAM_MODES[(m + r) % STREAM_MODES.length]!;
      times[mode].push(mode === "progress" || mode === "dashboard" ? ((await once(mode, opts)) as Timing) : await measure(() => once(mode, opts)));
    }
  }
  if (sink === 42) console.error("");
  await pool.close();
  return times;
}

/** On `simple` (the highest draw rate), or on each of `--models`. */
async function streaming(): Promise<void> {
  for (const name of modelFilter === undefined ? (["simple"] as const) : models) await streamingOn(name);
}

async function streamingOn(name: BenchmarkName): Promise<void> {
  const draws = quick ? 100_000 : LONG_DRAWS[name];
  const n = args.reps !== undefined ? reps : quick ? 3 : 9;
  console.log(
    `\n## Streaming cost on ${name}: 4 x (1000 + ${draws}) draws, a warm shared pool of 2 threads (${n} repeats, modes interleaved, a fresh process; costs are medians of the ratios within a repeat)\n`,
  );
  console.log(
    "batches$ quantity(k): a subscriber that reads each batch through its zero-copy views (`quantity(k)`, statistics); batches$ values: one that reads each batch's `values` (a draw-major copy, made on first read); draws$: one that reads every draw's values and statistics (three objects per draw); progress: the terminal progress drawing (10 frames a second, to a terminal that discards them); dashboard: serveDashboard with a page (a worker thread) parsing and acknowledging every frame.\n",
  );
  const times = inChild<Record<StreamMode, Timing[]>>({ kind: "streaming", model: name, draws, reps: n });
  const total = 4 * (1000 + draws);
  console.log("| subscribers | wall s | draws/s | wall cost vs none | CPU s (all threads) | CPU cost vs none | main thread CPU s | main thread ns per draw, above none |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const mode of STREAM_MODES) {
    const w = median(times[mode].map((t) => t.wall));
    const c = median(times[mode].map((t) => t.cpu));
    const wallCost = median(times[mode].map((t, i) => t.wall / times.none[i]!.wall)) - 1;
    const cpuCost = median(times[mode].map((t, i) => t.cpu / times.none[i]!.cpu)) - 1;
    const main = median(times[mode].map((t) => t.mainCpu));
    const perDraw = (1e9 * (main - median(times.none.map((t) => t.mainCpu)))) / total;
    console.log(`| ${mode}${flag(times[mode])} | ${fmt(w, 3)} | ${fmt(total / w, 0)} | ${pct(wallCost)} | ${fmt(c, 3)} | ${pct(cpuCost)} | ${fmt(main, 3)} | ${fmt(perDraw, 1)} |`);
  }
}

/** The adaptations the fixed-cost section compares: the previous default (D12, D14) and the pooled low-rank one. */
const FIXED_COST_CONFIGS = {
  previous: { metric: "diag", schedule: "stan", adaptiveWarmup: false },
  "low-rank": { metric: "low-rank", schedule: "nutpie", pooledWarmup: true, adaptiveWarmup: true },
} as const satisfies Record<string, SampleOptions>;
type FixedCostConfig = keyof typeof FIXED_COST_CONFIGS;

/** One run's CPU milliseconds by thread, the CPU its chunks report, and the tasks it posted. */
interface ThreadSplit {
  readonly wall: number;
  readonly cpu: number;
  readonly main: number;
  readonly workers: number;
  readonly others: number;
  readonly chunks: number;
  readonly tasks: number;
}

/**
 * CPU nanoseconds of each thread of this process (/proc/self/task/TID/schedstat). A running
 * thread's figure lags by up to a scheduler tick: read it only for threads that are asleep
 * (the main thread's share is the process's total, from getrusage, less the others').
 */
function threadNanos(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

interface FixedCostResult {
  readonly runs: Record<FixedCostConfig, ThreadSplit[]>;
  /** CPU milliseconds of `sampleSync` (the bare kernel loop on this thread, per-chain Stan windows), same chains and seeds. */
  readonly sync: number[];
}

async function fixedCostJob(job: FixedCostJob): Promise<FixedCostResult> {
  const d = compile(benchmarkModel(job.model));
  const before = new Set(threadNanos().keys());
  const pool = createWorkerPool({ threads: 2 });
  let tasks = 0;
  const run = pool.run.bind(pool);
  pool.run = (task) => {
    tasks++;
    return run(task);
  };
  const configs = Object.keys(FIXED_COST_CONFIGS) as FixedCostConfig[];
  const once = (config: FixedCostConfig, seed: number) => sample(d, { chains: 4, warmup: 1000, draws: 1000, seed, pool, ...FIXED_COST_CONFIGS[config] }).result;
  for (const c of configs) for (let i = 0; i < 3; i++) await once(c, 100 + i); // JIT warm-up
  for (let i = 0; i < 3; i++) sampleSync(d, { chains: 4, warmup: 1000, draws: 1000, seed: 100 + i });
  const sync: number[] = [];
  const workers = new Set([...threadNanos().keys()].filter((t) => !before.has(t)));
  const out = { previous: [] as ThreadSplit[], "low-rank": [] as ThreadSplit[] };
  for (let r = 0; r < job.reps; r++) {
    for (let m = 0; m < configs.length; m++) {
      const config = configs[(m + r) % configs.length]!;
      tasks = 0;
      const a = threadNanos();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const p = await once(config, 1 + r);
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const b = threadNanos();
      const cpu = (c.user + c.system) / 1000;
      let w = 0;
      let o = 0;
      for (const [tid, ns] of b) {
        if (tid === String(process.pid)) continue;
        const ms = (ns - (a.get(tid) ?? 0)) / 1e6;
        if (workers.has(tid)) w += ms;
        else o += ms;
      }
      const chunks = 1000 * p.chains.reduce((s, ch) => s + (ch.warmupCpuSeconds ?? NaN) + (ch.samplingCpuSeconds ?? NaN), 0);
      out[config].push({ wall, cpu, main: cpu - w - o, workers: w, others: o, chunks, tasks });
    }
    const c0 = process.cpuUsage();
    sampleSync(d, { chains: 4, warmup: 1000, draws: 1000, seed: 1 + r });
    const c = process.cpuUsage(c0);
    sync.push((c.user + c.system) / 1000);
  }
  await pool.close();
  return { runs: out, sync };
}

async function fixedCost(): Promise<void> {
  const names = modelFilter === undefined ? (["simple", "eight_schools", "funnel"] as const) : models;
  const n = args.reps !== undefined ? reps : quick ? 3 : 11;
  console.log(`\n## Fixed cost: where a cheap model's run spends its CPU (4 x (1000 + 1000), a warm shared pool of 2 threads, medians of ${n} interleaved runs, a fresh process per model)\n`);
  console.log(
    "CPU milliseconds per run by thread (/proc/self/task): the main thread (coordinator, Effect fibers, posting tasks and taking results), the pool's worker threads (chunks, and receiving and answering tasks), the process's other threads (V8's garbage collector and compilers); chunks: the CPU time the chunks report (D148's per-thread clock, which lags by up to a scheduler tick, so short chunks report less than they used).\n",
  );
  console.log("| model | adaptation | wall ms | CPU ms | main thread | worker threads | other threads | chunks report | tasks | sampleSync CPU ms |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const name of names) {
    const r = inChild<FixedCostResult>({ kind: "fixedcost", model: name, reps: n });
    for (const config of Object.keys(FIXED_COST_CONFIGS) as FixedCostConfig[]) {
      const m = (k: keyof ThreadSplit) => fmt(median(r.runs[config].map((x) => x[k])), 1);
      console.log(`| ${name} | ${config} | ${m("wall")} | ${m("cpu")} | ${m("main")} | ${m("workers")} | ${m("others")} | ${m("chunks")} | ${m("tasks")} | ${fmt(median(r.sync), 1)} |`);
    }
  }
}

async function barriers(): Promise<void> {
  console.log("\n## Barrier cost (wall clock, 2 threads, 4 x (1000 + 3000), seed 1, medians of " + reps + "; costs: medians of the ratios within a repeat)\n");
  console.log("| model | per-chain warmup s | pooled warmup s | pooled cost | early-stop checks every 100 s | check cost |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const name of ["eight_schools", "logistic", "sv"] as const) {
    if (!models.includes(name)) continue;
    const m = compile(benchmarkModel(name));
    const opts: SampleOptions = { chains: 4, warmup: 1000, draws: 3000, seed: 1, threads: 2, warmupExtension: false };
    const t: [Timing[], Timing[], Timing[]] = [[], [], []];
    for (let r = 0; r < reps; r++) {
      t[0].push(await measure(() => sample(m, { ...opts, pooledWarmup: false }).result));
      t[1].push(await measure(() => sample(m, opts).result));
      t[2].push(await measure(() => sample(m, { ...opts, earlyStop: { ess: 1e12 } }).result));
    }
    const [a, b, c] = t.map((x) => median(x.map((y) => y.wall))) as [number, number, number];
    console.log(`| ${name}${flag(t.flat())} | ${fmt(a, 3)} | ${fmt(b, 3)} | ${pct(pairedRatio(t[1], t[0]) - 1)} | ${fmt(c, 3)} | ${pct(pairedRatio(t[2], t[1]) - 1)} |`);
  }
}

async function main(): Promise<void> {
  console.log(`# bench:runtime (${quick ? "quick" : "full"}), node ${process.version}, ${reps} repeat(s)`);
  if (want("startup")) await startup();
  if (want("overhead") || want("speedup")) await overheadAndSpeedup();
  if (want("pooled")) await pooled();
  if (want("earlystop")) await earlyStop();
  if (want("streaming")) await streaming();
  if (want("barriers")) await barriers();
  if (want("fixedcost")) await fixedCost();
  if (foreignNoted > 0) console.log(`\n* ${foreignNoted} row(s) were timed while other processes (or kernel threads) used more than 10% of a core.`);
  const o = headline.overhead.length > 0 ? `${fmt(100 * (geomean(headline.overhead) - 1), 1)}%` : "n/a";
  const s = headline.speedup.length > 0 ? `${fmt(geomean(headline.speedup))}x` : "n/a";
  if (headline.progress.length > 0) {
    const v = (xs: number[]) => `${fmt(100 * (geomean(xs) - 1), 1)}%`;
    console.log(`\nruntime overhead with terminal progress: ${v(headline.progress)} ; with a dashboard connected: ${v(headline.dashboard)} ; without: ${o} (same repeats)`);
  }
  if (headline.overheadCpu.length > 0) {
    console.log(
      `\ntargets: overhead under 3% (wall ${o}, CPU ${fmt(100 * (geomean(headline.overheadCpu) - 1), 1)}%, of which the main thread ${fmt(100 * geomean(headline.mainShare), 1)}%); speedup at 0.95 of the ceiling or more (${fmt(geomean(headline.ofCeiling))} of it)`,
    );
  }
  console.log(`\nruntime overhead: ${o} ; 4-chain speedup on 2 threads: ${s}`);
}

if (!isMainThread && (workerData as ContentionData | null)?.contention === true) {
  contentionThread(workerData as ContentionData);

} else if (args.child !== undefined) {
  const job = JSON.parse(args.child) as Job;
  const result =
    job.kind === "runs" ? await runsJob(job) : job.kind === "startup" ? await startupJob(job) : job.kind === "fixedcost" ? await fixedCostJob(job) : await streamingJob(job);
  console.log(JSON.stringify(result));
  process.exit(0);
} else {
  await main();
}

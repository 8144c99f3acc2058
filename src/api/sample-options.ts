/**
 * Options of `sample` and their validation. Every option is checked (unknown ones too,
 * which catches typos) before any worker starts; an `InvalidOptionError` names the option
 * and the value.
 */
import { availableParallelism } from "node:os";
import { Duration, Option, Schedule } from "effect";
import type { ChunkSizing } from "../../actors/chain-actor.js";
import type { EarlyStopOptions, WarmupExtensionOptions } from "../../actors/coordinator.js";
import type { FaultSpec } from "../../actors/protocol.js";
import { defaultRestartSchedule, type RestartSchedule, type SupervisionPolicy } from "../../supervisors/chain-supervisor.js";
import { WorkerPool, type WorkerResourceLimits } from "../../supervisors/worker-pool.js";
import { samplerSettings, type SamplerSettings } from "../inference/index.js";
import { InvalidOptionError } from "./errors.js";
import { validateInit, type InitOption, type ValidatedInit } from "./pathfinder-init.js";
import type { SampleSyncOptions } from "./sample-sync.js";

export interface SampleOptions extends SampleSyncOptions {
  /**
   * Worker threads (default: min(chains, available cores); with `pool`, at most the pool's,
   * default all of them). Draws do not depend on it.
   */
  readonly threads?: number;
  /**
   * A pool of worker threads to run on (`createWorkerPool`), shared with other runs and left
   * open at the end: its threads stay warm (modules loaded, the model built and compiled by
   * the JIT), so a run on it pays no start-up. Without it a run starts threads of its own
   * and ends them when it ends.
   */
  readonly pool?: WorkerPool;
  /** Pool the chains' window accumulators into one metric at every slow-window end (true). */
  readonly pooledWarmup?: boolean;
  /**
   * Extend warmup by another slow window when, at the end of the last one, the
   * cross-chain R-hat of that window's draws is above `rhat` (default on: rhat 1.05, at most
   * 2 extensions, each as long as the last slow window). `false` turns it off.
   */
  readonly warmupExtension?: boolean | { readonly rhat?: number; readonly max?: number; readonly length?: number };
  /** Online R-hat / ESS every this many sampling draws per chain (100). */
  readonly checkEvery?: number;
  /**
   * Stop sampling once every quantity has R-hat < `rhat` (1.01) and bulk and tail ESS >=
   * `ess` (400), checked every `checkEvery` draws; `draws` is then the most per chain.
   */
  readonly earlyStop?: boolean | { readonly rhat?: number; readonly ess?: number; readonly essBulk?: number; readonly essTail?: number; readonly minDraws?: number };
  /**
   * Restart policy for a chain whose chunk failed (a thrown error, a dead thread, the
   * watchdog): `{ maxRestarts: 3, backoff: "100 millis" }` (exponential backoff) or any
   * Effect `Schedule` over the failures.
   */
  readonly restart?: { readonly maxRestarts?: number; readonly backoff?: Duration.DurationInput } | RestartSchedule;
  /** Watchdog: a chunk running longer than this is killed (ms or an Effect duration; 60 s). */
  readonly chunkTimeout?: Duration.DurationInput;
  /** Chunk sizing: first chunk's iterations (20), target compute per chunk in ms (50), most iterations (1e6). */
  readonly chunk?: { readonly initial?: number; readonly targetMs?: number; readonly max?: number };
  /**
   * Flow control of the draw streams: at most `maxPendingBatches` (16) undelivered batches
   * per chain; a chain waits for the consumer beyond that. `ack: "auto"` (default): a batch
   * is delivered once every subscriber's `next` has returned; `"manual"`: once
   * `batch.ack()` is called (for consumers that process batches asynchronously).
   */
  readonly stream?: { readonly maxPendingBatches?: number; readonly ack?: "auto" | "manual" };
  /** V8 heap limits of every worker thread. */
  readonly workerResourceLimits?: WorkerResourceLimits;
  /** Test only: faults to inject into chunks (see `FaultSpec`). */
  readonly faults?: readonly FaultSpec[];
  /**
   * Where the chains start: "random" (Stan's uniform(-2, 2) on the unconstrained scale) or
   * "pathfinder" (Pathfinder's draws and covariance estimate, and a 300-iteration warmup unless
   * `warmup` is given; `{ pathfinder: options }` to tune it). Default: "pathfinder" when neither
   * `warmup`, `inits` nor `sampler.windows` is given, else "random". See src/api/pathfinder-init.ts.
   */
  readonly init?: InitOption;
}

const KNOWN = new Set([
  "chains",
  "warmup",
  "draws",
  "seed",
  "metric",
  "targetAccept",
  "maxTreeDepth",
  "inits",
  "initRadius",
  "stepSize",
  "saveWarmup",
  "sampler",
  "threads",
  "pool",
  "pooledWarmup",
  "warmupExtension",
  "checkEvery",
  "earlyStop",
  "restart",
  "chunkTimeout",
  "chunk",
  "stream",
  "workerResourceLimits",
  "faults",
  "init",
]);

/** Everything of a run that does not depend on the model. */
export interface ValidatedOptions {
  readonly numChains: number;
  readonly numDraws: number;
  /** Threads the run uses: its own pool's size, or how many of `pool`'s. */
  readonly threads: number;
  readonly pool: WorkerPool | null;
  readonly seed: number;
  readonly settings: SamplerSettings;
  readonly saveWarmup: boolean;
  readonly initRadius: number | null;
  readonly pooled: boolean;
  readonly extension: WarmupExtensionOptions | null;
  readonly checkEvery: number;
  readonly earlyStop: EarlyStopOptions | null;
  readonly policy: SupervisionPolicy;
  readonly sizing: ChunkSizing;
  readonly maxPendingBatches: number;
  readonly manualAck: boolean;
  readonly resourceLimits: WorkerResourceLimits | undefined;
  readonly faults: readonly FaultSpec[];
  /** `init: "pathfinder"` (null: random inits or `inits`). */
  readonly init: ValidatedInit | null;
}

export function bad(option: string, value: unknown, want: string): never {
  let shown: string;
  try {
    shown = typeof value === "string" ? JSON.stringify(value) : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  } catch {
    shown = String(value);
  }
  throw new InvalidOptionError({ option, value, message: `option ${option} must be ${want}, got ${shown}` });
}

export function int(option: string, value: unknown, min: number, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    bad(option, value, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`);
  }
  return value;
}

export function num(option: string, value: unknown, ok: (x: number) => boolean, want: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !ok(value)) bad(option, value, want);
  return value;
}

export function bool(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") bad(option, value, "true or false");
  return value;
}

export function record(option: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad(option, value, "an object");
  for (const k of Object.keys(value)) {
    if (!keys.includes(k)) bad(`${option}.${k}`, (value as Record<string, unknown>)[k], `one of the known keys of ${option} (${keys.join(", ")})`);
  }
  return value as Record<string, unknown>;
}

export function duration(option: string, value: unknown, fallback: Duration.Duration): Duration.Duration {
  if (value === undefined) return fallback;
  const d = Duration.decodeUnknown(value);
  if (Option.isNone(d) || !(Duration.toMillis(d.value) > 0)) bad(option, value, 'a positive duration (milliseconds or e.g. "30 seconds")');
  return d.value;
}

/** Checks the `workerResourceLimits` option (of `sample` or `createWorkerPool`). */
export function validateResourceLimits(value: unknown): WorkerResourceLimits | undefined {
  if (value === undefined) return undefined;
  const r = record("workerResourceLimits", value, ["maxOldGenerationSizeMb", "maxYoungGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"]);
  for (const [k, v] of Object.entries(r)) num(`workerResourceLimits.${k}`, v, (x) => x > 0, "a number > 0", 1);
  return r as WorkerResourceLimits;
}

/** Checks the options of `createWorkerPool`. */
export function validatePoolOptions(options: unknown): { threads: number; resourceLimits: WorkerResourceLimits | undefined } {
  if (typeof options !== "object" || options === null) bad("options", options, "an object");
  const o = record("options", options, ["threads", "workerResourceLimits"]);
  return { threads: int("threads", o.threads, 1, availableParallelism(), 256), resourceLimits: validateResourceLimits(o.workerResourceLimits) };
}

export function validateOptions(options: SampleOptions = {}): ValidatedOptions {
  if (typeof options !== "object" || options === null) bad("options", options, "an object");
  for (const k of Object.keys(options)) if (!KNOWN.has(k)) bad(k, (options as Record<string, unknown>)[k], `a known option (${[...KNOWN].join(", ")})`);
  const o = options;
  const numChains = int("chains", o.chains, 1, 4, 1024);
  const numWarmup = int("warmup", o.warmup, 0, 1000);
  const numDraws = int("draws", o.draws, 0, 1000);
  let pool: WorkerPool | null = null;
  if (o.pool !== undefined) {
    if (!(o.pool instanceof WorkerPool)) bad("pool", o.pool, "a WorkerPool (createWorkerPool)");
    if (o.pool.isClosed) bad("pool", "a closed WorkerPool", "an open WorkerPool");
    if (o.workerResourceLimits !== undefined) {
      bad("workerResourceLimits", o.workerResourceLimits, "left out with `pool` (the pool's threads have theirs: createWorkerPool({ workerResourceLimits }))");
    }
    pool = o.pool;
  }
  const maxThreads = pool === null ? 256 : pool.threads;
  const defaultThreads = pool === null ? Math.min(numChains, availableParallelism()) : pool.threads;
  const threads = Math.min(numChains, int("threads", o.threads, 1, defaultThreads, maxThreads));
  const seed = o.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : int("seed", o.seed, 0, 0);
  if (o.metric !== undefined && o.metric !== "diag" && o.metric !== "dense" && o.metric !== "diag-fisher") {
    bad("metric", o.metric, '"diag", "dense" or "diag-fisher"');
  }
  const targetAccept = num("targetAccept", o.targetAccept, (x) => x > 0 && x < 1, "in (0, 1)", 0.8);
  const maxTreeDepth = int("maxTreeDepth", o.maxTreeDepth, 1, 10, 30);
  const stepSize = num("stepSize", o.stepSize, (x) => x > 0 && Number.isFinite(x), "finite and > 0", 1);
  const initRadius = o.initRadius === undefined ? null : num("initRadius", o.initRadius, (x) => x >= 0 && Number.isFinite(x), "finite and >= 0", 2);
  if (o.sampler !== undefined) record("sampler", o.sampler, ["maxDeltaH", "gamma", "kappa", "t0", "windows"]);
  let settings: SamplerSettings;
  try {
    settings = samplerSettings({
      ...o.sampler,
      numWarmup,
      metric: o.metric ?? "diag",
      targetAccept,
      maxTreeDepth,
      initStepSize: stepSize,
      metricUpdate: "external",
    });
  } catch (e) {
    bad("sampler", o.sampler, `valid kernel settings (${(e as Error).message})`);
  }
  const saveWarmup = bool("saveWarmup", o.saveWarmup, false);
  const pooled = bool("pooledWarmup", o.pooledWarmup, true);

  let extension: WarmupExtensionOptions | null = { rhat: 1.05, max: 2, length: null };
  if (o.warmupExtension === false) extension = null;
  else if (o.warmupExtension !== undefined && o.warmupExtension !== true) {
    const e = record("warmupExtension", o.warmupExtension, ["rhat", "max", "length"]);
    extension = {
      rhat: num("warmupExtension.rhat", e.rhat, (x) => x > 1, "a number > 1", 1.05),
      max: int("warmupExtension.max", e.max, 0, 2),
      length: e.length === undefined ? null : int("warmupExtension.length", e.length, 1, 0),
    };
  }

  const checkEvery = int("checkEvery", o.checkEvery, 4, 100);
  let earlyStop: EarlyStopOptions | null = null;
  if (o.earlyStop !== undefined && o.earlyStop !== false) {
    const e = o.earlyStop === true ? {} : record("earlyStop", o.earlyStop, ["rhat", "ess", "essBulk", "essTail", "minDraws"]);
    const ess = num("earlyStop.ess", e.ess, (x) => x > 0, "a number > 0", 400);
    earlyStop = {
      rhat: num("earlyStop.rhat", e.rhat, (x) => x > 1, "a number > 1", 1.01),
      essBulk: num("earlyStop.essBulk", e.essBulk, (x) => x > 0, "a number > 0", ess),
      essTail: num("earlyStop.essTail", e.essTail, (x) => x > 0, "a number > 0", ess),
      minDraws: int("earlyStop.minDraws", e.minDraws, 0, checkEvery),
    };
    if (numChains < 2) bad("earlyStop", o.earlyStop, "off with a single chain (R-hat needs two chains or more)");
  }

  let restart: RestartSchedule;
  if (o.restart !== undefined && Schedule.isSchedule(o.restart)) restart = o.restart as RestartSchedule;
  else {
    const r = o.restart === undefined ? {} : record("restart", o.restart, ["maxRestarts", "backoff"]);
    const maxRestarts = int("restart.maxRestarts", r.maxRestarts, 0, 3, 1000);
    const backoff = duration("restart.backoff", r.backoff, Duration.millis(100));
    restart = defaultRestartSchedule(maxRestarts, backoff);
  }
  const chunkTimeout = duration("chunkTimeout", o.chunkTimeout, Duration.seconds(60));

  const c = o.chunk === undefined ? {} : record("chunk", o.chunk, ["initial", "targetMs", "max"]);
  const sizing: ChunkSizing = {
    initial: int("chunk.initial", c.initial, 1, 20),
    targetSeconds: num("chunk.targetMs", c.targetMs, (x) => x > 0 && Number.isFinite(x), "finite and > 0", 50) / 1000,
    max: int("chunk.max", c.max, 1, 1_000_000),
  };
  const s = o.stream === undefined ? {} : record("stream", o.stream, ["maxPendingBatches", "ack"]);
  const maxPendingBatches = int("stream.maxPendingBatches", s.maxPendingBatches, 1, 16);
  if (s.ack !== undefined && s.ack !== "auto" && s.ack !== "manual") bad("stream.ack", s.ack, '"auto" or "manual"');

  const resourceLimits = validateResourceLimits(o.workerResourceLimits);

  const faults: FaultSpec[] = [];
  if (o.faults !== undefined) {
    if (!Array.isArray(o.faults)) bad("faults", o.faults, "an array of fault specs");
    o.faults.forEach((f, i) => {
      const r = record(`faults[${i}]`, f, ["chain", "atIteration", "kind", "attempts"]);
      if (!["throw", "exit", "hang", "oom"].includes(r.kind as string)) bad(`faults[${i}].kind`, r.kind, '"throw", "exit", "hang" or "oom"');
      faults.push({
        chain: int(`faults[${i}].chain`, r.chain, 0, 0, numChains - 1),
        atIteration: int(`faults[${i}].atIteration`, r.atIteration, 0, 0),
        kind: r.kind as FaultSpec["kind"],
        attempts: r.attempts === Infinity ? Infinity : int(`faults[${i}].attempts`, r.attempts, 0, 1),
      });
    });
  }

  // Issue 14: Pathfinder inits (src/api/pathfinder-init.ts).
  const init = validateInit(o);

  return {
    init,
    numChains,
    numDraws,
    threads,
    pool,
    seed,
    settings,
    saveWarmup,
    initRadius,
    pooled,
    extension,
    checkEvery,
    earlyStop,
    policy: { restart, chunkTimeout },
    sizing,
    maxPendingBatches,
    manualAck: s.ack === "manual",
    resourceLimits,
    faults,
  };
}

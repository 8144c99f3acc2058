/**
 * Options of `sample` and their validation. Every option is checked (unknown ones too,
 * which catches typos) before any worker starts; an `InvalidOptionError` names the option
 * and the value.
 */
import { randomBytes } from "node:crypto";
import { Duration } from "effect";
import type { ChunkSizing } from "../../actors/chain-actor.js";
import type { EarlyStopOptions, WarmupExtensionOptions } from "../../actors/coordinator.js";
import type { FaultSpec } from "../../actors/protocol.js";
import type { RestartSchedule, SupervisionPolicy } from "../../supervisors/chain-supervisor.js";
import type { ClusterPlan } from "../../supervisors/cluster/client.js";
import { DEFAULT_TIMINGS, MIN_KEY_CHARS } from "../../supervisors/cluster/config.js";
import type { WorkerPool, WorkerResourceLimits } from "../../supervisors/worker-pool.js";
import { LOW_RANK_DEFAULTS, samplerSettings, WARMUP_END_DEFAULTS, type ConstrainedInit, type SamplerSettings, type WarmupEndRule } from "../inference/index.js";
import { InvalidOptionError } from "./errors.js";
import { validateInit, type InitOption, type ValidatedInit } from "./init-options.js";
import type { SampleSyncOptions } from "./sync-options.js";
import {
  bad,
  bool,
  duration,
  int,
  knownOptions,
  num,
  record,
  validatePoolAndThreads,
  validateResourceLimits,
  validateRestart,
  validateSeed,
} from "./validators.js";

export {
  bad,
  bool,
  duration,
  int,
  knownOptions,
  num,
  record,
  validatePoolAndThreads,
  validatePoolOptions,
  validateResourceLimits,
  validateRestart,
  validateSeed,
} from "./validators.js";

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
  /** Pool the chains' window statistics into one metric at every window end / switch (true). */
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
  /** Watchdog: a chunk running longer than this is killed (an Effect duration string such as "60 seconds", or a bare number of milliseconds; 60 s). */
  readonly chunkTimeout?: Duration.DurationInput;
  /**
   * Chunk sizing: first chunk's iterations (20; unless set, the first chunk then goes on to the
   * first window end while it has taken less than the target), target compute per chunk in ms
   * (50), most iterations (1e6).
   */
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
   * Run the chains on cluster runners (`npx bayests-runner`) that share a PostgreSQL database,
   * or, without `database` (or `cluster: true`), on an in-process runner (development: no
   * database). The coordinator, the streams and the result stay in this process; the draws
   * are those of a local run with the same seed.
   */
  readonly cluster?: boolean | ClusterOption;
  /** Terminal progress on stderr (src/view): "auto" (default: when stderr is a terminal), true (plain lines when it is not), false. */
  readonly progress?: boolean | "auto";
  /** A live dashboard (src/view): true, or where and how (`{ port, host, theme, quantities }`). */
  readonly dashboard?: boolean | DashboardOption;
  /**
   * Adaptive warmup length: warmup ends (for all chains together) at the first window end where
   * the metric has stopped moving and the chains agree (DECISIONS.md D69); `warmup` is then the
   * cap. `true` for the defaults, or any of { floor, tolerance, rhat, block }. Default: on with
   * nutpie's schedule (`metric: "low-rank"` or `"diag-fisher"`) when `warmup` is not given; off
   * when it is (`warmup: N` is N iterations, as in Stan, D108) and with Stan's schedule (the default).
   */
  readonly adaptiveWarmup?: boolean | { readonly floor?: number; readonly tolerance?: number; readonly rhat?: number; readonly block?: number };
  /**
   * Where the chains start: "random" (Stan's uniform(-2, 2) on the unconstrained scale, the
   * default) or "pathfinder" (Pathfinder's draws, and its covariance as the initial metric;
   * `{ pathfinder: options }` to tune it). See src/api/pathfinder-init.ts.
   */
  readonly init?: InitOption;
}

/** The options `sampleSync` takes (and `sample` too). */
const SYNC_KNOWN = ["chains", "warmup", "draws", "seed", "metric", "schedule", "targetAccept", "maxTreeDepth", "inits", "initRadius", "stepSize", "saveWarmup", "sampler"];

const KNOWN = new Set([
  ...SYNC_KNOWN,
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
  "adaptiveWarmup",
  "cluster",
  "init",
]);

/** What `sampleSync` needs of its options, checked. */
export interface ValidatedSyncOptions {
  readonly numChains: number;
  readonly numWarmup: number;
  readonly numDraws: number;
  readonly seed: number;
  readonly settings: SamplerSettings;
  readonly saveWarmup: boolean;
  readonly initRadius: number | null;
  readonly inits: ConstrainedInit | readonly ConstrainedInit[] | undefined;
}

/** Where a run's chains go when they leave this process (`sample`'s `cluster` option). */
export interface ClusterOption {
  /** PostgreSQL URL the runners share (`postgres://user:password@host:5432/db`); omitted: an in-process runner. */
  readonly database?: string;
  /**
   * The cluster key the runners were started with (at least 32 characters): every model,
   * request and reply carries its HMAC. Default: the `BAYESTS_CLUSTER_KEY` environment
   * variable; an in-process runner without one makes up its own.
   */
  readonly key?: string;
  /** Runners refuse the run's chunks once this long has passed without the client renewing its lease ("30 seconds"; a bare number is milliseconds, at least 100). */
  readonly lease?: Duration.DurationInput;
  /** How long a chunk's reply may take beyond `chunkTimeout`, queueing and failover included, before the chunk fails ("5 minutes"; a bare number is milliseconds, at least 100). */
  readonly replyTimeout?: Duration.DurationInput;
  /** Longest wait for the database at the start ("30 seconds"; a bare number is milliseconds, at least 100). */
  readonly connectTimeout?: Duration.DurationInput;
}

/** Everything of a run that does not depend on the model. */
export interface ValidatedOptions {
  readonly numChains: number;
  readonly numWarmup: number;
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
  readonly adaptiveWarmup: WarmupEndRule | null;
  readonly checkEvery: number;
  readonly earlyStop: EarlyStopOptions | null;
  readonly policy: SupervisionPolicy;
  readonly sizing: ChunkSizing;
  readonly maxPendingBatches: number;
  readonly manualAck: boolean;
  readonly resourceLimits: WorkerResourceLimits | undefined;
  readonly faults: readonly FaultSpec[];
  readonly cluster: ClusterPlan | null;
  /** `init: "pathfinder"` (null: random inits or `inits`). */
  readonly init: ValidatedInit | null;
}

/**
 * The most numbers a run's traces may hold, in all chains: chains x (warmup + draws) x
 * (quantities + 8 sampler statistics) <= 2^29 (4 GiB of float64). Checked with the model,
 * before any work starts (DECISIONS.md D28).
 */
export const MAX_TRACE_NUMBERS = 2 ** 29;

/** Throws an `InvalidOptionError` when a run of these sizes would not fit `MAX_TRACE_NUMBERS`. */
export function checkRunSize(
  o: { readonly numChains: number; readonly numWarmup: number; readonly numDraws: number; readonly extension?: WarmupExtensionOptions | null },
  quantities: number,
): void {
  // Warmup extensions add up to `max` windows of `length` (by default the last slow window, at most half of warmup).
  const extra = o.extension ? o.extension.max * (o.extension.length ?? Math.ceil(o.numWarmup / 2)) : 0;
  const warmup = o.numWarmup + extra;
  const numbers = o.numChains * (warmup + o.numDraws) * (quantities + 8);
  if (numbers <= MAX_TRACE_NUMBERS) return;
  const option = o.numDraws >= warmup ? "draws" : "warmup";
  throw new InvalidOptionError({
    option,
    value: option === "draws" ? o.numDraws : o.numWarmup,
    message:
      `option ${option}: ${o.numChains} chains x (${warmup} warmup${extra > 0 ? " with extensions" : ""} + ${o.numDraws} draws) x (${quantities} quantities + 8 statistics) ` +
      `= ${numbers} numbers to keep, above the limit of 2^29 (${MAX_TRACE_NUMBERS}, 4 GiB): lower draws, warmup or chains, or report fewer quantities`,
  });
}

/** The options `sample` and `sampleSync` share; `known` lists the keys the caller accepts. */
function validateCommon(options: unknown, known: ReadonlySet<string>, metricUpdate: "self" | "external"): ValidatedSyncOptions & { readonly adaptiveWarmup: WarmupEndRule | null } {
  const o = knownOptions(options, known) as SampleSyncOptions;
  const numChains = int("chains", o.chains, 1, 4, 1024);
  // Their size is checked with the model's quantities (`checkRunSize`).
  const numWarmup = int("warmup", o.warmup, 0, 1000);
  const numDraws = int("draws", o.draws, 0, 1000);
  const seed = validateSeed(o.seed);
  // `sample` adapts as D71 chose; `sampleSync` keeps Stan's diagonal and windows by default.
  const adaptation = validateAdaptation(o, numWarmup, metricUpdate === "external");
  const targetAccept = num("targetAccept", o.targetAccept, (x) => x > 0 && x < 1, "in (0, 1)", 0.8);
  const maxTreeDepth = int("maxTreeDepth", o.maxTreeDepth, 1, 10, 30);
  const stepSize = num("stepSize", o.stepSize, (x) => x > 0 && Number.isFinite(x), "finite and > 0", 1);
  const initRadius = o.initRadius === undefined ? null : num("initRadius", o.initRadius, (x) => x >= 0 && Number.isFinite(x), "finite and >= 0", 2);
  const sampler: Record<string, unknown> = {};
  if (o.sampler !== undefined) {
    const r = record("sampler", o.sampler, ["maxDeltaH", "gamma", "kappa", "t0", "windows", "fisher", "sharedSwitches"]);
    for (const k of ["maxDeltaH", "gamma", "kappa", "t0"]) {
      if (r[k] !== undefined) sampler[k] = num(`sampler.${k}`, r[k], (x) => x > 0 && Number.isFinite(x), "finite and > 0", 1);
    }
    if (r.windows !== undefined) {
      const w = record("sampler.windows", r.windows, ["initBuffer", "termBuffer", "baseWindow"]);
      sampler.windows = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, int(`sampler.windows.${k}`, v, k === "baseWindow" ? 1 : 0, 0, MAX_TRACE_NUMBERS)]));
    }
    if (r.fisher !== undefined) sampler.fisher = validateFisher(r.fisher);
    if (r.sharedSwitches !== undefined) {
      if (r.sharedSwitches !== "all" && r.sharedSwitches !== "main") bad("sampler.sharedSwitches", r.sharedSwitches, '"main" or "all"');
      if (metricUpdate === "self") bad("sampler.sharedSwitches", r.sharedSwitches, "left out: sampleSync's chains make every switch on their own");
      sampler.sharedSwitches = r.sharedSwitches;
    }
  }
  let settings: SamplerSettings;
  try {
    settings = samplerSettings({
      numWarmup,
      metric: adaptation.metric,
      schedule: adaptation.schedule,
      targetAccept,
      maxTreeDepth,
      initStepSize: stepSize,
      metricUpdate,
      // `sample`: nutpie's early switches are each chain's own, made inside its chunks (D147).
      sharedSwitches: metricUpdate === "external" ? "main" : "all",
      ...sampler,
    });
  } catch (e) {
    bad("sampler", o.sampler, `valid kernel settings (${(e as Error).message})`);
  }
  const saveWarmup = bool("saveWarmup", o.saveWarmup, false);
  const inits = o.inits;
  if (inits !== undefined) {
    const list = Array.isArray(inits) ? inits : [inits];
    if (Array.isArray(inits) && inits.length !== numChains) {
      throw new InvalidOptionError({ option: "inits", value: inits, message: `option inits has ${inits.length} entries for ${numChains} chains` });
    }
    list.forEach((init, c) => {
      if (typeof init !== "object" || init === null || Array.isArray(init)) bad(Array.isArray(inits) ? `inits[${c}]` : "inits", init, "an object of initial values by parameter name");
    });
  }
  return { numChains, numWarmup, numDraws, seed, settings, saveWarmup, initRadius, inits, adaptiveWarmup: adaptation.adaptiveWarmup };
}

/** Checks the options of `sampleSync` (unknown keys included): `InvalidOptionError` names the option. */
export function validateSyncOptions(options: SampleSyncOptions = {}): ValidatedSyncOptions {
  return validateCommon(options, new Set(SYNC_KNOWN), "self");
}

export function validateOptions(options: SampleOptions = {}): ValidatedOptions {
  const { numChains, numWarmup, numDraws, seed, settings, saveWarmup, initRadius, adaptiveWarmup } = validateCommon(options, KNOWN, "external");
  const o = options;
  validateViewOptions(o);
  const { pool, threads } = validatePoolAndThreads(o, numChains);
  const pooled = bool("pooledWarmup", o.pooledWarmup, true);

  let extension: WarmupExtensionOptions | null = { rhat: 1.05, max: 2, length: null };
  if (o.warmupExtension === false) extension = null;
  else if (o.warmupExtension !== undefined && o.warmupExtension !== true) {
    const e = record("warmupExtension", o.warmupExtension, ["rhat", "max", "length"]);
    extension = {
      rhat: num("warmupExtension.rhat", e.rhat, (x) => x > 1, "a number > 1", 1.05),
      max: int("warmupExtension.max", e.max, 0, 2, 1000),
      length: e.length === undefined ? null : int("warmupExtension.length", e.length, 1, 0, MAX_TRACE_NUMBERS),
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

  const restart = validateRestart(o.restart);
  const chunkTimeout = duration("chunkTimeout", o.chunkTimeout, Duration.seconds(60), 100);

  const c = o.chunk === undefined ? {} : record("chunk", o.chunk, ["initial", "targetMs", "max"]);
  // A cluster's chunk pays a round trip through the network and the database: longer chunks.
  const clustered = o.cluster !== undefined && o.cluster !== false;
  const sizing: ChunkSizing = {
    initial: int("chunk.initial", c.initial, 1, 20),
    targetSeconds: num("chunk.targetMs", c.targetMs, (x) => x > 0 && Number.isFinite(x), "finite and > 0", clustered ? 250 : 50) / 1000,
    max: int("chunk.max", c.max, 1, 1_000_000),
    // A first chunk the user sized is left as sized; a cluster's runners run chunks as planned.
    extendFirst: c.initial === undefined && !clustered,
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

  const cluster = validateCluster(o, threads);
  // Issue 14: Pathfinder inits (src/api/pathfinder-init.ts).
  const init = validateInit(o);

  return {
    init,
    numChains,
    numWarmup,
    numDraws,
    threads,
    pool,
    seed,
    settings,
    saveWarmup,
    initRadius,
    pooled,
    extension,
    adaptiveWarmup,
    checkEvery,
    earlyStop,
    policy: { restart, chunkTimeout },
    sizing,
    maxPendingBatches,
    manualAck: s.ack === "manual",
    resourceLimits,
    faults,
    cluster,
  };
}

/** Checks `cluster` (and the local options it excludes); null without it. Also `abc`'s and `abcSmc`'s. */
export function validateCluster(o: Pick<SampleOptions, "cluster" | "pool" | "threads" | "workerResourceLimits">, threads: number): ClusterPlan | null {
  if (o.cluster === undefined || o.cluster === false) return null;
  if (o.cluster !== true && (typeof o.cluster !== "object" || o.cluster === null)) bad("cluster", o.cluster, "true or an object { database, key, lease, replyTimeout, connectTimeout }");
  const c = o.cluster === true ? {} : record("cluster", o.cluster, ["database", "key", "lease", "replyTimeout", "connectTimeout"]);
  if (o.pool !== undefined) bad("pool", "a WorkerPool", "left out with `cluster` (the chains run on the cluster's runners)");
  let database: string | null = null;
  if (c.database !== undefined) {
    let protocol = "";
    try {
      protocol = typeof c.database === "string" ? new URL(c.database).protocol : "";
    } catch {
      protocol = "";
    }
    if (protocol !== "postgres:" && protocol !== "postgresql:") bad("cluster.database", c.database, "a PostgreSQL URL (postgres://user:password@host:5432/database)");
    database = c.database as string;
    for (const local of ["threads", "workerResourceLimits"] as const) {
      if (o[local] !== undefined) bad(local, o[local], "left out with `cluster.database` (runners have their own: npx bayests-runner --threads N)");
    }
  }
  const key = c.key ?? process.env.BAYESTS_CLUSTER_KEY;
  if (key !== undefined && (typeof key !== "string" || key.length < MIN_KEY_CHARS)) {
    // The key itself is never shown.
    bad(c.key !== undefined ? "cluster.key" : "cluster.key (from BAYESTS_CLUSTER_KEY)", "(hidden)", `a string of at least ${MIN_KEY_CHARS} characters`);
  }
  if (key === undefined && database !== null) {
    bad("cluster.key", undefined, "the cluster key the runners were started with (or the BAYESTS_CLUSTER_KEY environment variable)");
  }
  return {
    database,
    key: key === undefined ? randomBytes(32) : Buffer.from(key as string),
    threads,
    resourceLimits: validateResourceLimits(o.workerResourceLimits),
    lease: duration("cluster.lease", c.lease, Duration.seconds(30), 100),
    replyTimeout: duration("cluster.replyTimeout", c.replyTimeout, Duration.minutes(5), 100),
    connectTimeout: duration("cluster.connectTimeout", c.connectTimeout, Duration.seconds(30), 100),
    timings: DEFAULT_TIMINGS,
  };
}

// ---- What the view floor (src/view) shows of a run: terminal progress and the dashboard. ----
// Validated here with every other option; acted on by src/view's `sample`.

export interface DashboardOption {
  /** TCP port (0: any free one). */
  readonly port?: number;
  /** Address to listen on ("127.0.0.1": this machine only). */
  readonly host?: string;
  readonly theme?: "dark" | "light";
  /** Quantities to plot (default: the first 32). */
  readonly quantities?: readonly string[];
}

export interface ViewSettings {
  readonly progress: boolean | "auto";
  readonly dashboard: DashboardOption | null;
}

for (const k of ["progress", "dashboard"]) KNOWN.add(k);

export function validateViewOptions(o: Pick<SampleOptions, "progress" | "dashboard">): ViewSettings {
  if (o.progress !== undefined && o.progress !== true && o.progress !== false && o.progress !== "auto") bad("progress", o.progress, 'true, false or "auto"');
  let dashboard: DashboardOption | null = null;
  if (o.dashboard === true) dashboard = {};
  else if (o.dashboard !== undefined && o.dashboard !== false) {
    const d = record("dashboard", o.dashboard, ["port", "host", "theme", "quantities"]);
    int("dashboard.port", d.port, 0, 0, 65535);
    if (d.host !== undefined && (typeof d.host !== "string" || d.host === "")) bad("dashboard.host", d.host, 'an address to listen on (e.g. "127.0.0.1")');
    if (d.theme !== undefined && d.theme !== "dark" && d.theme !== "light") bad("dashboard.theme", d.theme, '"dark" or "light"');
    if (d.quantities !== undefined && (!Array.isArray(d.quantities) || d.quantities.length === 0 || d.quantities.some((q) => typeof q !== "string"))) {
      bad("dashboard.quantities", d.quantities, "a non-empty array of quantity names");
    }
    dashboard = d as DashboardOption;
  }
  return { progress: o.progress ?? "auto", dashboard };
}

// ---- adaptation (metric, schedule, adaptive warmup length: DECISIONS.md D66-D71) -------------

/**
 * The default adaptation of `sample` (DECISIONS.md D94, superseding D71): Stan's windows, a
 * diagonal metric, a fixed warmup length. The Fisher adaptation is one option away:
 * `metric: "low-rank"` (or `"diag-fisher"`) takes nutpie's schedule and an adaptive length.
 */
export const DEFAULT_ADAPTATION = { metric: "diag", schedule: "stan", adaptiveWarmup: false } as const satisfies {
  metric: SamplerSettings["metric"];
  schedule: SamplerSettings["schedule"];
  adaptiveWarmup: boolean;
};

function validateAdaptation(
  o: SampleOptions,
  numWarmup: number,
  forSample: boolean,
): { metric: SamplerSettings["metric"]; schedule: SamplerSettings["schedule"]; adaptiveWarmup: WarmupEndRule | null } {
  const metrics = ["diag", "dense", "diag-fisher", "low-rank"] as const;
  if (o.metric !== undefined && !(metrics as readonly unknown[]).includes(o.metric)) bad("metric", o.metric, '"diag", "dense", "diag-fisher" or "low-rank"');
  if (o.schedule !== undefined && o.schedule !== "stan" && o.schedule !== "nutpie") bad("schedule", o.schedule, '"stan" or "nutpie"');
  const metric = o.metric ?? (forSample ? DEFAULT_ADAPTATION.metric : "diag");
  // A metric given without a schedule takes the one it is made for; Fisher metrics nutpie's.
  // (sampleSync keeps the kernel's defaults: Stan's windows unless the metric is low-rank.)
  const schedule =
    o.schedule ??
    (!forSample ? (metric === "low-rank" ? "nutpie" : "stan") : o.metric === undefined ? DEFAULT_ADAPTATION.schedule : metric === "low-rank" || metric === "diag-fisher" ? "nutpie" : "stan");
  if (schedule === "nutpie" && metric !== "diag-fisher" && metric !== "low-rank") bad("schedule", o.schedule, `"stan" with metric "${metric}" (nutpie's schedule adapts "diag-fisher" or "low-rank")`);
  if (schedule === "stan" && metric === "low-rank") bad("schedule", o.schedule, '"nutpie" with metric "low-rank"');
  let adaptiveWarmup: WarmupEndRule | null = null;
  // `warmup: N` means N warmup iterations, as in Stan: the adaptive length applies when warmup is
  // not given (then the default warmup is its cap) or when asked for (DECISIONS.md D108).
  const adaptive = forSample ? o.adaptiveWarmup ?? (o.warmup === undefined && (schedule === "nutpie" || DEFAULT_ADAPTATION.adaptiveWarmup)) : false;
  if (adaptive !== false) {
    const a = adaptive === true ? {} : record("adaptiveWarmup", adaptive, ["floor", "tolerance", "rhat", "block"]);
    adaptiveWarmup = {
      ...WARMUP_END_DEFAULTS,
      floor: int("adaptiveWarmup.floor", a.floor, 0, WARMUP_END_DEFAULTS.floor),
      tolerance: num("adaptiveWarmup.tolerance", a.tolerance, (x) => x > 0 && Number.isFinite(x), "finite and > 0", WARMUP_END_DEFAULTS.tolerance),
      rhat: num("adaptiveWarmup.rhat", a.rhat, (x) => x > 1, "a number > 1", WARMUP_END_DEFAULTS.rhat),
      block: int("adaptiveWarmup.block", a.block, 1, WARMUP_END_DEFAULTS.block),
    };
    // With the default rule, a warmup below the floor is simply fixed; an explicit floor must fit.
    if (adaptiveWarmup.floor > numWarmup) {
      if (o.adaptiveWarmup === undefined || o.adaptiveWarmup === true) adaptiveWarmup = null;
      else bad("adaptiveWarmup.floor", adaptiveWarmup.floor, `at most warmup (${numWarmup}), the cap`);
    }
  }
  return { metric, schedule, adaptiveWarmup };
}

/** `sampler.fisher`: nutpie's schedule settings (`NUTPIE_SCHEDULE` for what is left out). */
function validateFisher(value: unknown): Record<string, unknown> {
  const f = record("sampler.fisher", value, ["earlyFraction", "finalFraction", "earlySwitchEvery", "firstWindow", "growth", "updateEvery", "lowRank", "reparamFrom", "reparamAt"]);
  const out: Record<string, unknown> = {};
  const fraction = (k: string) => {
    if (f[k] !== undefined) out[k] = num(`sampler.fisher.${k}`, f[k], (x) => x >= 0 && x < 1, "in [0, 1)", 0);
  };
  fraction("earlyFraction");
  fraction("finalFraction");
  for (const k of ["earlySwitchEvery", "firstWindow", "reparamFrom", "reparamAt"]) {
    if (f[k] !== undefined) out[k] = int(`sampler.fisher.${k}`, f[k], 1, 1, MAX_TRACE_NUMBERS);
  }
  if (f.growth !== undefined) out.growth = num("sampler.fisher.growth", f.growth, (x) => x >= 1 && Number.isFinite(x), "finite and >= 1", 1.5);
  if (f.updateEvery !== undefined) out.updateEvery = f.updateEvery === null ? null : int("sampler.fisher.updateEvery", f.updateEvery, 1, 1, MAX_TRACE_NUMBERS);
  if (f.lowRank !== undefined) {
    const l = record("sampler.fisher.lowRank", f.lowRank, ["gamma", "cutoff"]);
    out.lowRank = {
      ...LOW_RANK_DEFAULTS,
      ...(l.gamma !== undefined ? { gamma: num("sampler.fisher.lowRank.gamma", l.gamma, (x) => x > 0 && Number.isFinite(x), "finite and > 0", 1e-5) } : {}),
      ...(l.cutoff !== undefined ? { cutoff: num("sampler.fisher.lowRank.cutoff", l.cutoff, (x) => x > 1 && Number.isFinite(x), "finite and > 1", 2) } : {}),
    };
  }
  return out;
}

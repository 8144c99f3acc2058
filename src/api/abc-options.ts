/**
 * Options of `abc` and `abcSmc`, checked before any simulation runs (unknown keys too): an
 * `InvalidOptionError` names the option and the value. Defaults follow pyABC where it has one
 * (median tolerance schedule, adaptive MAD distance, twice the weighted covariance as kernel).
 */
import { Duration, Schedule } from "effect";
import type { SupervisionPolicy } from "../../supervisors/chain-supervisor.js";
import type { WorkerPool, WorkerResourceLimits } from "../../supervisors/worker-pool.js";
import type { AbcSettings } from "../../actors/abc-actor.js";
import type { Model } from "../model/builder.js";
import type { ValidatedRun } from "./approx-options.js";
import type { ClusterPlan } from "../../supervisors/cluster/client.js";
import { bad, duration, int, knownOptions, num, validateCluster, validatePoolAndThreads, validateResourceLimits, validateSeed, type ClusterOption } from "./sample-options.js";

/** What both ABC methods accept. */
interface AbcCommonOptions {
  /**
   * The prior: a `model(...)` that declares the simulator's parameters with proper priors and
   * nothing observed. The simulator receives its parameters by name, constrained.
   */
  readonly prior: Model;
  /** The observed data, as the simulator's `summary` takes them (the summary vector itself without one). */
  readonly observed: unknown;
  /** Particles of the final population (1000). */
  readonly particles?: number;
  /**
   * Distance between summaries: "adaptive" (default: Euclidean in units of each summary's
   * median absolute deviation over the prior's, then each generation's, simulations, as
   * pyABC's adaptive distance), "euclidean" (unscaled), or `{ scales }` fixed per summary.
   */
  readonly distance?: "adaptive" | "euclidean" | { readonly scales: readonly number[] };
  /** Simulations at most over the run (no limit). */
  readonly maxSimulations?: number;
  /** A simulation running longer than this is stopped (its thread terminated) and its proposal dropped ("30 seconds"). */
  readonly simulationTimeout?: Duration.DurationInput;
  /** The run fails (with the simulator's messages) when more than this share of simulations fail, after 50 (0.5). */
  readonly maxFailureRate?: number;
  /** Seed (random when absent). The same seed gives the same population on any number of threads. */
  readonly seed?: number;
  readonly threads?: number;
  /** A shared pool (`createWorkerPool`) to run on, left open at the end. */
  readonly pool?: WorkerPool;
  readonly workerResourceLimits?: WorkerResourceLimits;
  /**
   * Run the simulations on cluster runners (`npx bayests-runner --simulators <folder>`, the
   * simulator module at the same path on each) that share a PostgreSQL database, or, without
   * `database` (or `cluster: true`), on an in-process runner. The same seed gives the same
   * population as on local threads. `replyTimeout` bounds a batch's reply beyond its
   * simulations' `simulationTimeout`.
   */
  readonly cluster?: boolean | ClusterOption;
}

/** Rejection ABC: give `tolerance`, or `quantile` (default 0.01). */
export interface AbcOptions extends AbcCommonOptions {
  /** Accept simulations whose distance is at most this (in the distance's units), until `particles` are accepted. */
  readonly tolerance?: number;
  /** Simulate particles / quantile prior draws and keep the nearest `particles` (0.01 when `tolerance` is absent). */
  readonly quantile?: number;
}

/** ABC-SMC (Beaumont et al. 2009; adaptive tolerances as Del Moral et al. 2012). */
export interface AbcSmcOptions extends AbcCommonOptions {
  /** Each generation's tolerance is this weighted quantile of the last population's distances (0.5). */
  readonly alpha?: number;
  /** Stop once a generation's tolerance is at or below this (0). */
  readonly minTolerance?: number;
  /** Stop once a generation accepts fewer than this share of its simulations (0.01). */
  readonly minAcceptanceRate?: number;
  /** Generations at most after the prior's (20). */
  readonly maxGenerations?: number;
  /** Perturbation kernel: "global" (default: twice the population's weighted covariance) or "local" (from each particle's nearest neighbours). */
  readonly kernel?: "global" | "local";
  /** Local kernel: neighbours per particle (a quarter of the particles, at least dimension + 1). */
  readonly neighbours?: number;
}

export interface ValidatedAbc extends ValidatedRun {
  /** Where the simulations run when not on local threads (null: local threads). */
  readonly cluster: ClusterPlan | null;
  readonly prior: unknown;
  readonly observed: unknown;
  readonly settings: AbcSettings;
  /** Fixed scales to check against the observed summary's length. */
  readonly fixedScales: boolean;
}

const ABC_COMMON = ["prior", "observed", "particles", "distance", "maxSimulations", "simulationTimeout", "maxFailureRate", "seed", "threads", "pool", "workerResourceLimits", "cluster"];
const REJECTION = [...ABC_COMMON, "tolerance", "quantile"];
const SMC = [...ABC_COMMON, "alpha", "minTolerance", "minAcceptanceRate", "maxGenerations", "kernel", "neighbours"];

function scalesOf(value: unknown): Float64Array | null {
  if (value === undefined || value === "adaptive") return null;
  if (value === "euclidean") return new Float64Array(0);
  const scales = (value as { scales?: unknown } | null)?.scales;
  if (typeof value !== "object" || value === null || !Array.isArray(scales) || scales.length === 0 || !scales.every((x) => typeof x === "number" && x > 0 && Number.isFinite(x))) {
    bad("distance", value, '"adaptive", "euclidean" or { scales: [positive numbers, one per summary] }');
  }
  return Float64Array.from(scales as number[]);
}

function validateCommon(o: Record<string, unknown>, method: AbcSettings["method"]) {
  if (o.prior === undefined) bad("prior", o.prior, "a model(...) declaring the simulator's parameters and their priors");
  if (o.observed === undefined) bad("observed", o.observed, "the observed data");
  const { pool, threads } = validatePoolAndThreads(o, Number.MAX_SAFE_INTEGER);
  // A failed simulation is dropped, never re-run; the watchdog bounds one simulation.
  const policy: SupervisionPolicy = { restart: Schedule.stop, chunkTimeout: duration("simulationTimeout", o.simulationTimeout, Duration.seconds(30)) };
  const particles = int("particles", o.particles, 2, 1000, 1_000_000);
  const maxSimulations = o.maxSimulations === undefined ? Infinity : int("maxSimulations", o.maxSimulations, particles, particles);
  const scales = scalesOf(o.distance);
  return {
    run: { seed: validateSeed(o.seed), threads, pool, policy, resourceLimits: validateResourceLimits(o.workerResourceLimits), cluster: validateCluster(o as Parameters<typeof validateCluster>[0], threads) },
    base: {
      method,
      particles,
      maxSimulations,
      maxFailureRate: num("maxFailureRate", o.maxFailureRate, (x) => x > 0 && x <= 1, "in (0, 1]", 0.5),
      scales,
    },
  };
}

/** Checks `abc`'s options. */
export function validateAbcOptions(options: AbcOptions): ValidatedAbc {
  const o = knownOptions(options, new Set(REJECTION));
  const { run, base } = validateCommon(o, "rejection");
  if (o.tolerance !== undefined && o.quantile !== undefined) bad("quantile", o.quantile, "left out when `tolerance` is given (one or the other)");
  const tolerance = o.tolerance === undefined ? null : num("tolerance", o.tolerance, (x) => x > 0, "a positive number", 0);
  const quantile = tolerance !== null ? null : num("quantile", o.quantile, (x) => x > 0 && x <= 1, "in (0, 1]", 0.01);
  const settings: AbcSettings = { ...base, tolerance, quantile, alpha: 0.5, minTolerance: 0, minAcceptanceRate: 0, maxGenerations: 0, kernel: "global", neighbours: 0 };
  return { ...run, prior: o.prior, observed: o.observed, settings, fixedScales: base.scales !== null && base.scales.length > 0 };
}

/** Checks `abcSmc`'s options. */
export function validateAbcSmcOptions(options: AbcSmcOptions): ValidatedAbc {
  const o = knownOptions(options, new Set(SMC));
  const { run, base } = validateCommon(o, "smc");
  if (o.kernel !== undefined && o.kernel !== "global" && o.kernel !== "local") bad("kernel", o.kernel, '"global" or "local"');
  if (o.neighbours !== undefined && o.kernel !== "local") bad("neighbours", o.neighbours, 'left out unless kernel is "local"');
  const settings: AbcSettings = {
    ...base,
    tolerance: null,
    quantile: null,
    alpha: num("alpha", o.alpha, (x) => x > 0 && x < 1, "in (0, 1)", 0.5),
    minTolerance: num("minTolerance", o.minTolerance, (x) => x >= 0, "a number >= 0", 0),
    minAcceptanceRate: num("minAcceptanceRate", o.minAcceptanceRate, (x) => x >= 0 && x < 1, "in [0, 1)", 0.01),
    maxGenerations: int("maxGenerations", o.maxGenerations, 1, 20, 10_000),
    kernel: (o.kernel as "global" | "local" | undefined) ?? "global",
    neighbours: int("neighbours", o.neighbours, 2, Math.ceil(base.particles / 4), base.particles),
  };
  return { ...run, prior: o.prior, observed: o.observed, settings, fixedScales: base.scales !== null && base.scales.length > 0 };
}

/**
 * Options of `pathfinder`, `advi` and `smc`, checked before any worker starts (unknown keys
 * too): an `InvalidOptionError` names the option and the value. Defaults are Stan's (Pathfinder,
 * ADVI: rstan 2.21 `vb()`) and PyMC's (`sample_smc`).
 */
import { Duration } from "effect";
import type { RestartSchedule, SupervisionPolicy } from "../../supervisors/chain-supervisor.js";
import type { WorkerPool, WorkerResourceLimits } from "../../supervisors/worker-pool.js";
import { ADVI_DEFAULTS, ETA_SEQUENCE, type AdviFamily, type AdviSettings } from "../inference/advi.js";
import type { ConstrainedInit } from "../inference/init.js";
import { PATHFINDER_DEFAULTS, type PathfinderSettings } from "../inference/pathfinder.js";
import { SMC_DEFAULTS, type SmcKernelKind, type SmcSettings } from "../inference/smc.js";
import { bad, bool, duration, int, knownOptions, num, validatePoolAndThreads, validateResourceLimits, validateRestart, validateSeed } from "./validators.js";

/** What every approximation run accepts besides its own settings. */
export interface ApproxRunOptions {
  /** Seed (random when absent; recorded in the result). The same seed gives the same result on any number of threads. */
  readonly seed?: number;
  /** Worker threads (default: as many as can work at once, at most the available cores). */
  readonly threads?: number;
  /** A shared pool (`createWorkerPool`) to run on, left open at the end. */
  readonly pool?: WorkerPool;
  /** Restart policy for a failed task (as `sample`'s): `{ maxRestarts: 3, backoff: "100 millis" }` or an Effect `Schedule`. */
  readonly restart?: { readonly maxRestarts?: number; readonly backoff?: Duration.DurationInput } | RestartSchedule;
  /** Watchdog: a task running longer than this is killed and retried (60 s). */
  readonly chunkTimeout?: Duration.DurationInput;
  /** V8 heap limits of the run's own worker threads. */
  readonly workerResourceLimits?: WorkerResourceLimits;
}

export interface PathfinderOptions extends ApproxRunOptions {
  /** Independent paths, one per worker task (4). */
  readonly paths?: number;
  /** Draws per path from its best approximation (Stan's num_draws, 1000). */
  readonly draws?: number;
  /** Draws kept after importance resampling over all paths (Stan's num_psis_draws, 1000). */
  readonly psisDraws?: number;
  /** Resample the paths' draws by Pareto-smoothed importance weights (true); false keeps every path's draws, one chain per path. */
  readonly psisResample?: boolean;
  /** L-BFGS history (6). */
  readonly historySize?: number;
  /** L-BFGS iterations per path at most (1000). */
  readonly maxIterations?: number;
  /** Draws per iterate for its ELBO (25). */
  readonly elboDraws?: number;
  readonly initAlpha?: number;
  readonly tolObj?: number;
  readonly tolRelObj?: number;
  readonly tolGrad?: number;
  readonly tolRelGrad?: number;
  readonly tolParam?: number;
  /** Random inits uniform(-initRadius, initRadius) on the unconstrained scale (2). */
  readonly initRadius?: number;
  /** Initial values in constrained space: one object for every path or one per path. */
  readonly inits?: ConstrainedInit | readonly ConstrainedInit[];
}

export interface AdviOptions extends ApproxRunOptions {
  /** "meanfield" (default) or "fullrank". */
  readonly family?: AdviFamily;
  /** Stochastic-gradient iterations at most (10000). */
  readonly maxIterations?: number;
  readonly gradSamples?: number;
  readonly elboSamples?: number;
  readonly evalElbo?: number;
  /** Convergence: relative ELBO change (mean or median over the last evaluations) below this (0.01). */
  readonly tolRelObj?: number;
  /** A fixed step-size scale; absent: Stan's eta search over 100, 10, 1, 0.1, 0.01. */
  readonly eta?: number;
  readonly adaptIterations?: number;
  /** Draws from the fitted approximation (1000). */
  readonly draws?: number;
  readonly initRadius?: number;
  /** Initial values in constrained space. */
  readonly inits?: ConstrainedInit;
}

export interface SmcOptions extends ApproxRunOptions {
  /** Independent SMC runs, reported as chains (4). */
  readonly chains?: number;
  /** Particles per run (2000). */
  readonly particles?: number;
  /** Particle actors per run: the particles are split into this many groups, each mutated as a task (4). Results depend on it, not on `threads`. */
  readonly groups?: number;
  /** Target ESS fraction choosing the next inverse temperature (0.5). */
  readonly threshold?: number;
  /** Mutation: independent Metropolis-Hastings with a fitted normal ("imh", default) or short NUTS moves ("nuts"). */
  readonly kernel?: SmcKernelKind;
  /** NUTS moves: the particles' covariance as a "dense" (default: 2000 particles estimate it well) or "diag" metric. */
  readonly metric?: "diag" | "dense";
  /** Mutation steps of the first stage (IMH 25, NUTS 3), then tuned from acceptance within [minSteps, maxSteps] (2, 25). */
  readonly initialSteps?: number;
  readonly minSteps?: number;
  readonly maxSteps?: number;
  /** Steps are tuned so that a particle moves at least once with this probability (0.99). */
  readonly moveProbability?: number;
  /** NUTS moves: target mean acceptance statistic (0.8) and tree depth limit (6). */
  readonly targetAccept?: number;
  readonly maxTreeDepth?: number;
  /** Stages at most per run (500). */
  readonly maxStages?: number;
}

export interface ValidatedRun {
  readonly seed: number;
  readonly threads: number;
  readonly pool: WorkerPool | null;
  readonly policy: SupervisionPolicy;
  readonly resourceLimits: WorkerResourceLimits | undefined;
}

const COMMON = ["seed", "threads", "pool", "restart", "chunkTimeout", "workerResourceLimits"] as const;

function checkKeys(options: unknown, own: readonly string[]): Record<string, unknown> {
  return knownOptions(options, new Set([...COMMON, ...own]));
}

/** Seed, threads (for `actors` that can work at once), pool, restart policy, watchdog, heap limits. */
function validateRun(o: Record<string, unknown>, actors: number): ValidatedRun {
  const { pool, threads } = validatePoolAndThreads(o, actors);
  const policy = { restart: validateRestart(o.restart), chunkTimeout: duration("chunkTimeout", o.chunkTimeout, Duration.seconds(60)) };
  return { seed: validateSeed(o.seed), threads, pool, policy, resourceLimits: validateResourceLimits(o.workerResourceLimits) };
}

const positive = (x: number) => x > 0 && Number.isFinite(x);
const nonNegative = (x: number) => x >= 0 && Number.isFinite(x);

export interface ValidatedPathfinder extends ValidatedRun {
  readonly paths: number;
  readonly psisDraws: number;
  readonly psisResample: boolean;
  readonly settings: PathfinderSettings;
}

const PATHFINDER_KEYS = ["paths", "draws", "psisDraws", "psisResample", "historySize", "maxIterations", "elboDraws", "initAlpha", "tolObj", "tolRelObj", "tolGrad", "tolRelGrad", "tolParam", "initRadius", "inits"];

export function validatePathfinderOptions(options: PathfinderOptions = {}): ValidatedPathfinder {
  const o = checkKeys(options, PATHFINDER_KEYS);
  const paths = int("paths", o.paths, 1, 4, 1024);
  const D = PATHFINDER_DEFAULTS;
  const tol = (k: keyof PathfinderSettings) => num(k, o[k], nonNegative, "finite and >= 0", D[k] as number);
  const settings: PathfinderSettings = {
    historySize: int("historySize", o.historySize, 1, D.historySize, 100),
    initAlpha: num("initAlpha", o.initAlpha, positive, "finite and > 0", D.initAlpha),
    tolObj: tol("tolObj"),
    tolRelObj: tol("tolRelObj"),
    tolGrad: tol("tolGrad"),
    tolRelGrad: tol("tolRelGrad"),
    tolParam: tol("tolParam"),
    maxIterations: int("maxIterations", o.maxIterations, 1, D.maxIterations),
    elboDraws: int("elboDraws", o.elboDraws, 1, D.elboDraws),
    draws: int("draws", o.draws, 1, D.draws),
    initRadius: num("initRadius", o.initRadius, nonNegative, "finite and >= 0", D.initRadius),
  };
  if (o.inits !== undefined && Array.isArray(o.inits) && o.inits.length !== paths) bad("inits", o.inits, `one object for all paths or ${paths} objects (one per path)`);
  return {
    ...validateRun(o, paths),
    paths,
    psisDraws: int("psisDraws", o.psisDraws, 1, 1000),
    psisResample: bool("psisResample", o.psisResample, true),
    settings,
  };
}

export interface ValidatedAdvi extends ValidatedRun {
  readonly settings: AdviSettings;
}

const ADVI_KEYS = ["family", "maxIterations", "gradSamples", "elboSamples", "evalElbo", "tolRelObj", "eta", "adaptIterations", "draws", "initRadius", "inits"];

export function validateAdviOptions(options: AdviOptions = {}): ValidatedAdvi {
  const o = checkKeys(options, ADVI_KEYS);
  if (o.family !== undefined && o.family !== "meanfield" && o.family !== "fullrank") bad("family", o.family, '"meanfield" or "fullrank"');
  if (o.inits !== undefined && (typeof o.inits !== "object" || o.inits === null || Array.isArray(o.inits))) bad("inits", o.inits, "an object of constrained values by parameter name");
  const D = ADVI_DEFAULTS;
  const settings: AdviSettings = {
    family: (o.family as AdviFamily | undefined) ?? D.family,
    gradSamples: int("gradSamples", o.gradSamples, 1, D.gradSamples),
    elboSamples: int("elboSamples", o.elboSamples, 1, D.elboSamples),
    evalElbo: int("evalElbo", o.evalElbo, 1, D.evalElbo),
    tolRelObj: num("tolRelObj", o.tolRelObj, positive, "finite and > 0", D.tolRelObj),
    maxIterations: int("maxIterations", o.maxIterations, 1, D.maxIterations),
    adaptIterations: int("adaptIterations", o.adaptIterations, 1, D.adaptIterations),
    adaptEngaged: o.eta === undefined,
    eta: num("eta", o.eta, positive, "finite and > 0", D.eta),
    outputSamples: int("draws", o.draws, 1, D.outputSamples),
    initRadius: num("initRadius", o.initRadius, nonNegative, "finite and >= 0", D.initRadius),
  };
  // The eta search runs its five trials at once.
  return { ...validateRun(o, settings.adaptEngaged ? ETA_SEQUENCE.length : 1), settings };
}

export interface ValidatedSmc extends ValidatedRun {
  readonly chains: number;
  readonly groups: number;
  readonly dense: boolean;
  readonly settings: SmcSettings;
}

const SMC_KEYS = ["chains", "particles", "groups", "threshold", "kernel", "metric", "initialSteps", "minSteps", "maxSteps", "moveProbability", "targetAccept", "maxTreeDepth", "maxStages"];

export function validateSmcOptions(options: SmcOptions = {}): ValidatedSmc {
  const o = checkKeys(options, SMC_KEYS);
  const chains = int("chains", o.chains, 1, 4, 1024);
  const particles = int("particles", o.particles, 2, SMC_DEFAULTS.particles);
  const groups = int("groups", o.groups, 1, 4, particles);
  if (o.kernel !== undefined && o.kernel !== "imh" && o.kernel !== "nuts") bad("kernel", o.kernel, '"imh" or "nuts"');
  if (o.metric !== undefined && o.metric !== "diag" && o.metric !== "dense") bad("metric", o.metric, '"diag" or "dense"');
  if (o.metric !== undefined && o.kernel !== "nuts") bad("metric", o.metric, 'left out unless kernel is "nuts" (the metric of the NUTS moves)');
  const kernel = (o.kernel as SmcKernelKind | undefined) ?? SMC_DEFAULTS.kernel;
  const minSteps = int("minSteps", o.minSteps, 1, SMC_DEFAULTS.minSteps, 10_000);
  const maxSteps = int("maxSteps", o.maxSteps, minSteps, Math.max(minSteps, SMC_DEFAULTS.maxSteps), 10_000);
  const settings: SmcSettings = {
    particles,
    threshold: num("threshold", o.threshold, (x) => x > 0 && x < 1, "in (0, 1)", SMC_DEFAULTS.threshold),
    kernel,
    initialSteps: int("initialSteps", o.initialSteps, 1, kernel === "nuts" ? 3 : SMC_DEFAULTS.initialSteps, 10_000),
    minSteps,
    maxSteps,
    moveProbability: num("moveProbability", o.moveProbability, (x) => x > 0 && x < 1, "in (0, 1)", SMC_DEFAULTS.moveProbability),
    targetAccept: num("targetAccept", o.targetAccept, (x) => x > 0 && x < 1, "in (0, 1)", SMC_DEFAULTS.targetAccept),
    maxTreeDepth: int("maxTreeDepth", o.maxTreeDepth, 1, SMC_DEFAULTS.maxTreeDepth, 30),
    maxStages: int("maxStages", o.maxStages, 1, SMC_DEFAULTS.maxStages),
  };
  return { ...validateRun(o, chains * groups), chains, groups, dense: o.metric !== "diag", settings };
}

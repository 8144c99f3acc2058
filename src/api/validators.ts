/**
 * The option validators that `sample`, `sampleSync`, the approximations, `init` and
 * `createWorkerPool` share: each checks one option and throws an `InvalidOptionError` naming it
 * and what it must be. Below every options file, which import it and none of each other for it.
 */
import { availableParallelism } from "node:os";
import { Duration, Option, Schedule } from "effect";
import { defaultRestartSchedule, type RestartSchedule } from "../../supervisors/chain-supervisor.js";
import { WorkerPool, type WorkerResourceLimits } from "../../supervisors/worker-pool.js";
import { InvalidOptionError } from "./errors.js";
import { nearestName } from "./option-names.js";

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
    if (!keys.includes(k)) unknownKey(`${option}.${k}`, k, (value as Record<string, unknown>)[k], keys, `one of the known keys of ${option} (${keys.join(", ")})`);
  }
  return value as Record<string, unknown>;
}

/**
 * A duration option: an Effect duration string ("30 seconds", "500 millis") or a bare number
 * of milliseconds (Effect's convention). A timeout given as a bare number under
 * `minBareMillis` is taken for seconds written without their unit, and refused.
 */
export function duration(option: string, value: unknown, fallback: Duration.Duration, minBareMillis = 0): Duration.Duration {
  if (value === undefined) return fallback;
  const d = Duration.decodeUnknown(value);
  if (Option.isNone(d) || !(Duration.toMillis(d.value) > 0)) bad(option, value, 'a positive duration (e.g. "30 seconds"; a bare number is milliseconds)');
  if (typeof value === "number" && value < minBareMillis) {
    bad(option, value, `at least ${minBareMillis} ms: a bare number is milliseconds, so ${value} is ${value} ms (for seconds write "${value} seconds")`);
  }
  return d.value;
}

/**
 * Ranges of the worker heap limits, in MB. Below them a worker cannot start (a stack under
 * ~0.25 MB kills the whole process, not the thread: Node exits with code 6) or cannot load
 * its modules; above them thread creation fails.
 */
const RESOURCE_LIMITS: Record<keyof WorkerResourceLimits, [number, number]> = {
  maxOldGenerationSizeMb: [16, 2 ** 20],
  maxYoungGenerationSizeMb: [1, 2 ** 16],
  codeRangeSizeMb: [1, 2 ** 16],
  stackSizeMb: [1, 1024],
};

/** Checks the `workerResourceLimits` option (of `sample` or `createWorkerPool`). */
export function validateResourceLimits(value: unknown): WorkerResourceLimits | undefined {
  if (value === undefined) return undefined;
  const r = record("workerResourceLimits", value, Object.keys(RESOURCE_LIMITS));
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) {
    const [lo, hi] = RESOURCE_LIMITS[k as keyof WorkerResourceLimits];
    out[k] = num(`workerResourceLimits.${k}`, v, (x) => x >= lo && x <= hi, `a number of MB in [${lo}, ${hi}]`, 1);
  }
  return out as WorkerResourceLimits;
}

/** A plain object whose keys are all in `known` (`InvalidOptionError` names the first other). */
export function knownOptions(options: unknown, known: ReadonlySet<string>): Record<string, unknown> {
  if (typeof options !== "object" || options === null || Array.isArray(options)) bad("options", options, "an object");
  for (const k of Object.keys(options)) if (!known.has(k)) unknownKey(k, k, (options as Record<string, unknown>)[k], known, `a known option (${[...known].join(", ")})`);
  return options as Record<string, unknown>;
}

/** An unknown option: its error names the nearest known one first (`adapt_delta` -> `targetAccept`). */
function unknownKey(option: string, key: string, value: unknown, known: Iterable<string>, want: string): never {
  const near = nearestName(key, known);
  if (near === null) bad(option, value, want);
  throw new InvalidOptionError({ option, value, message: `unknown option ${option}: did you mean ${near}? (known: ${[...known].join(", ")})` });
}

/** `seed`: as given, or a random one. */
export function validateSeed(value: unknown): number {
  return value === undefined ? Math.floor(Math.random() * 2 ** 32) : int("seed", value, 0, 0);
}

/** `restart`: an Effect `Schedule`, or `{ maxRestarts (3), backoff (100 ms) }` for exponential backoff. */
export function validateRestart(value: unknown): RestartSchedule {
  if (value !== undefined && Schedule.isSchedule(value)) return value as RestartSchedule;
  const r = value === undefined ? {} : record("restart", value, ["maxRestarts", "backoff"]);
  return defaultRestartSchedule(int("restart.maxRestarts", r.maxRestarts, 0, 3, 1000), duration("restart.backoff", r.backoff, Duration.millis(100)));
}

/**
 * `pool` and `threads` of a run whose `actors` (chains, paths, ...) can work at once: the
 * pool's threads by default, or as many of this machine's cores as there are actors.
 */
export function validatePoolAndThreads(o: { readonly pool?: unknown; readonly threads?: unknown; readonly workerResourceLimits?: unknown }, actors: number): { pool: WorkerPool | null; threads: number } {
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
  const defaultThreads = pool === null ? Math.min(actors, availableParallelism()) : pool.threads;
  return { pool, threads: Math.min(actors, int("threads", o.threads, 1, defaultThreads, maxThreads)) };
}

/** Checks the options of `createWorkerPool`. */
export function validatePoolOptions(options: unknown): { threads: number; resourceLimits: WorkerResourceLimits | undefined } {
  if (typeof options !== "object" || options === null) bad("options", options, "an object");
  const o = record("options", options, ["threads", "workerResourceLimits"]);
  return { threads: int("threads", o.threads, 1, availableParallelism(), 256), resourceLimits: validateResourceLimits(o.workerResourceLimits) };
}

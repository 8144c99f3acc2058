/**
 * Simulators for likelihood-free inference (`abc`, `abcSmc`): user code given as a module
 * path, as `moduleModel` is, so worker threads import the same module by path. The module
 * exports
 *
 *   simulate(params, rng)  ->  number | ArrayLike<number>     (required; the data set)
 *   summary(data)          ->  number | ArrayLike<number>     (optional; default: the data)
 *
 * `params` holds the prior model's parameters by name, constrained (a number, or an array for
 * a parameter with a shape); `rng` is a `SimulatorRng` seeded per simulation, so a simulation
 * is reproducible whatever thread runs it. The observed data go through the same `summary`.
 */
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { binomialDraw, gammaDraw, poissonDraw } from "../model/distributions.js";
import { ModelError } from "../model/errors.js";
import { describeValue } from "../model/values.js";
import { Rng } from "../rng/index.js";

/** Where a simulator lives: plain data, so worker threads receive it as it is. */
export interface SimulatorSpec {
  readonly backend: "simulator";
  /** Absolute file path or file: URL of an ES module. */
  readonly module: string;
  /** Export names of the simulation and summary functions. */
  readonly simulate: string;
  /** null: the simulated data are their own summary. */
  readonly summary: string | null;
}

/** Random numbers for a simulator: one generator per simulation (xoroshiro128+, exact samplers). */
export interface SimulatorRng {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Exponential with the given rate (default 1). */
  exponential(rate?: number): number;
  /** Gamma with the given shape and rate (default 1). */
  gamma(shape: number, rate?: number): number;
  /** Poisson with the given mean. */
  poisson(mean: number): number;
  /** Binomial with n trials and success probability p. */
  binomial(n: number, p: number): number;
}

/** Parameters as the simulator sees them: by name, constrained; arrays for parameters with a shape. */
export type SimulatorParams = Readonly<Record<string, number | readonly number[]>>;

/**
 * A simulator for `abc` and `abcSmc`: the module at `module` (an absolute path or a file: URL
 * of an ES module; compiled JavaScript) and the names of its exports, `simulate` (default
 * "simulate") and `summary` (default "summary" when the module has it; `null` to use the
 * simulated data as the summary). Checked when the run starts (the module is imported then).
 */
export function simulator(module: string | URL, exports: { readonly simulate?: string; readonly summary?: string | null } = {}): SimulatorSpec {
  const href = module instanceof URL ? module.href : module;
  if (typeof href !== "string" || (!href.startsWith("file:") && !isAbsolute(href))) {
    throw new ModelError("invalid-argument", `simulator: the module path must be absolute (a path or a file: URL: worker threads import it from elsewhere), got ${describeValue(href)}`);
  }
  const simulate = exports.simulate ?? "simulate";
  const summary = exports.summary === undefined ? "summary" : exports.summary;
  for (const [what, name] of [["simulate", simulate], ["summary", summary]] as const) {
    if (name !== null && (typeof name !== "string" || name.length === 0)) throw new ModelError("invalid-argument", `simulator: the ${what} export must be a name, got ${describeValue(name)}`);
  }
  return { backend: "simulator", module: href, simulate, summary };
}

/** `spec` is a simulator spec (from `simulator(...)`). */
export function isSimulatorSpec(spec: unknown): spec is SimulatorSpec {
  return typeof spec === "object" && spec !== null && (spec as { backend?: unknown }).backend === "simulator" && typeof (spec as { module?: unknown }).module === "string";
}

/** A loaded simulator: data, summaries, and their checks. */
export interface LoadedSimulator {
  readonly spec: SimulatorSpec;
  /** Runs the simulation and its summary; throws what the user's code throws, or a `ModelError` for a bad result. */
  simulateSummary(params: SimulatorParams, rng: SimulatorRng): Float64Array;
  /** The summary of data (the observed data set, or a simulated one). */
  summarise(data: unknown): Float64Array;
}

/** The numbers of a simulation or summary result: a finite number or an array of them. */
function numbersOf(value: unknown, what: string): Float64Array {
  if (typeof value === "number") return Float64Array.of(value);
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    const a = value as ArrayLike<unknown>;
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) {
      if (typeof a[i] !== "number") throw new ModelError("invalid-argument", `${what}[${i}] is ${describeValue(a[i])}; expected numbers`);
      out[i] = a[i] as number;
    }
    return out;
  }
  throw new ModelError("invalid-argument", `${what} is ${describeValue(value)}; expected a number or an array of numbers`);
}

/** Imports the simulator's module and checks its exports. */
export async function loadSimulator(spec: SimulatorSpec): Promise<LoadedSimulator> {
  if (!isSimulatorSpec(spec)) throw new ModelError("invalid-argument", `not a simulator spec (use simulator(path)): ${describeValue(spec)}`);
  const url = spec.module.startsWith("file:") ? spec.module : pathToFileURL(spec.module).href;
  const where = `simulator ${spec.module}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new ModelError("invalid-argument", `${where} could not be loaded: ${(e as Error).message}`);
  }
  const simulate = mod[spec.simulate];
  if (typeof simulate !== "function") throw new ModelError("unknown-name", `${where} has no function export "${spec.simulate}"`);
  const summaryExport = spec.summary === null ? undefined : mod[spec.summary];
  if (summaryExport !== undefined && typeof summaryExport !== "function") throw new ModelError("invalid-argument", `${where}: its export "${spec.summary}" is not a function`);
  const summarise = (data: unknown): Float64Array =>
    summaryExport === undefined ? numbersOf(data, `${where}: the data`) : numbersOf((summaryExport as (d: unknown) => unknown)(data), `${where}: ${spec.summary}(data)`);
  return {
    spec,
    summarise,
    simulateSummary: (params, rng) => summarise((simulate as (p: SimulatorParams, r: SimulatorRng) => unknown)(params, rng)),
  };
}

/** The generator a simulation gets (seeded by `abc`'s per-simulation seed); also for simulating data sets by hand. */
export function simulatorRng(seed: number): SimulatorRng {
  const rng = Rng.fromSeed(seed);
  return {
    uniform: () => rng.uniform(),
    normal: () => rng.normal(),
    exponential: (rate = 1) => -Math.log(rng.uniformPositive()) / rate,
    gamma: (shape, rate = 1) => gammaDraw(rng, shape) / rate,
    poisson: (mean) => poissonDraw(rng, mean),
    binomial: (n, p) => binomialDraw(rng, n, p),
  };
}

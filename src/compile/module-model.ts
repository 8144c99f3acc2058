/**
 * Bring-your-own log-density: a model given as a module path, for densities the model
 * language cannot say (or hand-tuned ones). The spec is plain data, so a worker thread can
 * load the same module by path; the module's export is either a `LogDensity` or a function
 * `(options) => LogDensity`.
 */
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { ModelError } from "../model/errors.js";
import { describeValue, isFlatName, MAX_DIMENSION } from "../model/values.js";
import type { LogDensity } from "./types.js";

export interface ModuleModelSpec {
  readonly backend: "module";
  /** Absolute file path or file: URL of an ES module. */
  readonly module: string;
  /** Name of the export (default "default"). */
  readonly export?: string;
  /** Structured-cloneable options passed to a factory export. */
  readonly options?: unknown;
}

export function moduleModel(module: string | URL, exportName = "default", options?: unknown): ModuleModelSpec {
  const href = module instanceof URL ? module.href : module;
  checkModulePath(href, exportName);
  try {
    structuredClone(options);
  } catch (e) {
    throw new ModelError("invalid-argument", `module model options must be structured-cloneable (worker threads receive a copy): ${(e as Error).message}`);
  }
  return { backend: "module", module: href, export: exportName, ...(options === undefined ? {} : { options }) };
}

function checkModulePath(href: unknown, exportName: unknown): void {
  if (typeof href !== "string" || (!href.startsWith("file:") && !isAbsolute(href))) {
    throw new ModelError("invalid-argument", `module model path must be absolute (a path or a file: URL: workers resolve it from another place), got ${describeValue(href)}`);
  }
  if (typeof exportName !== "string" || exportName.length === 0) {
    throw new ModelError("invalid-argument", `module model export must be a name, got ${describeValue(exportName)}`);
  }
}

const REQUIRED_FUNCTIONS = ["logDensityGradient", "logDensity", "constrainFlat"] as const;

/**
 * The names of a density's quantities: distinct names in Stan's flat form (`theta`,
 * `theta[1]`, `L[2,1]`), none a property every object inherits (`__proto__`, ...), since
 * draws and summaries are records keyed by them.
 */
export function checkQuantityNames(names: unknown, count: number | null, where: string): readonly string[] {
  if (!Array.isArray(names)) throw new ModelError("invalid-argument", `${where}: names must be an array of strings, got ${describeValue(names)}`);
  if (count !== null && names.length < count) throw new ModelError("invalid-argument", `${where}: names must have at least ${count} entries, got ${names.length}`);
  const seen = new Set<string>();
  names.forEach((n: unknown, i) => {
    if (!isFlatName(n)) {
      throw new ModelError("invalid-argument", `${where}: names[${i}] is ${describeValue(n)}; a name must be an identifier, optionally with indices (theta[1], L[2,1]), and not a property every object has`);
    }
    if (seen.has(n)) throw new ModelError("duplicate-name", `${where}: the name ${JSON.stringify(n)} appears twice`);
    seen.add(n);
  });
  return names as string[];
}

/**
 * Checks that `candidate` is a usable `LogDensity` (a density given as an object, by a
 * module or directly to `sampleSync`): a dimension in range, the functions, and names.
 */
export function checkLogDensity(candidate: unknown, where: string): LogDensity {
  const ld = candidate as Partial<LogDensity>;
  if (typeof ld !== "object" || ld === null) throw new ModelError("invalid-argument", `${where} is not an object (a LogDensity): ${describeValue(candidate)}`);
  if (typeof ld.dim !== "number" || !Number.isSafeInteger(ld.dim) || ld.dim < 1 || ld.dim > MAX_DIMENSION) {
    throw new ModelError("invalid-argument", `${where}: dim must be a positive integer, got ${describeValue(ld.dim)} (at most ${MAX_DIMENSION})`);
  }
  for (const f of REQUIRED_FUNCTIONS) {
    if (typeof ld[f] !== "function") throw new ModelError("invalid-argument", `${where}: ${f} is not a function`);
  }
  if (typeof ld.paramCount !== "number" || !Number.isSafeInteger(ld.paramCount) || ld.paramCount < 0) {
    throw new ModelError("invalid-argument", `${where}: paramCount must be an integer >= 0, got ${describeValue(ld.paramCount)}`);
  }
  checkQuantityNames(ld.names, ld.paramCount, where);
  return ld as LogDensity;
}

/** Imports the module and checks that its export is a usable `LogDensity`. */
export async function loadModuleModel(spec: ModuleModelSpec): Promise<LogDensity> {
  if (typeof spec !== "object" || spec === null) throw new ModelError("invalid-argument", `not a module model spec: ${describeValue(spec)}`);
  checkModulePath(spec.module, spec.export ?? "default");
  const url = spec.module.startsWith("file:") ? spec.module : pathToFileURL(spec.module).href;
  const where = `module model ${spec.module}${spec.export && spec.export !== "default" ? ` (export ${spec.export})` : ""}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new ModelError("invalid-argument", `${where} could not be loaded: ${(e as Error).message}`);
  }
  const exported = mod[spec.export ?? "default"];
  if (exported === undefined) throw new ModelError("unknown-name", `${where} has no export "${spec.export ?? "default"}"`);
  const candidate = typeof exported === "function" ? (exported as (o: unknown) => unknown)(spec.options) : exported;
  if (typeof candidate !== "object" || candidate === null) throw new ModelError("invalid-argument", `${where} did not produce an object`);
  const ld = checkLogDensity(candidate, where);
  const q = new Float64Array(ld.dim!);
  const grad = new Float64Array(ld.dim!);
  const lp = ld.logDensityGradient!(q, grad);
  if (typeof lp !== "number") throw new ModelError("invalid-argument", `${where}: logDensityGradient must return a number, got ${typeof lp}`);
  return ld as LogDensity;
}

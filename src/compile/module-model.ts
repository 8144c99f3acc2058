/**
 * Bring-your-own log-density: a model given as a module path, for densities the model
 * language cannot say (or hand-tuned ones). The spec is plain data, so a worker thread can
 * load the same module by path; the module's export is either a `LogDensity` or a function
 * `(options) => LogDensity`.
 */
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { ModelError } from "../model/errors.js";
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
  if (!(module instanceof URL) && !href.startsWith("file:") && !isAbsolute(href)) {
    throw new ModelError("invalid-argument", `module model path must be absolute (workers resolve it from another place): ${href}`);
  }
  return { backend: "module", module: href, export: exportName, ...(options === undefined ? {} : { options }) };
}

const REQUIRED_FUNCTIONS = ["logDensityGradient", "logDensity", "constrainFlat"] as const;

/** Imports the module and checks that its export is a usable `LogDensity`. */
export async function loadModuleModel(spec: ModuleModelSpec): Promise<LogDensity> {
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
  const ld = candidate as Partial<LogDensity>;
  if (typeof ld !== "object" || ld === null) throw new ModelError("invalid-argument", `${where} did not produce an object`);
  if (!Number.isInteger(ld.dim) || (ld.dim as number) < 1) {
    throw new ModelError("invalid-argument", `${where}: dim must be a positive integer, got ${String(ld.dim)}`);
  }
  for (const f of REQUIRED_FUNCTIONS) {
    if (typeof ld[f] !== "function") throw new ModelError("invalid-argument", `${where}: ${f} is not a function`);
  }
  if (!Array.isArray(ld.names) || typeof ld.paramCount !== "number" || ld.paramCount > ld.names.length) {
    throw new ModelError("invalid-argument", `${where}: names must be an array with at least paramCount (${String(ld.paramCount)}) entries`);
  }
  const q = new Float64Array(ld.dim!);
  const grad = new Float64Array(ld.dim!);
  const lp = ld.logDensityGradient!(q, grad);
  if (typeof lp !== "number") throw new ModelError("invalid-argument", `${where}: logDensityGradient must return a number, got ${typeof lp}`);
  return ld as LogDensity;
}

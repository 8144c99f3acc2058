/**
 * Either backend's serialisable form, and turning it back into a `LogDensity` where it is
 * received (a worker thread, or `sample` given a compiled form). tfjs itself is loaded only
 * when a tfjs form arrives.
 */
import { forThisProcess, signedWith } from "./checks.js";
import { instantiate } from "./compile-js.js";
import type { CompiledModel } from "./layouts.js";
import { instantiateTfjs, instantiateTfjsAsync, isTfjsCompiled, type TfjsCompiledModel } from "./tfjs/index.js";
import type { LogDensity } from "./types.js";

export type AnyCompiledModel = CompiledModel | TfjsCompiledModel;

export function isAnyCompiled(x: unknown): x is AnyCompiledModel {
  const c = x as Partial<CompiledModel> | null;
  return isTfjsCompiled(x) || (typeof c === "object" && c !== null && c.backend === "js" && typeof c.source === "string" && Array.isArray(c.outputs));
}

/**
 * Either form, verified and signed with this process's key for its worker threads (which know
 * only that key): a tfjs form's js parts are what get evaluated as code (DECISIONS.md D24).
 */
export function forThisProcessAny<T extends AnyCompiledModel>(compiled: T): T {
  if (!isTfjsCompiled(compiled)) return forThisProcess(compiled) as T;
  const js = forThisProcess(compiled.js);
  const light = compiled.light === null ? null : forThisProcess(compiled.light);
  return js === compiled.js && light === compiled.light ? compiled : ({ ...compiled, js, light } as T);
}

/** Either form, verified and signed with operator key `key` for another process that trusts it (a cluster runner). */
export function signedWithAny<T extends AnyCompiledModel>(compiled: T, key: Uint8Array): T {
  if (!isTfjsCompiled(compiled)) return signedWith(compiled, key) as T;
  return { ...compiled, js: signedWith(compiled.js, key), light: compiled.light === null ? null : signedWith(compiled.light, key) } as T;
}

const JS_CHOICE = { backend: "js", requested: "js", reason: "compiled for js" } as const;

/** On this thread, now (a tfjs form runs on the best device already initialised here). */
export function instantiateAny(compiled: AnyCompiledModel): LogDensity {
  if (isTfjsCompiled(compiled)) return instantiateTfjs(compiled);
  return Object.assign(instantiate(compiled), { backend: JS_CHOICE });
}

/** After initialising the tfjs device the form asks for (worker threads). */
export function instantiateAnyAsync(compiled: AnyCompiledModel): Promise<LogDensity> {
  return isTfjsCompiled(compiled) ? instantiateTfjsAsync(compiled) : Promise.resolve(instantiateAny(compiled));
}

/** Frees what an instance holds outside the JavaScript heap (tfjs tensors). */
export function disposeDensity(density: LogDensity): void {
  const d = density as LogDensity & { dispose?: () => void };
  if (typeof d.dispose === "function") d.dispose();
}

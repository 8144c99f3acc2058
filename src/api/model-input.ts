/**
 * What `sample` accepts as a model, and how it becomes something a worker can rebuild:
 * - a `Model` from the builder: compiled once here (constants in SharedArrayBuffers);
 * - the result of `compile(model)` (its `compiled` form is sent);
 * - a `CompiledModel` (`compileModel(model)`), e.g. made elsewhere and stored;
 * - a module-model spec (`moduleModel(path)`): its code never runs on the main thread (a
 *   module can loop, exit the process or never finish loading): the run loads it in a worker,
 *   under the watchdog, to check it and learn its names (`supervisors/run-supervisor.ts`),
 *   and every worker loads it by path.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initPosition } from "../../actors/model-checks.js";
import type { ModelSpec } from "../../actors/protocol.js";
import { forThisProcessAny, instantiateAny, isAnyCompiled, type AnyCompiledModel } from "../compile/backends.js";
import { compile } from "../compile/compile.js";
import type { ModuleModelSpec } from "../compile/module-model.js";
import type { LogDensity } from "../compile/types.js";
import type { ConstrainedInit } from "../inference/index.js";
import type { Model } from "../model/builder.js";
import { InvalidModelError, InvalidOptionError } from "./errors.js";

export type ModelInput = Model | AnyCompiledModel | ModuleModelSpec | (LogDensity & { readonly compiled: AnyCompiledModel });

export interface ResolvedModel {
  readonly spec: ModelSpec;
  readonly name: string;
  readonly density: LogDensity;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

export function isModuleSpec(x: unknown): x is ModuleModelSpec {
  return isObject(x) && x.backend === "module" && typeof x.module === "string";
}

export function isBuilderModel(x: unknown): x is Model {
  return isObject(x) && Array.isArray(x.terms) && Array.isArray(x.outputs) && Array.isArray(x.params) && typeof x.dim === "number";
}

// One id per model process-wide, so that the threads of a shared pool keep one instance of it.
const modelIds = new WeakMap<object, string>();
let modelCounter = 0;

export function modelIdOf(name: string, spec: ModelSpec): string {
  const key = spec.kind === "compiled" ? spec.compiled : spec.spec;
  let id = modelIds.get(key);
  if (id === undefined) {
    id = `${name}#${++modelCounter}`;
    modelIds.set(key, id);
  }
  return id;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Resolves a model that needs no I/O; null for a module model (see `resolveModel`). */
export function resolveModelSync(input: ModelInput): ResolvedModel | null {
  if (isModuleSpec(input)) return null;
  try {
    // A compiled model goes to the worker threads signed with this process's key (which
    // they know): one made elsewhere must verify here first (DECISIONS.md D24).
    if (isObject(input) && isAnyCompiled(input.compiled) && typeof input.logDensityGradient === "function") {
      const d = input as LogDensity & { compiled: AnyCompiledModel };
      const compiled = forThisProcessAny(d.compiled);
      return { spec: { kind: "compiled", compiled }, name: compiled.name, density: d };
    }
    if (isAnyCompiled(input)) {
      const compiled = forThisProcessAny(input);
      return { spec: { kind: "compiled", compiled }, name: compiled.name, density: instantiateAny(compiled) };
    }
    if (isBuilderModel(input)) {
      const d = compile(input);
      return { spec: { kind: "compiled", compiled: d.compiled }, name: input.name, density: d };
    }
  } catch (e) {
    throw new InvalidModelError({ message: `the model could not be compiled: ${message(e)}`, cause: e });
  }
  if (isObject(input) && typeof input.logDensityGradient === "function") {
    throw new InvalidModelError({
      message:
        "a LogDensity object cannot be sent to worker threads: pass the Model from model(...), compile(model) " +
        "(which carries its serialisable form), compileModel(model), or moduleModel(path) for your own density",
    });
  }
  throw new InvalidModelError({
    message: "sample(model, ...) needs a Model from model(...), compile(model), compileModel(model) or moduleModel(path)",
  });
}

/** A module model whose file does not exist (checked before any thread starts), or null. */
export function missingModule(spec: ModuleModelSpec): InvalidModelError | null {
  let path: string;
  try {
    path = spec.module.startsWith("file:") ? fileURLToPath(spec.module) : spec.module;
  } catch (e) {
    return new InvalidModelError({ message: `module model ${spec.module} could not be loaded: ${message(e)}`, cause: e });
  }
  return existsSync(path) ? null : new InvalidModelError({ message: `module model ${spec.module} could not be loaded: no such file ${path}` });
}

/** The user inits per chain (constrained, by name; null: random), with the option each came from. */
export function userInits(
  inits: ConstrainedInit | readonly ConstrainedInit[] | undefined,
  numChains: number,
): { readonly inits: (ConstrainedInit | null)[]; readonly options: string[] } {
  const list = Array.isArray(inits) ? (inits as readonly ConstrainedInit[]) : null;
  if (list !== null && list.length !== numChains) {
    throw new InvalidOptionError({ option: "inits", value: inits, message: `option inits has ${list.length} entries for ${numChains} chains` });
  }
  return {
    inits: Array.from({ length: numChains }, (_, c) => (inits === undefined ? null : list !== null ? list[c]! : (inits as ConstrainedInit))),
    options: Array.from({ length: numChains }, (_, c) => (list !== null ? `inits[${c}]` : "inits")),
  };
}

/** Maps user inits (constrained, by name) to unconstrained positions, one per chain (a model this thread can run). */
export function resolveInits(
  density: LogDensity,
  inits: ConstrainedInit | readonly ConstrainedInit[] | undefined,
  numChains: number,
): (Float64Array | null)[] {
  const given = userInits(inits, numChains);
  return given.inits.map((init, c) => {
    if (init === null) return null;
    const q = initPosition(density, init, given.options[c]!);
    if (typeof q === "string") throw new InvalidOptionError({ option: given.options[c]!, value: init, message: q });
    return q;
  });
}

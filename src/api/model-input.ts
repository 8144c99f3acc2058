/**
 * What `sample` accepts as a model, and how it becomes something a worker can rebuild:
 * - a `Model` from the builder: compiled once here (constants in SharedArrayBuffers);
 * - the result of `compile(model)` (its `compiled` form is sent);
 * - a `CompiledModel` (`compileModel(model)`), e.g. made elsewhere and stored;
 * - a module-model spec (`moduleModel(path)`): loaded here once to check it and learn its
 *   names, then loaded by path in every worker.
 */
import { Effect } from "effect";
import type { ModelSpec } from "../../actors/protocol.js";
import { compile, instantiate, type CompiledModel } from "../compile/compile.js";
import { loadModuleModel, type ModuleModelSpec } from "../compile/module-model.js";
import type { LogDensity } from "../compile/types.js";
import type { ConstrainedInit } from "../inference/index.js";
import type { Model } from "../model/builder.js";
import { InvalidModelError, InvalidOptionError } from "./errors.js";

export type ModelInput = Model | CompiledModel | ModuleModelSpec | (LogDensity & { readonly compiled: CompiledModel });

export interface ResolvedModel {
  readonly spec: ModelSpec;
  readonly name: string;
  readonly density: LogDensity;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

function isModuleSpec(x: unknown): x is ModuleModelSpec {
  return isObject(x) && x.backend === "module" && typeof x.module === "string";
}

function isCompiled(x: unknown): x is CompiledModel {
  return isObject(x) && x.backend === "js" && typeof x.source === "string" && Array.isArray(x.outputs);
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
    if (isObject(input) && isCompiled(input.compiled) && typeof input.logDensityGradient === "function") {
      const d = input as LogDensity & { compiled: CompiledModel };
      return { spec: { kind: "compiled", compiled: d.compiled }, name: d.compiled.name, density: d };
    }
    if (isCompiled(input)) return { spec: { kind: "compiled", compiled: input }, name: input.name, density: instantiate(input) };
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

/** Resolves any model input; a module model is imported (and checked) on this thread. */
export function resolveModel(input: ModelInput): Effect.Effect<ResolvedModel, InvalidModelError> {
  if (!isModuleSpec(input)) return Effect.try({ try: () => resolveModelSync(input)!, catch: (e) => e as InvalidModelError });
  return Effect.tryPromise({
    try: () => loadModuleModel(input),
    catch: (e) => new InvalidModelError({ message: message(e), cause: e }),
  }).pipe(
    Effect.map((density) => ({
      spec: { kind: "module", spec: input } as const,
      name: input.module,
      density,
    })),
  );
}

/** Maps user inits (constrained, by name) to unconstrained positions, one per chain. */
export function resolveInits(
  model: ResolvedModel,
  inits: ConstrainedInit | readonly ConstrainedInit[] | undefined,
  numChains: number,
): (Float64Array | null)[] {
  if (inits === undefined) return new Array<Float64Array | null>(numChains).fill(null);
  const list = Array.isArray(inits) ? (inits as readonly ConstrainedInit[]) : null;
  if (list !== null && list.length !== numChains) {
    throw new InvalidOptionError({ option: "inits", value: inits, message: `option inits has ${list.length} entries for ${numChains} chains` });
  }
  return Array.from({ length: numChains }, (_, c) => {
    const init = list !== null ? list[c]! : (inits as ConstrainedInit);
    const where = list !== null ? `inits[${c}]` : "inits";
    let q: Float64Array;
    try {
      q = Float64Array.from(model.density.unconstrain(init));
    } catch (e) {
      throw new InvalidOptionError({ option: where, value: init, message: `option ${where}: ${message(e)}` });
    }
    if (q.length !== model.density.dim) {
      throw new InvalidOptionError({ option: where, value: init, message: `option ${where} maps to ${q.length} unconstrained values, the model has ${model.density.dim}` });
    }
    for (let i = 0; i < q.length; i++) {
      if (!Number.isFinite(q[i]!)) {
        throw new InvalidOptionError({
          option: where,
          value: init,
          message: `option ${where}: ${model.density.unconstrainedNames[i] ?? `q[${i}]`} is ${q[i]} on the unconstrained scale (a value outside the support?)`,
        });
      }
    }
    return q;
  });
}

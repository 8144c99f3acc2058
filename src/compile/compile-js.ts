/**
 * The js backend (the default: float64 generated JavaScript): a checked model lowered to code
 * and signed, and that code instantiated. `compile` (compile.ts) chooses between it and tfjs.
 *
 * `compileModel` produces a `CompiledModel`: plain data (source text, constant buffers,
 * layout) that a worker thread can turn back into a `LogDensity` with `instantiate`, without
 * the model's TypeScript code. Constants may live in one SharedArrayBuffer so that N chains
 * on N threads hold one copy of the data.
 */
import type { Model } from "../model/builder.js";
import { ModelError } from "../model/errors.js";
import { checkGeneratedSource } from "../model/source-check.js";
import { runtime } from "../model/special.js";
import { formatShape, sizeOf } from "../model/shape.js";
import { describeValue, toNumbers } from "../model/values.js";
import { checkModel, verifyCompiledModel } from "./checks.js";
import { CodeModule, Pass } from "./codegen.js";
import type { CompiledModel, OutputLayout } from "./layouts.js";
import { logLikFunction, modelInfo } from "./log-lik.js";
import { keyBytes, sign, signedText } from "./trust.js";
import type { LogDensity, Reparameterisation, ShapedValue } from "./types.js";
import type { TfjsDevicePreference } from "./tfjs/backend.js";

export type { CompiledModel, OutputLayout, ParamLayout } from "./layouts.js";

export interface CompileOptions {
  /** Put constant data in SharedArrayBuffers (one copy shared by every worker). Default true. */
  sharedData?: boolean;
  /**
   * "js" (default): float64 generated JavaScript. "tfjs": float32 TensorFlow.js tensors (large
   * data; throws `TfjsUnsupportedError` naming a node it cannot compute). "auto": tfjs when the
   * data reach the measured threshold and every node has a tensor form, js otherwise.
   */
  backend?: "js" | "tfjs" | "auto";
  /** The tfjs device: "tensorflow" (tfjs-node), "wasm", "cpu" or "auto" (the best available). */
  device?: TfjsDevicePreference;
  /**
   * Sign with this operator key (at least 32 bytes, or a string of at least 32 characters)
   * instead of this process's own, for a model that another process will run: that process
   * calls `trustModelKey(key)` first. Without it the model runs in this process and its
   * worker threads only.
   */
  key?: string | Uint8Array;
}

/** Flattened names in Stan's form: `theta[1]`, `L[2,1]` (1-based, row-major). */
export function flatNames(name: string, shape: readonly number[]): string[] {
  if (shape.length === 0) return [name];
  const out: string[] = [];
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < sizeOf(shape); k++) {
    out.push(`${name}[${idx.map((i) => i + 1).join(",")}]`);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

const JS_OPTIONS = ["sharedData", "key"] as const;

/** Throws a `ModelError` naming the first key of `options` that is not in `known`. */
export function checkCompileOptions(options: object, known: readonly string[]): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new ModelError("invalid-argument", `compile options: unknown option "${k}" (known: ${known.join(", ")})`);
  }
}

/** The js form's own options out of `compile`'s. */
export function jsCompileOptions(options: CompileOptions): Pick<CompileOptions, "sharedData" | "key"> {
  return {
    ...(options.sharedData !== undefined ? { sharedData: options.sharedData } : {}),
    ...(options.key !== undefined ? { key: options.key } : {}),
  };
}

/** Throws a `ModelError` unless `options` is an object (the compile options of any backend). */
export function checkOptionsObject(options: unknown): asserts options is object {
  if (typeof options !== "object" || options === null) throw new ModelError("invalid-argument", `compile options must be an object, got ${describeValue(options)}`);
}

/** Checks `model` (a `ModelError` unless it is one from `model(...)`), lowers it to js and signs it. */
export function compileModel(model: Model, options: Pick<CompileOptions, "sharedData" | "key"> = {}): CompiledModel {
  checkOptionsObject(options);
  checkCompileOptions(options, JS_OPTIONS);
  return lowerJs(checkModel(model), options);
}

/**
 * Lowers a model that `checkModel` has passed to js code and signs it (with `options.key`, else
 * this process's key): the js backend's step of `compile` (compile.ts), which checked it once.
 */
export function lowerJs(model: Model, options: Pick<CompileOptions, "sharedData" | "key">): CompiledModel {
  const key = options.key === undefined ? undefined : keyBytes(options.key, "compile options: key");
  const mod = new CodeModule();
  const outputs = model.outputs.map((o) => o.expr);
  const contexts = model.params.flatMap((p) => p.context);

  const grad = new Pass(mod, { terms: model.terms, outputs: [], gradient: true }).code();
  const dens = new Pass(mod, { terms: model.terms, outputs: [], gradient: false }).code();
  const cons = new Pass(mod, { terms: [], outputs, gradient: false });
  const consCode = cons.code();
  const ctx = new Pass(mod, { terms: [], outputs: contexts, gradient: false });
  const ctxCode = ctx.code();

  const logLik = logLikFunction(mod, model);

  const functions = [
    // Called with q null it returns on entry: instantiation's check of its stack frame (D158, D231).
    `function logDensityGradient(q, grad) {\nif (!q) return 0;\nfor (let k = 0; k < ${model.dim}; k++) grad[k] = 0;\nlet target = 0;\n${grad.prologue}\n${grad.forward}\n${grad.backward}\nreturn target;\n}`,
    `function logDensity(q) {\nlet target = 0;\n${dens.prologue}\n${dens.forward}\nreturn target;\n}`,
    `function constrainFlat(q, out) {\n${consCode.prologue}\n${consCode.forward}\n${cons.copyOut(outputs)}\n}`,
    `function evaluateContext(q, out) {\n${ctxCode.prologue}\n${ctxCode.forward}\n${ctx.copyOut(contexts)}\n}`,
    logLik.source,
  ];
  const source = mod.source(functions, ["logDensityGradient", "logDensity", "constrainFlat", "evaluateContext", "pointwiseLogLik"]);
  checkGeneratedSource(source);

  let offset = 0;
  const outputLayout = model.outputs.map((o) => {
    const l: OutputLayout = { name: o.name, shape: o.expr.shape, offset, ...(o.dims ? { dims: o.dims } : {}) };
    offset += o.expr.size;
    return l;
  });
  const share = options.sharedData ?? true;
  const unsigned = {
    name: model.name,
    backend: "js" as const,
    dim: model.dim,
    source,
    constants: share ? mod.constants.map(toShared) : mod.constants,
    outputs: outputLayout,
    params: model.params.map((p) => ({
      name: p.name,
      shape: p.shape,
      offset: p.block.offset,
      size: p.size,
      unconstrainedLabel: p.unconstrainedLabel,
    })),
    contextSizes: model.params.map((p) => p.context.map((c) => c.size)),
    observed: logLik.observed,
    data: logLik.data,
    tunables: model.tunables ?? [],
  };
  return { ...unsigned, signature: sign(signedText(unsigned), key) };
}

export function toShared<T extends Float64Array | Int32Array>(a: T): T {
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): T };
  const copy = new Ctor(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

interface GeneratedFunctions {
  /** With `q` null: returns 0 at once (the frame check). */
  logDensityGradient(q: Float64Array | null, grad: Float64Array | null): number;
  logDensity(q: Float64Array): number;
  constrainFlat(q: Float64Array, out: Float64Array): void;
  evaluateContext(q: Float64Array, out: Float64Array): void;
  pointwiseLogLik(q: Float64Array, out: Float64Array): void;
}

/**
 * Turns a compiled model back into a `LogDensity`, once its structure is checked and its
 * signature verified (`verifyCompiledModel`: a `ModelError` otherwise, before any of it runs).
 * Made from the serialised form alone, it can do everything but `unconstrain`.
 */
export function instantiate(
  compiled: CompiledModel,
  /** Parameter inverse transforms, where the model object is at hand (for `unconstrain`). */
  inverses?: readonly ((x: Float64Array, ctx: Float64Array[]) => Float64Array)[],
): LogDensity {
  return instantiateChecked(verifyCompiledModel(compiled), inverses);
}

/** Generated code longer than this (characters) is entered once when instantiated, to check that its frame fits V8's stack. */
const LARGE_SOURCE = 500_000;

/**
 * A very large generated function (a long loop unrolled, tens of thousands of locals) can need a
 * stack frame larger than V8 allows, and every call then throws a RangeError. Entering the
 * gradient function once here turns that into a typed error before any sampler starts
 * (DECISIONS.md D158). V8 reserves the whole frame on entry, so a call that returns at once
 * (`q` null) is enough: no gradient is evaluated (D231).
 */
function checkStackFits(fns: GeneratedFunctions, compiled: CompiledModel): void {
  try {
    fns.logDensityGradient(null, null);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new ModelError(
        "too-large",
        `${compiled.name}: its generated code (${(compiled.source.length / 1e6).toFixed(1)} MB) needs a larger stack frame than JavaScript allows (${e.message}); a long loop was probably unrolled (for Stan programs, onDebug says which loop and why)`,
      );
    }
    throw e;
  }
}

/**
 * Instantiates a compiled model this process has just made (so not verified again); `inverses`
 * (parameter inverse transforms) exist only where the model object is at hand.
 */
export function instantiateChecked(
  compiled: CompiledModel,
  inverses?: readonly ((x: Float64Array, ctx: Float64Array[]) => Float64Array)[],
): LogDensity {
  // Each instance has its own tunables (a chain sets its lambdas before it runs).
  const tunables = compiled.tunables ?? [];
  const T = Float64Array.from(tunables, (t) => t.initial);
  const fns = new Function("rt", "C", "T", compiled.source)(runtime, compiled.constants, T) as GeneratedFunctions;
  if (compiled.source.length > LARGE_SOURCE) checkStackFits(fns, compiled);
  const names = compiled.outputs.flatMap((o) => flatNames(o.name, o.shape));
  const paramCount = compiled.params.reduce((s, p) => s + sizeOf(p.shape), 0);
  const unconstrainedNames = compiled.params.flatMap((p) =>
    p.size === 1 && p.shape.length === 0 ? [p.unconstrainedLabel] : flatNames(p.unconstrainedLabel, [p.size]),
  );
  const contextTotal = compiled.contextSizes.flat().reduce((s, n) => s + n, 0);
  const flatOut = new Float64Array(names.length);

  // Where each learned node's location and scale sit in `evaluateContext`'s output.
  const contextStart = compiled.contextSizes.map((_, k) => compiled.contextSizes.slice(0, k).flat().reduce((s, n) => s + n, 0));
  const reparamNodes = tunables.map((t) => {
    const k = compiled.params.findIndex((p) => p.name === t.param);
    const [locSize, scaleSize] = compiled.contextSizes[k]!;
    return { ...t, locAt: contextStart[k]!, locSize: locSize!, scaleAt: contextStart[k]! + locSize!, scaleSize: scaleSize! };
  });
  const ctxAll = new Float64Array(contextTotal);
  const reparam: Reparameterisation | undefined =
    tunables.length === 0
      ? undefined
      : {
          nodes: tunables,
          lambda: T,
          locScale(q) {
            fns.evaluateContext(q, ctxAll);
            return reparamNodes.map((n) => {
              const loc = new Float64Array(n.size);
              const scale = new Float64Array(n.size);
              for (let i = 0; i < n.size; i++) {
                loc[i] = ctxAll[n.locAt + (n.locSize === 1 ? 0 : i)]!;
                scale[i] = ctxAll[n.scaleAt + (n.scaleSize === 1 ? 0 : i)]!;
              }
              return { loc, scale };
            });
          },
        };
  const paramOutputs = compiled.outputs.slice(0, compiled.params.length);
  const density: LogDensity = {
    ...(reparam !== undefined ? { reparam } : {}),
    dim: compiled.dim,
    names,
    paramCount,
    unconstrainedNames,
    logDensityGradient: fns.logDensityGradient,
    logDensity: fns.logDensity,
    constrainFlat: fns.constrainFlat,
    constrain(q) {
      fns.constrainFlat(q, flatOut);
      const result: Record<string, ShapedValue> = {};
      for (const o of compiled.outputs) {
        result[o.name] = { shape: o.shape, values: flatOut.slice(o.offset, o.offset + sizeOf(o.shape)) };
      }
      return result;
    },
    unconstrain(values) {
      if (!inverses) throw new Error(`unconstrain needs the model object; this instance of ${compiled.name} was made from its serialised form`);
      if (typeof values !== "object" || values === null || Array.isArray(values)) {
        throw new ModelError("invalid-argument", `unconstrain: values must be an object of values by parameter name, got ${describeValue(values)}`);
      }
      for (const key of Object.keys(values)) {
        if (!compiled.params.some((p) => p.name === key)) {
          throw new ModelError("unknown-name", `unconstrain: ${key} is not a parameter of ${compiled.name} (parameters: ${compiled.params.map((p) => p.name).join(", ")})`);
        }
      }
      const q = new Float64Array(compiled.dim);
      const ctxOut = new Float64Array(contextTotal);
      let ctxOffset = 0;
      compiled.params.forEach((p, k) => {
        const given = Object.hasOwn(values, p.name) ? values[p.name] : undefined;
        if (given === undefined) throw new ModelError("unknown-name", `unconstrain: no value for parameter ${p.name}`);
        const x = toNumbers(given, `unconstrain: ${p.name}`).values;
        if (x.length !== sizeOf(p.shape)) {
          throw new ModelError("shape-mismatch", `unconstrain: ${p.name} needs ${sizeOf(p.shape)} values (shape ${formatShape(p.shape)}), got ${x.length}`);
        }
        const sizes = compiled.contextSizes[k]!;
        let ctx: Float64Array[] = [];
        if (sizes.length > 0) {
          // Context depends only on earlier parameters, which are already in q.
          fns.evaluateContext(q, ctxOut);
          ctx = sizes.map((n) => {
            const part = ctxOut.slice(ctxOffset, ctxOffset + n);
            ctxOffset += n;
            return part;
          });
        }
        q.set(inverses[k]!(x, ctx), p.offset);
      });
      return q;
    },
  };
  const toUnconstrained = inverses
    ? (x: Float64Array) => density.unconstrain(Object.fromEntries(paramOutputs.map((o) => [o.name, x.subarray(o.offset, o.offset + sizeOf(o.shape))])))
    : null;
  return Object.assign(density, { model: modelInfo(compiled, names, fns.pointwiseLogLik, toUnconstrained) });
}

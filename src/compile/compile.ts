/**
 * Model -> compiled log-density (the default `js` backend: float64 generated JavaScript).
 *
 * `compileModel` produces a `CompiledModel`: plain data (source text, constant buffers,
 * layout) that a worker thread can turn back into a `LogDensity` with `instantiate`, without
 * the model's TypeScript code. Constants may live in one SharedArrayBuffer so that N chains
 * on N threads hold one copy of the data.
 */
import type { LearnedParameterisation, Model } from "../model/builder.js";
import { ModelError } from "../model/errors.js";
import { runtime } from "../model/special.js";
import { formatShape, sizeOf } from "../model/shape.js";
import { CodeModule, Pass } from "./codegen.js";
import type { LogDensity, Reparameterisation, ShapedValue } from "./types.js";

export interface OutputLayout {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dims?: readonly string[];
  readonly offset: number;
}

export interface ParamLayout {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  readonly unconstrainedLabel: string;
}

/** Serialisable form of a compiled model (structured-clone friendly). */
export interface CompiledModel {
  readonly name: string;
  readonly backend: "js";
  readonly dim: number;
  readonly source: string;
  readonly constants: readonly (Float64Array | Int32Array)[];
  readonly outputs: readonly OutputLayout[];
  readonly params: readonly ParamLayout[];
  /** Per parameter: the sizes of its context values (bounds, loc/scale) in `evaluateContext` order. */
  readonly contextSizes: readonly (readonly number[])[];
  /** Learned parameterisations (their lambdas are the generated code's tunables `T`). */
  readonly tunables: readonly LearnedParameterisation[];
}

export interface CompileOptions {
  /** Put constant data in SharedArrayBuffers (one copy shared by every worker). Default true. */
  sharedData?: boolean;
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

export function compileModel(model: Model, options: CompileOptions = {}): CompiledModel {
  const names = new Set<string>();
  for (const o of model.outputs) {
    if (names.has(o.name)) throw new ModelError("duplicate-name", `output ${o.name} is defined twice`);
    names.add(o.name);
  }
  const mod = new CodeModule();
  const outputs = model.outputs.map((o) => o.expr);
  const contexts = model.params.flatMap((p) => p.context);

  const grad = new Pass(mod, { terms: model.terms, outputs: [], gradient: true }).code();
  const dens = new Pass(mod, { terms: model.terms, outputs: [], gradient: false }).code();
  const cons = new Pass(mod, { terms: [], outputs, gradient: false });
  const consCode = cons.code();
  const ctx = new Pass(mod, { terms: [], outputs: contexts, gradient: false });
  const ctxCode = ctx.code();

  const copyOut = (pass: Pass, exprs: typeof outputs) => {
    let offset = 0;
    return exprs
      .map((e) => {
        const lines: string[] = [];
        if (e.size === 1) lines.push(`out[${offset}] = ${pass.value(e, "0")};`);
        else lines.push(`for (let k = 0; k < ${e.size}; k++) out[${offset}+k] = ${pass.value(e, "k")};`);
        offset += e.size;
        return lines.join("\n");
      })
      .join("\n");
  };

  const functions = [
    `function logDensityGradient(q, grad) {\nfor (let k = 0; k < ${model.dim}; k++) grad[k] = 0;\nlet target = 0;\n${grad.prologue}\n${grad.forward}\n${grad.backward}\nreturn target;\n}`,
    `function logDensity(q) {\nlet target = 0;\n${dens.prologue}\n${dens.forward}\nreturn target;\n}`,
    `function constrainFlat(q, out) {\n${consCode.prologue}\n${consCode.forward}\n${copyOut(cons, outputs)}\n}`,
    `function evaluateContext(q, out) {\n${ctxCode.prologue}\n${ctxCode.forward}\n${copyOut(ctx, contexts)}\n}`,
  ];
  const source = mod.source(functions, ["logDensityGradient", "logDensity", "constrainFlat", "evaluateContext"]);

  let offset = 0;
  const outputLayout = model.outputs.map((o) => {
    const l: OutputLayout = { name: o.name, shape: o.expr.shape, offset, ...(o.dims ? { dims: o.dims } : {}) };
    offset += o.expr.size;
    return l;
  });
  const share = options.sharedData ?? true;
  return {
    name: model.name,
    backend: "js",
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
    tunables: model.tunables ?? [],
  };
}

function toShared<T extends Float64Array | Int32Array>(a: T): T {
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): T };
  const copy = new Ctor(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

interface GeneratedFunctions {
  logDensityGradient(q: Float64Array, grad: Float64Array): number;
  logDensity(q: Float64Array): number;
  constrainFlat(q: Float64Array, out: Float64Array): void;
  evaluateContext(q: Float64Array, out: Float64Array): void;
}

/**
 * Turns a compiled model back into a `LogDensity`. `inverses` (parameter inverse transforms)
 * exist only where the model object is at hand; a worker that only has the serialised form
 * can do everything but `unconstrain`.
 */
export function instantiate(
  compiled: CompiledModel,
  inverses?: readonly ((x: Float64Array, ctx: Float64Array[]) => Float64Array)[],
): LogDensity {
  // Each instance has its own tunables (a chain sets its lambdas before it runs).
  const tunables = compiled.tunables ?? [];
  const T = Float64Array.from(tunables, (t) => t.initial);
  const fns = new Function("rt", "C", "T", compiled.source)(runtime, compiled.constants, T) as GeneratedFunctions;
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
  return {
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
      for (const key of Object.keys(values)) {
        if (!compiled.params.some((p) => p.name === key)) {
          throw new ModelError("unknown-name", `unconstrain: ${key} is not a parameter of ${compiled.name} (parameters: ${compiled.params.map((p) => p.name).join(", ")})`);
        }
      }
      const q = new Float64Array(compiled.dim);
      const ctxOut = new Float64Array(contextTotal);
      let ctxOffset = 0;
      compiled.params.forEach((p, k) => {
        const given = values[p.name];
        if (given === undefined) throw new ModelError("unknown-name", `unconstrain: no value for parameter ${p.name}`);
        const x = typeof given === "number" ? Float64Array.of(given) : Float64Array.from(given);
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
}

/** Compile and instantiate in one step (the usual entry point on the main thread). */
export function compile(model: Model, options?: CompileOptions): LogDensity & { readonly compiled: CompiledModel } {
  const compiled = compileModel(model, options);
  return Object.assign(instantiate(compiled, model.params.map((p) => p.invert)), { compiled });
}

/**
 * Model -> compiled log-density (the default `js` backend: float64 generated JavaScript).
 *
 * `compileModel` produces a `CompiledModel`: plain data (source text, constant buffers,
 * layout) that a worker thread can turn back into a `LogDensity` with `instantiate`, without
 * the model's TypeScript code. Constants may live in one SharedArrayBuffer so that N chains
 * on N threads hold one copy of the data.
 */
import type { Model } from "../model/builder.js";
import { ModelError } from "../model/errors.js";
import { Expr } from "../model/expr.js";
import { checkGeneratedSource } from "../model/source-check.js";
import { runtime } from "../model/special.js";
import { formatShape, sizeOf } from "../model/shape.js";
import { checkName, checkShape, checkText, describeValue, isName, MAX_DIMENSION, toNumbers } from "../model/values.js";
import { CodeModule, Pass } from "./codegen.js";
import { keyBytes, sign, signedBy } from "./trust.js";
import type { LogDensity, ShapedValue } from "./types.js";

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
  /**
   * HMAC-SHA256 (hex) of the source and layout, by this process's key or an operator's
   * (`CompileOptions.key`): `instantiate`, `sample` and the worker threads run a compiled
   * model only when it verifies (DECISIONS.md D24).
   */
  readonly signature: string;
}

export interface CompileOptions {
  /** Put constant data in SharedArrayBuffers (one copy shared by every worker). Default true. */
  sharedData?: boolean;
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

/** Every node reachable from `roots` (iteratively). */
function reachable(roots: readonly Expr[]): Set<Expr> {
  const seen = new Set<Expr>(roots);
  const stack = [...roots];
  while (stack.length > 0) {
    const e = stack.pop()!;
    const next = e.node.kind === "scan" ? [...e.inputs, e.node.body.result] : e.inputs;
    for (const i of next) {
      if (!seen.has(i)) {
        seen.add(i);
        stack.push(i);
      }
    }
  }
  return seen;
}

const badModel = (why: string): never => {
  throw new ModelError("invalid-argument", `compile: not a model from model(...): ${why}`);
};

/**
 * A `Model` as the compiler reads it, checked: `compile` takes any object, and only what
 * passes here reaches the code generator (names, shapes and offsets; expressions made by
 * the `Expr` constructor, which checked the rest).
 */
function checkModel(model: Model): Model {
  if (typeof model !== "object" || model === null) return badModel(describeValue(model));
  const name = checkText(model.name, "the model name");
  const dim: unknown = model.dim;
  if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 1 || dim > MAX_DIMENSION) return badModel(`dim must be an integer in 1..${MAX_DIMENSION}, got ${describeValue(dim)}`);
  const list = <T>(x: unknown, what: string): T[] => (Array.isArray(x) ? [...x] : badModel(`${what} must be an array`));
  const expr = (e: unknown, what: string): Expr => (Expr.isExpr(e) ? e : badModel(`${what} is not an expression`));
  const dimsOf = (dims: unknown, shape: readonly number[], what: string): readonly string[] | undefined => {
    if (dims === undefined) return undefined;
    const d = list<unknown>(dims, `${what}.dims`);
    if (d.length !== shape.length) badModel(`${what} has ${d.length} dims for shape ${formatShape(shape)}`);
    return d.map((x, k) => checkName(x, `${what} dim ${k}`));
  };
  const terms = list<unknown>(model.terms, "terms").map((t, k) => {
    const e = expr(t, `term ${k}`);
    if (e.shape.length !== 0) badModel(`term ${k} (${e}) is not a scalar`);
    return e;
  });
  let total = 0;
  const params = list<Model["params"][number]>(model.params, "params").map((p, k) => {
    if (typeof p !== "object" || p === null) return badModel(`params[${k}] is ${describeValue(p)}`);
    const pname = checkName(p.name, "parameter");
    const size: unknown = p.size;
    const offset: unknown = p.block?.offset;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 1 || typeof offset !== "number" || offset !== total) {
      badModel(`parameter ${pname}: its coordinates must follow the previous parameter's (offset ${total}, size >= 1)`);
    }
    total += size as number;
    const unconstrainedLabel: unknown = p.unconstrainedLabel;
    if (!isName(unconstrainedLabel, 256)) badModel(`parameter ${pname}: unconstrainedLabel ${describeValue(unconstrainedLabel)} is not a name`);
    if (typeof p.invert !== "function") badModel(`parameter ${pname}: invert must be a function`);
    const shape = checkShape(p.shape, `parameter ${pname}`);
    return {
      ...p,
      name: pname,
      shape,
      dims: dimsOf(p.dims, shape, `parameter ${pname}`),
      size: size as number,
      value: expr(p.value, `parameter ${pname}'s value`),
      context: list<unknown>(p.context, `parameter ${pname}'s context`).map((c, j) => expr(c, `parameter ${pname}'s context ${j}`)),
    };
  });
  if (total !== dim) badModel(`the parameters have ${total} coordinates, dim is ${dim}`);
  const names = new Set<string>();
  const outputs = list<Model["outputs"][number]>(model.outputs, "outputs").map((o, k) => {
    if (typeof o !== "object" || o === null) return badModel(`outputs[${k}] is ${describeValue(o)}`);
    const oname = checkName(o.name, "output");
    if (names.has(oname)) throw new ModelError("duplicate-name", `output ${oname} is defined twice`);
    names.add(oname);
    const e = expr(o.expr, `output ${oname}`);
    return { name: oname, expr: e, dims: dimsOf(o.dims, e.shape, `output ${oname}`) };
  });
  // Every parameter coordinate the code reads is one of the model's.
  for (const e of reachable([...terms, ...outputs.map((o) => o.expr), ...params.flatMap((p) => p.context)])) {
    if (e.node.kind === "param" && e.node.block.offset + e.size > dim) {
      badModel(`${e.label} reads coordinates ${e.node.block.offset}..${e.node.block.offset + e.size - 1} of a model of dimension ${dim}`);
    }
  }
  return { ...model, name, dim, terms, params, outputs };
}

export function compileModel(model: Model, options: CompileOptions = {}): CompiledModel {
  if (typeof options !== "object" || options === null) throw new ModelError("invalid-argument", `compile options must be an object, got ${describeValue(options)}`);
  for (const k of Object.keys(options)) {
    if (k !== "sharedData" && k !== "key") throw new ModelError("invalid-argument", `compile options: unknown option "${k}" (known: sharedData, key)`);
  }
  const key = options.key === undefined ? undefined : keyBytes(options.key, "compile options: key");
  model = checkModel(model);
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
  };
  return { ...unsigned, signature: sign(signedText(unsigned), key) };
}

/** The text a signature covers: every field of the model, the constants by type and length (their values are data). */
function signedText(m: Omit<CompiledModel, "signature">): string {
  return JSON.stringify([
    "bayests-compiled-model-1",
    m.name,
    m.backend,
    m.dim,
    m.source,
    m.constants.map((c) => [c instanceof Int32Array ? "i32" : "f64", c.length]),
    m.outputs.map((o) => [o.name, o.shape, o.dims ?? null, o.offset]),
    m.params.map((p) => [p.name, p.shape, p.offset, p.size, p.unconstrainedLabel]),
    m.contextSizes,
  ]);
}

const badCompiled = (why: string): never => {
  throw new ModelError("invalid-argument", `not a compiled model (compileModel(model)): ${why}`);
};

const count = (x: unknown, what: string, min = 0): number =>
  typeof x === "number" && Number.isSafeInteger(x) && x >= min ? x : badCompiled(`${what} must be an integer >= ${min}, got ${describeValue(x)}`);

/**
 * A compiled model received from anywhere, checked field by field and copied (so nothing
 * can change between the check and its use), then its signature verified: throws a
 * ModelError before any of it is evaluated.
 */
export function verifyCompiledModel(x: unknown): CompiledModel & { readonly signedBy: "process" | "operator" } {
  if (typeof x !== "object" || x === null) return badCompiled(describeValue(x));
  const c = x as Record<string, unknown>;
  if (c.backend !== "js") badCompiled(`backend must be "js", got ${describeValue(c.backend)}`);
  const name = checkText(c.name, "the compiled model's name");
  const dim = count(c.dim, "dim", 1);
  if (dim > MAX_DIMENSION) badCompiled(`dim ${dim} is above the limit of ${MAX_DIMENSION}`);
  const source = typeof c.source === "string" ? c.source : badCompiled("source must be a string");
  const signature = typeof c.signature === "string" ? c.signature : badCompiled("it has no signature");
  const arr = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? [...v] : badCompiled(`${what} must be an array`));
  const constants = arr(c.constants, "constants").map((k, i) =>
    (k instanceof Float64Array || k instanceof Int32Array) && ArrayBuffer.isView(k) ? k : badCompiled(`constants[${i}] must be a Float64Array or an Int32Array`),
  );
  let offset = 0;
  const outputNames = new Set<string>();
  const outputs: OutputLayout[] = arr(c.outputs, "outputs").map((o, k) => {
    const r = (typeof o === "object" && o !== null ? o : badCompiled(`outputs[${k}] is ${describeValue(o)}`)) as Record<string, unknown>;
    const oname = checkName(r.name, `compiled model output ${k}`);
    if (outputNames.has(oname)) badCompiled(`output ${oname} appears twice`);
    outputNames.add(oname);
    const shape = checkShape(r.shape, `output ${oname}`);
    if (count(r.offset, `output ${oname}: offset`) !== offset) badCompiled(`output ${oname} should start at ${offset}`);
    offset += sizeOf(shape);
    const dims = r.dims === undefined ? undefined : arr(r.dims, `output ${oname}: dims`).map((d, j) => checkName(d, `output ${oname}: dim ${j}`));
    if (dims !== undefined && dims.length !== shape.length) badCompiled(`output ${oname} has ${dims.length} dims for shape ${formatShape(shape)}`);
    return { name: oname, shape, offset: offset - sizeOf(shape), ...(dims !== undefined ? { dims } : {}) };
  });
  let next = 0;
  const params: ParamLayout[] = arr(c.params, "params").map((p, k) => {
    const r = (typeof p === "object" && p !== null ? p : badCompiled(`params[${k}] is ${describeValue(p)}`)) as Record<string, unknown>;
    const pname = checkName(r.name, `compiled model parameter ${k}`);
    const shape = checkShape(r.shape, `parameter ${pname}`, 1);
    const poffset = count(r.offset, `parameter ${pname}: offset`);
    const size = count(r.size, `parameter ${pname}: size`, 1);
    if (poffset !== next) badCompiled(`parameter ${pname} should start at ${next}`);
    next += size;
    const label = r.unconstrainedLabel;
    if (!isName(label, 256)) badCompiled(`parameter ${pname}: unconstrainedLabel ${describeValue(label)} is not a name`);
    return { name: pname, shape, offset: poffset, size, unconstrainedLabel: label as string };
  });
  if (next !== dim) badCompiled(`its parameters have ${next} coordinates, dim is ${dim}`);
  if (params.some((p) => !outputNames.has(p.name))) badCompiled("every parameter must be an output");
  const contextSizes = arr(c.contextSizes, "contextSizes").map((l, k) => arr(l, `contextSizes[${k}]`).map((n, j) => count(n, `contextSizes[${k}][${j}]`)));
  if (contextSizes.length !== params.length) badCompiled(`contextSizes has ${contextSizes.length} entries for ${params.length} parameters`);
  const checked = { name, backend: "js" as const, dim, source, constants, outputs, params, contextSizes };
  const by = signedBy(signedText(checked), signature);
  if (by === null) {
    throw new ModelError(
      "untrusted-model",
      `compiled model ${name}: its signature does not verify, so it was not made by compileModel in this process, nor signed with a key this process trusts (trustModelKey); nothing of it was run`,
    );
  }
  return { ...checked, signature, signedBy: by };
}

/**
 * This model signed with this process's key, for worker threads (which know only that key):
 * the model itself when it already is, else a copy made once per model.
 */
const resigned = new WeakMap<object, CompiledModel>();
export function forThisProcess(compiled: CompiledModel): CompiledModel {
  const v = verifyCompiledModel(compiled);
  if (v.signedBy === "process") return compiled;
  let copy = resigned.get(compiled);
  if (copy === undefined) {
    const { signedBy: _by, signature: _sig, ...rest } = v;
    copy = { ...rest, signature: sign(signedText(rest)) };
    resigned.set(compiled, copy);
  }
  return copy;
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
export function instantiate(compiled: CompiledModel): LogDensity {
  return instantiateChecked(verifyCompiledModel(compiled));
}

function instantiateChecked(
  compiled: CompiledModel,
  inverses?: readonly ((x: Float64Array, ctx: Float64Array[]) => Float64Array)[],
): LogDensity {
  const fns = new Function("rt", "C", compiled.source)(runtime, compiled.constants) as GeneratedFunctions;
  const names = compiled.outputs.flatMap((o) => flatNames(o.name, o.shape));
  const paramCount = compiled.params.reduce((s, p) => s + sizeOf(p.shape), 0);
  const unconstrainedNames = compiled.params.flatMap((p) =>
    p.size === 1 && p.shape.length === 0 ? [p.unconstrainedLabel] : flatNames(p.unconstrainedLabel, [p.size]),
  );
  const contextTotal = compiled.contextSizes.flat().reduce((s, n) => s + n, 0);
  const flatOut = new Float64Array(names.length);

  return {
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
}

/** Compile and instantiate in one step (the usual entry point on the main thread). */
export function compile(model: Model, options?: CompileOptions): LogDensity & { readonly compiled: CompiledModel } {
  const compiled = compileModel(model, options);
  return Object.assign(instantiateChecked(compiled, model.params.map((p) => p.invert)), { compiled });
}

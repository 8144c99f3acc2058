/**
 * The compiler's boundary (DECISIONS.md D24): a `Model` it did not build is checked before
 * code is generated from it, and a compiled model received from anywhere is checked field by
 * field and its signature verified before any of it is evaluated.
 */
import type { LearnedParameterisation, Model } from "../model/builder.js";
import { ModelError } from "../model/errors.js";
import { Expr } from "../model/expr.js";
import { formatShape, sizeOf } from "../model/shape.js";
import { checkName, checkShape, checkText, describeValue, isName, MAX_DIMENSION } from "../model/values.js";
import type { CompiledModel, DataLayout, ObservedLayout, OutputLayout, ParamLayout } from "./layouts.js";
import { sign, signedBy, signedText } from "./trust.js";

/** Every node reachable from `roots` (iteratively). */
function reachable(roots: readonly Expr[]): Set<Expr> {
  const seen = new Set<Expr>(roots);
  const stack = [...roots];
  while (stack.length > 0) {
    const e = stack.pop()!;
    const next = e.node.kind === "scan" || e.node.kind === "ode" ? [...e.inputs, e.node.body.result] : e.inputs;
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
export function checkModel(model: Model): Model {
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
  // A form that reports quantities reports every parameter (the tfjs backend's form of its
  // light terms reports none).
  if (outputs.length > 0 && params.some((p) => !outputNames.has(p.name))) badCompiled("every parameter must be an output");
  const contextSizes = arr(c.contextSizes, "contextSizes").map((l, k) => arr(l, `contextSizes[${k}]`).map((n, j) => count(n, `contextSizes[${k}][${j}]`)));
  if (contextSizes.length !== params.length) badCompiled(`contextSizes has ${contextSizes.length} entries for ${params.length} parameters`);
  const constantIndex = (v: unknown, what: string): number => {
    const i = count(v, what);
    if (i >= constants.length) badCompiled(`${what} ${i} is not a constant (${constants.length} constants)`);
    return i;
  };
  let logLikOffset = 0;
  const observed =
    c.observed === undefined
      ? undefined
      : arr(c.observed, "observed").map((o, k): ObservedLayout => {
          const r = (typeof o === "object" && o !== null ? o : badCompiled(`observed[${k}] is ${describeValue(o)}`)) as Record<string, unknown>;
          const oname = checkName(r.name, `compiled model observed node ${k}`);
          const shape = checkShape(r.shape, `observed ${oname}`);
          if (count(r.offset, `observed ${oname}: offset`) !== logLikOffset) badCompiled(`observed ${oname} should start at ${logLikOffset}`);
          logLikOffset += sizeOf(shape);
          const valueShape = checkShape(r.valueShape, `observed ${oname}: values`);
          const value = constantIndex(r.value, `observed ${oname}: value`);
          if (constants[value]!.length !== sizeOf(valueShape)) badCompiled(`observed ${oname}: its values do not fill shape ${formatShape(valueShape)}`);
          const dims = r.dims === undefined ? undefined : arr(r.dims, `observed ${oname}: dims`).map((d, j) => checkName(d, `observed ${oname}: dim ${j}`));
          if (dims !== undefined && dims.length !== valueShape.length) badCompiled(`observed ${oname} has ${dims.length} dims for shape ${formatShape(valueShape)}`);
          return { name: oname, shape, offset: logLikOffset - sizeOf(shape), valueShape, value, ...(dims !== undefined ? { dims } : {}) };
        });
  const data =
    c.data === undefined
      ? undefined
      : arr(c.data, "data").map((d, k): DataLayout => {
          const r = (typeof d === "object" && d !== null ? d : badCompiled(`data[${k}] is ${describeValue(d)}`)) as Record<string, unknown>;
          const dname = checkName(r.name, `compiled model data ${k}`);
          const shape = checkShape(r.shape, `data ${dname}`);
          const constant = constantIndex(r.constant, `data ${dname}: constant`);
          if (constants[constant]!.length !== sizeOf(shape)) badCompiled(`data ${dname}: its values do not fill shape ${formatShape(shape)}`);
          return { name: dname, shape, constant };
        });
  const tunables =
    c.tunables === undefined
      ? undefined
      : arr(c.tunables, "tunables").map((x, k): LearnedParameterisation => {
          const r = (typeof x === "object" && x !== null ? x : badCompiled(`tunables[${k}] is ${describeValue(x)}`)) as Record<string, unknown>;
          const p = params.find((q) => q.name === r.param) ?? badCompiled(`tunables[${k}]: ${describeValue(r.param)} is not a parameter`);
          if (count(r.index, `tunables[${k}].index`) !== k) badCompiled(`tunables[${k}] should have index ${k}`);
          const initial = r.initial;
          if (typeof initial !== "number" || !(initial >= 0 && initial <= 1)) badCompiled(`tunables[${k}].initial must be in [0, 1], got ${describeValue(initial)}`);
          if (r.offset !== p.offset || r.size !== p.size) badCompiled(`tunables[${k}] must cover parameter ${p.name}'s coordinates`);
          return { param: p.name, index: k, initial: initial as number, offset: p.offset, size: p.size };
        });
  const checked = {
    name,
    backend: "js" as const,
    dim,
    source,
    constants,
    outputs,
    params,
    contextSizes,
    ...(observed !== undefined ? { observed } : {}),
    ...(data !== undefined ? { data } : {}),
    ...(tunables !== undefined ? { tunables } : {}),
  };
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
 * This model, verified, signed with operator key `key` instead: for another process that
 * trusts that key (`trustModelKey`), such as a cluster runner.
 */
export function signedWith(compiled: CompiledModel, key: Uint8Array): CompiledModel {
  return resigned(verifyCompiledModel(compiled), key);
}

/** A verified model under a new signature (`key`: this process's when not given). */
function resigned(verified: ReturnType<typeof verifyCompiledModel>, key?: Uint8Array): CompiledModel {
  const { signedBy: _by, signature: _sig, ...rest } = verified;
  return { ...rest, signature: sign(signedText(rest), key) };
}

const resignedForProcess = new WeakMap<object, CompiledModel>();
/**
 * This model signed with this process's key, for worker threads (which know only that key):
 * the model itself when it already is, else a copy made once per model.
 */
export function forThisProcess(compiled: CompiledModel): CompiledModel {
  const v = verifyCompiledModel(compiled);
  if (v.signedBy === "process") return compiled;
  let copy = resignedForProcess.get(compiled);
  if (copy === undefined) {
    copy = resigned(v);
    resignedForProcess.set(compiled, copy);
  }
  return copy;
}

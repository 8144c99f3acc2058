/**
 * The model's log-density as a tensor program: plain data (node list, shapes, constant
 * references), made by lowering the IR and checked by `validateProgram` before a worker
 * builds anything from it. Nothing in it is code: a node names an operation from a fixed
 * table (`TENSOR_ELEMENTWISE`, the custom operations below), never source text.
 *
 * IR -> tensor operations:
 * - const (size > 1): a tensor made once per instance; size 1: an inline validated number;
 * - param: a slice of the position tensor q;
 * - elementwise: the tensor op of the same name (broadcasting as NumPy's, like the IR);
 * - access (slices, gathers, reshapes): reshape, slice, or gather by a constant index map;
 * - sum: sum (a log-density term's sum is split into float64-accumulated partial sums);
 * - custom matvec, cumsum, concat, logSumExp (all or per axis): matMul, cumsum, concat, logSumExp.
 * Not lowered (a `TfjsUnsupportedError` names the node; "auto" then compiles to js): scan
 * (a sequential loop: one op dispatch per step would cost more than the whole js gradient),
 * cholesky and lowerSolve (tfjs has no Cholesky factor or triangular solve with gradients).
 */
import type { Model } from "../../model/builder.js";
import type { Expr } from "../../model/expr.js";
import { ModelError } from "../../model/errors.js";
import { broadcastShapes, formatShape, sameShape, sizeOf, type Shape } from "../../model/shape.js";

/** Elementwise operations the tensor backend implements (the IR's names, src/model/ops.ts). */
export const TENSOR_ELEMENTWISE = [
  "neg", "exp", "log", "log1p", "log1m", "expm1", "sqrt", "square", "abs", "tanh", "logistic", "logit",
  "log1pExp", "log1mExp", "lgamma", "add", "sub", "mul", "div", "pow", "lgammaDiff", "logAddExp",
] as const;
export type TensorElementwise = (typeof TENSOR_ELEMENTWISE)[number];
const BINARY = new Set<string>(["add", "sub", "mul", "div", "pow", "lgammaDiff", "logAddExp"]);

/** Where a constant's values are: the js form's constant list, or the tfjs form's own. */
export interface ConstantRef {
  readonly source: "js" | "own";
  readonly index: number;
}

export type TensorNode =
  | { readonly op: "param"; readonly shape: Shape; readonly offset: number }
  | { readonly op: "const"; readonly shape: Shape; readonly ref: ConstantRef }
  | { readonly op: "scalar"; readonly shape: Shape; readonly value: number }
  | { readonly op: "elementwise"; readonly shape: Shape; readonly fn: TensorElementwise; readonly inputs: readonly number[] }
  /** out = input (flattened) at map[k]; `ref` null: a reshape; an own Int32Array constant otherwise. */
  | { readonly op: "access"; readonly shape: Shape; readonly inputs: readonly [number]; readonly ref: ConstantRef | null }
  | { readonly op: "sum"; readonly shape: Shape; readonly inputs: readonly [number] }
  | { readonly op: "matvec"; readonly shape: Shape; readonly inputs: readonly [number, number] }
  | { readonly op: "cumsum"; readonly shape: Shape; readonly inputs: readonly [number] }
  | { readonly op: "concat"; readonly shape: Shape; readonly inputs: readonly number[] }
  | { readonly op: "logSumExp"; readonly shape: Shape; readonly inputs: readonly [number]; readonly axis: 0 | 1 | null };

export interface TensorProgram {
  readonly dim: number;
  /** Topological order: a node's inputs come before it. */
  readonly nodes: readonly TensorNode[];
  /** Nodes (scalars) whose sum is the log-density. */
  readonly terms: readonly number[];
  /** Data elements the program reads per gradient (sizes of its constants): what "auto" compares. */
  readonly dataSize: number;
  /** Elements of data matrices in matrix-vector products (where tensor kernels gain most). */
  readonly denseData: number;
  /** Elements of the computed (non-constant) nodes: one elementwise pass each in tfjs. */
  readonly computedSize: number;
}

/** A model node the tfjs backend cannot compute (named), so the model stays on js. */
export class TfjsUnsupportedError extends Error {
  override readonly name = "TfjsUnsupportedError";
  constructor(
    /** The node's label, as in the model's messages. */
    readonly node: string,
    /** What kind of node it is (scan, cholesky, ...). */
    readonly kind: string,
    reason: string,
  ) {
    super(`the tfjs backend cannot compute ${kind} node ${node}: ${reason}`);
  }
}

/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

function checkFloat32(values: ArrayLike<number>, label: string): void {
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i]!) > FLOAT32_MAX) {
      throw new TfjsUnsupportedError(label, "const", `value ${values[i]} at [${i}] is outside the float32 range`);
    }
  }
}

/**
 * Lowers the model's log-density terms to a tensor program. `jsConstants` are the js form's
 * constants (the same arrays as the IR's constant nodes): a constant found there is referred
 * to, not copied; others (index maps, constants the js code inlines) go to `own`.
 */
export function lowerModel(
  model: Model,
  jsConstants: readonly (Float64Array | Int32Array)[],
): { program: TensorProgram; own: (Float64Array | Int32Array)[] } {
  const jsIndex = new Map<Float64Array | Int32Array, number>(jsConstants.map((c, i) => [c, i]));
  const own: (Float64Array | Int32Array)[] = [];
  const ownIndex = new Map<Float64Array | Int32Array, number>();
  const refOf = (values: Float64Array | Int32Array): ConstantRef => {
    const j = jsIndex.get(values);
    if (j !== undefined) return { source: "js", index: j };
    let k = ownIndex.get(values);
    if (k === undefined) {
      k = own.length;
      own.push(values);
      ownIndex.set(values, k);
    }
    return { source: "own", index: k };
  };

  const nodes: TensorNode[] = [];
  const index = new Map<Expr, number>();
  let dataSize = 0;
  let denseData = 0;
  let computedSize = 0;
  const visit = (root: Expr): number => {
    // Iterative post-order: deep elementwise chains must not overflow the stack.
    const stack: [Expr, boolean][] = [[root, false]];
    while (stack.length > 0) {
      const [e, expanded] = stack.pop()!;
      if (index.has(e)) continue;
      if (!expanded) {
        stack.push([e, true]);
        for (let k = e.inputs.length - 1; k >= 0; k--) if (!index.has(e.inputs[k]!)) stack.push([e.inputs[k]!, false]);
        continue;
      }
      const inputs = e.inputs.map((i) => index.get(i)!);
      if (!e.isConst) computedSize += e.size;
      index.set(e, nodes.length);
      nodes.push(lowerNode(e, inputs));
    }
    return index.get(root)!;
  };

  const lowerNode = (e: Expr, inputs: number[]): TensorNode => {
    const shape = [...e.shape];
    const n = e.node;
    switch (n.kind) {
      case "const":
        checkFloat32(n.values, e.label);
        if (e.size === 1) return { op: "scalar", shape, value: n.values[0]! };
        dataSize += e.size;
        return { op: "const", shape, ref: refOf(n.values) };
      case "param":
        return { op: "param", shape, offset: n.block.offset };
      case "tunable":
        throw new TfjsUnsupportedError(e.label, "tunable", "a learned parameterisation (noncentered: \"learn\") stays on the js backend");
      case "elementwise":
        if (!(TENSOR_ELEMENTWISE as readonly string[]).includes(n.op)) {
          throw new TfjsUnsupportedError(e.label, n.op, "no tensor implementation of this operation");
        }
        return { op: "elementwise", shape, fn: n.op as TensorElementwise, inputs };
      case "access": {
        const identity = n.map.length === e.inputs[0]!.size && n.map.every((m, k) => m === k);
        if (!identity) dataSize += n.map.length;
        return { op: "access", shape, inputs: [inputs[0]!], ref: identity ? null : refOf(n.map) };
      }
      case "sum":
        return { op: "sum", shape, inputs: [inputs[0]!] };
      case "custom": {
        const name = n.op.name;
        if (name === "matvec") {
          if (e.inputs[0]!.isConst) denseData += e.inputs[0]!.size;
          return { op: "matvec", shape, inputs: [inputs[0]!, inputs[1]!] };
        }
        if (name === "cumsum") return { op: "cumsum", shape, inputs: [inputs[0]!] };
        if (name === "concat") return { op: "concat", shape, inputs };
        if (name === "logSumExp") return { op: "logSumExp", shape, inputs: [inputs[0]!], axis: null };
        if (name === "logSumExp0" || name === "logSumExp1") return { op: "logSumExp", shape, inputs: [inputs[0]!], axis: name === "logSumExp0" ? 0 : 1 };
        throw new TfjsUnsupportedError(e.label, name, "no tensor implementation of this operation (it stays on the js backend)");
      }
      case "scan":
        throw new TfjsUnsupportedError(e.label, "scan", "a sequential loop stays on the js backend");
      case "ode":
        throw new TfjsUnsupportedError(e.label, "ode", "an ODE solve stays on the js backend");
      case "placeholder":
        throw new TfjsUnsupportedError(e.label, "placeholder", "placeholders exist only inside a scan body");
    }
  };

  const terms = model.terms.map((t) => {
    if (t.size !== 1) throw new TfjsUnsupportedError(t.label, "term", `a log-density term must be a scalar, got shape ${formatShape(t.shape)}`);
    return visit(t);
  });
  return { program: { dim: model.dim, nodes, terms, dataSize, denseData, computedSize }, own };
}

const isIndex = (x: unknown, below: number): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) < below;
const isShape = (s: unknown): s is Shape =>
  Array.isArray(s) && s.length <= 8 && s.every((d) => Number.isInteger(d) && d >= 0 && d <= 2 ** 31);

/**
 * Checks a tensor program received from outside before anything is built from it: every
 * operation from the fixed table, inputs earlier in the list, shapes consistent with each
 * operation (the IR's own rules), constants present with the sizes the nodes claim, index
 * maps inside their inputs, numbers finite and in float32 range. Throws a ModelError naming
 * the node.
 */
export function validateProgram(
  program: TensorProgram,
  constantOf: (ref: ConstantRef) => Float64Array | Int32Array | undefined,
): void {
  const fail = (where: string, what: string): never => {
    throw new ModelError("invalid-argument", `tfjs program: ${where}: ${what}`);
  };
  if (typeof program !== "object" || program === null || !Array.isArray(program.nodes) || !Array.isArray(program.terms)) {
    fail("form", "nodes and terms must be arrays");
  }
  if (!Number.isInteger(program.dim) || program.dim < 1) fail("dim", `${String(program.dim)} is not a positive integer`);
  const shapes: Shape[] = [];
  program.nodes.forEach((node, i) => {
    const where = `node ${i} (${String(node?.op)})`;
    if (typeof node !== "object" || node === null || !isShape(node.shape)) fail(where, "needs a shape of non-negative integers");
    const inputs: readonly unknown[] = "inputs" in node ? (node.inputs as readonly unknown[]) : [];
    if (!Array.isArray(inputs) || !inputs.every((k) => isIndex(k, i))) fail(where, "inputs must be indices of earlier nodes");
    const inShapes = (inputs as number[]).map((k) => shapes[k]!);
    const want = (ok: boolean, what: string) => {
      if (!ok) fail(where, what);
    };
    const ref = (r: ConstantRef | null | undefined, kind: "float" | "int", size: number, bound = Infinity) => {
      const values = r && (r.source === "js" || r.source === "own") && Number.isInteger(r.index) ? constantOf(r) : undefined;
      want(values !== undefined, "refers to a missing constant");
      want((kind === "int") === values instanceof Int32Array && values!.length === size, `its constant must be ${size} ${kind === "int" ? "indices" : "numbers"}`);
      for (let k = 0; k < values!.length; k++) {
        const v = values![k]!;
        want(kind === "int" ? v >= 0 && v < bound : Math.abs(v) <= FLOAT32_MAX, `constant entry ${k} = ${v} is out of range`);
      }
    };
    const size = sizeOf(node.shape);
    switch (node.op) {
      case "param":
        want(isIndex(node.offset, program.dim) && node.offset + size <= program.dim, `coordinates ${node.offset}..${node.offset + size} exceed dim ${program.dim}`);
        break;
      case "const":
        ref(node.ref, "float", size);
        break;
      case "scalar":
        want(size === 1 && typeof node.value === "number" && Math.abs(node.value) <= FLOAT32_MAX, "a scalar needs one finite float32 value");
        break;
      case "elementwise": {
        want((TENSOR_ELEMENTWISE as readonly string[]).includes(node.fn), `unknown operation ${String(node.fn)}`);
        want(inputs.length === (BINARY.has(node.fn) ? 2 : 1), `${node.fn} takes ${BINARY.has(node.fn) ? 2 : 1} inputs`);
        const out = inShapes.reduce<Shape>((s, t) => broadcastShapes(s, t, () => where), []);
        want(sameShape(out, node.shape), `inputs broadcast to ${formatShape(out)}, not ${formatShape(node.shape)}`);
        break;
      }
      case "access":
        want(inputs.length === 1, "takes one input");
        if (node.ref === null) want(sizeOf(inShapes[0]!) === size, "a reshape keeps the size");
        else ref(node.ref, "int", size, sizeOf(inShapes[0]!));
        break;
      case "sum":
        want(inputs.length === 1 && node.shape.length === 0, "sums one input to a scalar");
        break;
      case "matvec": {
        const [a, x] = inShapes;
        want(inputs.length === 2 && a?.length === 2 && x?.length === 1 && a[1] === x[0] && sameShape(node.shape, [a[0]!]), "needs A [m, n], x [n] -> [m]");
        break;
      }
      case "cumsum":
        want(inputs.length === 1 && node.shape.length === 1 && sameShape(inShapes[0]!, node.shape), "maps a vector to a vector");
        break;
      case "concat":
        want(inputs.length >= 1 && inShapes.every((s) => s.length <= 1) && node.shape.length === 1 && inShapes.reduce((t, s) => t + sizeOf(s), 0) === size, "joins scalars and vectors into one vector");
        break;
      case "logSumExp": {
        const s = inShapes[0];
        if (node.axis === null) want(inputs.length === 1 && node.shape.length === 0, "over all elements gives a scalar");
        else want(inputs.length === 1 && (node.axis === 0 || node.axis === 1) && s?.length === 2 && sameShape(node.shape, [s[1 - node.axis]!]), "along an axis of a matrix");
        break;
      }
      default:
        fail(where, "unknown operation");
    }
    shapes.push(node.shape);
  });
  program.terms.forEach((t, k) => {
    if (!isIndex(t, program.nodes.length) || sizeOf(shapes[t]!) !== 1) fail(`term ${k}`, "must be a scalar node");
  });
}

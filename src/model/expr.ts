/**
 * The model as data: immutable expression nodes. Creation order is a topological order
 * (a node's inputs always exist before it), which the compiler relies on.
 *
 * Nodes whose inputs are all constants are folded to constants when they are created, so the
 * compiled density never recomputes transformed data, and every remaining node depends on
 * at least one parameter.
 */
import { ModelError } from "./errors.js";
import { ELEMENTWISE, type CustomOp } from "./ops.js";
import { broadcastShapes, formatShape, sameShape, sizeOf, type Shape } from "./shape.js";
import { evaluateCustom, evaluateElementwise } from "./evaluate.js";

let nextId = 0;

export type NodeKind =
  | { readonly kind: "const"; readonly values: Float64Array; readonly integer: boolean }
  | { readonly kind: "param"; readonly block: ParamBlock }
  | { readonly kind: "elementwise"; readonly op: string }
  /** out[k] = input[map[k]]: slices, gathers by index, reshapes, diagonals. */
  | { readonly kind: "access"; readonly map: Int32Array }
  /** Sum of all elements of the input. */
  | { readonly kind: "sum" }
  | { readonly kind: "custom"; readonly op: CustomOp }
  /** Stands for the carry or the current element of a sequence inside a scan body. */
  | { readonly kind: "placeholder" }
  | { readonly kind: "scan"; readonly body: ScanBody };

/**
 * A scan's body, traced once with placeholders: `result` is the next carry given `carry` and
 * the current rows `xs`. Inputs of the scan node: [init, ...sequences, ...free], where `free`
 * are outer nodes the body reads (parameters, expressions of them).
 */
export interface ScanBody {
  readonly length: number;
  readonly carry: Expr;
  readonly xs: readonly Expr[];
  readonly result: Expr;
  readonly free: readonly Expr[];
}

/** The unconstrained coordinates of one parameter: q[offset .. offset + size). */
export interface ParamBlock {
  readonly name: string;
  offset: number;
}

export class Expr {
  readonly id = nextId++;
  constructor(
    readonly node: NodeKind,
    readonly shape: Shape,
    readonly inputs: readonly Expr[],
    /** A human name for messages: a variable name or a short description (the builder names parameters). */
    public label: string,
  ) {}

  get size(): number {
    return sizeOf(this.shape);
  }
  get isConst(): boolean {
    return this.node.kind === "const";
  }
  /** The constant's values; throws for non-constant nodes. */
  get constValues(): Float64Array {
    if (this.node.kind !== "const") throw new Error(`${this.label} is not a constant`);
    return this.node.values;
  }

  add(b: ExprLike): Expr { return add(this, b); }
  sub(b: ExprLike): Expr { return sub(this, b); }
  mul(b: ExprLike): Expr { return mul(this, b); }
  div(b: ExprLike): Expr { return div(this, b); }
  pow(b: ExprLike): Expr { return pow(this, b); }
  neg(): Expr { return neg(this); }
  exp(): Expr { return exp(this); }
  log(): Expr { return log(this); }
  square(): Expr { return square(this); }
  sqrt(): Expr { return sqrt(this); }
  sum(): Expr { return sum(this); }
  /** Elements `start` (inclusive) to `end` (exclusive) of a vector, 0-based like JavaScript. */
  slice(start: number, end?: number): Expr { return slice(this, start, end); }
  /** Gather by a 0-based integer index array (group effects: `alpha.at(group)`), or one element/row by a number. */
  at(index: number | ArrayLike<number> | Expr): Expr { return gather(this, index); }
  reshape(shape: Shape): Expr { return reshape(this, shape); }
  toString(): string {
    return `${this.label}${formatShape(this.shape)}`;
  }
}

export type ExprLike = Expr | number;

/** Constant from numbers; `label` names it in messages. */
export function constant(values: number | ArrayLike<number>, shape?: Shape, label?: string, integer = false): Expr {
  const arr = typeof values === "number" ? Float64Array.of(values) : Float64Array.from(values);
  const s = shape ?? (typeof values === "number" ? [] : [arr.length]);
  if (sizeOf(s) !== arr.length) {
    throw new ModelError("shape-mismatch", `${label ?? "constant"}: ${arr.length} values do not fill shape ${formatShape(s)}`);
  }
  return new Expr({ kind: "const", values: arr, integer }, s, [], label ?? (typeof values === "number" ? String(values) : "constant"));
}

export const lift = (x: ExprLike): Expr => (typeof x === "number" ? constant(x) : x);

export function elementwise(op: string, args: readonly ExprLike[]): Expr {
  const inputs = args.map(lift);
  const shape = inputs.reduce<Shape>(
    (s, e) => broadcastShapes(s, e.shape, () => `${op}(${inputs.map(String).join(", ")})`),
    [],
  );
  const label = `${op}(${inputs.map((e) => e.label).join(", ")})`;
  if (inputs.every((e) => e.isConst)) {
    return new Expr(
      { kind: "const", values: evaluateElementwise(ELEMENTWISE[op]!, inputs.map((e) => e.constValues), inputs.map((e) => e.shape), shape), integer: false },
      shape,
      [],
      label,
    );
  }
  return new Expr({ kind: "elementwise", op }, shape, inputs, label);
}

const isConstValue = (e: Expr, v: number) => e.isConst && e.size === 1 && e.constValues[0] === v;

// Arithmetic with the algebraic identities that matter for generated code size and speed.
export function add(a: ExprLike, b: ExprLike): Expr {
  const [x, y] = [lift(a), lift(b)];
  if (isConstValue(y, 0) && y.shape.length === 0) return x;
  if (isConstValue(x, 0) && x.shape.length === 0) return y;
  return elementwise("add", [x, y]);
}
export function sub(a: ExprLike, b: ExprLike): Expr {
  const [x, y] = [lift(a), lift(b)];
  if (isConstValue(y, 0) && y.shape.length === 0) return x;
  return elementwise("sub", [x, y]);
}
export function mul(a: ExprLike, b: ExprLike): Expr {
  const [x, y] = [lift(a), lift(b)];
  if (isConstValue(y, 1) && y.shape.length === 0) return x;
  if (isConstValue(x, 1) && x.shape.length === 0) return y;
  return elementwise("mul", [x, y]);
}
/**
 * Division, rewritten into the multiplications generated code wants: by a constant scalar,
 * a multiplication by its reciprocal; a vector by a scalar parameter, a multiplication by one
 * reciprocal per call (not one division per element); by exp(x), a multiplication by exp(-x).
 */
export function div(a: ExprLike, b: ExprLike): Expr {
  const [x, y] = [lift(a), lift(b)];
  if (y.isConst && !x.isConst) return isConstValue(y, 1) ? x : mul(x, constant(y.constValues.map((v) => 1 / v), y.shape));
  if (y.shape.length === 0 && x.shape.length > 0 && !x.isConst) return mul(x, elementwise("div", [1, y]));
  if (y.node.kind === "elementwise" && y.node.op === "exp") return mul(x, exp(neg(y.inputs[0]!)));
  return elementwise("div", [x, y]);
}
export const pow = (a: ExprLike, b: ExprLike): Expr => {
  const y = lift(b);
  if (isConstValue(y, 2) && y.shape.length === 0) return square(a);
  if (isConstValue(y, 0.5) && y.shape.length === 0) return sqrt(a);
  return elementwise("pow", [a, y]);
};
export const neg = (a: ExprLike): Expr => elementwise("neg", [a]);
export const exp = (a: ExprLike): Expr => elementwise("exp", [a]);
/** log(exp(x)) simplifies to x: sv's `student_t(nu, 0, exp(s))` needs no log per element. */
export const log = (a: ExprLike): Expr => {
  const x = lift(a);
  if (x.node.kind === "elementwise" && x.node.op === "exp") return x.inputs[0]!;
  return elementwise("log", [x]);
};
export const log1p = (a: ExprLike): Expr => elementwise("log1p", [a]);
export const log1m = (a: ExprLike): Expr => elementwise("log1m", [a]);
export const expm1 = (a: ExprLike): Expr => elementwise("expm1", [a]);
export const sqrt = (a: ExprLike): Expr => elementwise("sqrt", [a]);
export const square = (a: ExprLike): Expr => elementwise("square", [a]);
export const abs = (a: ExprLike): Expr => elementwise("abs", [a]);
export const tanh = (a: ExprLike): Expr => elementwise("tanh", [a]);
/** The inverse logit, 1 / (1 + exp(-x)). */
export const logistic = (a: ExprLike): Expr => elementwise("logistic", [a]);
export const logit = (a: ExprLike): Expr => elementwise("logit", [a]);
/** log(1 + exp(x)), stable in both tails (softplus). */
export const log1pExp = (a: ExprLike): Expr => elementwise("log1pExp", [a]);
/** log(1 - exp(x)) for x < 0. */
export const log1mExp = (a: ExprLike): Expr => elementwise("log1mExp", [a]);
export const lgamma = (a: ExprLike): Expr => elementwise("lgamma", [a]);
/** lgamma(x + y) - lgamma(x), accurate for large x. */
export const lgammaDiff = (x: ExprLike, y: ExprLike): Expr => elementwise("lgammaDiff", [x, y]);
/** log(exp(a) + exp(b)), elementwise. */
export const logAddExp = (a: ExprLike, b: ExprLike): Expr => elementwise("logAddExp", [a, b]);
/** log(theta * exp(a) + (1 - theta) * exp(b)), elementwise (Stan's log_mix). */
export const logMix = (theta: ExprLike, a: ExprLike, b: ExprLike): Expr =>
  logAddExp(add(log(theta), a), add(log1m(theta), b));

/** Sum of all elements. */
export function sum(a: ExprLike): Expr {
  const x = lift(a);
  if (x.isConst) return constant(x.constValues.reduce((s, v) => s + v, 0), [], `sum(${x.label})`);
  if (x.shape.length === 0) return x;
  return new Expr({ kind: "sum" }, [], [x], `sum(${x.label})`);
}
export const mean = (a: ExprLike): Expr => {
  const x = lift(a);
  return div(sum(x), x.size);
};
export const dot = (a: ExprLike, b: ExprLike): Expr => {
  const [x, y] = [lift(a), lift(b)];
  if (x.shape.length !== 1 || !sameShape(x.shape, y.shape)) {
    throw new ModelError("shape-mismatch", `dot(${x}, ${y}) needs two vectors of one length`);
  }
  return sum(mul(x, y));
};

/** out[k] = x[map[k]] with the output shape given. */
export function access(x: Expr, map: Int32Array, shape: Shape, label: string): Expr {
  if (x.isConst) {
    const src = x.constValues;
    return constant(Array.from(map, (m) => src[m]!), shape, label, x.node.kind === "const" && x.node.integer);
  }
  if (map.length === x.size && map.every((m, k) => m === k)) {
    return sameShape(shape, x.shape) ? x : new Expr({ kind: "access", map }, shape, [x], label);
  }
  return new Expr({ kind: "access", map }, shape, [x], label);
}

export function slice(x: Expr, start: number, end = x.shape[0] ?? 0): Expr {
  if (x.shape.length !== 1) throw new ModelError("shape-mismatch", `slice of ${x} needs a vector`);
  const n = x.shape[0]!;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
    throw new ModelError("index-out-of-range", `slice(${start}, ${end}) of ${x} is out of range 0..${n}`);
  }
  const map = new Int32Array(end - start).map((_, k) => start + k);
  return access(x, map, [end - start], `${x.label}[${start}:${end}]`);
}

/**
 * x[index[k]] for a 0-based integer index array (for matrices, selects rows); a number selects
 * one element (or row) and drops that axis.
 */
export function gather(x: Expr, index: number | ArrayLike<number> | Expr): Expr {
  const idx = index instanceof Expr ? index : typeof index === "number" ? constant(index, [], String(index), true) : constant(index, undefined, "index", true);
  if (!idx.isConst) throw new ModelError("invalid-argument", `gather index for ${x} must be data, not ${idx}`);
  const vals = idx.constValues;
  const rows = x.shape[0];
  if (rows === undefined) throw new ModelError("shape-mismatch", `cannot index scalar ${x} by ${idx.label}`);
  const inner = sizeOf(x.shape.slice(1));
  const map = new Int32Array(vals.length * inner);
  vals.forEach((v, k) => {
    if (!Number.isInteger(v) || v < 0 || v >= rows) {
      throw new ModelError(
        "index-out-of-range",
        `index ${idx.label}[${k}] = ${v} is out of range for ${x} (0-based, must be 0..${rows - 1})`,
      );
    }
    for (let j = 0; j < inner; j++) map[k * inner + j] = v * inner + j;
  });
  return access(x, map, [...idx.shape, ...x.shape.slice(1)], `${x.label}[${idx.label}]`);
}

export function reshape(x: Expr, shape: Shape): Expr {
  if (sizeOf(shape) !== x.size) {
    throw new ModelError("shape-mismatch", `cannot reshape ${x} to ${formatShape(shape)}`);
  }
  if (x.isConst) return constant(x.constValues, shape, x.label);
  return access(x, new Int32Array(x.size).map((_, k) => k), shape, x.label);
}

/** Diagonal of a square matrix. */
export function diagonal(x: Expr): Expr {
  const [r, c] = x.shape;
  if (x.shape.length !== 2 || r !== c) throw new ModelError("shape-mismatch", `diagonal of ${x} needs a square matrix`);
  return access(x, new Int32Array(r!).map((_, k) => k * r! + k), [r!], `diagonal(${x.label})`);
}

/** Column j (0-based) of a matrix. */
export function column(x: Expr, j: number): Expr {
  const [r, c] = x.shape;
  if (x.shape.length !== 2 || j < 0 || j >= c!) throw new ModelError("index-out-of-range", `column ${j} of ${x}`);
  return access(x, new Int32Array(r!).map((_, k) => k * c! + j), [r!], `${x.label}[:, ${j}]`);
}

/** A node computed by a custom (non-elementwise) operation. */
export function custom(op: CustomOp, inputs: readonly ExprLike[], shape: Shape, label: string): Expr {
  const xs = inputs.map(lift);
  if (xs.every((e) => e.isConst)) {
    const values = evaluateCustom(op, xs.map((e) => e.constValues), xs.map((e) => e.shape), shape);
    return constant(values, shape, label);
  }
  return new Expr({ kind: "custom", op }, shape, xs, label);
}

/** The first node reachable from `roots` (through inputs and scan bodies) that `test` accepts, if any. */
export function findNode(roots: readonly Expr[], test: (e: Expr) => boolean): Expr | undefined {
  const seen = new Set<Expr>();
  const stack = [...roots];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (seen.has(e)) continue;
    seen.add(e);
    if (test(e)) return e;
    stack.push(...e.inputs);
    if (e.node.kind === "scan") stack.push(e.node.body.result, ...e.node.body.free);
  }
  return undefined;
}

/** Free parameter coordinates, before any transform (used by the builder only). */
export function paramLeaf(block: ParamBlock, shape: Shape): Expr {
  return new Expr({ kind: "param", block }, shape, [], `${block.name}__unconstrained`);
}

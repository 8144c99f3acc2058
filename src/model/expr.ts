/**
 * The model as data: immutable expression nodes. Creation order is a topological order
 * (a node's inputs always exist before it), which the compiler relies on.
 *
 * Nodes whose inputs are all constants are folded to constants when they are created, so the
 * compiled density never recomputes transformed data, and every remaining node depends on
 * at least one parameter.
 */
import { ModelError } from "./errors.js";
import { elementwiseOp, isCustomOp, type CustomOp } from "./ops.js";
import { broadcastShapes, formatShape, sameShape, sizeOf, type Shape } from "./shape.js";
import { evaluateCustom, evaluateElementwise } from "./evaluate.js";
import { checkShape, describeValue, MAX_DIMENSION, toNumbers } from "./values.js";
import { checkOdeTimes, checkOdeTolerances, ODE_METHODS, type OdeMethod } from "../ode/index.js";

let nextId = 0;

export type NodeKind =
  | { readonly kind: "const"; readonly values: Float64Array; readonly integer: boolean }
  | { readonly kind: "param"; readonly block: ParamBlock }
  /** A scalar the sampler may change at run time (a learned parameterisation's lambda): never folded, no gradient. */
  | { readonly kind: "tunable"; readonly slot: TunableSlot }
  | { readonly kind: "elementwise"; readonly op: string }
  /** out[k] = input[map[k]]: slices, gathers by index, reshapes, diagonals. */
  | { readonly kind: "access"; readonly map: Int32Array }
  /** Sum of all elements of the input. */
  | { readonly kind: "sum" }
  | { readonly kind: "custom"; readonly op: CustomOp }
  /** Stands for the carry or the current element of a sequence inside a scan body. */
  | { readonly kind: "placeholder" }
  | { readonly kind: "scan"; readonly body: ScanBody }
  /** An ODE solve: the solution at the output times, [ts.length, n] (see src/model/ode.ts). */
  | { readonly kind: "ode"; readonly body: OdeBody };

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

/**
 * An ODE's right-hand side, traced once: `result` (shape [n]) is dy/dt at the placeholders
 * `time` (scalar) and `state` ([n]), and `args` (placeholders for the arguments that are not
 * data). Inputs of the ode node: [y0, ...those arguments, ...free], `free` being outer nodes
 * the body reads, then the output times when they depend on parameters (`ts` is then null),
 * then the initial time when it depends on parameters (`t0` is then null). The solver
 * settings are plain data.
 */
export interface OdeBody {
  readonly method: OdeMethod;
  readonly rtol: number;
  readonly atol: number;
  readonly maxSteps: number;
  /** The initial time when it is data; null when it is the node's last input (a scalar). */
  readonly t0: number | null;
  /** The output times when they are data; null when they are the node's input after `free`. */
  readonly ts: Float64Array | null;
  readonly time: Expr;
  readonly state: Expr;
  readonly args: readonly Expr[];
  readonly result: Expr;
  readonly free: readonly Expr[];
}

/** One run-time tunable scalar: entry `index` of the compiled model's tunable vector. */
export interface TunableSlot {
  readonly name: string;
  readonly index: number;
}

/** The unconstrained coordinates of one parameter: q[offset .. offset + size). */
export interface ParamBlock {
  readonly name: string;
  readonly offset: number;
}

/** Labels are for messages; capped so that building a deep expression stays linear. */
const LABEL_MAX = 80;
const shortLabel = (s: string): string => (s.length <= LABEL_MAX ? s : `${s.slice(0, 52)}...${s.slice(-24)}`);

/**
 * An expression node. Its constructor is the only way to make one, and it checks everything
 * the code generator will read (the node kind, a known operation, a shape of safe integers,
 * index maps in range, genuine input nodes) and freezes the result: a node cannot be changed
 * afterwards, so what was checked is what the compiler sees (DECISIONS.md D24).
 */
export class Expr {
  readonly #id = nextId++;
  /** The shape's element count, computed once (read for every node the tracer and the compiler visit). */
  readonly #size: number;
  #label: string;
  readonly node: NodeKind;
  readonly shape: Shape;
  readonly inputs: readonly Expr[];

  constructor(node: NodeKind, shape: Shape, inputs: readonly Expr[], label: string) {
    this.#label = typeof label === "string" ? shortLabel(label) : "expression";
    this.shape = checkShape(shape, this.#label);
    this.#size = sizeOf(this.shape);
    if (!Array.isArray(inputs) || !inputs.every((i) => Expr.isExpr(i))) {
      throw new ModelError("invalid-argument", `${this.#label}: the inputs of an expression must be expressions`);
    }
    this.inputs = Object.freeze([...inputs]);
    this.node = checkedNode(node, this.shape, this.inputs, this.#label);
    Object.freeze(this);
  }

  /** Whether `x` was made by this constructor (not merely shaped like an `Expr`). */
  static isExpr(x: unknown): x is Expr {
    return typeof x === "object" && x !== null && #id in x;
  }

  /** Creation order: a node's inputs always have smaller ids. */
  get id(): number {
    return this.#id;
  }
  /** A human name for messages: a variable name or a short description (the builder names parameters). */
  get label(): string {
    return this.#label;
  }
  set label(value: string) {
    if (typeof value !== "string") throw new ModelError("invalid-argument", `a label must be a string, got ${describeValue(value)}`);
    this.#label = shortLabel(value);
  }

  get size(): number {
    return this.#size;
  }
  get isConst(): boolean {
    return this.node.kind === "const";
  }
  /** The constant's values; throws for non-constant nodes. */
  get constValues(): Float64Array {
    if (this.node.kind !== "const") throw new ModelError("invalid-argument", `${this.label} is not a constant`);
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

const bad = (what: string, why: string): never => {
  throw new ModelError("invalid-argument", `${what}: ${why}`);
};

/** A frozen copy of a node description, checked against its shape and inputs. */
function checkedNode(node: NodeKind, shape: Shape, inputs: readonly Expr[], what: string): NodeKind {
  if (typeof node !== "object" || node === null) return bad(what, `not an expression node: ${describeValue(node)}`);
  const size = sizeOf(shape);
  const arity = (n: number) => {
    if (inputs.length !== n) bad(what, `a ${node.kind} node takes ${n} input(s), got ${inputs.length}`);
  };
  switch (node.kind) {
    case "const": {
      const values: unknown = node.values;
      if (!(values instanceof Float64Array) || !ArrayBuffer.isView(values) || values.length !== size) {
        return bad(what, `a constant needs a Float64Array of ${size} values`);
      }
      arity(0);
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (!Number.isFinite(v)) throw new ModelError("invalid-constant", `${what} is ${v}${size > 1 ? ` at [${i}]` : ""}; constant expressions must be finite`);
      }
      return Object.freeze({ kind: "const", values, integer: node.integer === true });
    }
    case "param": {
      const block: unknown = node.block;
      const name: unknown = typeof block === "object" && block !== null ? (block as ParamBlock).name : undefined;
      const offset: unknown = typeof block === "object" && block !== null ? (block as ParamBlock).offset : undefined;
      if (typeof name !== "string" || typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0 || offset + size > MAX_DIMENSION) {
        return bad(what, "a parameter node needs a block { name, offset } with an integer offset");
      }
      arity(0);
      return Object.freeze({ kind: "param", block: Object.freeze({ name, offset }) });
    }
    case "elementwise": {
      const op = elementwiseOp(node.op);
      if (op === undefined) return bad(what, `unknown elementwise operation ${describeValue(node.op)}`);
      arity(op.arity);
      return Object.freeze({ kind: "elementwise", op: op.name });
    }
    case "access": {
      const map: unknown = node.map;
      if (!(map instanceof Int32Array) || !ArrayBuffer.isView(map) || map.length !== size) return bad(what, `an access node needs an Int32Array of ${size} indices`);
      arity(1);
      const n = inputs[0]!.size;
      for (let k = 0; k < map.length; k++) if (!(map[k]! >= 0 && map[k]! < n)) bad(what, `index ${map[k]} at [${k}] is outside 0..${n - 1}`);
      return Object.freeze({ kind: "access", map });
    }
    case "sum":
      arity(1);
      if (shape.length !== 0) bad(what, "a sum is a scalar");
      return Object.freeze({ kind: "sum" });
    case "custom":
      if (!isCustomOp(node.op)) return bad(what, "not one of this library's operations");
      return Object.freeze({ kind: "custom", op: node.op });
    case "placeholder":
      arity(0);
      return Object.freeze({ kind: "placeholder" });
    case "tunable": {
      const slot: unknown = node.slot;
      const name: unknown = typeof slot === "object" && slot !== null ? (slot as TunableSlot).name : undefined;
      const index: unknown = typeof slot === "object" && slot !== null ? (slot as TunableSlot).index : undefined;
      if (typeof name !== "string" || typeof index !== "number" || !Number.isSafeInteger(index) || index < 0 || index >= MAX_DIMENSION || size !== 1) {
        return bad(what, "a tunable node is a scalar with a slot { name, index } and an integer index");
      }
      arity(0);
      return Object.freeze({ kind: "tunable", slot: Object.freeze({ name, index }) });
    }
    case "scan": {
      const body: unknown = node.body;
      if (typeof body !== "object" || body === null) return bad(what, "a scan node needs a body");
      const { length, carry, xs, result, free } = body as ScanBody;
      if (
        typeof length !== "number" || !Number.isSafeInteger(length) || length < 1 || shape[0] !== length ||
        !Expr.isExpr(carry) || !Expr.isExpr(result) || !Array.isArray(xs) || !Array.isArray(free) ||
        !xs.every((x) => Expr.isExpr(x)) || !free.every((f) => Expr.isExpr(f)) || inputs.length !== 1 + xs.length + free.length
      ) {
        return bad(what, "a scan node needs a body { length, carry, xs, result, free } of expressions matching its inputs");
      }
      return Object.freeze({ kind: "scan", body: Object.freeze({ length, carry, xs: Object.freeze([...xs]), result, free: Object.freeze([...free]) }) });
    }
    case "ode": {
      const body: unknown = node.body;
      if (typeof body !== "object" || body === null) return bad(what, "an ode node needs a body");
      const { method, rtol, atol, maxSteps, t0, ts, time, state, args, result, free } = body as OdeBody;
      const n = Expr.isExpr(state) ? state.size : -1;
      // Varying output times follow the free nodes.
      const timesAt = 1 + (Array.isArray(args) ? args.length : 0) + (Array.isArray(free) ? free.length : 0);
      if (
        !ODE_METHODS.includes(method) || checkOdeTolerances({ rtol, atol, maxSteps }) !== null ||
        (t0 === null ? inputs[inputs.length - 1]?.shape.length !== 0 : !Number.isFinite(t0)) ||
        (ts === null ? inputs[timesAt]?.shape.length !== 1 || inputs[timesAt]!.size !== shape[0] : !(ts instanceof Float64Array) || (t0 !== null && checkOdeTimes(t0, ts) !== null)) ||
        !Expr.isExpr(time) || time.size !== 1 || !Expr.isExpr(state) || state.shape.length !== 1 || !Expr.isExpr(result) || !sameShape(result.shape, state.shape) ||
        !Array.isArray(args) || !Array.isArray(free) || !args.every((x) => Expr.isExpr(x)) || !free.every((f) => Expr.isExpr(f)) ||
        inputs.length !== 1 + args.length + free.length + (ts === null ? 1 : 0) + (t0 === null ? 1 : 0) || inputs[0]!.size !== n || shape.length !== 2 || shape[1] !== n ||
        (ts !== null && shape[0] !== ts.length)
      ) {
        return bad(what, "an ode node needs a body { method, rtol, atol, maxSteps, t0, ts, time, state, args, result, free } matching its inputs and shape");
      }
      return Object.freeze({
        kind: "ode",
        body: Object.freeze({ method, rtol, atol, maxSteps, t0, ts, time, state, args: Object.freeze([...args]), result, free: Object.freeze([...free]) }),
      });
    }
    default:
      return bad(what, `unknown node kind ${describeValue((node as { kind: unknown }).kind)}`);
  }
}

/** What expression arguments may be: an expression, a number, or numbers in (nested) arrays or typed arrays (constants). */
export type ExprLike = Expr | number | ArrayLike<number> | readonly (readonly number[])[];

/** Constant from numbers (a number, an array, nested arrays or a typed array); `label` names it in messages. */
export function constant(values: number | ArrayLike<number> | readonly (readonly number[])[], shape?: Shape, label?: string, integer = false): Expr {
  const name = typeof label === "string" ? label : typeof values === "number" ? String(values) : "constant";
  const parsed = values instanceof Float64Array ? { values, shape: [values.length] } : toNumbers(values, name);
  const s = shape === undefined ? parsed.shape : checkShape(shape, name);
  if (sizeOf(s) !== parsed.values.length) {
    throw new ModelError("shape-mismatch", `${name}: ${parsed.values.length} values do not fill shape ${formatShape(s)}`);
  }
  return constantOf(values instanceof Float64Array ? Float64Array.from(values) : parsed.values, s, name, integer === true);
}

const constantOf = (values: Float64Array, shape: Shape, label: string, integer: boolean): Expr =>
  new Expr({ kind: "const", values, integer }, shape, [], label);

/**
 * An expression argument as an expression: expressions as they are, numbers and arrays of
 * numbers as constants; anything else (strings, null, booleans, objects) is a ModelError
 * naming `what`. Every operation and distribution lifts its arguments through here.
 */
export function lift(x: unknown, what = "an expression argument"): Expr {
  if (Expr.isExpr(x)) return x;
  if (typeof x === "number") {
    if (!Number.isFinite(x)) throw new ModelError("non-finite-data", `${what} is ${x}; constants must be finite`);
    return constant(x);
  }
  if (Array.isArray(x) || ArrayBuffer.isView(x)) {
    const { values, shape } = toNumbers(x, what);
    return constantOf(values, shape, "constant", false);
  }
  throw new ModelError("invalid-argument", `${what} is ${describeValue(x)}; expected an expression, a number or an array of numbers`);
}

export function elementwise(op: string, args: readonly ExprLike[]): Expr {
  const inputs = args.map((a) => lift(a, `an argument of ${op}`));
  const shape = inputs.reduce<Shape>(
    (s, e) => broadcastShapes(s, e.shape, () => `${op}(${inputs.map(String).join(", ")})`),
    [],
  );
  const label = `${op}(${inputs.map((e) => e.label).join(", ")})`;
  if (inputs.every((e) => e.isConst)) {
    return new Expr(
      { kind: "const", values: evaluateElementwise(elementwiseOp(op)!, inputs.map((e) => e.constValues), inputs.map((e) => e.shape), shape), integer: false },
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
  const [x, y] = [lift(a, "an argument of add"), lift(b, "an argument of add")];
  if (isConstValue(y, 0) && y.shape.length === 0) return x;
  if (isConstValue(x, 0) && x.shape.length === 0) return y;
  return elementwise("add", [x, y]);
}
export function sub(a: ExprLike, b: ExprLike): Expr {
  const [x, y] = [lift(a, "an argument of sub"), lift(b, "an argument of sub")];
  if (isConstValue(y, 0) && y.shape.length === 0) return x;
  return elementwise("sub", [x, y]);
}
export function mul(a: ExprLike, b: ExprLike): Expr {
  const [x, y] = [lift(a, "an argument of mul"), lift(b, "an argument of mul")];
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
  const [x, y] = [lift(a, "an argument of div"), lift(b, "an argument of div")];
  if (y.isConst && !x.isConst) {
    const zero = y.constValues.indexOf(0);
    if (zero >= 0) throw new ModelError("invalid-constant", `${x.label} / ${y.label}: division by zero${y.size > 1 ? ` at [${zero}]` : ""}`);
    return isConstValue(y, 1) ? x : mul(x, constant(y.constValues.map((v) => 1 / v), y.shape));
  }
  if (y.shape.length === 0 && x.shape.length > 0 && !x.isConst) return mul(x, elementwise("div", [1, y]));
  if (y.node.kind === "elementwise" && y.node.op === "exp") return mul(x, exp(neg(y.inputs[0]!)));
  return elementwise("div", [x, y]);
}
export const pow = (a: ExprLike, b: ExprLike): Expr => {
  const y = lift(b, "an argument of pow");
  if (isConstValue(y, 2) && y.shape.length === 0) return square(a);
  if (isConstValue(y, 0.5) && y.shape.length === 0) return sqrt(a);
  return elementwise("pow", [a, y]);
};
export const neg = (a: ExprLike): Expr => elementwise("neg", [a]);
export const exp = (a: ExprLike): Expr => elementwise("exp", [a]);
/** log(exp(x)) simplifies to x: sv's `student_t(nu, 0, exp(s))` needs no log per element. */
export const log = (a: ExprLike): Expr => {
  const x = lift(a, "an argument of log");
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
  const x = lift(a, "sum");
  if (x.isConst) return constant(x.constValues.reduce((s, v) => s + v, 0), [], `sum(${x.label})`);
  if (x.shape.length === 0) return x;
  return new Expr({ kind: "sum" }, [], [x], `sum(${x.label})`);
}
export const mean = (a: ExprLike): Expr => {
  const x = lift(a, "mean");
  if (x.size === 0) throw new ModelError("shape-mismatch", `mean of ${x}: no elements`);
  return div(sum(x), x.size);
};
export const dot = (a: ExprLike, b: ExprLike): Expr => {
  const [x, y] = [lift(a, "dot"), lift(b, "dot")];
  if (x.shape.length !== 1 || !sameShape(x.shape, y.shape)) {
    throw new ModelError("shape-mismatch", `dot(${x}, ${y}) needs two vectors of one length`);
  }
  return sum(mul(x, y));
};

/** out[k] = x[map[k]] with the output shape given. */
export function access(x: Expr, map: Int32Array, shape: Shape, label: string): Expr {
  if (x.isConst) {
    const src = x.constValues;
    return constantOf(Float64Array.from(map, (m) => src[m]!), shape, label, x.node.kind === "const" && x.node.integer);
  }
  if (map.length === x.size && isIdentity(map)) {
    return sameShape(shape, x.shape) ? x : new Expr({ kind: "access", map }, shape, [x], label);
  }
  return new Expr({ kind: "access", map }, shape, [x], label);
}

export function slice(x: Expr, start: number, end?: number): Expr {
  x = lift(x, "slice");
  if (x.shape.length !== 1) throw new ModelError("shape-mismatch", `slice of ${x} needs a vector`);
  const n = x.shape[0]!;
  end ??= n;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
    throw new ModelError("index-out-of-range", `slice(${describeValue(start)}, ${describeValue(end)}) of ${x} is out of range 0..${n}`);
  }
  const map = new Int32Array(end - start).map((_, k) => start + k);
  return access(x, map, [end - start], `${x.label}[${start}:${end}]`);
}

/**
 * x[index[k]] for a 0-based integer index array (for matrices, selects rows); a number selects
 * one element (or row) and drops that axis.
 */
export function gather(x: Expr, index: number | ArrayLike<number> | Expr): Expr {
  x = lift(x, "gather");
  const idx = Expr.isExpr(index) ? index : typeof index === "number" ? constant(index, [], String(index), true) : constant(index, undefined, "index", true);
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
  x = lift(x, "reshape");
  shape = checkShape(shape, `reshape of ${x}`);
  if (sizeOf(shape) !== x.size) {
    throw new ModelError("shape-mismatch", `cannot reshape ${x} to ${formatShape(shape)}`);
  }
  if (x.isConst) return constant(x.constValues, shape, x.label);
  // What the identity access below would give, without building and checking its map.
  if (sameShape(shape, x.shape)) return x;
  return access(x, identityMap(x.size), shape, x.label);
}

/** 0, 1, ..., n - 1. */
function identityMap(n: number): Int32Array {
  const map = new Int32Array(n);
  for (let k = 0; k < n; k++) map[k] = k;
  return map;
}

function isIdentity(map: Int32Array): boolean {
  for (let k = 0; k < map.length; k++) if (map[k] !== k) return false;
  return true;
}

/** Diagonal of a square matrix. */
export function diagonal(x: Expr): Expr {
  x = lift(x, "diagonal");
  const [r, c] = x.shape;
  if (x.shape.length !== 2 || r !== c) throw new ModelError("shape-mismatch", `diagonal of ${x} needs a square matrix`);
  return access(x, new Int32Array(r!).map((_, k) => k * r! + k), [r!], `diagonal(${x.label})`);
}

/** Column j (0-based) of a matrix. */
export function column(x: Expr, j: number): Expr {
  x = lift(x, "column");
  const [r, c] = x.shape;
  if (x.shape.length !== 2) throw new ModelError("shape-mismatch", `column of ${x} needs a matrix`);
  if (!Number.isInteger(j) || j < 0 || j >= c!) throw new ModelError("index-out-of-range", `column ${describeValue(j)} of ${x} is out of range 0..${c! - 1}`);
  return access(x, new Int32Array(r!).map((_, k) => k * c! + j), [r!], `${x.label}[:, ${j}]`);
}

/** A node computed by a custom (non-elementwise) operation. */
export function custom(op: CustomOp, inputs: readonly ExprLike[], shape: Shape, label: string): Expr {
  const xs = inputs.map((i) => lift(i, `an argument of ${op.name}`));
  if (xs.every((e) => e.isConst)) {
    const values = evaluateCustom(op, xs.map((e) => e.constValues), xs.map((e) => e.shape), shape);
    return constant(values, shape, label);
  }
  return new Expr({ kind: "custom", op }, shape, xs, label);
}

/** A run-time tunable scalar (used by the builder only). */
export function tunableLeaf(slot: TunableSlot): Expr {
  return new Expr({ kind: "tunable", slot }, [], [], slot.name);
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
    if (e.node.kind === "scan" || e.node.kind === "ode") stack.push(e.node.body.result, ...e.node.body.free);
  }
  return undefined;
}

/** Free parameter coordinates, before any transform (used by the builder only). */
export function paramLeaf(block: ParamBlock, shape: Shape): Expr {
  return new Expr({ kind: "param", block }, shape, [], `${block.name}__unconstrained`);
}

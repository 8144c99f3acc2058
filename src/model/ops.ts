/**
 * Operation definitions shared by the constant evaluator (model layer) and the code generator
 * (compile layer). Every operation is defined once, as code templates over JavaScript
 * expressions: a forward template and, for reverse mode, one partial-derivative template per
 * argument. Derivatives therefore cannot drift from the values they differentiate.
 */
import type { Shape } from "./shape.js";
import type { ElementwiseOp } from "./elementwise-op.js";
import { CDF_OPS } from "./cdf-ops.js";

export type { ElementwiseOp } from "./elementwise-op.js";

const unary = (name: string, fwd: (a: string) => string, der: (a: string, v: string) => string): ElementwiseOp => ({
  name,
  arity: 1,
  fwd: ([a]) => fwd(a!),
  der: (_k, [a], v) => der(a!, v),
});

const binary = (
  name: string,
  fwd: (a: string, b: string) => string,
  derA: (a: string, b: string, v: string) => string,
  derB: (a: string, b: string, v: string) => string,
): ElementwiseOp => ({
  name,
  arity: 2,
  fwd: ([a, b]) => fwd(a!, b!),
  der: (k, [a, b], v) => (k === 0 ? derA(a!, b!, v) : derB(a!, b!, v)),
});

/**
 * `rt` is the runtime helper object passed to generated code (src/compile/runtime.ts).
 * Frozen, like every operation in it: an `Expr` names an elementwise operation by one of
 * these own keys, and only these templates reach generated code.
 */
export const ELEMENTWISE: Readonly<Record<string, ElementwiseOp>> = Object.freeze(Object.fromEntries(
  [
    unary("neg", (a) => `-${a}`, () => "-1"),
    unary("exp", (a) => `Math.exp(${a})`, (_a, v) => v),
    unary("log", (a) => `Math.log(${a})`, (a) => `1/${a}`),
    unary("log1p", (a) => `Math.log1p(${a})`, (a) => `1/(1+${a})`),
    unary("log1m", (a) => `Math.log1p(-${a})`, (a) => `-1/(1-${a})`),
    unary("expm1", (a) => `Math.expm1(${a})`, (_a, v) => `(${v}+1)`),
    unary("sqrt", (a) => `Math.sqrt(${a})`, (_a, v) => `0.5/${v}`),
    unary("square", (a) => `${a}*${a}`, (a) => `2*${a}`),
    unary("abs", (a) => `Math.abs(${a})`, (a) => `Math.sign(${a})`),
    unary("tanh", (a) => `Math.tanh(${a})`, (_a, v) => `(1-${v}*${v})`),
    unary("logistic", (a) => `rt.logistic(${a})`, (_a, v) => `${v}*(1-${v})`),
    unary("logit", (a) => `Math.log(${a}/(1-${a}))`, (a) => `1/(${a}*(1-${a}))`),
    unary("log1pExp", (a) => `rt.log1pExp(${a})`, (a) => `rt.logistic(${a})`),
    unary("log1mExp", (a) => `rt.log1mExp(${a})`, (a) => `-1/Math.expm1(-${a})`),
    unary("lgamma", (a) => `rt.lgamma(${a})`, (a) => `rt.digamma(${a})`),
    binary("add", (a, b) => `${a}+${b}`, () => "1", () => "1"),
    binary("sub", (a, b) => `${a}-${b}`, () => "1", () => "-1"),
    binary("mul", (a, b) => `${a}*${b}`, (_a, b) => b, (a) => a),
    binary("div", (a, b) => `${a}/${b}`, (_a, b) => `1/${b}`, (_a, b, v) => `-${v}/${b}`),
    binary(
      "pow",
      (a, b) => `Math.pow(${a},${b})`,
      (a, b) => `${b}*Math.pow(${a},${b}-1)`,
      (a, _b, v) => `${v}*Math.log(${a})`,
    ),
    binary(
      "lgammaDiff",
      (a, b) => `rt.lgammaDiff(${a},${b})`,
      (a, b) => `(rt.digamma(${a}+${b})-rt.digamma(${a}))`,
      (a, b) => `rt.digamma(${a}+${b})`,
    ),
    binary(
      "logAddExp",
      (a, b) => `rt.logAddExp(${a},${b})`,
      (a, _b, v) => `Math.exp(${a}-${v})`,
      (_a, b, v) => `Math.exp(${b}-${v})`,
    ),
    // Comparisons and a selection (Stan's conditional operator and fmin/fmax on parameters):
    // piecewise constant in their tests, so their derivatives there are zero.
    ...([["eq", "==="], ["ne", "!=="], ["lt", "<"], ["le", "<="], ["gt", ">"], ["ge", ">="]] as const).map(([name, op]) =>
      binary(name, (a, b) => `(${a}${op}${b}?1:0)`, () => "0", () => "0"),
    ),
    binary("and", (a, b) => `(${a}!==0&&${b}!==0?1:0)`, () => "0", () => "0"),
    binary("or", (a, b) => `(${a}!==0||${b}!==0?1:0)`, () => "0", () => "0"),
    {
      name: "ifElse",
      arity: 3,
      fwd: ([c, a, b]: readonly string[]) => `(${c}!==0?${a}:${b})`,
      der: (k: number, [c]: readonly string[]) => (k === 0 ? "0" : k === 1 ? `(${c}!==0?1:0)` : `(${c}!==0?0:1)`),
    },
    ...CDF_OPS,
  ].map((op) => [op.name, Object.freeze(op)]),
));

/** The elementwise operation of that name, or undefined (own keys only: never `constructor` and the like). */
export const elementwiseOp = (name: unknown): ElementwiseOp | undefined =>
  typeof name === "string" && Object.hasOwn(ELEMENTWISE, name) ? ELEMENTWISE[name] : undefined;

/**
 * Code-generation context for a non-elementwise ("custom") operation. Inputs and output are
 * materialised; element accessors return code (an lvalue for adjoints). A scalar is accessed
 * with index "0".
 */
export interface CustomCodeContext {
  readonly inShapes: readonly Shape[];
  readonly outShape: Shape;
  /** Code reading element `idx` (code) of input k. */
  x(k: number, idx: string): string;
  /** Lvalue code of input k's adjoint at `idx`, or null when input k needs no gradient. */
  gx(k: number, idx: string): string | null;
  /** Lvalue code of output element `idx`. */
  y(idx: string): string;
  /** Code reading the output adjoint at `idx`. */
  gy(idx: string): string;
  /** Name of a per-model scratch Float64Array of `size` entries (one per call site). */
  scratch(size: number): string;
  /** Name of a constant array available to the generated code. */
  constant(values: Float64Array | Int32Array): string;
  /** A fresh identifier for loop variables and temporaries. */
  fresh(prefix: string): string;
}

/** A non-elementwise operation: its code writes the whole output, then its whole adjoint. */
export interface CustomOp {
  readonly name: string;
  fwd(c: CustomCodeContext): string;
  bwd(c: CustomCodeContext): string;
}

const customOps = new WeakSet<CustomOp>();

/**
 * Defines one of this library's non-elementwise operations. Only operations defined here can
 * be part of an `Expr` (so only this library's code templates reach generated code).
 */
export function defineCustomOp<T extends CustomOp>(op: T): T {
  Object.freeze(op);
  customOps.add(op);
  return op;
}

export const isCustomOp = (op: unknown): op is CustomOp => typeof op === "object" && op !== null && customOps.has(op as CustomOp);

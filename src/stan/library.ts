/**
 * Stan's operators and built-in functions over IR values. Functions of data are computed at
 * once (constant folding, or plain JavaScript where the IR has no node); functions of
 * parameters build IR nodes. A function the front end does not know is an error naming it.
 */
import {
  abs, add, cholesky, concat, constant, dist, div, exp, expm1, Expr, lgamma, log, log1m, log1mExp, log1p, log1pExp,
  logAddExp, logistic, logit, logSumExp, lowerSolve, matvec, mul, neg, pow, reshape, sqrt, square, sub, sum, tanh,
  type Distribution,
} from "../model/index.js";
import { access, elementwise } from "../model/expr.js";
import { symmetricEigen } from "../model/linalg.js";
import { logDiffExp, logPhi } from "../model/cdf.js";
import { sizeOf, type Shape } from "../model/shape.js";
import { StanError, type Location } from "./errors.js";
import { INT, REAL, numberOf, typeName, type SType, type Val } from "./values.js";

const LN10 = Math.LN10;

const err = (kind: "type" | "unsupported" | "runtime", message: string, loc?: Location): never => {
  throw new StanError(kind, message, loc);
};

const isInt = (v: Val) => v.t.base === "int";
const scalarType = (t: SType) => t.arr === 0 && (t.base === "int" || t.base === "real");
const realOf = (t: SType): SType => (t.base === "int" ? { base: "real", arr: t.arr } : t);

/** Transpose of a matrix (or a vector to a row vector and back: same values, other type). */
export function transpose(v: Val): Val {
  if (v.t.arr !== 0) err("type", `Transpose of ${typeName(v.t)} is not defined.`);
  if (v.t.base === "vector") return { t: { base: "row_vector", arr: 0 }, e: v.e };
  if (v.t.base === "row_vector") return { t: { base: "vector", arr: 0 }, e: v.e };
  if (v.t.base !== "matrix") return v;
  const [r, c] = v.e.shape as [number, number];
  const map = new Int32Array(r * c);
  for (let i = 0; i < c; i++) for (let j = 0; j < r; j++) map[i * r + j] = j * c + i;
  return { t: v.t, e: access(v.e, map, [c, r], `${v.e.label}'`) };
}

/** Elementwise combination with Stan's rule: same shapes, or a scalar with anything. */
function zip(a: Val, b: Val, f: (x: Expr, y: Expr) => Expr, what: string, loc?: Location): Val {
  const sa = scalarType(a.t);
  const sb = scalarType(b.t);
  if (!sa && !sb && (a.e.shape.length !== b.e.shape.length || a.e.shape.some((d, k) => d !== b.e.shape[k]))) {
    err("type", `${what}: the operands have sizes [${a.e.shape}] and [${b.e.shape}], which do not match.`, loc);
  }
  const t: SType = sa ? (sb ? (isInt(a) && isInt(b) ? INT : REAL) : realOf(b.t)) : realOf(a.t);
  return { t, e: f(a.e, b.e) };
}

const intResult = (t: SType, e: Expr): Val => (t.base === "int" ? { t, e: constant(e.constValues, e.shape, e.label, true) } : { t, e });

function matmul(a: Val, b: Val, loc?: Location): Val {
  const [ta, tb] = [a.t.base, b.t.base];
  if (ta === "row_vector" && tb === "vector") {
    if (a.e.size !== b.e.size) err("type", `Row vector of size ${a.e.size} times vector of size ${b.e.size}.`, loc);
    return { t: REAL, e: sum(mul(a.e, b.e)) };
  }
  if (ta === "vector" && tb === "row_vector") {
    return { t: { base: "matrix", arr: 0 }, e: mul(reshape(a.e, [a.e.size, 1]), reshape(b.e, [1, b.e.size])) };
  }
  if (ta === "matrix" && tb === "vector") {
    if (a.e.shape[1] !== b.e.size) err("type", `Matrix [${a.e.shape}] times vector of size ${b.e.size}.`, loc);
    return { t: { base: "vector", arr: 0 }, e: matvec(a.e, b.e) };
  }
  if (ta === "row_vector" && tb === "matrix") {
    if (b.e.shape[0] !== a.e.size) err("type", `Row vector of size ${a.e.size} times matrix [${b.e.shape}].`, loc);
    return { t: { base: "row_vector", arr: 0 }, e: matvec(transpose(b).e, a.e) };
  }
  if (ta === "matrix" && tb === "matrix") {
    const [n, k] = a.e.shape as [number, number];
    const [k2, m] = b.e.shape as [number, number];
    if (k !== k2) err("type", `Matrix [${n}, ${k}] times matrix [${k2}, ${m}].`, loc);
    if (a.e.isConst && b.e.isConst) {
      const [x, y] = [a.e.constValues, b.e.constValues];
      const out = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) s += x[i * k + l]! * y[l * m + j]!;
        out[i * m + j] = s;
      }
      return { t: a.t, e: constant(out, [n, m]) };
    }
    const bt = transpose(b).e;
    const cols = Array.from({ length: m }, (_, j) => matvec(a.e, access(bt, Int32Array.from({ length: k }, (_, l) => j * k + l), [k], "column")));
    return transpose({ t: a.t, e: reshape(concat(cols), [m, n]) });
  }
  return err("type", `Multiplication of ${typeName(a.t)} by ${typeName(b.t)} is not defined.`, loc);
}

/** Applies a binary operator. */
export function binaryOp(op: string, a: Val, b: Val, loc?: Location): Val {
  if ((a.t.arr > 0 || b.t.arr > 0) && !["==", "!=", "&&", "||"].includes(op)) {
    err("type", `Operator ${op} is not defined for arrays (${typeName(a.t)}, ${typeName(b.t)}).`, loc);
  }
  const bothInt = isInt(a) && isInt(b) && scalarType(a.t) && scalarType(b.t);
  switch (op) {
    case "+":
      return bothInt ? intResult(INT, add(a.e, b.e)) : zip(a, b, add, "Addition", loc);
    case "-":
      return bothInt ? intResult(INT, sub(a.e, b.e)) : zip(a, b, sub, "Subtraction", loc);
    case "*":
      if (bothInt) return intResult(INT, mul(a.e, b.e));
      if (scalarType(a.t) || scalarType(b.t)) return zip(a, b, mul, "Multiplication", loc);
      return matmul(a, b, loc);
    case "/":
      if (bothInt) return { t: INT, e: intZip(a.e, b.e, (x, y) => (y === 0 ? err("runtime", "Integer division by zero.", loc) : Math.trunc(x / y))) };
      if (scalarType(b.t)) return zip(a, b, div, "Division", loc);
      if (a.t.base === "row_vector" && b.t.base === "matrix") return err("unsupported", "Right division by a matrix (b / A) is not supported.", loc);
      return err("type", `Division of ${typeName(a.t)} by ${typeName(b.t)} is not defined (use ./ for elementwise division).`, loc);
    case "%/%": {
      if (!bothInt) err("type", "%/% takes two integers.", loc);
      return { t: INT, e: intZip(a.e, b.e, (x, y) => (y === 0 ? err("runtime", "Integer division by zero.", loc) : Math.trunc(x / y))) };
    }
    case "%": {
      if (!bothInt) err("type", "% takes two integers.", loc);
      return { t: INT, e: intZip(a.e, b.e, (x, y) => (y === 0 ? err("runtime", "Modulus by zero.", loc) : x % y)) };
    }
    case ".*":
      return zip(a, b, mul, "Elementwise multiplication", loc);
    case "./":
      return zip(a, b, div, "Elementwise division", loc);
    case "^":
    case ".^":
      return zip({ t: realOf(a.t), e: a.e }, b, pow, "Power", loc);
    case "\\":
      if (a.t.base === "matrix" && (b.t.base === "vector" || b.t.base === "matrix")) {
        return err("unsupported", "Left division by a general matrix (A \\ b) is not supported; mdivide_left_tri_low works for triangular A.", loc);
      }
      return err("type", "\\ takes a matrix and a vector or matrix.", loc);
    case "==":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=":
    case "&&":
    case "||": {
      if (!scalarType(a.t) || !scalarType(b.t)) err("type", `Operator ${op} takes int or real operands, got ${typeName(a.t)} and ${typeName(b.t)}.`, loc);
      if (a.e.isConst && b.e.isConst) {
        const test = (x: number, y: number) => ({ "==": x === y, "!=": x !== y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "&&": x !== 0 && y !== 0, "||": x !== 0 || y !== 0 })[op];
        return { t: INT, e: intZip(a.e, b.e, (x, y) => (test(x, y) ? 1 : 0)) };
      }
      return { t: INT, e: elementwise(COMPARISON[op]!, [a.e, b.e]) };
    }
  }
  return err("type", `Unknown operator ${op}.`, loc);
}

/** An integer operation on constants, elementwise (one side may be a single number). */
function intZip(a: Expr, b: Expr, f: (x: number, y: number) => number): Expr {
  if (!a.isConst || !b.isConst) return err("type", "Integer operands must be known from the data.");
  const [x, y] = [a.constValues, b.constValues];
  const n = Math.max(x.length, y.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(x[x.length === 1 ? 0 : i]!, y[y.length === 1 ? 0 : i]!);
  return constant(out, a.size >= b.size ? a.shape : b.shape, "", true);
}

const COMPARISON: Record<string, string> = { "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "&&": "and", "||": "or" };

export function unaryOp(op: string, a: Val, loc?: Location): Val {
  if (op === "-") {
    if (a.t.arr > 0) err("type", "Negation of an array is not defined.", loc);
    return isInt(a) ? intResult(a.t, neg(a.e)) : { t: a.t, e: neg(a.e) };
  }
  if (!scalarType(a.t)) err("type", `Operator ! takes an int or real, got ${typeName(a.t)}.`, loc);
  if (a.e.isConst) return { t: INT, e: constant(a.e.constValues.map((x) => (x === 0 ? 1 : 0)), a.e.shape, "", true) };
  return { t: INT, e: elementwise("eq", [a.e, 0]) };
}

// ---------------------------------------------------------------- functions

type Fn = (args: Val[], loc?: Location) => Val;

/** Unary elementwise math: the IR form (for parameters) and a JavaScript form (for data). */
function math(ir: ((x: Expr) => Expr) | null, js: (x: number) => number, name: string, intOut = false): Fn {
  return ([x], loc) => {
    if (!x) return err("type", `${name} takes one argument.`, loc);
    const t = intOut ? x.t : realOf(x.t);
    if (x.e.isConst) {
      const v = x.e.constValues.map(js);
      return { t, e: constant(v, x.e.shape, `${name}(${x.e.label})`, intOut && x.t.base === "int") };
    }
    if (!ir) return err("unsupported", `${name} of parameters is not supported (only of data).`, loc);
    return { t, e: ir(x.e) };
  };
}

const real = (e: Expr): Val => ({ t: REAL, e });
const vectorVal = (e: Expr): Val => ({ t: { base: "vector", arr: 0 }, e });
const num = (v: Val | undefined, what: string, loc?: Location): number => {
  if (!v) return err("type", `${what} is missing.`, loc);
  return numberOf(v, what, loc);
};
const arity = (name: string, args: Val[], n: number | number[], loc?: Location) => {
  const ok = Array.isArray(n) ? n.includes(args.length) : args.length === n;
  if (!ok) err("type", `${name} takes ${Array.isArray(n) ? n.join(" or ") : n} argument(s), got ${args.length}.`, loc);
};

function lgammaJs(x: number): number {
  const c = constant(x);
  return lgamma(c).constValues[0]!;
}

function sdOf(x: Expr): Expr {
  const n = x.size;
  const m = div(sum(x), n);
  return sqrt(div(sum(square(sub(x, m))), n - 1));
}

function squaredDistances(x: Val, loc?: Location): Expr {
  const e = x.e;
  const n = e.shape[0]!;
  const d = e.shape.length === 1 ? 1 : e.shape[1]!;
  if (!e.isConst) return err("unsupported", "gp_exp_quad_cov of parameter inputs is not supported (only of data).", loc);
  const v = e.constValues;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (v[i * d + k]! - v[j * d + k]!) ** 2;
    out[i * n + j] = s;
  }
  return constant(out, [n, n]);
}

function fill(shape: Shape, x: Expr): Expr {
  const n = sizeOf(shape);
  if (x.isConst) {
    const src = x.constValues;
    const out = new Float64Array(n * x.size);
    for (let i = 0; i < n; i++) out.set(src, i * x.size);
    return constant(out, [...shape, ...x.shape]);
  }
  return access(x, Int32Array.from({ length: n * x.size }, (_, k) => k % x.size), [...shape, ...x.shape], `rep(${x.label})`);
}

function flatVector(v: Val): Expr {
  return v.e.shape.length === 1 ? v.e : reshape(v.e, [v.e.size]);
}

/** Column-major flattening (Stan's to_vector of a matrix). */
function columnMajor(v: Val): Expr {
  if (v.t.base !== "matrix" || v.t.arr !== 0) return flatVector(v);
  return flatVector(transpose(v));
}

/** One decomposition per matrix, so eigenvalues_sym and eigenvectors_sym of it share it. */
const eigenCache = new WeakMap<Expr, ReturnType<typeof symmetricEigen>>();
function eigenOf(m: Val, name: string, loc?: Location): ReturnType<typeof symmetricEigen> {
  if (m.t.base !== "matrix" || m.t.arr !== 0 || m.e.shape[0] !== m.e.shape[1]) err("type", `${name} takes a square matrix, got ${typeName(m.t)} [${m.e.shape}].`, loc);
  let found = eigenCache.get(m.e);
  if (!found) eigenCache.set(m.e, (found = symmetricEigen(m.e)));
  return found;
}

export const FUNCTIONS: Record<string, Fn> = {
  exp: math(exp, Math.exp, "exp"),
  log: math(log, Math.log, "log"),
  log2: math((x) => div(log(x), Math.LN2), Math.log2, "log2"),
  log10: math((x) => div(log(x), LN10), Math.log10, "log10"),
  log1p: math(log1p, Math.log1p, "log1p"),
  log1m: math(log1m, (x) => Math.log1p(-x), "log1m"),
  expm1: math(expm1, Math.expm1, "expm1"),
  sqrt: math(sqrt, Math.sqrt, "sqrt"),
  cbrt: math((x) => pow(x, 1 / 3), Math.cbrt, "cbrt"),
  square: math(square, (x) => x * x, "square"),
  inv: math((x) => div(1, x), (x) => 1 / x, "inv"),
  inv_sqrt: math((x) => div(1, sqrt(x)), (x) => 1 / Math.sqrt(x), "inv_sqrt"),
  inv_square: math((x) => div(1, square(x)), (x) => 1 / (x * x), "inv_square"),
  fabs: math(abs, Math.abs, "fabs"),
  abs: math(abs, Math.abs, "abs", true),
  tanh: math(tanh, Math.tanh, "tanh"),
  inv_logit: math(logistic, (x) => 1 / (1 + Math.exp(-x)), "inv_logit"),
  logit: math(logit, (x) => Math.log(x / (1 - x)), "logit"),
  log1p_exp: math(log1pExp, (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))), "log1p_exp"),
  log1m_exp: math(log1mExp, (x) => (x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x))), "log1m_exp"),
  log_inv_logit: math((x) => neg(log1pExp(neg(x))), (x) => -Math.log1p(Math.exp(-x)), "log_inv_logit"),
  log1m_inv_logit: math((x) => neg(log1pExp(x)), (x) => -Math.log1p(Math.exp(x)), "log1m_inv_logit"),
  lgamma: math(lgamma, lgammaJs, "lgamma"),
  tgamma: math(null, (x) => Math.exp(lgammaJs(x)) * (x < 0 && Math.floor(-x) % 2 === 0 ? -1 : 1), "tgamma"),
  Phi: math((x) => exp(logPhi(x)), (x) => Math.exp(logPhi(constant(x)).constValues[0]!), "Phi"),
  std_normal_log_cdf: math(logPhi, (x) => logPhi(constant(x)).constValues[0]!, "std_normal_log_cdf"),
  Phi_approx: math((x) => logistic(add(mul(0.07056, mul(square(x), x)), mul(1.5976, x))), (x) => 1 / (1 + Math.exp(-(0.07056 * x ** 3 + 1.5976 * x))), "Phi_approx"),
  sin: math(null, Math.sin, "sin"),
  cos: math(null, Math.cos, "cos"),
  tan: math(null, Math.tan, "tan"),
  atan: math(null, Math.atan, "atan"),
  asin: math(null, Math.asin, "asin"),
  acos: math(null, Math.acos, "acos"),
  sinh: math(null, Math.sinh, "sinh"),
  cosh: math(null, Math.cosh, "cosh"),
  floor: math(null, Math.floor, "floor"),
  ceil: math(null, Math.ceil, "ceil"),
  round: math(null, Math.round, "round"),
  trunc: math(null, Math.trunc, "trunc"),
  erf: math(null, (x) => 2 * Math.exp(logPhi(constant(x * Math.SQRT2)).constValues[0]!) - 1, "erf"),
  step: math((x) => elementwise("ge", [x, 0]), (x) => (x < 0 ? 0 : 1), "step"),
  int_step: ([x], loc) => ({ t: INT, e: constant(num(x, "int_step's argument", loc) > 0 ? 1 : 0, [], "", true) }),
  is_inf: ([x], loc) => ({ t: INT, e: constant(Math.abs(num(x, "is_inf's argument", loc)) === Infinity ? 1 : 0, [], "", true) }),
  is_nan: ([x], loc) => ({ t: INT, e: constant(Number.isNaN(num(x, "is_nan's argument", loc)) ? 1 : 0, [], "", true) }),
  pow: ([a, b], loc) => binaryOp("^", a!, b!, loc),
  fma: ([a, b, c], loc) => binaryOp("+", binaryOp("*", a!, b!, loc), c!, loc),
  hypot: ([a, b]) => real(sqrt(add(square(a!.e), square(b!.e)))),
  fmin: ([a, b], loc) => minmax(a!, b!, "min", loc),
  fmax: ([a, b], loc) => minmax(a!, b!, "max", loc),
  fdim: ([a, b], loc) => minmax(real(sub(a!.e, b!.e)), real(constant(0)), "max", loc),
  lbeta: ([a, b]) => real(sub(add(lgamma(a!.e), lgamma(b!.e)), lgamma(add(a!.e, b!.e)))),
  lchoose: ([n, k]) => real(sub(lgamma(add(n!.e, 1)), add(lgamma(add(k!.e, 1)), lgamma(add(sub(n!.e, k!.e), 1))))),
  binomial_coefficient_log: ([n, k]) => real(sub(lgamma(add(n!.e, 1)), add(lgamma(add(k!.e, 1)), lgamma(add(sub(n!.e, k!.e), 1))))),
  choose: ([n, k], loc) => {
    const [a, b] = [num(n, "choose's n", loc), num(k, "choose's k", loc)];
    return { t: INT, e: constant(Math.round(Math.exp(lgammaJs(a + 1) - lgammaJs(b + 1) - lgammaJs(a - b + 1))), [], "", true) };
  },
  log_diff_exp: ([a, b]) => real(logDiffExp(a!.e, b!.e)),
  log_mix: (args, loc) => {
    arity("log_mix", args, 3, loc);
    const [theta, a, b] = args as [Val, Val, Val];
    return { t: realOf(a.t), e: logAddExp(add(log(theta.e), a.e), add(log1m(theta.e), b.e)) };
  },
  log_sum_exp: (args, loc) => {
    if (args.length === 2) return zip(args[0]!, args[1]!, logAddExp, "log_sum_exp", loc);
    arity("log_sum_exp", args, 1, loc);
    const x = args[0]!;
    return real(x.e.size === 1 ? reshape(x.e, []) : logSumExp(x.e));
  },
  log_softmax: ([x]) => vectorVal(sub(x!.e, logSumExp(x!.e))),
  softmax: ([x]) => vectorVal(exp(sub(x!.e, logSumExp(x!.e)))),
  sum: ([x]) => ({ t: x!.t.base === "int" ? INT : REAL, e: sum(x!.e) }),
  prod: ([x], loc) => {
    if (!x!.e.isConst) return err("unsupported", "prod of parameters is not supported.", loc);
    return { t: x!.t.base === "int" ? INT : REAL, e: constant(x!.e.constValues.reduce((p, v) => p * v, 1), [], "", x!.t.base === "int") };
  },
  mean: ([x]) => real(div(sum(x!.e), x!.e.size)),
  variance: ([x]) => real(square(sdOf(x!.e))),
  sd: ([x]) => real(sdOf(x!.e)),
  max: (args, loc) => (args.length === 2 ? minmax(args[0]!, args[1]!, "max", loc) : reduceConst(args[0]!, "max", loc)),
  min: (args, loc) => (args.length === 2 ? minmax(args[0]!, args[1]!, "min", loc) : reduceConst(args[0]!, "min", loc)),
  dot_product: ([a, b]) => real(sum(mul(flatVector(a!), flatVector(b!)))),
  dot_self: ([a]) => real(sum(square(a!.e))),
  squared_distance: ([a, b]) => real(sum(square(sub(flatVector(a!), flatVector(b!))))),
  distance: ([a, b]) => real(sqrt(sum(square(sub(flatVector(a!), flatVector(b!)))))),
  num_elements: ([x]) => ({ t: INT, e: constant(x!.e.size, [], "", true) }),
  size: ([x]) => ({ t: INT, e: constant(x!.e.shape[0] ?? 1, [], "", true) }),
  rows: ([x]) => ({ t: INT, e: constant(x!.t.base === "row_vector" ? 1 : x!.e.shape[0]!, [], "", true) }),
  cols: ([x]) => ({ t: INT, e: constant(x!.t.base === "matrix" ? x!.e.shape[1]! : x!.t.base === "row_vector" ? x!.e.size : 1, [], "", true) }),
  rep_vector: ([x, n], loc) => vectorVal(fill([num(n, "rep_vector's size", loc)], x!.e)),
  rep_row_vector: ([x, n], loc) => ({ t: { base: "row_vector", arr: 0 }, e: fill([num(n, "rep_row_vector's size", loc)], x!.e) }),
  rep_matrix: (args, loc) => {
    const [x, m, n] = args;
    if (args.length === 3) return { t: { base: "matrix", arr: 0 }, e: fill([num(m, "rep_matrix's rows", loc), num(n, "rep_matrix's columns", loc)], x!.e) };
    const k = num(m, "rep_matrix's count", loc);
    if (x!.t.base === "vector") return transpose({ t: { base: "matrix", arr: 0 }, e: fill([k], x!.e) });
    return { t: { base: "matrix", arr: 0 }, e: fill([k], x!.e) };
  },
  rep_array: (args, loc) => {
    const [x, ...dims] = args;
    const shape = dims.map((d) => num(d, "rep_array's size", loc));
    return { t: { base: x!.t.base, arr: x!.t.arr + shape.length }, e: fill(shape, x!.e) };
  },
  zeros_vector: ([n], loc) => vectorVal(constant(new Float64Array(num(n, "size", loc)))),
  ones_vector: ([n], loc) => vectorVal(constant(new Float64Array(num(n, "size", loc)).fill(1))),
  zeros_row_vector: ([n], loc) => ({ t: { base: "row_vector", arr: 0 }, e: constant(new Float64Array(num(n, "size", loc))) }),
  ones_row_vector: ([n], loc) => ({ t: { base: "row_vector", arr: 0 }, e: constant(new Float64Array(num(n, "size", loc)).fill(1)) }),
  linspaced_vector: ([n, a, b], loc) => {
    const [k, lo, hi] = [num(n, "size", loc), num(a, "lower", loc), num(b, "upper", loc)];
    return vectorVal(constant(Float64Array.from({ length: k }, (_, i) => (k === 1 ? hi : lo + ((hi - lo) * i) / (k - 1)))));
  },
  linspaced_array: ([n, a, b], loc) => {
    const [k, lo, hi] = [num(n, "size", loc), num(a, "lower", loc), num(b, "upper", loc)];
    return { t: { base: "real", arr: 1 }, e: constant(Float64Array.from({ length: k }, (_, i) => (k === 1 ? hi : lo + ((hi - lo) * i) / (k - 1)))) };
  },
  append_row: ([a, b]) => {
    // Two row vectors stack into a two-row matrix, as with a matrix on either side.
    if (a!.t.base === "matrix" || b!.t.base === "matrix" || (a!.t.base === "row_vector" && b!.t.base === "row_vector")) {
      const cols = a!.t.base === "matrix" ? a!.e.shape[1]! : a!.e.size;
      const e = concat([flatVector(a!), flatVector(b!)]);
      return { t: { base: "matrix", arr: 0 }, e: reshape(e, [e.size / cols, cols]) };
    }
    return vectorVal(concat([flatVector(a!), flatVector(b!)]));
  },
  append_col: ([a, b]) => {
    // Two column vectors side by side are a two-column matrix, as with a matrix on either side.
    if (a!.t.base === "matrix" || b!.t.base === "matrix" || (a!.t.base === "vector" && b!.t.base === "vector")) {
      const rows = a!.t.base === "matrix" ? a!.e.shape[0]! : a!.e.size;
      const e = concat([columnMajor(a!), columnMajor(b!)]);
      return transpose({ t: { base: "matrix", arr: 0 }, e: reshape(e, [e.size / rows, rows]) });
    }
    return { t: { base: "row_vector", arr: 0 }, e: concat([flatVector(a!), flatVector(b!)]) };
  },
  append_array: ([a, b]) => ({ t: a!.t, e: reshape(concat([flatVector(a!), flatVector(b!)]), [a!.e.shape[0]! + b!.e.shape[0]!, ...a!.e.shape.slice(1)]) }),
  to_vector: ([x]) => vectorVal(columnMajor(x!)),
  to_row_vector: ([x]) => ({ t: { base: "row_vector", arr: 0 }, e: columnMajor(x!) }),
  to_array_1d: ([x]) => ({ t: { base: x!.t.base === "int" ? "int" : "real", arr: 1 }, e: x!.t.base === "matrix" ? columnMajor(x!) : flatVector(x!) }),
  to_matrix: (args, loc) => {
    const x = args[0]!;
    if (args.length === 1) {
      if (x.t.base === "vector") return { t: { base: "matrix", arr: 0 }, e: reshape(x.e, [x.e.size, 1]) };
      if (x.t.base === "row_vector") return { t: { base: "matrix", arr: 0 }, e: reshape(x.e, [1, x.e.size]) };
      if (x.t.arr === 2 || x.t.base === "matrix") return { t: { base: "matrix", arr: 0 }, e: x.e };
      return err("unsupported", `to_matrix of ${typeName(x.t)} is not supported.`, loc);
    }
    const [m, n] = [num(args[1], "rows", loc), num(args[2], "columns", loc)];
    // Column-major fill.
    return transpose({ t: { base: "matrix", arr: 0 }, e: reshape(columnMajor(x), [n, m]) });
  },
  to_int: ([x], loc) => ({ t: { base: "int", arr: x!.t.arr }, e: constant(Float64Array.from(requireConst(x!, "to_int", loc).constValues, Math.trunc), x!.e.shape, "", true) }),
  head: ([x, n], loc) => ({ t: x!.t, e: sliceFirst(x!.e, 0, num(n, "head's count", loc)) }),
  tail: ([x, n], loc) => {
    const k = num(n, "tail's count", loc);
    return { t: x!.t, e: sliceFirst(x!.e, x!.e.shape[0]! - k, x!.e.shape[0]!) };
  },
  segment: ([x, i, n], loc) => {
    const s = num(i, "segment's start", loc) - 1;
    return { t: x!.t, e: sliceFirst(x!.e, s, s + num(n, "segment's count", loc)) };
  },
  reverse: ([x]) => ({ t: x!.t, e: access(x!.e, Int32Array.from({ length: x!.e.size }, (_, k) => x!.e.size - 1 - k), x!.e.shape, `reverse(${x!.e.label})`) }),
  cumulative_sum: ([x], loc) => {
    const e = x!.e;
    if (e.shape.length !== 1) return err("unsupported", "cumulative_sum of a nested array is not supported.", loc);
    if (e.isConst) {
      let s = 0;
      return { t: x!.t, e: constant(e.constValues.map((v) => (s += v)), e.shape, "", x!.t.base === "int") };
    }
    return { t: x!.t, e: cumsumExpr(e) };
  },
  sort_asc: ([x], loc) => ({ t: x!.t, e: constant(Float64Array.from(requireConst(x!, "sort_asc", loc).constValues).sort(), x!.e.shape, "", x!.t.base === "int") }),
  sort_desc: ([x], loc) => ({ t: x!.t, e: constant(Float64Array.from(requireConst(x!, "sort_desc", loc).constValues).sort().reverse(), x!.e.shape, "", x!.t.base === "int") }),
  diag_matrix: ([v]) => {
    const n = v!.e.size;
    const zero = constant(0);
    const e = concat([flatVector(v!), zero]);
    const map = new Int32Array(n * n).map((_, k) => (Math.floor(k / n) === k % n ? Math.floor(k / n) : n));
    return { t: { base: "matrix", arr: 0 }, e: access(e, map, [n, n], `diag_matrix(${v!.e.label})`) };
  },
  diagonal: ([m]) => {
    const n = Math.min(m!.e.shape[0]!, m!.e.shape[1]!);
    return vectorVal(access(m!.e, Int32Array.from({ length: n }, (_, k) => k * m!.e.shape[1]! + k), [n], "diagonal"));
  },
  diag_pre_multiply: ([v, m]) => ({ t: { base: "matrix", arr: 0 }, e: mul(reshape(flatVector(v!), [v!.e.size, 1]), m!.e) }),
  diag_post_multiply: ([m, v]) => ({ t: { base: "matrix", arr: 0 }, e: mul(m!.e, reshape(flatVector(v!), [1, v!.e.size])) }),
  cholesky_decompose: ([m]) => ({ t: { base: "matrix", arr: 0 }, e: cholesky(m!.e) }),
  mdivide_left_tri_low: ([l, b], loc) => {
    if (b!.t.base !== "matrix") return { t: b!.t, e: lowerSolve(l!.e, b!.e) };
    // A matrix right-hand side: one triangular solve per column.
    const [n, m] = b!.e.shape as [number, number];
    if (l!.e.shape[0] !== n) err("type", `mdivide_left_tri_low: matrix [${l!.e.shape}] and right-hand side [${n}, ${m}] do not fit.`, loc);
    const columns = Array.from({ length: m }, (_, j) => lowerSolve(l!.e, access(b!.e, Int32Array.from({ length: n }, (_, i) => i * m + j), [n], "column")));
    return transpose({ t: b!.t, e: reshape(concat(columns), [m, n]) });
  },
  eigenvalues_sym: ([m], loc) => vectorVal(eigenOf(m!, "eigenvalues_sym", loc).values),
  eigenvectors_sym: ([m], loc) => ({ t: { base: "matrix", arr: 0 }, e: eigenOf(m!, "eigenvectors_sym", loc).vectors }),
  crossprod: ([m], loc) => matmul(transpose(m!), m!, loc),
  tcrossprod: ([m], loc) => matmul(m!, transpose(m!), loc),
  multiply_lower_tri_self_transpose: ([m], loc) => {
    const n = m!.e.shape[0]!;
    const k = m!.e.shape[1]!;
    const low = access(concat([flatVector({ t: m!.t, e: m!.e }), constant(0)]), Int32Array.from({ length: n * k }, (_, p) => (p % k <= Math.floor(p / k) ? p : n * k)), [n, k], "lower");
    const lv = { t: m!.t, e: low };
    return matmul(lv, transpose(lv), loc);
  },
  quad_form: ([a, v], loc) => {
    const av = matmul(a!, v!, loc);
    return v!.t.base === "vector" ? real(sum(mul(v!.e, av.e))) : matmul(transpose(v!), av, loc);
  },
  columns_dot_product: ([a, b]) => ({ t: { base: "row_vector", arr: 0 }, e: sumRows(mul(a!.e, b!.e)) }),
  rows_dot_product: ([a, b]) => vectorVal(sumCols(mul(a!.e, b!.e))),
  columns_dot_self: ([a]) => ({ t: { base: "row_vector", arr: 0 }, e: sumRows(square(a!.e)) }),
  rows_dot_self: ([a]) => vectorVal(sumCols(square(a!.e))),
  gp_exp_quad_cov: (args, loc) => expQuad(args, loc),
  cov_exp_quad: (args, loc) => expQuad(args, loc),
  add_diag: ([m, d]) => {
    const n = m!.e.shape[0]!;
    const diag = d!.e.size === 1 ? fill([n], reshape(d!.e, [])) : d!.e;
    const eye = access(concat([diag, constant(0)]), new Int32Array(n * n).map((_, k) => (Math.floor(k / n) === k % n ? Math.floor(k / n) : n)), [n, n], "diag");
    return { t: m!.t, e: add(m!.e, eye) };
  },
  identity_matrix: ([n], loc) => {
    const k = num(n, "size", loc);
    return { t: { base: "matrix", arr: 0 }, e: constant(new Float64Array(k * k).map((_, p) => (Math.floor(p / k) === p % k ? 1 : 0)), [k, k]) };
  },
  transpose: ([x]) => transpose(x!),
  dims: ([x]) => ({ t: { base: "int", arr: 1 }, e: constant(Float64Array.from(x!.e.shape), [x!.e.shape.length], "", true) }),
  col: ([m, j], loc) => {
    const [r, c] = m!.e.shape as [number, number];
    const k = num(j, "col's index", loc) - 1;
    if (!(k >= 0 && k < c)) err("runtime", `col: index ${k + 1} out of range 1..${c}.`, loc);
    return vectorVal(access(m!.e, Int32Array.from({ length: r }, (_, i) => i * c + k), [r], `col(${m!.e.label})`));
  },
  row: ([m, i], loc) => {
    const c = m!.e.shape[1]!;
    const k = num(i, "row's index", loc) - 1;
    if (!(k >= 0 && k < m!.e.shape[0]!)) err("runtime", `row: index ${k + 1} out of range 1..${m!.e.shape[0]}.`, loc);
    return { t: { base: "row_vector", arr: 0 }, e: access(m!.e, Int32Array.from({ length: c }, (_, j) => k * c + j), [c], `row(${m!.e.label})`) };
  },
  sub_col: ([m, i, j, n], loc) => {
    const c = m!.e.shape[1]!;
    const [i0, j0, len] = [num(i, "sub_col's row", loc) - 1, num(j, "sub_col's column", loc) - 1, num(n, "sub_col's length", loc)];
    if (i0 < 0 || j0 < 0 || j0 >= c || i0 + len > m!.e.shape[0]!) err("runtime", "sub_col: out of range.", loc);
    return vectorVal(access(m!.e, Int32Array.from({ length: len }, (_, k) => (i0 + k) * c + j0), [len], `sub_col(${m!.e.label})`));
  },
  sub_row: ([m, i, j, n], loc) => {
    const c = m!.e.shape[1]!;
    const [i0, j0, len] = [num(i, "sub_row's row", loc) - 1, num(j, "sub_row's column", loc) - 1, num(n, "sub_row's length", loc)];
    if (i0 < 0 || j0 < 0 || i0 >= m!.e.shape[0]! || j0 + len > c) err("runtime", "sub_row: out of range.", loc);
    return { t: { base: "row_vector", arr: 0 }, e: access(m!.e, Int32Array.from({ length: len }, (_, k) => i0 * c + j0 + k), [len], `sub_row(${m!.e.label})`) };
  },
  block: ([m, i, j, nr, nc], loc) => {
    const c = m!.e.shape[1]!;
    const [i0, j0, r, k] = [num(i, "block's row", loc) - 1, num(j, "block's column", loc) - 1, num(nr, "block's rows", loc), num(nc, "block's columns", loc)];
    if (i0 < 0 || j0 < 0 || i0 + r > m!.e.shape[0]! || j0 + k > c) err("runtime", "block: out of range.", loc);
    return { t: { base: "matrix", arr: 0 }, e: access(m!.e, Int32Array.from({ length: r * k }, (_, p) => (i0 + Math.floor(p / k)) * c + j0 + (p % k)), [r, k], `block(${m!.e.label})`) };
  },
  quad_form_diag: ([m, v]) => {
    const n = v!.e.size;
    const col = reshape(flatVector(v!), [n, 1]);
    const rowv = reshape(flatVector(v!), [1, n]);
    return { t: { base: "matrix", arr: 0 }, e: mul(mul(col, m!.e), rowv) };
  },
  pi: () => real(constant(Math.PI)),
  e: () => real(constant(Math.E)),
  sqrt2: () => real(constant(Math.SQRT2)),
  not_a_number: (_a, loc) => err("unsupported", "not_a_number() cannot be part of a model's expressions.", loc),
  machine_precision: () => real(constant(Number.EPSILON)),
};
FUNCTIONS.log2 = (args, loc) => (args.length === 0 ? real(constant(Math.LN2)) : math((x) => div(log(x), Math.LN2), Math.log2, "log2")(args, loc));
FUNCTIONS.log10 = (args, loc) => (args.length === 0 ? real(constant(LN10)) : math((x) => div(log(x), LN10), Math.log10, "log10")(args, loc));

/** Built-ins that act elementwise on scalars (a vectorised loop may pass them one value per iteration). */
export const ELEMENTWISE_FUNCTIONS = new Set([
  "exp", "log", "log2", "log10", "log1p", "log1m", "expm1", "sqrt", "cbrt", "square", "inv", "inv_sqrt", "inv_square", "fabs", "abs",
  "tanh", "inv_logit", "logit", "log1p_exp", "log1m_exp", "log_inv_logit", "log1m_inv_logit", "lgamma", "tgamma", "Phi", "std_normal_log_cdf",
  "Phi_approx", "sin", "cos", "tan", "atan", "asin", "acos", "sinh", "cosh", "floor", "ceil", "round", "trunc", "erf", "step", "pow", "fma",
  "hypot", "fmin", "fmax", "fdim", "lbeta", "lchoose", "binomial_coefficient_log", "log_diff_exp", "log_mix", "log_sum_exp",
]);

/** Functions whose values are infinite: usable only where Stan compares with them (data). */
export const INFINITIES: Record<string, number> = { negative_infinity: -Infinity, positive_infinity: Infinity };

function requireConst(x: Val, name: string, loc?: Location): Expr {
  if (!x.e.isConst) err("unsupported", `${name} of parameters is not supported (only of data).`, loc);
  return x.e;
}

function reduceConst(x: Val, which: "max" | "min", loc?: Location): Val {
  const v = requireConst(x, which, loc).constValues;
  if (v.length === 0) return err("runtime", `${which} of an empty container.`, loc);
  const r = which === "max" ? v.reduce((a, b) => Math.max(a, b)) : v.reduce((a, b) => Math.min(a, b));
  return { t: x.t.base === "int" ? INT : REAL, e: constant(r, [], "", x.t.base === "int") };
}

function minmax(a: Val, b: Val, which: "max" | "min", loc?: Location): Val {
  if (a.e.isConst && b.e.isConst) {
    const [x, y] = [a.e.constValues[0]!, b.e.constValues[0]!];
    return { t: isInt(a) && isInt(b) ? INT : REAL, e: constant(which === "max" ? Math.max(x, y) : Math.min(x, y), [], "", isInt(a) && isInt(b)) };
  }
  const test = elementwise(which === "max" ? "gt" : "lt", [a.e, b.e]);
  return zip(a, b, (x, y) => elementwise("ifElse", [test, x, y]), which, loc);
}

function sliceFirst(e: Expr, from: number, to: number): Expr {
  const inner = e.size / (e.shape[0] ?? 1);
  const map = Int32Array.from({ length: (to - from) * inner }, (_, k) => from * inner + k);
  return access(e, map, [to - from, ...e.shape.slice(1)], `${e.label}[${from + 1}:${to}]`);
}

function cumsumExpr(e: Expr): Expr {
  // The IR's cumsum, through a lower-triangular sum would be quadratic; use the linalg op.
  return cumsumOp(e);
}
import { cumsum as cumsumOp } from "../model/linalg.js";

function sumRows(m: Expr): Expr {
  const [r, c] = m.shape as [number, number];
  const ones = constant(new Float64Array(r).fill(1));
  return matvec(transpose({ t: { base: "matrix", arr: 0 }, e: m }).e, ones).reshape([c]);
}
function sumCols(m: Expr): Expr {
  const c = m.shape[1]!;
  return matvec(m, constant(new Float64Array(c).fill(1)));
}

function expQuad(args: Val[], loc?: Location): Val {
  if (args.length !== 3) return err("unsupported", "gp_exp_quad_cov takes (x, alpha, rho) here; the two-input form is not supported.", loc);
  const [x, alpha, rho] = args as [Val, Val, Val];
  const d2 = squaredDistances(x, loc);
  return { t: { base: "matrix", arr: 0 }, e: mul(square(alpha.e), exp(div(d2, mul(-2, square(rho.e))))) };
}

// ---------------------------------------------------------------- distributions

type DistFactory = (args: Expr[], loc?: Location) => Distribution;

const need = (name: string, n: number): ((args: Expr[], loc?: Location) => void) => (args, loc) => {
  if (args.length !== n) err("type", `${name} takes ${n} parameter(s) after the variate, got ${args.length}.`, loc);
};
const d = (name: string, n: number, make: (a: Expr[]) => Distribution): DistFactory => (args, loc) => {
  need(name, n)(args, loc);
  return make(args);
};

/** Stan's distributions (by family name) and the builder distribution each is. */
export const DISTRIBUTIONS: Record<string, DistFactory> = {
  normal: d("normal", 2, ([m, s]) => dist.normal(m!, s!)),
  std_normal: d("std_normal", 0, () => dist.normal(0, 1)),
  cauchy: d("cauchy", 2, ([m, s]) => dist.cauchy(m!, s!)),
  student_t: d("student_t", 3, ([n, m, s]) => dist.studentT(n!, m!, s!)),
  double_exponential: d("double_exponential", 2, ([m, s]) => dist.laplace(m!, s!)),
  logistic: d("logistic", 2, ([m, s]) => dist.logistic(m!, s!)),
  lognormal: d("lognormal", 2, ([m, s]) => dist.logNormal(m!, s!)),
  exponential: d("exponential", 1, ([l]) => dist.exponential(l!)),
  gamma: d("gamma", 2, ([a, b]) => dist.gamma(a!, b!)),
  inv_gamma: d("inv_gamma", 2, ([a, b]) => dist.inverseGamma(a!, b!)),
  weibull: d("weibull", 2, ([a, s]) => dist.weibull(a!, s!)),
  beta: d("beta", 2, ([a, b]) => dist.beta(a!, b!)),
  uniform: d("uniform", 2, ([a, b]) => dist.uniform(a!, b!)),
  bernoulli: d("bernoulli", 1, ([p]) => dist.bernoulli(p!)),
  bernoulli_logit: d("bernoulli_logit", 1, ([a]) => dist.bernoulliLogit(a!)),
  binomial: d("binomial", 2, ([n, p]) => dist.binomial(n!, p!)),
  binomial_logit: d("binomial_logit", 2, ([n, a]) => dist.binomialLogit(n!, a!)),
  poisson: d("poisson", 1, ([l]) => dist.poisson(l!)),
  poisson_log: d("poisson_log", 1, ([a]) => dist.poissonLog(a!)),
  neg_binomial_2: d("neg_binomial_2", 2, ([m, p]) => dist.negativeBinomial(m!, p!)),
  neg_binomial_2_log: d("neg_binomial_2_log", 2, ([e, p]) => dist.negativeBinomial(exp(e!), p!)),
  dirichlet: d("dirichlet", 1, ([a]) => dist.dirichlet(a!)),
  multi_normal_cholesky: d("multi_normal_cholesky", 2, ([m, l]) => dist.mvNormalCholesky(m!, l!)),
  multi_normal: d("multi_normal", 2, ([m, s]) => dist.mvNormalCholesky(m!, cholesky(s!))),
  normal_id_glm: (args, loc) => {
    need("normal_id_glm", 4)(args, loc);
    const [x, alpha, beta, sigma] = args as [Expr, Expr, Expr, Expr];
    if (!x.isConst) return err("unsupported", "normal_id_glm with a matrix x of parameters is not supported.", loc);
    if (alpha.shape.length > 0 || sigma.shape.length > 0) return dist.normal(add(alpha, matvec(x, beta)), sigma);
    return dist.normalIdGlm(x, alpha, beta, sigma);
  },
  bernoulli_logit_glm: (args, loc) => {
    need("bernoulli_logit_glm", 3)(args, loc);
    const [x, alpha, beta] = args as [Expr, Expr, Expr];
    return dist.bernoulliLogit(add(alpha, matvec(x, beta)));
  },
  poisson_log_glm: (args, loc) => {
    need("poisson_log_glm", 3)(args, loc);
    const [x, alpha, beta] = args as [Expr, Expr, Expr];
    return dist.poissonLog(add(alpha, matvec(x, beta)));
  },
  // Draws only (categorical_rng): their densities are SPECIAL_DENSITIES below.
  categorical: d("categorical", 1, ([theta]) => categoricalDistribution(theta!, false)),
  categorical_logit: d("categorical_logit", 1, ([beta]) => categoricalDistribution(beta!, true)),
};

/** categorical(theta) or categorical_logit(beta) for `_rng`: an outcome in 1..K. */
function categoricalDistribution(theta: Expr, logit: boolean): Distribution {
  const name = logit ? "categorical_logit" : "categorical";
  if (theta.shape.length !== 1) err("type", `${name} takes a vector, got shape [${theta.shape}].`);
  const k = theta.size;
  const draw = (rng: { uniform(): number }, [values]: readonly Float64Array[]) => {
    let p = Array.from(values!);
    if (logit) {
      const top = Math.max(...p);
      p = p.map((v) => Math.exp(v - top));
    }
    let u = rng.uniform() * p.reduce((a, b) => a + b, 0);
    for (let i = 0; i < k; i++) {
      u -= p[i]!;
      if (u < 0) return Float64Array.of(i + 1);
    }
    return Float64Array.of(k);
  };
  const logp = (x: unknown): Expr => categoricalLogp({ t: INT, e: x as Expr }, { t: { base: "vector", arr: 0 }, e: theta }, logit);
  return {
    name,
    args: { theta },
    shape: [],
    support: "count",
    discrete: true,
    logp,
    logpdf: logp,
    defaultTransform: () => ({ kind: "identity" }),
    checkValue: () => {},
    sample: (rng) => (theta.isConst ? draw(rng, [theta.constValues]) : err("runtime", `${name}: a random draw needs constant arguments`)),
    drawWith: draw,
  };
}

/**
 * Stan's do_lkj_constant: the log normalising constant of LKJ(eta) over K x K correlation
 * matrices (Lewandowski, Kurowicka and Joe 2009, theorem 5), with Stan's separate form for eta = 1.
 */
function lkjConstant(eta: Expr, k: number): Expr {
  const km1 = k - 1;
  const LOG_PI = Math.log(Math.PI);
  if (eta.isConst && eta.constValues[0] === 1) {
    let c = 0;
    for (let i = 1; i <= Math.floor(km1 / 2); i++) c -= lgammaNumber(2 * i);
    if (k % 2 === 1) c -= 0.25 * (k * k - 1) * LOG_PI - 0.25 * km1 * km1 * Math.LN2 - km1 * lgammaNumber(0.5 * (k + 1));
    else c -= 0.25 * k * (k - 2) * LOG_PI + 0.25 * (3 * k * k - 4 * k) * Math.LN2 + k * lgammaNumber(0.5 * k) - km1 * lgammaNumber(k);
    return constant(c);
  }
  let c: Expr = mul(km1, lgamma(add(eta, 0.5 * km1)));
  for (let i = 1; i <= km1; i++) c = sub(c, add(0.5 * i * LOG_PI, lgamma(add(eta, 0.5 * (km1 - i)))));
  return c;
}

const lgammaNumber = (x: number): number => lgamma(constant(x)).constValues[0]!;

/** Stan's lkj_corr_cholesky_lpdf(L | eta): the constant plus sum over k >= 1 (from 0) of (K - k - 3 + 2 eta) log L[k, k]. */
function lkjCorrCholeskyLogp(y: Val, [eta]: Val[], loc?: Location): Expr {
  if (!eta || eta.t.arr !== 0 || eta.e.size !== 1) return err("type", "lkj_corr_cholesky takes one real shape parameter eta.", loc);
  if (y.t.base !== "matrix" || y.t.arr !== 0 || y.e.shape[0] !== y.e.shape[1]) return err("type", `lkj_corr_cholesky needs a square matrix, got ${typeName(y.t)}.`, loc);
  const k = y.e.shape[0]!;
  if (k === 0) return constant(0);
  const logDiagonal = log(access(y.e, Int32Array.from({ length: k - 1 }, (_, i) => (i + 1) * k + i + 1), [k - 1], "diagonal"));
  const powers = add(constant(Array.from({ length: k - 1 }, (_, i) => k - i - 4)), mul(2, eta.e));
  return add(lkjConstant(eta.e, k), sum(mul(powers, logDiagonal)));
}

/** Stan's lkj_corr_lpdf(Sigma | eta): the constant plus (eta - 1) log det Sigma. */
function lkjCorrLogp(y: Val, [eta]: Val[], loc?: Location): Expr {
  if (!eta || eta.t.arr !== 0 || eta.e.size !== 1) return err("type", "lkj_corr takes one real shape parameter eta.", loc);
  if (y.t.base !== "matrix" || y.t.arr !== 0 || y.e.shape[0] !== y.e.shape[1]) return err("type", `lkj_corr needs a square matrix, got ${typeName(y.t)}.`, loc);
  const k = y.e.shape[0]!;
  if (k === 0) return constant(0);
  const l = cholesky(y.e);
  const logDeterminant = mul(2, sum(log(access(l, Int32Array.from({ length: k }, (_, i) => i * k + i), [k], "diagonal"))));
  return add(lkjConstant(eta.e, k), mul(sub(eta.e, 1), logDeterminant));
}

/**
 * Densities computed here rather than by a builder distribution (log density summed over the
 * variates): categorical outcomes must be data.
 */
export const SPECIAL_DENSITIES: Record<string, (y: Val, args: Val[], loc?: Location) => Expr> = {
  categorical: (y, [theta], loc) => categoricalLogp(y, theta, false, loc),
  categorical_logit: (y, [beta], loc) => categoricalLogp(y, beta, true, loc),
  lkj_corr_cholesky: lkjCorrCholeskyLogp,
  lkj_corr: lkjCorrLogp,
};

function categoricalLogp(y: Val, theta: Val | undefined, logit: boolean, loc?: Location): Expr {
  if (!theta || theta.t.arr !== 0 || theta.t.base !== "vector") return err("type", `categorical${logit ? "_logit" : ""} takes one vector argument.`, loc);
  if (!y.e.isConst || y.t.base !== "int") return err("unsupported", "categorical outcomes must be integer data.", loc);
  const k = theta.e.size;
  const outcomes = y.e.constValues;
  outcomes.forEach((v) => {
    if (!(Number.isInteger(v) && v >= 1 && v <= k)) err("runtime", `categorical: outcome ${v} is outside 1..${k}.`, loc);
  });
  const picked = access(theta.e, Int32Array.from(outcomes, (v) => v - 1), [outcomes.length], "categorical outcome");
  if (!logit) return sum(log(picked));
  return sub(sum(picked), mul(outcomes.length, logSumExp(theta.e)));
}

/** Splits `normal_lpdf` into its family and suffix. */
export function splitSuffix(name: string): { family: string; suffix: "lpdf" | "lpmf" | "lupdf" | "lupmf" | "lcdf" | "lccdf" | "rng" | "cdf" | "log" } | null {
  const m = /^(.*)_(lpdf|lpmf|lupdf|lupmf|lcdf|lccdf|rng|cdf_log|ccdf_log|log)$/.exec(name);
  if (!m) return null;
  const suffix = m[2] === "cdf_log" ? "lcdf" : m[2] === "ccdf_log" ? "lccdf" : (m[2] as "lpdf");
  return { family: m[1]!, suffix: suffix as never };
}

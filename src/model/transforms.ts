/**
 * Constraint transforms, as in Stan: each maps unconstrained coordinates `u` to constrained
 * values (an expression, so the compiler differentiates it), adds its log-Jacobian once, and
 * has a numeric inverse used by `unconstrain` (user inits, checkpoints from constrained
 * values). Bounds may be expressions of other parameters (garch: `beta1 < 1 - alpha1`).
 */
import { ModelError } from "./errors.js";
import {
  access,
  add,
  constant,
  div,
  exp,
  log,
  log1m,
  log1pExp,
  logistic,
  mul,
  neg,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  type Expr,
} from "./expr.js";
import { concat, cumsum, matvec } from "./linalg.js";
import type { Shape } from "./shape.js";
import { sizeOf } from "./shape.js";

export type TransformSpec =
  | { readonly kind: "identity" }
  | { readonly kind: "lower"; readonly lower: Expr }
  | { readonly kind: "upper"; readonly upper: Expr }
  | { readonly kind: "interval"; readonly lower: Expr; readonly upper: Expr }
  | { readonly kind: "ordered" }
  | { readonly kind: "positiveOrdered" }
  | { readonly kind: "simplex" }
  | { readonly kind: "unitVector" }
  | { readonly kind: "affine"; readonly offset: Expr; readonly multiplier: Expr }
  | { readonly kind: "choleskyFactorCorr" }
  | { readonly kind: "choleskyFactorCov" }
  | { readonly kind: "corrMatrix" }
  | { readonly kind: "covMatrix" };

/** The constraints on vectors act on each last-axis row of an array; those on matrices on each last-two-axes matrix. */
const ROWWISE = new Set(["ordered", "positiveOrdered", "simplex", "unitVector"]);
const MATRIXWISE = new Set(["choleskyFactorCorr", "choleskyFactorCov", "corrMatrix", "covMatrix"]);

/** Number of unconstrained coordinates of one constrained item (a vector or matrix) of `item` shape. */
function itemSize(kind: TransformSpec["kind"], item: Shape): number {
  const [m, n] = [item[0]!, item[1] ?? 1];
  switch (kind) {
    case "simplex":
      return m - 1;
    case "choleskyFactorCorr":
    case "corrMatrix":
      return (m * (m - 1)) / 2;
    case "choleskyFactorCov":
      return (n * (n + 1)) / 2 + (m - n) * n;
    case "covMatrix":
      return (m * (m + 1)) / 2;
    default:
      return sizeOf(item);
  }
}

/** The rank of the item each constraint acts on: 1 (vectors), 2 (matrices) or 0 (elementwise). */
function itemRank(kind: TransformSpec["kind"]): number {
  return ROWWISE.has(kind) ? 1 : MATRIXWISE.has(kind) ? 2 : 0;
}

/** Number of unconstrained coordinates for a constrained value of `shape`. */
export function unconstrainedSize(spec: TransformSpec, shape: Shape): number {
  const rank = itemRank(spec.kind);
  if (rank === 0) return sizeOf(shape);
  const item = shape.slice(shape.length - rank);
  return (sizeOf(shape) / sizeOf(item)) * itemSize(spec.kind, item);
}

/** An array of constrained vectors or matrices: each item transformed alone, in order (Stan's layout). */
function applyItemwise(spec: TransformSpec, u: Expr, shape: Shape): { value: Expr; logJacobian: Expr | null } {
  const item = shape.slice(shape.length - itemRank(spec.kind));
  const items = sizeOf(shape) / sizeOf(item);
  const per = itemSize(spec.kind, item);
  const flat = u.shape.length === 1 ? u : u.reshape([u.size]);
  if (spec.kind === "simplex" && items > per) return simplexColumns(flat, items, per + 1, shape);
  const values: Expr[] = [];
  const jacobians: Expr[] = [];
  for (let r = 0; r < items; r++) {
    const { value, logJacobian } = applyTransform(spec, flat.slice(r * per, (r + 1) * per), item);
    values.push(value.shape.length === 1 ? value : value.reshape([value.size]));
    if (logJacobian) jacobians.push(logJacobian);
  }
  const logJacobian = jacobians.length === 0 ? null : jacobians.reduce((a, b) => add(a, b));
  return { value: concat(values).reshape(shape), logJacobian };
}

/**
 * Many short simplexes (ldaK5's 2,025 of 5 entries) as the simplex case's stick-breaking done
 * one coordinate at a time over every item at once: a few nodes per coordinate instead of about
 * a dozen per item, which made the traced model too large to compile (D184). `flat` holds the
 * items' k - 1 coordinates one item after another, as Stan lays them out.
 */
function simplexColumns(flat: Expr, items: number, k: number, shape: Shape): { value: Expr; logJacobian: Expr } {
  const column = (j: number) => access(flat, Int32Array.from({ length: items }, (_, r) => r * (k - 1) + j), [items], `${flat.label}[, ${j}]`);
  const columns: Expr[] = [];
  const jacobians: Expr[] = [];
  let logStick: Expr | null = null;
  for (let j = 0; j < k - 1; j++) {
    const a = sub(column(j), Math.log(k - 1 - j));
    const logZ = neg(log1pExp(neg(a)));
    const log1mZ = neg(log1pExp(a));
    columns.push(exp(logStick === null ? logZ : add(logZ, logStick)));
    jacobians.push(sum(logStick === null ? add(logZ, log1mZ) : add(logStick, add(logZ, log1mZ))));
    logStick = logStick === null ? log1mZ : add(logStick, log1mZ);
  }
  columns.push(exp(logStick!));
  // Column j of item r sits at j * items + r; Stan's layout puts it at r * k + j.
  const byItem = Int32Array.from({ length: items * k }, (_, p) => (p % k) * items + Math.floor(p / k));
  return { value: access(concat(columns), byItem, [...shape], "simplexes"), logJacobian: jacobians.reduce((x, y) => add(x, y)) };
}

/** Element `i` of a flat expression, as a scalar. */
const at = (x: Expr, i: number): Expr => access(x, Int32Array.of(i), [], `${x.label}[${i}]`);

/** The K x K lower-triangular matrix whose row-major entries are `entries` (null: zero), flat. */
const matrixOf = (entries: (Expr | null)[]): Expr => concat(entries.map((e) => e ?? 0));

/** L L' of a K x K matrix given flat (row-major): row j of the result is L times row j of L. */
function lowerSelfTranspose(flatL: Expr, k: number): Expr {
  const L = flatL.reshape([k, k]);
  return concat(Array.from({ length: k }, (_, j) => matvec(L, flatL.slice(j * k, (j + 1) * k)))).reshape([k, k]);
}

/**
 * Stan's cholesky_factor_constrain: rows of the lower triangle in order, the diagonal as exp;
 * the log-Jacobian is the sum of the diagonal's unconstrained coordinates.
 */
function choleskyFactorOf(u: Expr, m: number, n: number): { flat: Expr; diagonal: Expr[] } {
  const entries: (Expr | null)[] = [];
  const diagonal: Expr[] = [];
  let pos = 0;
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      if (c < r || r >= n) entries.push(at(u, pos++));
      else if (c === r) {
        diagonal.push(at(u, pos));
        entries.push(exp(at(u, pos++)));
      } else entries.push(null);
    }
  }
  return { flat: matrixOf(entries), diagonal };
}

/** Stan's read_corr_L: the Cholesky factor of a correlation matrix from canonical partial correlations, column by column. */
function correlationCholeskyFromCpcs(cpcs: Expr, k: number): Expr {
  const entries: (Expr | null)[] = Array.from({ length: k * k }, () => null);
  entries[0] = constant(1);
  // remaining[i]: 1 minus the squares of row i's entries so far.
  const remaining: Expr[] = Array.from({ length: k }, () => constant(1));
  let position = 0;
  for (let c = 0; c < k; c++) {
    if (c > 0) entries[c * k + c] = sqrt(remaining[c]!);
    for (let r = c + 1; r < k; r++) {
      const cpc = at(cpcs, position++);
      entries[r * k + c] = c === 0 ? cpc : mul(cpc, sqrt(remaining[r]!));
      remaining[r] = mul(remaining[r]!, sub(1, square(cpc)));
    }
  }
  return matrixOf(entries);
}

/** Stan's cholesky_corr_constrain: the Cholesky factor of a correlation matrix, row by row, with its log-Jacobian. */
function choleskyCorrOf(u: Expr, k: number): { value: Expr; logJacobian: Expr } {
  const z = tanh(u);
  const terms: Expr[] = [sum(log1m(square(z)))];
  const entries: (Expr | null)[] = Array.from({ length: k * k }, () => null);
  entries[0] = constant(1);
  let pos = 0;
  for (let r = 1; r < k; r++) {
    const first = at(z, pos++);
    entries[r * k] = first;
    let sumSquares = square(first);
    for (let c = 1; c < r; c++) {
      terms.push(mul(0.5, log1m(sumSquares)));
      const x = mul(at(z, pos++), sqrt(sub(1, sumSquares)));
      entries[r * k + c] = x;
      sumSquares = add(sumSquares, square(x));
    }
    entries[r * k + r] = sqrt(sub(1, sumSquares));
  }
  return { value: matrixOf(entries).reshape([k, k]), logJacobian: terms.reduce((a, b) => add(a, b)) };
}

/** Expressions the transform needs besides `u` (bounds), evaluated for `unconstrain`. */
export function contextOf(spec: TransformSpec): Expr[] {
  switch (spec.kind) {
    case "lower":
      return [spec.lower];
    case "upper":
      return [spec.upper];
    case "interval":
      return [spec.lower, spec.upper];
    case "affine":
      return [spec.offset, spec.multiplier];
    default:
      return [];
  }
}

/** The constrained value and the log-Jacobian term (a scalar expression, or null). */
export function applyTransform(spec: TransformSpec, u: Expr, shape: Shape): { value: Expr; logJacobian: Expr | null } {
  if ((shape.length > 1 && ROWWISE.has(spec.kind)) || (shape.length > 2 && MATRIXWISE.has(spec.kind))) return applyItemwise(spec, u, shape);
  switch (spec.kind) {
    case "identity":
      return { value: u, logJacobian: null };
    case "lower":
      return { value: add(spec.lower, exp(u)), logJacobian: sum(u) };
    case "upper":
      return { value: sub(spec.upper, exp(u)), logJacobian: sum(u) };
    case "interval": {
      const width = sub(spec.upper, spec.lower);
      const value = add(spec.lower, mul(width, logistic(u)));
      // log(width * logistic(u) * (1 - logistic(u))), stable for large |u|.
      const logJ = sum(sub(log(width), add(log1pExp(neg(u)), log1pExp(u))));
      return { value, logJacobian: logJ };
    }
    case "ordered": {
      const n = sizeOf(shape);
      if (n === 1) return { value: u, logJacobian: null };
      const rest = u.slice(1);
      return { value: cumsum(concat([u.slice(0, 1), exp(rest)])), logJacobian: sum(rest) };
    }
    case "positiveOrdered":
      return { value: cumsum(exp(u)), logJacobian: sum(u) };
    case "simplex": {
      // Stan's stick-breaking: z_k = logistic(u_k - log(K - 1 - k)), x_k = z_k * stick_k.
      const k = sizeOf(shape);
      const offsets = constant(Array.from({ length: k - 1 }, (_, i) => Math.log(k - 1 - i)));
      const a = sub(u, offsets);
      const logZ = neg(log1pExp(neg(a)));
      const log1mZ = neg(log1pExp(a));
      const logStickAfter = cumsum(log1mZ);
      const logStick = k === 2 ? constant([0]) : concat([0, logStickAfter.slice(0, k - 2)]);
      const value = exp(concat([add(logZ, logStick), logStickAfter.slice(k - 2, k - 1)]));
      return { value, logJacobian: sum(add(logStick, add(logZ, log1mZ))) };
    }
    case "unitVector": {
      // Stan's unit_vector_constrain: u / |u|, with a standard normal on u's length (-|u|^2 / 2).
      const squares = sum(square(u));
      return { value: div(u, sqrt(squares)), logJacobian: mul(-0.5, squares) };
    }
    case "affine": {
      const value = add(spec.offset, mul(spec.multiplier, u));
      const logScale = sum(log(spec.multiplier));
      return { value, logJacobian: spec.multiplier.size === 1 ? mul(sizeOf(shape), logScale) : logScale };
    }
    case "choleskyFactorCorr":
      return choleskyCorrOf(u, shape[0]!);
    case "choleskyFactorCov": {
      const { flat, diagonal } = choleskyFactorOf(u, shape[0]!, shape[1]!);
      return { value: flat.reshape([shape[0]!, shape[1]!]), logJacobian: diagonal.reduce((a, b) => add(a, b)) };
    }
    case "covMatrix": {
      // Stan's cov_matrix_constrain: L L' with its Jacobian K log 2 + sum (K - k + 1) log L_kk (k from 0).
      const k = shape[0]!;
      const { flat, diagonal } = choleskyFactorOf(u, k, k);
      const logJacobian = diagonal.reduce((acc: Expr, d, i) => add(acc, mul(k - i + 1, d)), constant(k * Math.LN2));
      return { value: lowerSelfTranspose(flat, k), logJacobian };
    }
    case "corrMatrix": {
      // Stan's corr_matrix_constrain: canonical partial correlations tanh(u), read_corr_L's Jacobian, then L L'.
      const k = shape[0]!;
      const cpcs = tanh(u);
      const terms: Expr[] = [sum(log1m(square(cpcs)))];
      let pos = 0;
      for (let c = 1; c <= k - 2; c++) {
        for (let r = c + 1; r <= k; r++) terms.push(mul(0.5 * (k - c - 1), log1m(square(at(cpcs, pos++)))));
      }
      return { value: lowerSelfTranspose(correlationCholeskyFromCpcs(cpcs, k), k), logJacobian: terms.reduce((a, b) => add(a, b)) };
    }
  }
}

/** The lower Cholesky factor of a symmetric positive-definite K x K matrix (flat, row-major), or null when it is not one. */
function choleskyOf(x: Float64Array, k: number): Float64Array | null {
  const l = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = x[i * k + j]!;
      for (let m = 0; m < j; m++) s -= l[i * k + m]! * l[j * k + m]!;
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * k + i] = Math.sqrt(s);
      } else l[i * k + j] = s / l[j * k + j]!;
    }
  }
  return l;
}

/** Inverse of choleskyFactorOf: the lower triangle row by row, the diagonal's logs. */
function choleskyFactorFree(l: Float64Array, m: number, n: number): Float64Array {
  const out: number[] = [];
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < Math.min(r + 1, n); c++) out.push(c === r ? Math.log(l[r * n + c]!) : l[r * n + c]!);
  }
  return Float64Array.from(out);
}

/** Inverse of the matrix transforms, one K x K (or M x N) item. */
function inverseMatrix(kind: TransformSpec["kind"], x: Float64Array, shape: Shape, check: (ok: boolean, what: string) => void): Float64Array {
  const [m, n] = [shape[0]!, shape[1]!];
  const symmetric = () => {
    for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) check(Math.abs(x[i * m + j]! - x[j * m + i]!) <= 1e-8 * Math.max(1, Math.abs(x[i * m + j]!)), `is not symmetric at [${i}, ${j}]`);
  };
  const lowerTriangular = () => {
    for (let i = 0; i < m; i++) for (let j = i + 1; j < n; j++) check(x[i * n + j] === 0, `is not lower triangular ([${i}, ${j}] = ${x[i * n + j]})`);
    for (let i = 0; i < n; i++) check(x[i * n + i]! > 0, `has a diagonal entry [${i}, ${i}] = ${x[i * n + i]} that is not positive`);
  };
  switch (kind) {
    case "choleskyFactorCov":
      lowerTriangular();
      return choleskyFactorFree(x, m, n);
    case "covMatrix": {
      symmetric();
      const l = choleskyOf(x, m);
      check(l !== null, "is not positive definite");
      return choleskyFactorFree(l!, m, m);
    }
    case "choleskyFactorCorr": {
      lowerTriangular();
      const out: number[] = [];
      for (let i = 1; i < m; i++) {
        let sumSquares = 0;
        for (let j = 0; j < i; j++) {
          out.push(Math.atanh(x[i * m + j]! / Math.sqrt(1 - sumSquares)));
          sumSquares += x[i * m + j]! ** 2;
        }
        check(Math.abs(sumSquares + x[i * m + i]! ** 2 - 1) < 1e-8, `row ${i} does not have unit length`);
      }
      return Float64Array.from(out);
    }
    default: {
      // corrMatrix: the canonical partial correlations of its Cholesky factor, column by column (read_corr_L's order).
      symmetric();
      for (let i = 0; i < m; i++) check(Math.abs(x[i * m + i]! - 1) < 1e-8, `has a diagonal entry [${i}, ${i}] = ${x[i * m + i]}, not 1`);
      const l = choleskyOf(x, m);
      check(l !== null, "is not positive definite");
      const out: number[] = [];
      for (let c = 0; c < m; c++) {
        for (let r = c + 1; r < m; r++) {
          let sumSquares = 0;
          for (let j = 0; j < c; j++) sumSquares += l![r * m + j]! ** 2;
          out.push(Math.atanh(l![r * m + c]! / Math.sqrt(1 - sumSquares)));
        }
      }
      return Float64Array.from(out);
    }
  }
}

/** Numeric inverse: constrained `x` (flat) to unconstrained coordinates, given the context values. */
export function inverseTransform(spec: TransformSpec, x: Float64Array, context: Float64Array[], name: string, shape?: Shape): Float64Array {
  if (shape && ((shape.length > 1 && ROWWISE.has(spec.kind)) || (shape.length > 2 && MATRIXWISE.has(spec.kind)))) {
    const item = shape.slice(shape.length - itemRank(spec.kind));
    const k = sizeOf(item);
    const rows = sizeOf(shape) / k;
    const parts = Array.from({ length: rows }, (_, r) => inverseTransform(spec, x.subarray(r * k, (r + 1) * k), context, `${name}[${r + 1}]`, item));
    const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
  const broadcastAt = (v: Float64Array, i: number) => (v.length === 1 ? v[0]! : v[i]!);
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new ModelError("out-of-support", `value for ${name} ${what}`);
  };
  switch (spec.kind) {
    case "identity":
      return Float64Array.from(x);
    case "lower":
      return x.map((v, i) => {
        const lb = broadcastAt(context[0]!, i);
        check(v > lb, `[${i}] = ${v} is not above its lower bound ${lb}`);
        return Math.log(v - lb);
      });
    case "upper":
      return x.map((v, i) => {
        const ub = broadcastAt(context[0]!, i);
        check(v < ub, `[${i}] = ${v} is not below its upper bound ${ub}`);
        return Math.log(ub - v);
      });
    case "interval":
      return x.map((v, i) => {
        const [lb, ub] = [broadcastAt(context[0]!, i), broadcastAt(context[1]!, i)];
        check(v > lb && v < ub, `[${i}] = ${v} is not inside (${lb}, ${ub})`);
        const p = (v - lb) / (ub - lb);
        return Math.log(p / (1 - p));
      });
    case "ordered":
      return x.map((v, i) => {
        if (i === 0) return v;
        check(v > x[i - 1]!, `is not strictly increasing at [${i}]`);
        return Math.log(v - x[i - 1]!);
      });
    case "positiveOrdered":
      return x.map((v, i) => {
        const prev = i === 0 ? 0 : x[i - 1]!;
        check(v > prev, `is not positive and strictly increasing at [${i}]`);
        return Math.log(v - prev);
      });
    case "simplex": {
      const k = x.length;
      const total = x.reduce((s, v) => s + v, 0);
      check(x.every((v) => v > 0) && Math.abs(total - 1) < 1e-8, `is not a simplex (positive entries summing to 1; sum is ${total})`);
      const u = new Float64Array(k - 1);
      let stick = 1;
      for (let i = 0; i < k - 1; i++) {
        const z = x[i]! / stick;
        u[i] = Math.log(z / (1 - z)) + Math.log(k - 1 - i);
        stick -= x[i]!;
      }
      return u;
    }
    case "unitVector": {
      const norm = Math.hypot(...x);
      check(Math.abs(norm - 1) < 1e-8, `is not a unit vector (its length is ${norm})`);
      return Float64Array.from(x);
    }
    case "affine":
      return x.map((v, i) => (v - broadcastAt(context[0]!, i)) / broadcastAt(context[1]!, i));
    case "choleskyFactorCorr":
    case "choleskyFactorCov":
    case "corrMatrix":
    case "covMatrix":
      return inverseMatrix(spec.kind, x, shape!, check);
  }
}

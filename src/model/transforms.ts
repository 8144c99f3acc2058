/**
 * Constraint transforms, as in Stan: each maps unconstrained coordinates `u` to constrained
 * values (an expression, so the compiler differentiates it), adds its log-Jacobian once, and
 * has a numeric inverse used by `unconstrain` (user inits, checkpoints from constrained
 * values). Bounds may be expressions of other parameters (garch: `beta1 < 1 - alpha1`).
 */
import { ModelError } from "./errors.js";
import {
  add,
  constant,
  exp,
  log,
  log1pExp,
  logistic,
  mul,
  neg,
  sub,
  sum,
  type Expr,
} from "./expr.js";
import { concat, cumsum } from "./linalg.js";
import type { Shape } from "./shape.js";
import { sizeOf } from "./shape.js";

export type TransformSpec =
  | { readonly kind: "identity" }
  | { readonly kind: "lower"; readonly lower: Expr }
  | { readonly kind: "upper"; readonly upper: Expr }
  | { readonly kind: "interval"; readonly lower: Expr; readonly upper: Expr }
  | { readonly kind: "ordered" }
  | { readonly kind: "positiveOrdered" }
  | { readonly kind: "simplex" };

/** Number of unconstrained coordinates for a constrained value of `shape`. */
export function unconstrainedSize(spec: TransformSpec, shape: Shape): number {
  // An array of simplexes (shape [..., K]) has K - 1 coordinates per simplex.
  if (spec.kind === "simplex") return sizeOf(shape) - sizeOf(shape.slice(0, -1));
  return sizeOf(shape);
}

/** The vector constraints (ordered, positive ordered, simplex) act on each last-axis row of an array. */
const ROWWISE = new Set(["ordered", "positiveOrdered", "simplex"]);

function applyRowwise(spec: TransformSpec, u: Expr, shape: Shape): { value: Expr; logJacobian: Expr | null } {
  const k = shape[shape.length - 1]!;
  const rows = sizeOf(shape) / k;
  const per = spec.kind === "simplex" ? k - 1 : k;
  const flat = u.shape.length === 1 ? u : u.reshape([u.size]);
  const values: Expr[] = [];
  const jacobians: Expr[] = [];
  for (let r = 0; r < rows; r++) {
    const { value, logJacobian } = applyTransform(spec, flat.slice(r * per, (r + 1) * per), [k]);
    values.push(value);
    if (logJacobian) jacobians.push(logJacobian);
  }
  const logJacobian = jacobians.length === 0 ? null : jacobians.reduce((a, b) => add(a, b));
  return { value: concat(values).reshape(shape), logJacobian };
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
    default:
      return [];
  }
}

/** The constrained value and the log-Jacobian term (a scalar expression, or null). */
export function applyTransform(spec: TransformSpec, u: Expr, shape: Shape): { value: Expr; logJacobian: Expr | null } {
  if (shape.length > 1 && ROWWISE.has(spec.kind)) return applyRowwise(spec, u, shape);
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
  }
}

/** Numeric inverse: constrained `x` (flat) to unconstrained coordinates, given the context values. */
export function inverseTransform(spec: TransformSpec, x: Float64Array, context: Float64Array[], name: string, shape?: Shape): Float64Array {
  if (shape && shape.length > 1 && ROWWISE.has(spec.kind)) {
    const k = shape[shape.length - 1]!;
    const rows = sizeOf(shape) / k;
    const parts = Array.from({ length: rows }, (_, r) => inverseTransform(spec, x.subarray(r * k, (r + 1) * k), context, `${name}[${r + 1}]`));
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
  }
}

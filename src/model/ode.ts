/**
 * An ODE inside the model: `ode(rhs, { y0, t0, ts, args, method })` is y at the output times,
 * shape [ts.length, y0.length]. The right-hand side is traced once into the IR, like a scan
 * body, so its Jacobian comes from the compiler's reverse mode; the compiled model solves the
 * ODE with src/ode's solvers and differentiates it by forward sensitivities.
 */
import { checkOdeTimes, checkOdeTolerances, defaultTolerances, ODE_METHODS, type OdeMethod } from "../ode/index.js";
import { ModelError } from "./errors.js";
import { Expr, lift, type ExprLike, type OdeBody } from "./expr.js";
import { dependsOn, freeNodes } from "./scan.js";
import { formatShape, sameShape } from "./shape.js";
import { checkOptions, describeValue, toNumbers } from "./values.js";

/** Options of `ode`: Stan's `ode_*_tol` arguments by name. */
export interface OdeOptions {
  /** Initial state y(t0): a vector (data or an expression of parameters). */
  y0: ExprLike;
  /**
   * Initial time: data (default 0), or a scalar expression of parameters (the solution is then
   * differentiated in it too; a t0 not before ts[0] at a point rejects it).
   */
  t0?: ExprLike;
  /**
   * Output times, each after t0 and non-decreasing: data, or a vector expression of parameters
   * (the solution is then differentiated in them too; times out of order at a point reject it).
   */
  ts: ExprLike;
  /** Arguments handed to `rhs` after t and y: expressions or data, any shapes. */
  args?: readonly ExprLike[];
  /**
   * "rk45" (default; Dormand-Prince 5(4), Stan's ode_rk45), "ckrk" (Cash-Karp, ode_ckrk),
   * "bdf" (variable-order BDF for stiff systems, ode_bdf) or "adams" (ode_adams's tolerances,
   * solved by Dormand-Prince: DECISIONS.md D131).
   */
  method?: OdeMethod;
  /** Relative tolerance: Stan's defaults, 1e-6 (rk45, ckrk) or 1e-10 (bdf, adams). */
  rtol?: number;
  /** Absolute tolerance: 1e-6 (rk45, ckrk) or 1e-10 (bdf, adams). */
  atol?: number;
  /** Most solver steps between two output times: 1e6 (rk45, ckrk) or 1e8 (bdf, adams). */
  maxSteps?: number;
}

const OPTIONS = ["y0", "t0", "ts", "args", "method", "rtol", "atol", "maxSteps"];

/**
 * Solves dy/dt = rhs(t, y, args), y(t0) = y0 and returns y at `ts` as a [ts.length, n]
 * expression (row i is y(ts[i])). Gradients with respect to y0, to every parameter the
 * right-hand side reads (through `args` or captured) and to the initial and output times are
 * exact to the solver's tolerance. A
 * solve that fails (more than `maxSteps` steps, a non-finite state) rejects the proposal: the
 * log density is -Infinity there, as in Stan.
 *
 * ```ts
 * const z = ode((t, y, [theta]) => stack([...]), { y0: zInit, ts, args: [theta] });
 * ```
 */
export function ode(rhs: (t: Expr, y: Expr, args: Expr[]) => ExprLike, options: OdeOptions): Expr {
  if (typeof rhs !== "function") throw new ModelError("invalid-argument", `ode: the right-hand side must be a function (t, y, args) => dy/dt, got ${describeValue(rhs)}`);
  const o = checkOptions(options, OPTIONS, "ode options");
  if (o.y0 === undefined) throw new ModelError("invalid-argument", "ode: y0 (the initial state) is required");
  if (o.ts === undefined) throw new ModelError("invalid-argument", "ode: ts (the output times) is required");
  const method = (o.method ?? "rk45") as OdeMethod;
  if (!ODE_METHODS.includes(method)) {
    throw new ModelError("invalid-argument", `ode: method must be one of ${ODE_METHODS.map((m) => `"${m}"`).join(", ")}, got ${describeValue(o.method)}`);
  }
  const defaults = defaultTolerances(method);
  const tol = { rtol: o.rtol ?? defaults.rtol, atol: o.atol ?? defaults.atol, maxSteps: o.maxSteps ?? defaults.maxSteps } as { rtol: number; atol: number; maxSteps: number };
  const tolProblem = checkOdeTolerances(tol);
  if (tolProblem !== null) throw new ModelError("invalid-argument", `ode: ${tolProblem}`);
  const y0 = lift(o.y0, "ode: y0");
  if (y0.shape.length !== 1 || y0.size < 1) throw new ModelError("shape-mismatch", `ode: y0 must be a non-empty vector, got ${y0}`);
  const t0Expr = lift(o.t0 ?? 0, "ode: t0");
  if (t0Expr.shape.length !== 0) throw new ModelError("shape-mismatch", `ode: t0 must be a scalar, got ${t0Expr}`);
  const start = t0Expr.isConst ? null : t0Expr;
  const t0 = start === null ? t0Expr.constValues[0]! : null;
  const timesVary = Expr.isExpr(o.ts) && !o.ts.isConst;
  if (Expr.isExpr(o.ts) && o.ts.shape.length !== 1) throw new ModelError("shape-mismatch", `ode: ts must be a vector of times, got ${o.ts}`);
  const times = timesVary ? (o.ts as Expr) : null;
  const tsValues = times !== null ? null : Expr.isExpr(o.ts) ? o.ts.constValues : toNumbers(o.ts, "ode: ts").values;
  if (times !== null && times.size < 1) throw new ModelError("invalid-argument", "ode: ts is empty");
  // Data times are checked now (against t0 where it is data); times or a t0 that depend on
  // parameters at each solve (a failed solve there).
  const timeProblem =
    t0 !== null && !Number.isFinite(t0) ? `t0 is ${t0}; it must be finite` : tsValues !== null ? checkOdeTimes(t0 ?? -Number.MAX_VALUE, tsValues) : null;
  if (timeProblem !== null) throw new ModelError("invalid-argument", `ode: ${timeProblem}`);
  if (o.args !== undefined && !Array.isArray(o.args)) throw new ModelError("invalid-argument", `ode: args must be an array, got ${describeValue(o.args)}`);
  const args = ((o.args ?? []) as unknown[]).map((a, k) => lift(a, `ode: args[${k}]`));

  const n = y0.size;
  const placeholder = (shape: readonly number[], label: string) => new Expr({ kind: "placeholder" }, shape, [], label);
  const time = placeholder([], "t");
  const state = placeholder([n], "y");
  // Data arguments go into the body as the constants they are; the others get placeholders.
  const varying = args.filter((a) => !a.isConst);
  const argHolders = varying.map((a, k) => placeholder(a.shape, `args${k}`));
  const bodyArgs = args.map((a) => (a.isConst ? a : argHolders[varying.indexOf(a)]!));
  const result = lift(rhs(time, state, bodyArgs), "ode: the right-hand side's result");
  if (!sameShape(result.shape, state.shape)) {
    throw new ModelError("shape-mismatch", `ode: the right-hand side returns shape ${formatShape(result.shape)} but y0 has shape ${formatShape(state.shape)}`);
  }
  const holders = new Set([time, state, ...argHolders]);
  const free = freeNodes(result, holders);
  if (!dependsOn(result, holders)) {
    throw new ModelError("invalid-argument", "ode: the right-hand side must depend on t, y or args (it computes dy/dt from them)");
  }
  if (y0.isConst && varying.length === 0 && free.length === 0 && times === null && start === null) {
    throw new ModelError("invalid-argument", "ode: nothing in this ODE depends on a parameter (y0, t0, ts and every argument are data); solve it once outside the model and pass the solution as data");
  }
  const body: OdeBody = { method, ...tol, t0, ts: tsValues === null ? null : Float64Array.from(tsValues), time, state, args: argHolders, result, free };
  const count = times !== null ? times.size : tsValues!.length;
  return new Expr({ kind: "ode", body }, [count, n], [y0, ...varying, ...free, ...(times !== null ? [times] : []), ...(start !== null ? [start] : [])], `ode(${result.label})`);
}

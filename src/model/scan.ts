/**
 * A differentiable loop: `scan` carries a state through a sequence, like JAX's `lax.scan`.
 * The body is traced once into a graph over placeholders; the compiler emits it as a loop,
 * and reverse mode replays the steps backwards (recomputing each step from its stored carry).
 */
import { ModelError } from "./errors.js";
import { Expr, lift, type ExprLike, type ScanBody } from "./expr.js";
import { formatShape, sameShape, type Shape } from "./shape.js";
import { checkOptions, describeValue } from "./values.js";
import { postOrder } from "./walk.js";

export interface ScanOptions {
  /** Initial carry (scalar, vector, ...). */
  init: ExprLike;
  /** Sequences read one row per step; each has `length` rows. */
  xs?: readonly Expr[];
  /** Number of steps; defaults to the sequences' row count. */
  length?: number;
}

/**
 * Runs `step(carry, rows, t)` for t = 0..length-1 and returns every new carry stacked:
 * shape [length, ...carryShape]. GARCH: `scan({ init: sigma1, xs: [yPrev] }, (s, [y]) => ...)`.
 */
export function scan(options: ScanOptions, step: (carry: Expr, rows: Expr[], t: number) => ExprLike): Expr {
  const o = checkOptions(options, ["init", "xs", "length"], "scan options");
  if (typeof step !== "function") throw new ModelError("invalid-argument", `scan: the step must be a function, got ${describeValue(step)}`);
  const init = lift(o.init, "scan: init");
  if (o.xs !== undefined && !Array.isArray(o.xs)) throw new ModelError("invalid-argument", `scan: xs must be an array of sequences, got ${describeValue(o.xs)}`);
  const xs = ((o.xs ?? []) as unknown[]).map((x, k) => lift(x, `scan: sequence ${k}`));
  const length = (o.length ?? xs[0]?.shape[0]) as number | undefined;
  if (length === undefined || !Number.isInteger(length) || length < 1) {
    throw new ModelError("invalid-argument", "scan needs a positive length or at least one sequence");
  }
  xs.forEach((x, k) => {
    if (x.shape[0] !== length) {
      throw new ModelError("shape-mismatch", `scan: sequence ${k} (${x}) has ${x.shape[0] ?? 0} rows, expected ${length}`);
    }
  });
  const placeholder = (shape: Shape, label: string) => new Expr({ kind: "placeholder" }, shape, [], label);
  const carry = placeholder(init.shape, "carry");
  const rows = xs.map((x, k) => placeholder(x.shape.slice(1), `xs${k}[t]`));
  const result = lift(step(carry, rows, 0), "scan: the step's result");
  if (!sameShape(result.shape, init.shape)) {
    throw new ModelError(
      "shape-mismatch",
      `scan: the step returns shape ${formatShape(result.shape)} but the carry has shape ${formatShape(init.shape)}`,
    );
  }
  const free = freeNodes(result, new Set([carry, ...rows]));
  if (!dependsOn(result, new Set([carry, ...rows]))) {
    throw new ModelError("invalid-argument", "scan: the step's result does not depend on the carry or the sequences");
  }
  const body: ScanBody = { length, carry, xs: rows, result, free };
  return new Expr({ kind: "scan", body }, [length, ...init.shape], [init, ...xs, ...free], `scan(${result.label})`);
}

/** Whether `e` depends on any of the placeholders. */
export function dependsOn(e: Expr, placeholders: Set<Expr>, memo = new Map<Expr, boolean>()): boolean {
  // Creation order is topological: a node made before every placeholder cannot read one, so the
  // walk stops there instead of crossing the whole outer graph (a body reading a big traced model).
  let oldest = Infinity;
  for (const p of placeholders) oldest = Math.min(oldest, p.id);
  for (const x of postOrder(e, (y) => memo.has(y) || y.id < oldest)) memo.set(x, placeholders.has(x) || x.inputs.some((i) => memo.get(i)));
  return memo.get(e) ?? false;
}

/** Outer non-constant nodes the body reads: where the body's dependence on placeholders stops. */
export function freeNodes(result: Expr, placeholders: Set<Expr>): Expr[] {
  const memo = new Map<Expr, boolean>();
  const free = new Set<Expr>();
  if (!dependsOn(result, placeholders, memo)) return [];
  const seen = new Set<Expr>([result]);
  const stack = [result];
  while (stack.length > 0) {
    const e = stack.pop()!;
    for (const i of e.inputs) {
      if (i.isConst || placeholders.has(i) || seen.has(i)) continue;
      seen.add(i);
      if (memo.get(i)) stack.push(i);
      else free.add(i);
    }
  }
  return [...free].sort((a, b) => a.id - b.id);
}

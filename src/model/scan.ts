/**
 * A differentiable loop: `scan` carries a state through a sequence, like JAX's `lax.scan`.
 * The body is traced once into a graph over placeholders; the compiler emits it as a loop,
 * and reverse mode replays the steps backwards (recomputing each step from its stored carry).
 */
import { ModelError } from "./errors.js";
import { Expr, lift, type ExprLike, type ScanBody } from "./expr.js";
import { formatShape, sameShape, type Shape } from "./shape.js";

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
  const init = lift(options.init);
  const xs = options.xs ?? [];
  const length = options.length ?? xs[0]?.shape[0];
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
  const result = lift(step(carry, rows, 0));
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

function dependsOn(e: Expr, placeholders: Set<Expr>, memo = new Map<Expr, boolean>()): boolean {
  if (placeholders.has(e)) return true;
  const known = memo.get(e);
  if (known !== undefined) return known;
  const d = e.inputs.some((i) => dependsOn(i, placeholders, memo));
  memo.set(e, d);
  return d;
}

/** Outer non-constant nodes the body reads: where the body's dependence on placeholders stops. */
function freeNodes(result: Expr, placeholders: Set<Expr>): Expr[] {
  const memo = new Map<Expr, boolean>();
  const free = new Set<Expr>();
  const seen = new Set<Expr>();
  const visit = (e: Expr) => {
    if (seen.has(e)) return;
    seen.add(e);
    for (const i of e.inputs) {
      if (i.isConst || placeholders.has(i)) continue;
      if (dependsOn(i, placeholders, memo)) visit(i);
      else free.add(i);
    }
  };
  if (!dependsOn(result, placeholders, memo)) return [];
  visit(result);
  return [...free].sort((a, b) => a.id - b.id);
}

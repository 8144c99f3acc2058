/**
 * Graph rewriting: rebuild expressions with some nodes substituted (used by the builder to
 * switch a parameter between centred and non-centred forms once the whole model is known).
 */
import { Expr } from "./expr.js";

export class Substitution {
  private readonly memo = new Map<Expr, Expr>();

  constructor(replacements: ReadonlyMap<Expr, Expr>) {
    for (const [from, to] of replacements) this.memo.set(from, to);
  }

  /** `e` with every replaced node swapped, sharing every subgraph that did not change. */
  apply(e: Expr): Expr {
    const done = this.memo.get(e);
    if (done) return done;
    let result = e;
    if (e.node.kind === "scan") {
      const body = e.node.body;
      const result2 = this.apply(body.result);
      const free = body.free.map((f) => this.apply(f));
      const inputs = e.inputs.slice(0, 1 + body.xs.length).map((i) => this.apply(i));
      if (result2 !== body.result || free.some((f, k) => f !== body.free[k]) || inputs.some((i, k) => i !== e.inputs[k])) {
        result = new Expr({ kind: "scan", body: { ...body, result: result2, free } }, e.shape, [...inputs, ...free], e.label);
      }
    } else if (e.inputs.length > 0) {
      const inputs = e.inputs.map((i) => this.apply(i));
      if (inputs.some((i, k) => i !== e.inputs[k])) result = new Expr(e.node, e.shape, inputs, e.label);
    }
    this.memo.set(e, result);
    return result;
  }
}

/** Whether `target` is reachable from `root` through inputs (scan bodies included). */
export function dependsOn(root: Expr, target: Expr, memo = new Map<Expr, boolean>()): boolean {
  if (root === target) return true;
  const known = memo.get(root);
  if (known !== undefined) return known;
  memo.set(root, false);
  const d = root.inputs.some((i) => dependsOn(i, target, memo));
  memo.set(root, d);
  return d;
}

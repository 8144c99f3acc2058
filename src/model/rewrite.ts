/**
 * Graph rewriting: rebuild expressions with some nodes substituted (used by the builder to
 * switch a parameter between centred and non-centred forms once the whole model is known).
 * Every walk here is iterative: a sum built in a JavaScript loop is tens of thousands of
 * nodes deep, far past the call stack.
 */
import { Expr } from "./expr.js";
import { postOrder } from "./walk.js";

export class Substitution {
  private readonly memo = new Map<Expr, Expr>();

  constructor(replacements: ReadonlyMap<Expr, Expr>) {
    for (const [from, to] of replacements) this.memo.set(from, to);
  }

  /** `e` with every replaced node swapped, sharing every subgraph that did not change. */
  apply(root: Expr): Expr {
    const scanChildren = (e: Expr): readonly Expr[] =>
      e.node.kind === "scan"
        ? [...e.inputs.slice(0, 1 + e.node.body.xs.length), e.node.body.result, ...e.node.body.free]
        : e.node.kind === "ode"
          ? [...e.inputs.slice(0, 1 + e.node.body.args.length), e.node.body.result, ...e.node.body.free, ...odeTrailing(e)]
          : e.inputs;
    for (const e of postOrder(root, (x) => this.memo.has(x), scanChildren)) {
      let result = e;
      const get = (x: Expr) => this.memo.get(x) ?? x;
      if (e.node.kind === "scan") {
        const body = e.node.body;
        const result2 = get(body.result);
        const free = body.free.map(get);
        const inputs = e.inputs.slice(0, 1 + body.xs.length).map(get);
        if (result2 !== body.result || free.some((f, k) => f !== body.free[k]) || inputs.some((i, k) => i !== e.inputs[k])) {
          result = new Expr({ kind: "scan", body: { ...body, result: result2, free } }, e.shape, [...inputs, ...free], e.label);
        }
      } else if (e.node.kind === "ode") {
        const body = e.node.body;
        const result2 = get(body.result);
        const free = body.free.map(get);
        const inputs = e.inputs.slice(0, 1 + body.args.length).map(get);
        const times = odeTrailing(e);
        const times2 = times.map(get);
        if (result2 !== body.result || free.some((f, k) => f !== body.free[k]) || inputs.some((i, k) => i !== e.inputs[k]) || times2.some((t, k) => t !== times[k])) {
          result = new Expr({ kind: "ode", body: { ...body, result: result2, free } }, e.shape, [...inputs, ...free, ...times2], e.label);
        }
      } else if (e.inputs.length > 0) {
        const inputs = e.inputs.map(get);
        if (inputs.some((i, k) => i !== e.inputs[k])) result = new Expr(e.node, e.shape, inputs, e.label);
      }
      this.memo.set(e, result);
    }
    return this.memo.get(root)!;
  }
}

/** An ode node's inputs after its free nodes: the output times and the initial time where they depend on parameters. */
function odeTrailing(e: Expr): readonly Expr[] {
  return e.node.kind === "ode" ? e.inputs.slice(1 + e.node.body.args.length + e.node.body.free.length) : [];
}

/** Whether `target` is reachable from `root` through inputs. */
export function dependsOn(root: Expr, target: Expr, memo = new Map<Expr, boolean>()): boolean {
  if (root === target) return true;
  for (const e of postOrder(root, (x) => memo.has(x))) {
    memo.set(e, e === target || e.inputs.some((i) => memo.get(i) === true));
  }
  return memo.get(root)!;
}

/**
 * Walking expression graphs without recursion: a sum built in a JavaScript loop is tens of
 * thousands of nodes deep, far past the call stack.
 */
import type { Expr } from "./expr.js";

/** The nodes reachable from `root` (itself included), each after all of its inputs. */
export function postOrder(root: Expr, skip: (e: Expr) => boolean, children: (e: Expr) => readonly Expr[] = (e) => e.inputs): Expr[] {
  const order: Expr[] = [];
  const state = new Map<Expr, boolean>(); // false: inputs pending, true: done
  const stack: Expr[] = [root];
  while (stack.length > 0) {
    const e = stack[stack.length - 1]!;
    const s = state.get(e);
    if (s === true || skip(e)) {
      stack.pop();
      continue;
    }
    if (s === undefined) {
      state.set(e, false);
      for (const c of children(e)) if (state.get(c) !== true && !skip(c)) stack.push(c);
      continue;
    }
    stack.pop();
    state.set(e, true);
    order.push(e);
  }
  return order;
}

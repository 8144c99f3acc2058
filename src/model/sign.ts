/**
 * What the model knows about the sign of an expression, from its structure alone: constants
 * by their values, `exp`, `logistic`, softplus, squares and sums or products of positive
 * things. Parameters are known through their transforms (a lower bound of 0 makes `0 +
 * exp(u)`). Used for build-time warnings where a distribution argument must be positive
 * (a Poisson rate, a scale) but nothing keeps it so (DECISIONS.md D27).
 */
import type { Expr } from "./expr.js";
import { postOrder } from "./walk.js";

/** positive: > 0 everywhere; nonNegative: >= 0; unknown: may be negative. */
export type Sign = "positive" | "nonNegative" | "unknown";

const rank = { unknown: 0, nonNegative: 1, positive: 2 } as const;
const weakest = (signs: Sign[]): Sign => signs.reduce<Sign>((a, b) => (rank[a] <= rank[b] ? a : b), "positive");

function signOfNode(e: Expr, input: (k: number) => Sign): Sign {
  const n = e.node;
  switch (n.kind) {
    case "const": {
      let min = Infinity;
      for (const v of n.values) if (v < min) min = v;
      return min > 0 ? "positive" : min >= 0 ? "nonNegative" : "unknown";
    }
    case "access":
      return input(0);
    case "sum":
      return e.inputs[0]!.size === 0 ? "nonNegative" : input(0);
    case "custom":
      // cumsum, concat and matvec of non-negative parts keep their weakest sign.
      return n.op.name === "cumsum" || n.op.name === "concat" || n.op.name === "matvec" ? weakest(e.inputs.map((_, k) => input(k))) : "unknown";
    case "elementwise":
      switch (n.op) {
        case "exp":
        case "logistic":
        case "log1pExp":
          return "positive";
        case "square":
        case "abs":
        case "sqrt":
          return input(0) === "positive" ? "positive" : "nonNegative";
        case "expm1":
        case "log1p":
        case "tanh":
          return input(0);
        case "add": {
          const [a, b] = [input(0), input(1)];
          if (a === "unknown" || b === "unknown") return "unknown";
          return a === "positive" || b === "positive" ? "positive" : "nonNegative";
        }
        case "mul":
        case "div":
          return weakest([input(0), input(1)]);
        case "pow":
          return input(0);
        default:
          return "unknown";
      }
    case "scan":
      // Every row is a value of the body's result, whatever the carry was.
      return signOf(n.body.result);
    default:
      return "unknown";
  }
}

/** The sign of `root`; `memo` keeps what is known across calls. */
export function signOf(root: Expr, memo = new Map<Expr, Sign>()): Sign {
  for (const e of postOrder(root, (x) => memo.has(x))) memo.set(e, signOfNode(e, (k) => memo.get(e.inputs[k]!)!));
  return memo.get(root)!;
}

import { ModelError } from "./errors.js";

export type Shape = readonly number[];

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export const formatShape = (shape: Shape): string => `[${shape.join(", ")}]`;

/** NumPy broadcasting of two shapes; `what` names the operation and its operands for errors. */
export function broadcastShapes(a: Shape, b: Shape, what: () => string): Shape {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k] ?? 1;
    const db = b[b.length - rank + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ModelError(
        "shape-mismatch",
        `shape mismatch in ${what()}: ${formatShape(a)} and ${formatShape(b)} do not broadcast`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * Flat index of an operand of shape `operand` inside a loop over `domain` (row-major), given
 * the loop variables' names per axis of `domain`: the operand's broadcast axes are skipped.
 */
export function broadcastIndexCode(operand: Shape, domain: Shape, loopVars: readonly string[]): string {
  const offset = domain.length - operand.length;
  const terms: string[] = [];
  let stride = 1;
  for (let k = operand.length - 1; k >= 0; k--) {
    const d = operand[k]!;
    if (d !== 1) terms.push(stride === 1 ? loopVars[k + offset]! : `${loopVars[k + offset]}*${stride}`);
    stride *= d;
  }
  return terms.length === 0 ? "0" : terms.reverse().join("+");
}

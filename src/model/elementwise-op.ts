/**
 * The shape of an elementwise operation's code templates, shared by ops.ts and cdf-ops.ts (on
 * its own so that the log-CDF operations need not import the table that includes them).
 */

/** An elementwise operation: forward template and partial derivatives, over scalar code. */
export interface ElementwiseOp {
  readonly name: string;
  readonly arity: number;
  /** Code for the value, given the arguments' code (already parenthesised). */
  fwd(args: readonly string[]): string;
  /** Code for d value / d args[k], given the arguments' code and the value's code `v`. */
  der(k: number, args: readonly string[], v: string): string;
}

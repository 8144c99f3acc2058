/** Why a model was rejected; every message names the node(s), shape(s) or value at fault. */
export type ModelErrorCode =
  | "unknown-name"
  | "duplicate-name"
  | "shape-mismatch"
  | "non-finite-data"
  | "invalid-constant"
  | "out-of-support"
  | "index-out-of-range"
  | "invalid-argument"
  /** A shape, a model or a run past a size limit (the message names the limit). */
  | "too-large"
  /** A compiled model whose signature does not verify (DECISIONS.md D24). */
  | "untrusted-model";

/** Raised while a model is built or compiled, never at sampling time. */
export class ModelError extends Error {
  override readonly name = "ModelError";
  constructor(
    readonly code: ModelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

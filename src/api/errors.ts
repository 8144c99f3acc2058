/**
 * Typed errors of `sample` / `sampleEffect`. Each is an `Error` (throwable from the plain
 * API) and an Effect tagged error (the Effect API's error channel).
 */
import { Data } from "effect";
import type { RunPosterior } from "./run-posterior.js";

/** An option has a bad value (or is unknown). Raised before any worker starts. */
export class InvalidOptionError extends Data.TaggedError("InvalidOptionError")<{
  readonly option: string;
  readonly value: unknown;
  readonly message: string;
}> {}

/** The model cannot be run: not a model, fails to compile or load, or bad inits. Raised before any worker starts. */
export class InvalidModelError extends Data.TaggedError("InvalidModelError")<{
  readonly message: string;
  readonly cause?: unknown;
}> {}

/**
 * Every chain of the run failed. `posterior` is what the run computed (status `failed`, each
 * chain's status and error, the real draws it made before it failed and placeholders after):
 * nothing computed is lost. Its `summary()` covers the real sampling draws (flagged in
 * `formatSummary`: they are not a posterior); the message says how many there are.
 */
export class RunFailedError extends Data.TaggedError("RunFailedError")<{
  readonly message: string;
  readonly posterior: RunPosterior;
}> {}

export { PoolStartError } from "../../supervisors/worker-pool.js";
/** A cluster run (`sample`'s `cluster` option) could not start: database unreachable, no runner alive. */
export { ClusterStartError } from "../../supervisors/cluster/config.js";
/** A name that is not a quantity (or variable) of a posterior. */
export { UnknownQuantityError } from "./quantity-error.js";

/** The error every `Posterior` accessor throws for a name it does not know. */
import { Data } from "effect";

/**
 * A name that is not a quantity (or, where variables are accepted, a variable) of the
 * posterior; `known` lists what is (the first 20 flat names, or the variables). Thrown by
 * `draws`, `warmupDraws`, `summary` and `selectNames` alike.
 */
export class UnknownQuantityError extends Data.TaggedError("UnknownQuantityError")<{
  readonly name: string;
  readonly known: readonly string[];
  readonly message: string;
}> {}

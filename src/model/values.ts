/**
 * The boundary between user values and the model: every number, array, name, shape and
 * options object a user gives the model language passes through one of these checks before
 * it is stored. Nothing is converted silently: a string, null, a boolean or a nested
 * one-element array is not a number, and a misspelt option key is an error.
 */
import { ModelError } from "./errors.js";

/** Largest number of elements of any node (data, parameter, intermediate): 2^28 (2 GiB of float64). */
export const MAX_ELEMENTS = 2 ** 28;
/** Largest unconstrained dimension of a model: 2^22 coordinates. */
export const MAX_DIMENSION = 2 ** 22;
/** Most axes of a shape. */
export const MAX_RANK = 32;

/** A short, safe rendering of any value for messages (never runs user code beyond String()). */
export function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) + " (a string)";
  if (typeof v === "number") return String(v);
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "boolean") return `${v} (a boolean)`;
  if (typeof v === "bigint") return `${v}n (a bigint)`;
  if (typeof v === "function") return "a function";
  if (typeof v === "symbol") return "a symbol";
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${Object.getPrototypeOf(v)?.constructor?.name ?? "typed array"}`;
  return "an object";
}

const isNumericTypedArray = (v: unknown): v is ArrayLike<number> =>
  ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);

/** The sizes of a shape multiplied, checked against MAX_ELEMENTS; `what` names the node. */
export function checkedSize(shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (n > MAX_ELEMENTS) {
    throw new ModelError("too-large", `${what} has shape [${shape.join(", ")}]: ${n} elements, above the limit of 2^28 (${MAX_ELEMENTS})`);
  }
  return n;
}

/**
 * A shape as users give it: an array of non-negative safe integers (`minimum` 1 for
 * parameters), at most MAX_RANK axes and MAX_ELEMENTS elements. Returns a frozen copy.
 */
export function checkShape(shape: unknown, what: string, minimum = 0): readonly number[] {
  if (!Array.isArray(shape)) throw new ModelError("invalid-argument", `${what}: a shape must be an array of integers, got ${describeValue(shape)}`);
  if (shape.length > MAX_RANK) throw new ModelError("too-large", `${what}: a shape has at most ${MAX_RANK} axes, got ${shape.length}`);
  const out: number[] = [];
  for (let k = 0; k < shape.length; k++) {
    const d: unknown = shape[k];
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < minimum) {
      throw new ModelError(
        typeof d === "number" && Number.isSafeInteger(d) ? "shape-mismatch" : "invalid-argument",
        `${what}: shape entry ${k} is ${describeValue(d)}; shape entries must be integers >= ${minimum}`,
      );
    }
    out.push(d);
  }
  checkedSize(out, what);
  return Object.freeze(out);
}

/**
 * Numbers from a user value: a number, an array of numbers, nested arrays of one shape
 * (rows), or a numeric typed array. Every entry must be a finite number; anything else is a
 * ModelError naming `what`, the index and the value.
 */
export function toNumbers(value: unknown, what: string): { values: Float64Array; shape: number[] } {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ModelError("non-finite-data", `${what} is ${value}`);
    return { values: Float64Array.of(value), shape: [] };
  }
  if (isNumericTypedArray(value)) {
    checkedSize([value.length], what);
    const values = Float64Array.from(value);
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new ModelError("non-finite-data", `${what}[${i}] is ${v}`);
    });
    return { values, shape: [value.length] };
  }
  if (!Array.isArray(value)) {
    throw new ModelError("invalid-argument", `${what} is ${describeValue(value)}; data must be numbers, arrays of numbers or typed arrays`);
  }
  // The shape from the first entry at every depth; every other entry must agree.
  const shape: number[] = [];
  for (let v: unknown = value; Array.isArray(v) || isNumericTypedArray(v); v = (v as ArrayLike<unknown>)[0]) {
    shape.push((v as ArrayLike<unknown>).length);
    if (shape.length > MAX_RANK) throw new ModelError("too-large", `${what}: arrays nested more than ${MAX_RANK} deep`);
    if ((v as ArrayLike<unknown>).length === 0) break;
  }
  const values = new Float64Array(checkedSize(shape, what));
  let k = 0;
  const walk = (v: unknown, depth: number, at: string): void => {
    if (depth === shape.length) {
      if (typeof v !== "number") {
        throw new ModelError("invalid-argument", `${what}${at} is ${describeValue(v)}; data must be numbers`);
      }
      if (!Number.isFinite(v)) throw new ModelError("non-finite-data", `${what}${at} is ${v}`);
      values[k++] = v;
      return;
    }
    if (!Array.isArray(v) && !isNumericTypedArray(v)) {
      throw new ModelError("shape-mismatch", `${what}${at} is ${describeValue(v)}, but ${what}[0]... is nested ${shape.length} deep (shape [${shape.join(", ")}])`);
    }
    if (v.length !== shape[depth]) {
      throw new ModelError("shape-mismatch", `${what}${at} has ${v.length} entries, ${what}${at ? `${at.replace(/\[\d+\]$/, "")}[0]` : ""} has ${shape[depth]} (arrays must be rectangular)`);
    }
    for (let i = 0; i < v.length; i++) walk((v as ArrayLike<unknown>)[i], depth + 1, `${at}[${i}]`);
  };
  walk(value, 0, "");
  return { values, shape };
}

/** Throws unless `opts` is undefined or a plain object whose keys are all in `known`. */
export function checkOptions(opts: unknown, known: readonly string[], what: string): Record<string, unknown> {
  if (opts === undefined) return {};
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) {
    throw new ModelError("invalid-argument", `${what} must be an object, got ${describeValue(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      throw new ModelError("invalid-argument", `${what}: unknown option "${key}" (known: ${known.join(", ")})`);
    }
  }
  return opts as Record<string, unknown>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A name users give (parameters, data, observed nodes, deterministics, potentials, dims): a
 * JavaScript identifier of at most 200 characters that is not a property every object
 * inherits (`__proto__`, `constructor`, `toString`, ...), so that records keyed by names
 * (draw values, inits, `constrain`) hold exactly what the model reports.
 */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== "string") throw new ModelError("invalid-argument", `${what} name must be a string, got ${describeValue(name)}`);
  if (!IDENTIFIER.test(name) || name.length > 200) {
    throw new ModelError("invalid-argument", `${what} name ${describeValue(name)} is not an identifier (letters, digits and _, not starting with a digit, at most 200 characters)`);
  }
  if (name in Object.prototype) {
    throw new ModelError("invalid-argument", `${what} name "${name}" is reserved (every JavaScript object has a property of that name)`);
  }
  return name;
}

/** Whether `name` passes `checkName` (`maxLength` more for names the library derives, such as `theta__noncentered`). */
export const isName = (name: unknown, maxLength = 200): name is string =>
  typeof name === "string" && IDENTIFIER.test(name) && name.length <= maxLength && !(name in Object.prototype);

const FLAT_NAME = /^([A-Za-z_][A-Za-z0-9_]*)(\[[0-9]+(,[0-9]+)*\])?$/;

/**
 * A name of one reported quantity, as densities give them (`theta`, `theta[1]`, `L[2,1]`):
 * a name as `checkName` wants it, optionally followed by 1-based indices (Stan's form).
 */
export function isFlatName(name: unknown): name is string {
  if (typeof name !== "string" || name.length > 1000) return false;
  const m = FLAT_NAME.exec(name);
  return m !== null && isName(m[1]);
}

/** Free text users give (model names): a string of 1 to 200 characters without control characters. */
export function checkText(text: unknown, what: string): string {
  if (typeof text !== "string" || text.length === 0 || text.length > 200 || /\p{Cc}/u.test(text)) {
    throw new ModelError("invalid-argument", `${what} must be a string of 1 to 200 characters without control characters, got ${describeValue(text)}`);
  }
  return text;
}

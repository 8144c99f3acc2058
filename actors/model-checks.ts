/**
 * Checks of a model that run where the model runs: user inits mapped to the unconstrained
 * space (on the main thread for a compiled model, in a worker for a module model, whose code
 * never runs on the main thread of `sample`), a module model described to the main thread,
 * and the length of the gradient a model writes (once per chunk).
 */
import type { LogDensity } from "../src/compile/types.js";
import type { ConstrainedInit } from "../src/inference/index.js";
import type { ModelDescription } from "./protocol.js";

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A user init (constrained, by name) on the unconstrained scale, or why it cannot be used (`where` names the option). */
export function initPosition(density: LogDensity, init: ConstrainedInit, where: string): Float64Array | string {
  let q: Float64Array;
  try {
    q = Float64Array.from(density.unconstrain(init));
  } catch (e) {
    return `option ${where}: ${message(e)}`;
  }
  if (q.length !== density.dim) return `option ${where} maps to ${q.length} unconstrained values, the model has ${density.dim}`;
  for (let i = 0; i < q.length; i++) {
    if (!Number.isFinite(q[i]!)) {
      return `option ${where}: ${density.unconstrainedNames[i] ?? `q[${i}]`} is ${q[i]} on the unconstrained scale (a value outside the support?)`;
    }
  }
  return q;
}

/** What the main thread needs of a model it does not run (a module model loaded in a worker). */
export function describeModel(density: LogDensity, inits: readonly (ConstrainedInit | null)[], initOptions: readonly string[]): ModelDescription {
  checkGradientLength(density, new Float64Array(density.dim));
  const positions: (Float64Array | null)[] = [];
  let badInit: ModelDescription["badInit"] = null;
  for (let c = 0; c < inits.length; c++) {
    const init = inits[c]!;
    const q: Float64Array | string | null = init === null || badInit !== null ? null : initPosition(density, init, initOptions[c] ?? "inits");
    if (typeof q === "string") badInit = { option: initOptions[c] ?? "inits", message: q };
    positions.push(typeof q === "string" ? null : q);
  }
  return {
    dim: density.dim,
    names: [...density.names],
    unconstrainedNames: [...density.unconstrainedNames],
    paramCount: density.paramCount,
    inits: positions,
    badInit,
  };
}

// A signalling NaN with a payload no arithmetic produces: a gradient entry still holding it
// after a call was not written by the model.
const SENTINEL_HI = 0x7ff4dead;
const SENTINEL_LO = 0x0badf00d;
let probe = new Float64Array(0);
let probeBits = new Uint32Array(0);

/**
 * Throws when `logDensityGradient(q, grad)` does not write every one of its `dim` gradient
 * entries: entries it leaves alone would hold whatever the last call left there, and the
 * sampler would trust them. Costs one gradient evaluation; the worker runs it once per chunk
 * (at the chunk's first position), not once per leapfrog step. A density that writes more
 * entries than `dim` throws a RangeError of its own (`grad.set`) or has its extra writes
 * dropped (the typed array's length), and reads coordinates it does not have (NaN).
 */
export function checkGradientLength(density: LogDensity, q: Float64Array): void {
  const dim = density.dim;
  if (probe.length !== dim) {
    probe = new Float64Array(dim);
    probeBits = new Uint32Array(probe.buffer);
  }
  // Little-endian (every platform Node runs on): the high word of entry i is at 2i + 1.
  for (let i = 0; i < dim; i++) {
    probeBits[2 * i] = SENTINEL_LO;
    probeBits[2 * i + 1] = SENTINEL_HI;
  }
  density.logDensityGradient(q, probe);
  let missing = 0;
  let first = -1;
  for (let i = 0; i < dim; i++) {
    if (probeBits[2 * i] === SENTINEL_LO && probeBits[2 * i + 1] === SENTINEL_HI) {
      if (first < 0) first = i;
      missing++;
    }
  }
  if (missing > 0) {
    const name = density.unconstrainedNames[first] ?? `q[${first}]`;
    throw new Error(
      `the model's logDensityGradient wrote ${dim - missing} of its ${dim} gradient entries (dim = ${dim}); ` +
        `the first left unwritten is ${name} (index ${first}): a gradient must have exactly dim entries`,
    );
  }
}

/**
 * The tfjs backend: the same model IR as tensor operations (program.ts), evaluated with
 * gradients on a tfjs device (density.ts), behind the `LogDensity` interface. The reported
 * quantities (`constrain`), inits and `unconstrain` use the model's js form, which the tfjs
 * form carries: per draw, not per gradient, and in float64.
 *
 * Only the terms that compute something data-sized run as tensors: a term whose largest
 * computed (non-constant) node has fewer than `TENSOR_TERM_MIN` elements (priors,
 * Jacobians, a GLM through its K x K sufficient statistics) costs well under a microsecond in
 * float64 js and tens of microseconds per tensor operation in tfjs, so it is compiled to js
 * (`light`) and added to the tensor part's value and gradient. It also keeps float64 where a
 * term cancels large numbers (normalIdGlm's y'y - 2 b'X'y + b'X'X b: float32 loses it).
 *
 * Its serialisable form (`TfjsCompiledModel`) is plain data: the js form, the tensor program
 * and constants (SharedArrayBuffers: one copy for every worker thread). A worker validates the
 * program, then builds its tensors once.
 */
import type { Model } from "../../model/builder.js";
import type { Expr } from "../../model/expr.js";
import { checkModel } from "../checks.js";
import { instantiate, lowerJs, toShared, type CompileOptions } from "../compile-js.js";
import type { CompiledModel } from "../layouts.js";
import type { BackendChoice, LogDensity } from "../types.js";
import { readyDevice, tfjsReady, type TfjsDevice, type TfjsDevicePreference } from "./backend.js";
import { tensorDensity } from "./density.js";
import { lowerModel, validateProgram, type ConstantRef, type TensorProgram } from "./program.js";

export { TfjsUnsupportedError, type TensorProgram } from "./program.js";
export { availableDevices, TfjsMissingError, nativeStatus, preferredDevice, tfjsReady, tfjs, type TfjsDevice, type TfjsDevicePreference } from "./backend.js";

/** Serialisable form of a model compiled for the tfjs backend. */
export interface TfjsCompiledModel {
  readonly name: string;
  readonly backend: "tfjs";
  /** The tfjs device it runs on (workers initialise it). */
  readonly device: TfjsDevice;
  /** The js form: constrain, inits, and the data constants the program refers to. */
  readonly js: CompiledModel;
  readonly program: TensorProgram;
  /** The light terms (no data to speak of) as js, or null when there are none. */
  readonly light: CompiledModel | null;
  /** Constants of the program not in the js form (index maps). */
  readonly constants: readonly (Float64Array | Int32Array)[];
  /** Why this backend (recorded in the posterior's metadata). */
  readonly choice: BackendChoice;
}

export function isTfjsCompiled(x: unknown): x is TfjsCompiledModel {
  const c = x as Partial<TfjsCompiledModel> | null;
  return typeof c === "object" && c !== null && c.backend === "tfjs" && typeof c.program === "object" && typeof c.js === "object";
}

/**
 * Data elements at and above which "auto" picks tfjs (with `DENSE_PER_COMPUTED`), per device:
 * the smallest size measured by `npm run bench:backend` on this machine where every
 * interleaved round of every run of the logistic regression (P = 50, 51 data elements a row)
 * had tfjs faster than js (DECISIONS D63): 1e5 rows for tfjs-node and wasm (at 1e4 rows the
 * runs disagreed: 0.2x-1.8x); tfjs's JavaScript cpu kernels never (1.7-2.9x slower than js
 * at every size up to 1e6 rows).
 */
export const AUTO_THRESHOLD: Readonly<Record<TfjsDevice, number>> = {
  tensorflow: 5.1e6,
  wasm: 5.1e6,
  cpu: Infinity,
};

/** A log-density term goes to tensors when one of its computed nodes has at least this many elements. */
export const TENSOR_TERM_MIN = 256;

function largestComputedNode(root: Expr): number {
  let largest = 0;
  const seen = new Set<Expr>();
  const stack = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (seen.has(e)) continue;
    seen.add(e);
    if (!e.isConst) largest = Math.max(largest, e.size);
    stack.push(...e.inputs);
  }
  return largest;
}

/**
 * "auto" also wants this many data elements in matrix-vector products per computed element:
 * tfjs makes one pass over memory per operation where js fuses a term into one loop, so it
 * wins only where a dense product (SIMD and threaded kernels) dominates the work (logistic
 * regression, P = 50: ~8 per element, tfjs faster from 1e4 rows; the Poisson GLM, 5
 * predictors and a group gather: ~0.7, tfjs 3x slower at every size; DECISIONS D63).
 */
export const DENSE_PER_COMPUTED = 2;

export interface TfjsCompileOptions extends CompileOptions {
  readonly device?: TfjsDevicePreference;
  /** "auto": data elements from which tfjs is chosen, instead of the device's measured `AUTO_THRESHOLD`. */
  readonly autoThreshold?: number;
  /** Terms with a node at least this large run as tensors, the rest as js (default `TENSOR_TERM_MIN`; 0: all). */
  readonly tensorTermMin?: number;
}

/** Checks a model and lowers it for the tfjs backend (throws `TfjsUnsupportedError` naming a node it cannot compute). */
export function compileTfjsModel(model: Model, options: TfjsCompileOptions = {}, choice?: BackendChoice): TfjsCompiledModel {
  return lowerTfjs(checkModel(model), options, choice);
}

/**
 * Lowers a model that `checkModel` has passed for the tfjs backend: its js form (signed), the
 * tensor program of its data-sized terms and the light terms as js. The tfjs step of `compile`
 * (compile.ts), which checked the model once.
 */
export function lowerTfjs(model: Model, options: TfjsCompileOptions, choice?: BackendChoice): TfjsCompiledModel {
  const js = lowerJs(model, { sharedData: false });
  const heavy = model.terms.filter((t) => largestComputedNode(t) >= (options.tensorTermMin ?? TENSOR_TERM_MIN));
  const lightTerms = model.terms.filter((t) => !heavy.includes(t));
  const { program, own } = lowerModel({ ...model, terms: heavy }, js.constants);
  const share = options.sharedData ?? true;
  const light = lightTerms.length === 0 ? null : lowerJs({ ...model, terms: lightTerms, outputs: [] }, { sharedData: share });
  const device = readyDevice(options.device ?? "auto");
  return {
    name: model.name,
    backend: "tfjs",
    device,
    js: share ? { ...js, constants: js.constants.map(toShared) } : js,
    program,
    light,
    constants: share ? own.map(toShared) : own,
    choice: choice ?? { backend: "tfjs", requested: "tfjs", device, dataSize: program.dataSize, reason: "requested" },
  };
}

function constantsOf(compiled: TfjsCompiledModel): (ref: ConstantRef) => Float64Array | Int32Array | undefined {
  return (ref) => (ref.source === "js" ? compiled.js.constants[ref.index] : compiled.constants[ref.index]);
}

/** A `LogDensity` whose gradient runs on tfjs; `dispose()` frees its tensors. */
export type TfjsLogDensity = LogDensity & { readonly device: TfjsDevice; dispose(): void };

/** Instantiates on the form's device, which must be ready on this thread; validates the program first. */
export function instantiateTfjs(
  compiled: TfjsCompiledModel,
  inverses?: Parameters<typeof instantiate>[1],
  device: TfjsDevice = readyDevice(compiled.device),
): TfjsLogDensity {
  const constantOf = constantsOf(compiled);
  validateProgram(compiled.program, constantOf);
  const js = instantiate(compiled.js, inverses);
  if (compiled.program.dim !== js.dim) throw new Error(`tfjs program: dim ${compiled.program.dim} differs from the model's ${js.dim}`);
  const tensors = tensorDensity(compiled.program, (r) => constantOf(r)!, device);
  const light = compiled.light === null ? null : instantiate(compiled.light);
  const lightGrad = new Float64Array(js.dim);
  const logDensityGradient = (q: Float64Array, grad: Float64Array) => {
    let lp = tensors.evaluate(q, grad);
    if (light !== null) {
      lp += light.logDensityGradient(q, lightGrad);
      for (let k = 0; k < lightGrad.length; k++) grad[k] += lightGrad[k]!;
    }
    return lp;
  };
  const backend: BackendChoice = device === compiled.choice.device ? compiled.choice : { ...compiled.choice, device };
  return Object.assign(Object.create(js) as LogDensity, {
    backend,
    device,
    logDensityGradient,
    logDensity: (q: Float64Array) => tensors.evaluate(q, null) + (light === null ? 0 : light.logDensity(q)),
    dispose: () => tensors.dispose(),
  });
}

/** Instantiates after making the wanted device ready (what worker threads do). */
export async function instantiateTfjsAsync(compiled: TfjsCompiledModel): Promise<TfjsLogDensity> {
  validateProgram(compiled.program, constantsOf(compiled));
  return instantiateTfjs(compiled, undefined, await tfjsReady(compiled.device));
}

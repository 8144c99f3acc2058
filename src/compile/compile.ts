/**
 * The compiler's entry, above the js (compile-js.ts) and tfjs (tfjs/index.ts) backends, which
 * never import it: a model goes down src/compile once. `compile` checks the options and the model
 * (checks.ts), chooses a backend (js; tfjs; or "auto", by the data's size and shape), lowers the
 * model for it and signs the generated code (trust.ts), then instantiates it.
 */
import type { Model } from "../model/builder.js";
import { checkModel } from "./checks.js";
import { checkCompileOptions, checkOptionsObject, instantiate, instantiateChecked, jsCompileOptions, lowerJs, type CompileOptions } from "./compile-js.js";
import type { CompiledModel } from "./layouts.js";
import type { BackendChoice, LogDensity } from "./types.js";
import {
  AUTO_THRESHOLD,
  DENSE_PER_COMPUTED,
  instantiateTfjs,
  lowerTfjs,
  TfjsMissingError,
  TfjsUnsupportedError,
  type TfjsCompiledModel,
  type TfjsCompileOptions,
} from "./tfjs/index.js";

export { compileModel, flatNames, instantiate, jsCompileOptions, toShared, type CompileOptions } from "./compile-js.js";
export type { CompiledModel, OutputLayout, ParamLayout } from "./layouts.js";

const ALL_OPTIONS = ["sharedData", "key", "backend", "device", "autoThreshold"] as const;

/** Compile and instantiate in one step (the usual entry point on the main thread). */
export function compile(model: Model, options?: CompileOptions & { backend?: "js" }): LogDensity & { readonly compiled: CompiledModel };
export function compile(model: Model, options: CompileOptions): LogDensity & { readonly compiled: CompiledModel | TfjsCompiledModel };
export function compile(model: Model, options: CompileOptions = {}): LogDensity & { readonly compiled: CompiledModel | TfjsCompiledModel } {
  checkOptionsObject(options);
  checkCompileOptions(options, ALL_OPTIONS);
  const checked = checkModel(model);
  const backend = options.backend ?? "js";
  if (backend !== "js") return compileWithBackend(checked, { ...options, backend });
  const compiled = lowerJs(checked, jsCompileOptions(options));
  return Object.assign(instantiateChecked(compiled, checked.params.map((p) => p.invert)), {
    compiled,
    backend: { backend: "js", requested: "js", reason: "requested" } as const,
  });
}

/**
 * `compile(model, { backend: "tfjs" | "auto" })` of a checked model: "tfjs" lowers it for tfjs (or throws the
 * `TfjsUnsupportedError`); "auto" picks tfjs when the model's data reach the threshold of the
 * device it would run on and every node has a tensor form, js otherwise, and says why.
 */
function compileWithBackend(
  model: Model,
  options: TfjsCompileOptions & { readonly backend: "tfjs" | "auto" },
): LogDensity & { readonly compiled: CompiledModel | TfjsCompiledModel } {
  const inverses = model.params.map((p) => p.invert);
  const jsFallback = (reason: string, dataSize?: number) => {
    const compiled = lowerJs(model, jsCompileOptions(options));
    const backend: BackendChoice = { backend: "js", requested: "auto", reason, ...(dataSize === undefined ? {} : { dataSize }) };
    return Object.assign(instantiate(compiled, inverses), { compiled, backend });
  };
  if (options.backend === "tfjs") {
    const compiled = lowerTfjs(model, options);
    return Object.assign(instantiateTfjs(compiled, inverses), { compiled });
  }
  let compiled: TfjsCompiledModel;
  try {
    compiled = lowerTfjs(model, options);
  } catch (e) {
    // Not expressible in tensors, or tfjs not installed (an optional peer dependency): js.
    if (e instanceof TfjsUnsupportedError || e instanceof TfjsMissingError) return jsFallback(`auto: ${e.message}`);
    throw e;
  }
  const device = compiled.device;
  const { dataSize: size, denseData, computedSize } = compiled.program;
  const threshold = options.autoThreshold ?? AUTO_THRESHOLD[device];
  if (!(size >= threshold)) {
    return jsFallback(`auto: ${size} data elements, below the tfjs-${device} threshold (${threshold})`, size);
  }
  if (!(denseData >= DENSE_PER_COMPUTED * computedSize)) {
    return jsFallback(
      `auto: ${denseData} elements in dense matrix products for ${computedSize} computed elements (less than ${DENSE_PER_COMPUTED} per element): js's fused loops win`,
      size,
    );
  }
  const choice: BackendChoice = { backend: "tfjs", requested: "auto", device, dataSize: size, reason: `auto: ${size} data elements >= ${threshold} (tfjs-${device}), ${(denseData / computedSize).toFixed(1)} dense per computed` };
  const chosen: TfjsCompiledModel = { ...compiled, choice };
  return Object.assign(instantiateTfjs(chosen, inverses), { compiled: chosen });
}


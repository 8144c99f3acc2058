/**
 * Pointwise log-likelihood, generated next to the density: one function that writes every
 * observed node's per-observation log density. `ModelInfo.pointwiseLogLik` takes a kept draw
 * (the reported quantities, as the trace stores them), maps it back to unconstrained
 * coordinates and calls it: it runs after sampling, never inside the sampler's loop.
 */
import type { Model } from "../model/builder.js";
import { sizeOf } from "../model/shape.js";
import { Pass, type CodeModule } from "./codegen.js";
import type { CompiledModel, DataLayout, ObservedLayout } from "./layouts.js";
import type { ModelInfo, ObservedInfo } from "./types.js";

export type { DataLayout, ObservedLayout } from "./layouts.js";

/**
 * The `pointwiseLogLik(q, out)` function of `model` (every observed node's log density per
 * observation at unconstrained `q`, one node after another) and the layouts of its observed
 * nodes and data. It runs on the unconstrained coordinates because the model's expressions may
 * reach them past a parameter's reported value (log(exp(u)) is simplified to u when built).
 */
export function logLikFunction(mod: CodeModule, model: Model): { source: string; observed: ObservedLayout[]; data: DataLayout[] } {
  const exprs = model.observed.map((o) => o.logLik);
  const pass = new Pass(mod, { terms: [], outputs: exprs, gradient: false });
  const code = pass.code();
  let at = 0;
  const observed = model.observed.map((o) => {
    const layout: ObservedLayout = {
      name: o.name,
      shape: o.logLik.shape,
      offset: at,
      valueShape: o.value.shape,
      ...(o.dims ? { dims: o.dims } : {}),
      value: mod.constantIndex(o.value.constValues),
    };
    at += o.logLik.size;
    return layout;
  });
  const data = [...model.data].map(([name, e]) => ({ name, shape: e.shape, constant: mod.constantIndex(e.constValues) }));
  return { source: `function pointwiseLogLik(q, out) {\n${code.prologue}\n${code.forward}\n${pass.copyOut(exprs)}\n}`, observed, data };
}

/**
 * The model's description for a `LogDensity` instantiated from its compiled form. `toUnconstrained`
 * maps a kept draw (reported quantities in `names` order) back to unconstrained coordinates; it
 * exists where the parameters' inverse transforms do (the model object at hand), else null.
 */
export function modelInfo(
  compiled: CompiledModel,
  names: readonly string[],
  generated: (q: Float64Array, out: Float64Array) => void,
  toUnconstrained: ((values: Float64Array) => Float64Array) | null,
): ModelInfo {
  const values = (k: number) => compiled.constants[k]! as Float64Array;
  const observed: ObservedInfo[] = (compiled.observed ?? []).map((o) => ({
    name: o.name,
    shape: o.shape,
    size: sizeOf(o.shape),
    offset: o.offset,
    value: { shape: o.valueShape, values: values(o.value) },
    dims: o.dims,
  }));
  return {
    name: compiled.name,
    variables: compiled.outputs.map((o, k) => ({
      name: o.name,
      shape: o.shape,
      dims: o.dims,
      offset: o.offset,
      size: sizeOf(o.shape),
      kind: k < compiled.params.length ? "parameter" : "deterministic",
    })),
    observed,
    logLikSize: observed.reduce((s, o) => s + o.size, 0),
    data: (compiled.data ?? []).map((d) => ({ name: d.name, shape: d.shape, values: values(d.constant) })),
    pointwiseLogLik: (x, out) => {
      if (toUnconstrained === null) {
        throw new Error(
          `pointwise log-likelihood of ${compiled.name} needs the parameters' inverse transforms, which a compiled model ` +
            "rebuilt from its serialised form lacks: sample the Model itself or compile(model)",
        );
      }
      if (x.length < names.length) throw new RangeError(`pointwiseLogLik: ${x.length} values for the ${names.length} reported quantities of ${compiled.name}`);
      generated(toUnconstrained(x), out);
    },
  };
}

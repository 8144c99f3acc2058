/**
 * Numeric evaluation of operations on constants (transformed data), from the same code
 * templates the compiler emits, so folded data and generated code agree exactly.
 */
import type { CustomOp, ElementwiseOp } from "./ops.js";
import { broadcastIndexCode, sizeOf, type Shape } from "./shape.js";
import { checkGeneratedSource } from "./source-check.js";
import { runtime } from "./special.js";

type Kernel = (rt: typeof runtime, inputs: Float64Array[], out: Float64Array) => void;
const cache = new Map<string, Kernel>();

function cached(key: string, build: () => string): Kernel {
  let k = cache.get(key);
  if (!k) {
    const source = build();
    checkGeneratedSource(source);
    k = new Function("rt", "X", "Y", source) as Kernel;
    cache.set(key, k);
  }
  return k;
}

export function evaluateElementwise(
  op: ElementwiseOp,
  inputs: readonly Float64Array[],
  shapes: readonly Shape[],
  outShape: Shape,
): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  const vars = outShape.map((_, k) => `i${k}`);
  const key = `e:${op.name}:${JSON.stringify(shapes)}:${JSON.stringify(outShape)}`;
  const kernel = cached(key, () => {
    const args = shapes.map((s, k) => `(X[${k}][${broadcastIndexCode(s, outShape, vars)}])`);
    const flat = broadcastIndexCode(outShape, outShape, vars);
    let body = `Y[${flat}] = ${op.fwd(args)};`;
    for (let k = outShape.length - 1; k >= 0; k--) {
      body = `for (let ${vars[k]} = 0; ${vars[k]} < ${outShape[k]}; ${vars[k]}++) { ${body} }`;
    }
    return body;
  });
  kernel(runtime, inputs as Float64Array[], out);
  return out;
}

export function evaluateCustom(
  op: CustomOp,
  inputs: readonly Float64Array[],
  shapes: readonly Shape[],
  outShape: Shape,
): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  const scratch: Float64Array[] = [];
  const constants: (Float64Array | Int32Array)[] = [];
  let counter = 0;
  const code = op.fwd({
    inShapes: shapes,
    outShape,
    x: (k, idx) => `X[${k}][${idx}]`,
    gx: () => null,
    y: (idx) => `Y[${idx}]`,
    gy: () => {
      throw new Error("no adjoint when evaluating constants");
    },
    scratch: (size) => {
      scratch.push(new Float64Array(size));
      return `S[${scratch.length - 1}]`;
    },
    constant: (values) => {
      constants.push(values);
      return `C[${constants.length - 1}]`;
    },
    fresh: (prefix) => `${prefix}${counter++}`,
  });
  checkGeneratedSource(code);
  const fn = new Function("rt", "X", "Y", "S", "C", code) as (
    rt: typeof runtime,
    x: readonly Float64Array[],
    y: Float64Array,
    s: Float64Array[],
    c: (Float64Array | Int32Array)[],
  ) => void;
  fn(runtime, inputs, out, scratch, constants);
  return out;
}

/**
 * A tensor program turned into a `LogDensity` on one tfjs device: the log-density and its
 * gradient by reverse mode over the program's nodes (each operation's adjoint rule in
 * ops.ts and below), in float32, inside one `tf.tidy` per call so that nothing allocated per
 * gradient outlives the call. Constants become tensors once per instance (per worker).
 *
 * Precision: the log-density's terms are returned as float32 partial sums (a sum over n
 * elements as about sqrt(n) blocks) and added in float64 here, so the total carries no
 * float32 rounding of its own magnitude (a sum of 10^5 terms near -7e4 would round to
 * 0.008 in float32); what remains is each element's float32 evaluation. See DECISIONS D61.
 */
import type * as TF from "@tensorflow/tfjs-core";
import { sizeOf, type Shape } from "../../model/shape.js";
import { activate, tfjs, type TfjsDevice } from "./backend.js";
import { TENSOR_OPS } from "./ops.js";
import type { ConstantRef, TensorNode, TensorProgram } from "./program.js";

type T = TF.Tensor;

/** Sums over at least this many elements are returned as partial sums (float64 total). */
export const PARTIAL_SUM_MIN = 1024;

/** How an access node reads its input (decided once per instance from its index map). */
type AccessPlan =
  | { readonly kind: "reshape" }
  | { readonly kind: "slice"; readonly start: number; readonly length: number }
  | { readonly kind: "gather"; readonly index: TF.Tensor1D; readonly scatter: TF.Tensor2D };

export interface TensorDensity {
  readonly device: TfjsDevice;
  /** Log-density (float64 sum of float32 partials) and, when `grad` is given, its gradient. */
  evaluate(q: Float64Array, grad: Float64Array | null): number;
  /** Frees the constant tensors; the density cannot be used afterwards. */
  dispose(): void;
}

/** Builds the evaluator of a validated program on `device` (already initialised). */
export function tensorDensity(
  program: TensorProgram,
  constantOf: (ref: ConstantRef) => Float64Array | Int32Array,
  device: TfjsDevice,
): TensorDensity {
  const tf = tfjs();
  activate(device);
  const nodes = program.nodes;
  const n = nodes.length;
  const dim = program.dim;
  const kept: T[] = [];
  const keep = <X extends T>(t: X): X => {
    kept.push(tf.keep(t));
    return t;
  };
  const shapeOf = (i: number): number[] => [...nodes[i]!.shape];
  const inputsOf = (node: TensorNode): readonly number[] => ("inputs" in node ? node.inputs : []);

  // Constants, scalars and index maps: tensors made once.
  const fixed: (T | undefined)[] = new Array(n);
  const access: (AccessPlan | undefined)[] = new Array(n);
  const needsGrad = new Array<boolean>(n).fill(false);
  const consumers = new Array<number>(n).fill(0);
  nodes.forEach((node, i) => {
    for (const j of inputsOf(node)) consumers[j]!++;
    needsGrad[i] = node.op === "param" || inputsOf(node).some((j) => needsGrad[j]);
    if (node.op === "const") fixed[i] = keep(tf.tensor(Float32Array.from(constantOf(node.ref)), shapeOf(i), "float32"));
    else if (node.op === "scalar") fixed[i] = keep(tf.tensor(Float32Array.of(node.value), shapeOf(i), "float32"));
    else if (node.op === "access") access[i] = planAccess(node.ref === null ? null : (constantOf(node.ref) as Int32Array));
  });
  function planAccess(map: Int32Array | null): AccessPlan {
    if (map === null) return { kind: "reshape" };
    const start = map[0] ?? 0;
    if (map.every((m, k) => m === start + k)) return { kind: "slice", start, length: map.length };
    const index = keep(tf.tensor1d(map, "int32"));
    return { kind: "gather", index, scatter: keep(tf.reshape(index, [map.length, 1])) };
  }

  // Terms: a large sum is returned as partial sums (its scalar value is never formed).
  const termSet = new Set(program.terms);
  const blocked = nodes.map(
    (node, i) => termSet.has(i) && node.op === "sum" && consumers[i] === 0 && sizeOf(nodes[node.inputs[0]]!.shape) >= PARTIAL_SUM_MIN,
  );

  const flat = (t: T): T => tf.reshape(t, [t.size]);
  // Adjoints may stay smaller than their node (a sum's scalar adjoint, a constant derivative):
  // broadcastable to it, made full size only where an operation needs it (`full`).
  /** Sums away the axes along which a value of `shape` was broadcast to `g`'s shape. */
  const reduceTo = (g: T, shape: Shape): T => {
    const lead = g.rank - shape.length;
    if (lead < 0 || (lead === 0 && g.shape.every((d, k) => d === shape[k] || d === 1))) return g;
    const axes: number[] = [];
    for (let k = 0; k < g.rank; k++) if (k < lead || (shape[k - lead] === 1 && g.shape[k] !== 1)) axes.push(k);
    const r = axes.length > 0 ? tf.sum(g, axes, true) : g;
    return tf.reshape(r, r.shape.slice(lead));
  };
  const full = (a: T, shape: Shape): T => {
    const size = sizeOf(shape);
    if (a.size === size) return tf.reshape(a, [...shape]);
    const ranked = a.rank === shape.length ? a : tf.reshape(a, [...new Array<number>(shape.length - a.rank).fill(1), ...a.shape]);
    return tf.broadcastTo(ranked, [...shape]);
  };
  const partialSums = (x: T): T[] => {
    const v = flat(x);
    const size = v.size;
    const blocks = Math.floor(Math.sqrt(size));
    const per = Math.floor(size / blocks);
    const head = blocks * per;
    const parts: T[] = [tf.sum(tf.reshape(tf.slice(v, 0, head), [blocks, per]), 1)];
    if (head < size) parts.push(tf.reshape(tf.sum(tf.slice(v, head, size - head)), [1]));
    return parts;
  };

  function forward(i: number, node: TensorNode, vals: T[], q: Float32Array): T | undefined {
    const x = (k: number) => vals[inputsOf(node)[k]!]!;
    switch (node.op) {
      case "const":
      case "scalar":
        return fixed[i];
      case "param":
        return tf.tensor(q.subarray(node.offset, node.offset + sizeOf(node.shape)), shapeOf(i), "float32");
      case "elementwise":
        return TENSOR_OPS[node.fn].fwd(tf, node.inputs.map((j) => vals[j]!));
      case "access": {
        const plan = access[i]!;
        if (plan.kind === "reshape") return tf.reshape(x(0), shapeOf(i));
        if (plan.kind === "slice") return tf.reshape(tf.slice(flat(x(0)), plan.start, plan.length), shapeOf(i));
        return tf.reshape(tf.gather(flat(x(0)), plan.index), shapeOf(i));
      }
      case "sum":
        return blocked[i] ? undefined : tf.sum(x(0));
      case "matvec": {
        const [m, k] = nodes[node.inputs[0]]!.shape as [number, number];
        return tf.reshape(tf.matMul(x(0), tf.reshape(x(1), [k, 1])), [m]);
      }
      case "cumsum":
        return tf.cumsum(x(0));
      case "concat":
        return tf.concat(node.inputs.map((j) => flat(vals[j]!)), 0);
      case "logSumExp":
        return node.axis === null ? tf.logSumExp(flat(x(0))) : tf.logSumExp(x(0), node.axis);
    }
  }

  function backward(i: number, node: TensorNode, a: T, vals: T[], add: (j: number, g: T) => void, gq: { offset: number; g: T }[]): void {
    const ins = inputsOf(node);
    const x = (k: number) => vals[ins[k]!]!;
    const to = (k: number, g: T) => {
      if (needsGrad[ins[k]!]) add(ins[k]!, g);
    };
    switch (node.op) {
      case "param":
        gq.push({ offset: node.offset, g: flat(full(a, node.shape)) });
        return;
      case "elementwise": {
        const op = TENSOR_OPS[node.fn];
        const xs = node.inputs.map((j) => vals[j]!);
        node.inputs.forEach((j, k) => {
          if (needsGrad[j]) add(j, reduceTo(op.der(tf, k, xs, vals[i]!, a), nodes[j]!.shape));
        });
        return;
      }
      case "access": {
        const plan = access[i]!;
        const inShape = shapeOf(ins[0]!);
        const size = sizeOf(inShape);
        const g = flat(full(a, node.shape));
        if (plan.kind === "reshape") to(0, tf.reshape(g, inShape));
        else if (plan.kind === "slice") to(0, tf.reshape(tf.pad(g, [[plan.start, size - plan.start - plan.length]]), inShape));
        else to(0, tf.reshape(tf.scatterND(plan.scatter, g, [size]), inShape));
        return;
      }
      case "sum":
        // The scalar adjoint, broadcast lazily.
        to(0, tf.reshape(a, shapeOf(ins[0]!).map(() => 1)));
        return;
      case "matvec": {
        const [m, k] = nodes[ins[0]!]!.shape as [number, number];
        const g = tf.reshape(full(a, [m]), [m, 1]);
        if (needsGrad[ins[0]!]) to(0, tf.matMul(g, tf.reshape(x(1), [1, k])));
        to(1, tf.reshape(tf.matMul(x(0), g, true, false), [k]));
        return;
      }
      case "cumsum":
        to(0, tf.cumsum(full(a, node.shape), 0, false, true));
        return;
      case "concat": {
        const g = flat(full(a, node.shape));
        let offset = 0;
        ins.forEach((j, k) => {
          const size = sizeOf(nodes[j]!.shape);
          to(k, tf.reshape(tf.slice(g, offset, size), shapeOf(j)));
          offset += size;
        });
        return;
      }
      case "logSumExp": {
        const v = vals[i]!;
        if (node.axis === null) to(0, tf.mul(a, tf.exp(tf.sub(x(0), v))));
        else to(0, tf.mul(tf.expandDims(full(a, node.shape), node.axis), tf.exp(tf.sub(x(0), tf.expandDims(v, node.axis)))));
        return;
      }
      default:
        return;
    }
  }

  const qf = new Float32Array(dim);
  let disposed = false;
  return {
    device,
    evaluate(q, grad) {
      if (disposed) throw new Error("this tfjs density was disposed");
      if (program.terms.length === 0) {
        grad?.fill(0);
        return 0;
      }
      activate(device);
      qf.set(q);
      let target = 0;
      tf.tidy(() => {
        const vals: T[] = new Array(n);
        for (let i = 0; i < n; i++) vals[i] = forward(i, nodes[i]!, vals, qf)!;
        const outs: T[] = [];
        for (const t of program.terms) outs.push(...(blocked[t] ? partialSums(vals[inputsOf(nodes[t]!)[0]!]!) : [tf.reshape(vals[t]!, [1])]));
        const partials = outs.reduce((s, o) => s + o.size, 0);
        const gq: { offset: number; g: T }[] = [];
        if (grad !== null) {
          const adj: (T | undefined)[] = new Array(n);
          const add = (j: number, g: T) => {
            adj[j] = adj[j] === undefined ? g : tf.add(adj[j]!, g);
          };
          const one = tf.scalar(1);
          for (const t of program.terms) if (needsGrad[t]) add(t, one);
          for (let i = n - 1; i >= 0; i--) {
            const a = adj[i];
            if (a !== undefined && needsGrad[i]) backward(i, nodes[i]!, a, vals, add, gq);
          }
          outs.push(...gq.map((p) => p.g));
        }
        // One read back per call: partial sums, then each parameter node's gradient block.
        const data = outs.length === 1 ? outs[0]!.dataSync() : tf.concat(outs, 0).dataSync();
        for (let k = 0; k < partials; k++) target += data[k]!;
        if (grad !== null) {
          grad.fill(0);
          let at = partials;
          for (const { offset, g } of gq) {
            for (let k = 0; k < g.size; k++) grad[offset + k] += data[at + k]!;
            at += g.size;
          }
        }
      });
      return target;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of kept) t.dispose();
    },
  };
}

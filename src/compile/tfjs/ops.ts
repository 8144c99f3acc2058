/**
 * Tensor forms of the IR's elementwise operations: the value and, per argument, the adjoint
 * contribution (adjoint times partial derivative), the tensor twin of src/model/ops.ts. The
 * agreement test (test/tfjs-backend.test.ts) compares both with the js backend on every model.
 */
import type * as TF from "@tensorflow/tfjs-core";
import type { TensorElementwise } from "./program.js";

type T = TF.Tensor;

export interface TensorOp {
  fwd(tf: typeof TF, x: readonly T[]): T;
  /** Adjoint contribution to argument k, given the arguments, the value v and its adjoint a. */
  der(tf: typeof TF, k: number, x: readonly T[], v: T, a: T): T;
}

const LOG_2PI_HALF = 0.5 * Math.log(2 * Math.PI);
const SHIFT = 6;

/**
 * lgamma for positive arguments in float32: shifted to z = x + 6 (>= 6), then Stirling's series
 * to 1/z^5 (truncation error < 1e-9 there), minus the logs of the shift's factors.
 */
export function lgammaT(tf: typeof TF, x: T): T {
  return tf.tidy(() => {
    const z = tf.add(x, SHIFT);
    const zi = tf.reciprocal(z);
    const zi2 = tf.square(zi);
    // 1/(12z) - 1/(360z^3) + 1/(1260z^5)
    const series = tf.mul(zi, tf.add(1 / 12, tf.mul(zi2, tf.add(-1 / 360, tf.mul(zi2, 1 / 1260)))));
    let shift: T = tf.log(x);
    for (let k = 1; k < SHIFT; k++) shift = tf.add(shift, tf.log(tf.add(x, k)));
    const stirling = tf.add(tf.sub(tf.mul(tf.sub(z, 0.5), tf.log(z)), z), tf.add(series, LOG_2PI_HALF));
    return tf.sub(stirling, shift);
  });
}

/** digamma for positive arguments: the same shift, then the asymptotic series to 1/z^6. */
export function digammaT(tf: typeof TF, x: T): T {
  return tf.tidy(() => {
    const z = tf.add(x, SHIFT);
    const zi = tf.reciprocal(z);
    const zi2 = tf.square(zi);
    // log z - 1/(2z) - 1/(12z^2) + 1/(120z^4) - 1/(252z^6)
    const series = tf.mul(zi2, tf.add(-1 / 12, tf.mul(zi2, tf.add(1 / 120, tf.mul(zi2, -1 / 252)))));
    let shift: T = tf.reciprocal(x);
    for (let k = 1; k < SHIFT; k++) shift = tf.add(shift, tf.reciprocal(tf.add(x, k)));
    return tf.sub(tf.add(tf.sub(tf.log(z), tf.mul(zi, 0.5)), series), shift);
  });
}

const unary = (fwd: TensorOp["fwd"], der: (tf: typeof TF, x: T, v: T, a: T) => T): TensorOp => ({
  fwd,
  der: (tf, _k, [x], v, a) => der(tf, x!, v, a),
});

export const TENSOR_OPS: Readonly<Record<TensorElementwise, TensorOp>> = {
  neg: unary((tf, [x]) => tf.neg(x!), (tf, _x, _v, a) => tf.neg(a)),
  exp: unary((tf, [x]) => tf.exp(x!), (tf, _x, v, a) => tf.mul(a, v)),
  log: unary((tf, [x]) => tf.log(x!), (tf, x, _v, a) => tf.div(a, x)),
  log1p: unary((tf, [x]) => tf.log1p(x!), (tf, x, _v, a) => tf.div(a, tf.add(x, 1))),
  log1m: unary((tf, [x]) => tf.log1p(tf.neg(x!)), (tf, x, _v, a) => tf.div(a, tf.sub(x, 1))),
  expm1: unary((tf, [x]) => tf.expm1(x!), (tf, _x, v, a) => tf.mul(a, tf.add(v, 1))),
  sqrt: unary((tf, [x]) => tf.sqrt(x!), (tf, _x, v, a) => tf.div(tf.mul(a, 0.5), v)),
  square: unary((tf, [x]) => tf.square(x!), (tf, x, _v, a) => tf.mul(a, tf.mul(x, 2))),
  abs: unary((tf, [x]) => tf.abs(x!), (tf, x, _v, a) => tf.mul(a, tf.sign(x))),
  tanh: unary((tf, [x]) => tf.tanh(x!), (tf, _x, v, a) => tf.mul(a, tf.sub(1, tf.square(v)))),
  logistic: unary((tf, [x]) => tf.sigmoid(x!), (tf, _x, v, a) => tf.mul(a, tf.mul(v, tf.sub(1, v)))),
  logit: unary((tf, [x]) => tf.log(tf.div(x!, tf.sub(1, x!))), (tf, x, _v, a) => tf.div(a, tf.mul(x, tf.sub(1, x)))),
  log1pExp: unary((tf, [x]) => tf.softplus(x!), (tf, x, _v, a) => tf.mul(a, tf.sigmoid(x))),
  // log(1 - e^x) for x < 0: log(-expm1(x)) near 0, log1p(-e^x) further out (both stable there).
  log1mExp: unary(
    (tf, [x]) => tf.where(tf.greater(x!, -Math.LN2), tf.log(tf.neg(tf.expm1(x!))), tf.log1p(tf.neg(tf.exp(x!)))),
    (tf, x, _v, a) => tf.div(tf.neg(a), tf.expm1(tf.neg(x))),
  ),
  lgamma: unary((tf, [x]) => lgammaT(tf, x!), (tf, x, _v, a) => tf.mul(a, digammaT(tf, x))),
  add: { fwd: (tf, [x, y]) => tf.add(x!, y!), der: (_tf, _k, _x, _v, a) => a },
  sub: { fwd: (tf, [x, y]) => tf.sub(x!, y!), der: (tf, k, _x, _v, a) => (k === 0 ? a : tf.neg(a)) },
  mul: { fwd: (tf, [x, y]) => tf.mul(x!, y!), der: (tf, k, [x, y], _v, a) => tf.mul(a, k === 0 ? y! : x!) },
  div: {
    fwd: (tf, [x, y]) => tf.div(x!, y!),
    der: (tf, k, [, y], v, a) => (k === 0 ? tf.div(a, y!) : tf.neg(tf.div(tf.mul(a, v), y!))),
  },
  pow: {
    fwd: (tf, [x, y]) => tf.pow(x!, y!),
    der: (tf, k, [x, y], v, a) => (k === 0 ? tf.mul(a, tf.mul(y!, tf.pow(x!, tf.sub(y!, 1)))) : tf.mul(a, tf.mul(v, tf.log(x!)))),
  },
  lgammaDiff: {
    fwd: (tf, [x, y]) => tf.sub(lgammaT(tf, tf.add(x!, y!)), lgammaT(tf, x!)),
    der: (tf, k, [x, y], _v, a) => {
      const dxy = digammaT(tf, tf.add(x!, y!));
      return tf.mul(a, k === 0 ? tf.sub(dxy, digammaT(tf, x!)) : dxy);
    },
  },
  logAddExp: {
    fwd: (tf, [x, y]) => tf.add(tf.maximum(x!, y!), tf.log1p(tf.exp(tf.neg(tf.abs(tf.sub(x!, y!)))))),
    der: (tf, k, [x, y], v, a) => tf.mul(a, tf.exp(tf.sub(k === 0 ? x! : y!, v))),
  },
};

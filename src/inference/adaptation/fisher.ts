/**
 * The diagonal Fisher-divergence estimator (nutpie): for a diagonal affine transform the sample
 * Fisher divergence to a standard normal is minimised by sigma_i^2 = sqrt(Var(x_i) / Var(g_i)),
 * x the draws and g the gradients of the log density. Its initial form, from the gradient at
 * the initial point alone, is 1 / |g_i|. Both are clamped to [1e-20, 1e20], as nutpie's.
 */
import { fisherDiagonal, FISHER_LOWER, FISHER_UPPER, type WelfordDiag } from "../welford.js";

export { fisherDiagonal, FISHER_LOWER, FISHER_UPPER };

/** Initial inverse metric from the gradient at the initial point: 1 / |g_i| clamped (1 where that is not finite). */
export function gradientInitVariance(gradient: ArrayLike<number>): Float64Array {
  const out = new Float64Array(gradient.length);
  for (let i = 0; i < out.length; i++) {
    const v = 1 / Math.min(FISHER_UPPER, Math.max(FISHER_LOWER, Math.abs(gradient[i]!)));
    out[i] = Number.isFinite(v) ? v : 1;
  }
  return out;
}

/** The diagonal estimate from draw and gradient accumulators (previous values where undefined). */
export function fisherVariance(draws: WelfordDiag, grads: WelfordDiag, previous: Float64Array): Float64Array {
  return fisherDiagonal(draws, grads, previous);
}

/**
 * Learning a partially non-centred parameterisation during warmup (DECISIONS.md D70).
 *
 * A node x ~ normal(loc, scale) is sampled as z with x = loc + scale^(1 - lambda) (z - lambda loc),
 * z ~ normal(lambda loc, scale^lambda) (Gorinova, Moore and Hoffman 2020): lambda 1 is the
 * centred form, 0 the non-centred one. Which is better depends on how much of x's conditional
 * precision comes from the data: for a normal likelihood of variance v, the conditional
 * posterior of x has precision 1/scale^2 + 1/v, and the form whose coordinates are a posteriori
 * independent of (loc, scale) has lambda = (1/v) / (1/scale^2 + 1/v) (Papaspiliopoulos, Roberts and
 * Skold 2007's weight). We measure that share from warmup's own draws and gradients: by the
 * score identity E[(d log p / dx)^2] = E[-d^2 log p / dx^2] = E[1/scale^2] + (data precision), so
 *
 *   w = 1 - sum_i E[1/scale_i^2] / sum_i E[(d log p / dx_i)^2]  (over the node's elements),
 *
 * with d log p / dx = (d log p / dz) scale^(lambda - 1) at the current lambda; clipped to [0, 1]
 * and snapped to the pure forms near the ends (`REPARAM_SNAP`: measured, an intermediate lambda
 * near 1 was far worse than 1 on `stress`, DECISIONS.md D70).
 */

/** Sums over the collected draws, per element of every learned node (nodes concatenated). */
export interface ReparamStats {
  n: number;
  readonly sumG2: Float64Array;
  readonly sumInvS2: Float64Array;
  readonly sumLogS: Float64Array;
}

export interface ReparamState {
  /** Current lambda per node. */
  readonly lambda: Float64Array;
  learned: boolean;
  readonly stats: ReparamStats;
  /** Node sizes (elements per node). */
  readonly sizes: readonly number[];
}

export function initReparam(initial: ArrayLike<number>, sizes: readonly number[]): ReparamState {
  const total = sizes.reduce((a, b) => a + b, 0);
  return {
    lambda: Float64Array.from(initial),
    learned: false,
    sizes,
    stats: { n: 0, sumG2: new Float64Array(total), sumInvS2: new Float64Array(total), sumLogS: new Float64Array(total) },
  };
}

/**
 * Adds one draw: `grad` is the gradient at q in the current coordinates, `offsets` each node's
 * first coordinate in q, `locScale` each node's location and scale at q.
 */
export function reparamAdd(r: ReparamState, grad: Float64Array, offsets: readonly number[], locScale: readonly { scale: Float64Array }[]): void {
  let e = 0;
  r.stats.n++;
  r.sizes.forEach((size, k) => {
    const lam = r.lambda[k]!;
    const scale = locScale[k]!.scale;
    for (let i = 0; i < size; i++, e++) {
      const s = scale[i]!;
      const gx = grad[offsets[k]! + i]! * Math.pow(s, lam - 1);
      r.stats.sumG2[e] = r.stats.sumG2[e]! + gx * gx;
      r.stats.sumInvS2[e] = r.stats.sumInvS2[e]! + 1 / (s * s);
      r.stats.sumLogS[e] = r.stats.sumLogS[e]! + Math.log(s);
    }
  });
}

/** Several chains' statistics summed (pooled learning). */
export function mergeReparamStats(list: readonly ReparamStats[]): ReparamStats {
  const first = list[0]!;
  const out: ReparamStats = { n: 0, sumG2: new Float64Array(first.sumG2.length), sumInvS2: new Float64Array(first.sumG2.length), sumLogS: new Float64Array(first.sumG2.length) };
  for (const s of list) {
    out.n += s.n;
    for (let e = 0; e < out.sumG2.length; e++) {
      out.sumG2[e] = out.sumG2[e]! + s.sumG2[e]!;
      out.sumInvS2[e] = out.sumInvS2[e]! + s.sumInvS2[e]!;
      out.sumLogS[e] = out.sumLogS[e]! + s.sumLogS[e]!;
    }
  }
  return out;
}

/** Near the pure forms, the pure form: lambda below this is 0, above 1 minus it is 1 (D70). */
export const REPARAM_SNAP = 0.25;

/**
 * The learned lambda per node from the statistics (the current one where fewer than 10 draws
 * were seen): the node's data share w = 1 - sum E[1/scale^2] / sum E[(d log p / dx)^2] over its
 * elements (a ratio of sums, so that the noise of single elements does not bias it), clipped to
 * [0, 1], and snapped to 0 or 1 within `snap` of them.
 */
export function learnedLambda(stats: ReparamStats, sizes: readonly number[], current: Float64Array, snap = REPARAM_SNAP): Float64Array {
  const out = Float64Array.from(current);
  if (stats.n < 10) return out;
  let e = 0;
  sizes.forEach((size, k) => {
    let prior = 0;
    let total = 0;
    for (let i = 0; i < size; i++, e++) {
      prior += stats.sumInvS2[e]!;
      total += stats.sumG2[e]!;
    }
    const w = 1 - prior / total;
    const c = Number.isFinite(w) ? Math.min(1, Math.max(0, w)) : current[k]!;
    out[k] = c < snap ? 0 : c > 1 - snap ? 1 : c;
  });
  return out;
}

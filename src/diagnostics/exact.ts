/**
 * Exact sign of (a + b) - (c + d) for finite doubles, by error-free
 * transformations (Knuth's TwoSum) growing a nonoverlapping expansion
 * (Shewchuk 1997). Used to rank folded draws |x - median| without rounding
 * artefacts: see foldZScaleView in rank.ts.
 */

// TwoSum results are passed through module variables to avoid allocating.
let sumHi = 0;
let sumLo = 0;

function twoSum(a: number, b: number): void {
  const s = a + b;
  const bv = s - a;
  const av = s - bv;
  sumHi = s;
  sumLo = a - av + (b - bv);
}

/** sign((a + b) - (c + d)) computed exactly; -1, 0 or 1. */
export function exactSignSumDiff(a: number, b: number, c: number, d: number): number {
  // Filter: the rounded result has absolute error below 3 u (|a|+|b|+|c|+|d|),
  // u = 2^-53, so a larger magnitude already has the exact sign.
  const approx = a + b - (c + d);
  const bound = 2.220446049250313e-16 * (Math.abs(a) + Math.abs(b) + Math.abs(c) + Math.abs(d));
  if (approx > bound) return 1;
  if (approx < -bound) return -1;
  // Expansion of a + b: [e0, e1] (increasing magnitude, nonoverlapping).
  twoSum(a, b);
  const e1 = sumHi;
  const e0 = sumLo;
  // Grow by -c: carry -c through e0, e1.
  twoSum(-c, e0);
  const f0 = sumLo;
  twoSum(sumHi, e1);
  const f1 = sumLo;
  const f2 = sumHi;
  // Grow by -d.
  twoSum(-d, f0);
  const g0 = sumLo;
  twoSum(sumHi, f1);
  const g1 = sumLo;
  twoSum(sumHi, f2);
  const g2 = sumLo;
  const g3 = sumHi;
  if (!Number.isFinite(g3)) return approx > 0 ? 1 : approx < 0 ? -1 : 0; // overflow
  // The most significant nonzero component carries the sign.
  const top = g3 !== 0 ? g3 : g2 !== 0 ? g2 : g1 !== 0 ? g1 : g0;
  return top > 0 ? 1 : top < 0 ? -1 : 0;
}

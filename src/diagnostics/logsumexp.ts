/** log(sum(exp(x))) without overflow: -Infinity for an empty array or all -Infinity. */
export function logSumExpOf(x: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  if (max === -Infinity || Number.isNaN(max)) return max;
  if (max === Infinity) return Infinity;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - max);
  return max + Math.log(s);
}

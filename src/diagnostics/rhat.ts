/**
 * Potential scale reduction (posterior's .rhat) on split sequences:
 *   sqrt((B / W + n - 1) / n),  B = n var(sequence means), W = mean(sequence variances).
 */
import type { SplitView } from "./draws.js";
import { meanOf, varianceOf, viewShouldReturnNA } from "./draws.js";
import type { Workspace } from "./workspace.js";

export function rhatView(x: Float64Array, view: SplitView, ws: Workspace): number {
  const { starts, count, len, stride } = view;
  if (viewShouldReturnNA(x, view)) return Number.NaN;
  // R yields NA here: a variance of a single value is undefined.
  if (len < 2 || count < 2) return Number.NaN;
  const means = ws.get("rhat.means", count);
  const vars = ws.get("rhat.vars", count);
  for (let s = 0; s < count; s++) {
    const st = starts[s]!;
    const mu = meanOf(x, st, len, stride);
    let ss = 0;
    for (let i = st, end = st + len * stride; i < end; i += stride) {
      const d = x[i]! - mu;
      ss += d * d;
    }
    means[s] = mu;
    vars[s] = ss / (len - 1);
  }
  const varBetween = len * varianceOf(means, 0, count);
  const varWithin = meanOf(vars, 0, count);
  return Math.sqrt((varBetween / varWithin + len - 1) / len);
}

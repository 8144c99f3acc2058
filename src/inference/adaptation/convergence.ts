/**
 * When is warmup done? The pieces of the rule the coordinator applies at window ends
 * (DECISIONS.md D69): the metric has stopped moving (the diagonal estimated from the last
 * block of draws against the one from the block before, as an RMS of log ratios) and the
 * chains agree on where they are (R-hat of the last block's draws), after a floor of
 * iterations; the final phase that adapts the step size alone then gets `finalPhaseLength`.
 */

export interface WarmupEndRule {
  /** No end before this many warmup iterations. */
  readonly floor: number;
  /** Largest RMS over coordinates of log(diag_new / diag_old) between two successive blocks. */
  readonly tolerance: number;
  /** Largest rank-normalised R-hat (max over quantities) of the last block's draws across chains. */
  readonly rhat: number;
  /** Iterations per block (windows are merged until a block has at least this many). */
  readonly block: number;
  /** The final step-size-only phase: this fraction of the iterations so far over (1 - fraction), at least `minFinal`. */
  readonly finalFraction: number;
  readonly minFinal: number;
}

export const WARMUP_END_DEFAULTS: WarmupEndRule = { floor: 300, tolerance: 0.2, rhat: 1.1, block: 50, finalFraction: 0.15, minFinal: 50 };

/** RMS over coordinates of log(a_i / b_i) (Infinity when any ratio is not finite and positive). */
export function metricChange(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const r = Math.log(a[i]! / b[i]!);
    if (!Number.isFinite(r)) return Infinity;
    s += r * r;
  }
  return a.length === 0 ? 0 : Math.sqrt(s / a.length);
}

/** Length of the step-size-only phase after `iteration` warmup iterations of metric adaptation. */
export function finalPhaseLength(iteration: number, rule: WarmupEndRule = WARMUP_END_DEFAULTS): number {
  return Math.max(rule.minFinal, Math.round((rule.finalFraction * iteration) / (1 - rule.finalFraction)));
}

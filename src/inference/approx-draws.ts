/** Draws from an approximation (Pathfinder's, ADVI's): unconstrained, with log p and log q of each. */
export interface ApproxDraws {
  /** count x d, draw-major. */
  readonly draws: Float64Array;
  /** The model's log density at each draw. */
  readonly lp: Float64Array;
  /** The approximation's log density at each draw. */
  readonly lpApprox: Float64Array;
  readonly count: number;
}

/**
 * Nesterov dual averaging of log(step size), as Stan's stepsize_adaptation.hpp.
 */

export interface DualAveragingSettings {
  /** Target acceptance statistic (Stan's adapt_delta). */
  readonly delta: number;
  readonly gamma: number;
  readonly kappa: number;
  readonly t0: number;
}

export interface DualAveragingState {
  counter: number;
  sBar: number;
  xBar: number;
  mu: number;
}

export function initDualAveraging(mu: number): DualAveragingState {
  return { counter: 0, sBar: 0, xBar: 0, mu };
}

/** Stan's `restart()` followed by `set_mu(mu)`. */
export function restartDualAveraging(da: DualAveragingState, mu: number): void {
  da.counter = 0;
  da.sBar = 0;
  da.xBar = 0;
  da.mu = mu;
}

/** One update with the acceptance statistic; returns the new step size exp(x). */
export function learnStepSize(da: DualAveragingState, acceptStat: number, s: DualAveragingSettings): number {
  da.counter += 1;
  const a = acceptStat > 1 ? 1 : acceptStat;
  const eta = 1 / (da.counter + s.t0);
  da.sBar = (1 - eta) * da.sBar + eta * (s.delta - a);
  const x = da.mu - (da.sBar * Math.sqrt(da.counter)) / s.gamma;
  const xEta = Math.pow(da.counter, -s.kappa);
  da.xBar = (1 - xEta) * da.xBar + xEta * x;
  return Math.exp(x);
}

/** The step size used after warmup: exp(x-bar). */
export function finalStepSize(da: DualAveragingState): number {
  return Math.exp(da.xBar);
}

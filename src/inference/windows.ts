/**
 * Stan's windowed warmup schedule (stan/mcmc/windowed_adaptation.hpp), as plain data.
 *
 * Warmup iterations are numbered 0 .. numWarmup-1. An initial fast buffer (75), then slow
 * windows whose length doubles from 25, the last one stretched to end where the terminal
 * fast buffer (50) begins. The metric is updated at the last iteration of each slow window.
 *
 * Short warmup, as Stan: below 20 iterations no metric adaptation at all; when
 * initBuffer + baseWindow + termBuffer > numWarmup, the stages become 15% / 75% / 10% of
 * numWarmup (truncated to integers exactly as Stan's double -> unsigned conversion).
 *
 * One deliberate difference from Stan's code (2.36, windowed_adaptation.hpp): in that
 * short-warmup branch Stan does not call `restart()`, so its next-window marker stays at
 * the constructor's `0 + 0 - 1` (UINT_MAX) and the metric is in fact never updated for
 * 20 <= warmup < 150 (stan-dev/stan#3380). We implement the documented and logged
 * behaviour instead (one slow window covering the middle 75%).
 */

export interface WindowConfig {
  readonly initBuffer: number;
  readonly termBuffer: number;
  readonly baseWindow: number;
}

export const STAN_WINDOW_DEFAULTS: WindowConfig = { initBuffer: 75, termBuffer: 50, baseWindow: 25 };

/** The mutable counters of the schedule (Stan's windowed_adaptation members). */
export interface WindowState {
  /** False when numWarmup < 20: no metric adaptation. */
  readonly enabled: boolean;
  readonly numWarmup: number;
  readonly initBuffer: number;
  readonly termBuffer: number;
  readonly baseWindow: number;
  /** Warmup iterations seen so far by the metric adaptation. */
  counter: number;
  windowSize: number;
  /** Iteration (value of `counter`) at which the current slow window ends; -1: never. */
  nextWindow: number;
}

export function initWindowState(numWarmup: number, config: WindowConfig = STAN_WINDOW_DEFAULTS): WindowState {
  const { initBuffer, termBuffer, baseWindow } = config;
  for (const [k, v] of Object.entries({ numWarmup, initBuffer, termBuffer, baseWindow })) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${k} must be a non-negative integer, got ${v}`);
  }
  if (numWarmup < 20) {
    return { enabled: false, numWarmup, initBuffer: 0, termBuffer: 0, baseWindow: 0, counter: 0, windowSize: 0, nextWindow: -1 };
  }
  let ib = initBuffer;
  let tb = termBuffer;
  let bw = baseWindow;
  if (initBuffer + baseWindow + termBuffer > numWarmup) {
    ib = Math.trunc(0.15 * numWarmup);
    tb = Math.trunc(0.1 * numWarmup);
    bw = numWarmup - (ib + tb);
  }
  return {
    enabled: true,
    numWarmup,
    initBuffer: ib,
    termBuffer: tb,
    baseWindow: bw,
    counter: 0,
    windowSize: bw,
    nextWindow: ib + bw - 1,
  };
}

/** Is the current iteration inside a slow window (its draw goes into the accumulator)? */
export function inAdaptationWindow(w: WindowState): boolean {
  return (
    w.enabled &&
    w.counter >= w.initBuffer &&
    w.counter < w.numWarmup - w.termBuffer &&
    w.counter !== w.numWarmup
  );
}

/** Is the current iteration the last one of a slow window? */
export function endOfAdaptationWindow(w: WindowState): boolean {
  return w.enabled && w.counter === w.nextWindow && w.counter !== w.numWarmup;
}

/** Stan's `compute_next_window`. */
export function computeNextWindow(w: WindowState): void {
  const lastSlow = w.numWarmup - w.termBuffer - 1;
  if (w.nextWindow === lastSlow) return;
  w.windowSize *= 2;
  w.nextWindow = w.counter + w.windowSize;
  if (w.nextWindow === lastSlow) return;
  const followingBoundary = w.nextWindow + 2 * w.windowSize;
  if (followingBoundary >= w.numWarmup - w.termBuffer) w.nextWindow = lastSlow;
}

/** One slow window: iterations [start, end); the metric is updated after iteration end-1. */
export interface SlowWindow {
  readonly start: number;
  readonly end: number;
}

export interface WarmupSchedule {
  readonly numWarmup: number;
  /** False when numWarmup < 20 (step size adaptation only). */
  readonly adaptsMetric: boolean;
  readonly initBuffer: number;
  readonly termBuffer: number;
  readonly baseWindow: number;
  readonly windows: readonly SlowWindow[];
}

/**
 * The whole schedule for `numWarmup`, by running the same state machine as the kernel.
 * A coordinator uses `windows[k].end` as the barriers where it pools metrics.
 */
export function warmupSchedule(numWarmup: number, config: WindowConfig = STAN_WINDOW_DEFAULTS): WarmupSchedule {
  const w = initWindowState(numWarmup, config);
  const windows: SlowWindow[] = [];
  let start = -1;
  for (let it = 0; it < numWarmup; it++) {
    if (inAdaptationWindow(w) && start < 0) start = it;
    if (endOfAdaptationWindow(w)) {
      computeNextWindow(w);
      windows.push({ start, end: it + 1 });
      start = -1;
    }
    w.counter++;
  }
  return {
    numWarmup,
    adaptsMetric: w.enabled,
    initBuffer: w.initBuffer,
    termBuffer: w.termBuffer,
    baseWindow: w.baseWindow,
    windows,
  };
}

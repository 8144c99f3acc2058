/**
 * Adaptive warmup extension: at the end of the last slow window, add one more slow window of
 * `by` iterations before the terminal fast buffer. A pure function over the plain-data
 * checkpoint; the kernel then runs the extended schedule as Stan's state machine would
 * (`computeNextWindow` sees the new window as the last one).
 */
import { nextWindowEnd, type ChainState } from "../src/inference/index.js";

/** True when `state` stands at the end of its last slow window (awaiting its metric). */
export function atLastWindowEnd(state: ChainState): boolean {
  return state.awaitingMetric && state.windows.enabled && nextWindowEnd(state) === null && state.iteration < state.numWarmup;
}

/**
 * The checkpoint with warmup longer by `by` iterations, all of them in a new slow window
 * that starts now (`state` must be at the end of its last slow window).
 */
export function extendWarmup(state: ChainState, by: number): ChainState {
  if (!Number.isInteger(by) || by < 1) throw new RangeError(`warmup extension must be a positive integer, got ${by}`);
  if (!atLastWindowEnd(state)) throw new Error("extendWarmup: the chain is not at the end of its last slow window");
  const w = state.windows;
  const s = structuredClone(state) as { -readonly [K in keyof ChainState]: ChainState[K] };
  const numWarmup = state.numWarmup + by;
  // After the last window's final iteration, `counter` is the first iteration of the
  // terminal buffer; the new window covers counter .. counter + by - 1.
  s.numWarmup = numWarmup;
  s.windows = { ...w, numWarmup, windowSize: by, nextWindow: w.counter + by - 1 };
  return s as ChainState;
}

/**
 * nutpie's warmup schedule for the Fisher-divergence metric (nuts-rs `adapt_strategy.rs`), as
 * plain data and pure steps:
 *
 * - two estimators, foreground and background, each fed every draw that moved (a divergent
 *   transition's draw only if it lies more than 4 leapfrog steps from the start);
 * - an early phase (the first `earlyFraction` of warmup) where the background replaces the
 *   foreground every `earlySwitchEvery` draws; then main windows from `firstWindow` draws,
 *   growing by `growth` at each switch;
 * - a switch only when the background holds a full window and the next window still fits
 *   before the final phase; the metric is re-estimated from the foreground every
 *   `updateEvery` draws and at each switch;
 * - the final `finalFraction` of warmup adapts the step size only.
 *
 * With `countRule` (a chain adapting on its own: nutpie exactly) a window is full when the
 * background holds that many draws; without it (chains that meet at switches), when that many
 * iterations have passed, so that every chain switches at the same iteration.
 */
import type { FisherEstimator, FisherKind } from "./estimator.js";
import { estimatorAdd, estimatorCount, newEstimator } from "./estimator.js";
import { LOW_RANK_DEFAULTS, type LowRankSettings } from "./low-rank.js";

export interface FisherScheduleSettings {
  readonly earlyFraction: number;
  readonly finalFraction: number;
  readonly earlySwitchEvery: number;
  readonly firstWindow: number;
  readonly growth: number;
  /** Draws between metric re-estimates from the foreground; null: nutpie's (1 diagonal, 20 low-rank). */
  readonly updateEvery: number | null;
  readonly lowRank: LowRankSettings;
  /**
   * Learned parameterisations (models with `noncentered: "learn"` nodes): statistics from the
   * draws of iterations [reparamFrom, reparamAt), lambda set at the first switch from
   * `reparamAt` on (no learning when the early phase ends before it).
   */
  readonly reparamFrom: number;
  readonly reparamAt: number;
}

export const NUTPIE_SCHEDULE: FisherScheduleSettings = {
  earlyFraction: 0.3,
  finalFraction: 0.15,
  earlySwitchEvery: 10,
  firstWindow: 80,
  growth: 1.5,
  updateEvery: null,
  lowRank: LOW_RANK_DEFAULTS,
  reparamFrom: 30,
  reparamAt: 100,
};

export interface FisherScheduleState {
  readonly kind: FisherKind;
  readonly numWarmup: number;
  readonly earlyEnd: number;
  /** First iteration of the final (step size only) phase. */
  finalStart: number;
  readonly countRule: boolean;
  readonly updateEvery: number;
  currentWindow: number;
  lastUpdate: number;
  /** The metric is still the one made from the initial gradient. */
  initialMetric: boolean;
  /** Iterations since the last switch (the initial point counts as one). */
  sinceSwitch: number;
  foreground: FisherEstimator;
  background: FisherEstimator;
  switches: number;
  /** The window length to take at the pending switch (main phase), null in the early phase. */
  pendingWindow: number | null;
  /** The adaptation was ended early (adaptive warmup length): the metric stays as it is. */
  ended: boolean;
  /** After a change of parameterisation: no metric re-estimates until the next switch (the estimators restarted). */
  hold: boolean;
}

export type FisherAction = "none" | "update" | "switch";

/** The schedule's state at the start, its estimators holding the initial point. */
export function initFisherSchedule(
  kind: FisherKind,
  numWarmup: number,
  settings: FisherScheduleSettings,
  countRule: boolean,
  position: Float64Array,
  gradient: Float64Array,
): FisherScheduleState {
  const d = position.length;
  const foreground = newEstimator(kind, d);
  const background = newEstimator(kind, d);
  estimatorAdd(foreground, position, gradient);
  estimatorAdd(background, position, gradient);
  const finalLength = Math.trunc(settings.finalFraction * numWarmup);
  return {
    kind,
    numWarmup,
    earlyEnd: Math.trunc(settings.earlyFraction * numWarmup),
    finalStart: numWarmup - finalLength,
    countRule,
    updateEvery: settings.updateEvery ?? (kind === "diag" ? 1 : 20),
    currentWindow: settings.firstWindow,
    lastUpdate: 0,
    initialMetric: true,
    sinceSwitch: 1,
    foreground,
    background,
    switches: 0,
    pendingWindow: null,
    ended: false,
    hold: false,
  };
}

/** Whether a draw counts: it moved (a divergent one only if more than 4 steps from the start). */
export function drawMoved(index: number, divergent: boolean): boolean {
  return divergent ? Math.abs(index) > 4 : index !== 0;
}

function nextWindowLength(fs: FisherScheduleState, early: boolean, s: FisherScheduleSettings): number {
  return early ? s.earlySwitchEvery : Math.max(fs.currentWindow + 1, Math.round(fs.currentWindow * s.growth));
}

/**
 * The schedule after the draw of warmup iteration `it`: adds it to the estimators (if it
 * moved) and says what is due: a switch, a metric re-estimate, or nothing.
 */
export function fisherStep(
  fs: FisherScheduleState,
  it: number,
  moved: boolean,
  x: Float64Array,
  g: Float64Array,
  s: FisherScheduleSettings,
): FisherAction {
  if (fs.ended || it >= fs.finalStart) {
    // The metric is fixed from here on: the stored draws are not needed again (and a pooled
    // foreground would otherwise stay in every chain's checkpoint to the end of the run).
    if (estimatorCount(fs.foreground) > 0 || estimatorCount(fs.background) > 0) {
      fs.foreground = newEstimator(fs.kind, x.length);
      fs.background = newEstimator(fs.kind, x.length);
    }
    return "none";
  }
  const early = it < fs.earlyEnd;
  if (!early && it === fs.earlyEnd) {
    fs.currentWindow = Math.max(fs.currentWindow, fs.countRule ? estimatorCount(fs.background) : fs.sinceSwitch);
  }
  const switchEvery = early ? s.earlySwitchEvery : fs.currentWindow;
  if (moved) {
    estimatorAdd(fs.foreground, x, g);
    estimatorAdd(fs.background, x, g);
  }
  fs.sinceSwitch++;
  const full = (fs.countRule ? estimatorCount(fs.background) : fs.sinceSwitch) >= switchEvery;
  const next = nextWindowLength(fs, early, s);
  const late = next + it > fs.finalStart;
  if (full && !late) {
    fs.pendingWindow = early ? null : next;
    return "switch";
  }
  return !fs.hold && it - fs.lastUpdate >= fs.updateEvery ? "update" : "none";
}

/** The switch: the foreground becomes `foreground` (pooled) or the background; a new background. */
export function fisherSwitch(fs: FisherScheduleState, foreground: FisherEstimator | null, dim: number): void {
  fs.foreground = foreground ?? fs.background;
  fs.background = newEstimator(fs.kind, dim);
  fs.sinceSwitch = 0;
  if (fs.pendingWindow !== null) fs.currentWindow = fs.pendingWindow;
  fs.pendingWindow = null;
  fs.switches++;
  fs.hold = false;
}

/**
 * With chains that meet a coordinator at switches (no `countRule`) and early switches made by
 * each chain on its own (`sharedSwitches: "main"`): whether the switch due after the draw of
 * iteration `it` is one the coordinator makes. Those are the main phase's switches, the early
 * phase's last (the main phase starts from pooled statistics, and the adaptive warmup rule is
 * first examined there), and the switch where the parameterisation is learned (`learnAt`: the
 * iteration from which it is, null when nothing is left to learn), so that every chain moves to
 * the same lambdas. The early phase's other switches (every `earlySwitchEvery` draws) are the
 * chain's own, made inside its chunk: no round trip (DECISIONS.md D147).
 */
export function sharedFisherSwitch(fs: FisherScheduleState, it: number, s: FisherScheduleSettings, learnAt: number | null): boolean {
  if (!(it < fs.earlyEnd && it + s.earlySwitchEvery < fs.earlyEnd)) return true;
  return learnAt !== null && it + 1 >= learnAt;
}

/**
 * Without `countRule`: the warmup iteration after whose draw the next switch is due (from
 * iteration `from` on), or null when none is left. Every chain of a run computes the same.
 * With `onlyShared`, the next switch the coordinator makes (`sharedFisherSwitch`), passing over
 * the chain's own.
 */
export function nextFisherSwitch(
  fs: FisherScheduleState,
  from: number,
  s: FisherScheduleSettings,
  onlyShared: { readonly learnAt: number | null } | null = null,
): number | null {
  if (fs.countRule || fs.ended) return null;
  let window = fs.currentWindow;
  let since = fs.sinceSwitch;
  for (let it = from; it < fs.finalStart; it++) {
    const early = it < fs.earlyEnd;
    if (!early && it === fs.earlyEnd) window = Math.max(window, since);
    since++;
    if (since >= (early ? s.earlySwitchEvery : window)) {
      const next = early ? s.earlySwitchEvery : Math.max(window + 1, Math.round(window * s.growth));
      if (!(next + it > fs.finalStart)) {
        if (onlyShared === null || sharedFisherSwitch(fs, it, s, onlyShared.learnAt)) return it;
        // The chain's own switch (early phase): its window starts again.
        since = 0;
      }
    }
  }
  return null;
}

/** Whether iteration `it` lies in the early phase. */
export function inEarlyPhase(fs: FisherScheduleState, it: number): boolean {
  return it < fs.earlyEnd;
}

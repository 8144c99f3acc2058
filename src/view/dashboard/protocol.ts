/**
 * What the dashboard's server sends the page (JSON over a WebSocket, or embedded in a static
 * report): a first frame with everything, then frames with what was added since the
 * frame the page acknowledged. Shared by the server (Node) and the page (browser): types only.
 *
 * Draws for drawing are a thinned copy on one grid for all chains: index j of a chain's
 * arrays is iteration `j * stride` (warmup and sampling counted together). When the copy is
 * full the stride doubles and every other point goes (the page does the same to its copy).
 * Numbers that are NaN (placeholders) travel as null.
 */
import type { RunEvent, ChainProgress, ParamDiagnostics } from "../../../actors/events.js";

export type Num = number | null;

export interface DashboardMeta {
  readonly title: string;
  /** Quantities kept for drawing (a choice among the model's, at most `maxQuantities`). */
  readonly names: readonly string[];
  /** How many quantities the model reports in all. */
  readonly totalQuantities: number;
  readonly chains: number;
  readonly earlyStop: { readonly rhat: number; readonly essBulk: number; readonly essTail: number } | null;
  /** Draws a chain keeps for drawing at most (the thinned copy's size). */
  readonly capacity: number;
  /** Iteration of the grid's first point (0; a report without warmup draws starts at the first sampling draw). */
  readonly origin: number;
  /** Sampling draws per chain the autocorrelation is computed from (the latest ones). */
  readonly acfWindow: number;
  readonly theme: "dark" | "light";
  /** "live": a run in progress; "report": a finished (or aborted) run, static. */
  readonly kind: "live" | "report";
}

/** Per chain, points added to the thinned copy since the last frame (index `from` on). */
export interface TraceAppend {
  readonly chain: number;
  readonly from: number;
  /** values[k][i]: quantity k at grid index from + i. */
  readonly values: readonly (readonly Num[])[];
  readonly lp: readonly Num[];
  /** Energy (Hamiltonian) and the energy change from the previous iteration (not thinned: the true neighbour). */
  readonly energy: readonly Num[];
  readonly energyDiff: readonly Num[];
}

export interface DivergentPoints {
  readonly chain: number;
  readonly iterations: readonly number[];
  /** values[k][i]: quantity k at divergent draw i. */
  readonly values: readonly (readonly Num[])[];
}

export interface DiagnosticsPoint {
  /** Draws per chain the point was computed at. */
  readonly draws: number;
  /**
   * "run": the run's own check point, over every draw; "page": the dashboard's, over its kept
   * copy (every `stride`-th draw: R-hat as usual, ESS of the kept draws, a lower bound of the
   * run's), made when the run's own come too seldom (runs without early stop).
   */
  readonly source: "run" | "page";
  readonly stride: number;
  readonly maxRhat: Num;
  readonly minEssBulk: Num;
  readonly minEssTail: Num;
  readonly converged: boolean;
}

export interface LoggedEvent {
  readonly seq: number;
  /** Seconds since the run started (null: not known, e.g. a report's events rebuilt from the result). */
  readonly t: number | null;
  readonly event: RunEvent;
}

export interface Frame {
  readonly seq: number;
  /** True: replace everything (first frame, or the page fell too far behind). */
  readonly reset: boolean;
  readonly meta?: DashboardMeta;
  readonly stride: number;
  readonly traces: readonly TraceAppend[];
  /** Sampling divergences: `reset` of the divergent sets (decimated, or first frame) or appended. */
  readonly divergent: { readonly reset: boolean; readonly chains: readonly DivergentPoints[] } | null;
  /** Autocorrelation per chain per kept quantity (lags 0..), of each chain's latest `acfWindow` sampling draws. */
  readonly acf: readonly (readonly (readonly Num[])[])[] | null;
  /** E-BFMI per chain over every sampling draw so far (not thinned). */
  readonly ebfmi: readonly Num[];
  readonly diagnostics: { readonly reset: boolean; readonly points: readonly DiagnosticsPoint[] } | null;
  /** The latest check point's table for the kept quantities (R-hat, ESS), when it changed. */
  readonly params: readonly ParamDiagnostics[] | null;
  /** Where the params table comes from (null before the first check point). */
  readonly paramsAt: Pick<DiagnosticsPoint, "draws" | "source" | "stride"> | null;
  /** What `diagnose` found (the final run's), or the live checks so far; null: none yet. */
  readonly findings: readonly PageFinding[] | null;
  /** Latest per-chain progress (null entries: not started). */
  readonly progress: readonly (ChainProgress | null)[];
  readonly status: "running" | "completed" | "stopped-early" | "aborted" | "failed" | "paused";
  readonly elapsedSeconds: number;
  readonly events: readonly LoggedEvent[];
  /** Frames the server skipped for this page because the page had not acknowledged the last one. */
  readonly dropped: number;
  /** The finished run's summary table (formatSummary's columns): a report's, or a live run's once it ended. */
  readonly summary?: readonly SummaryLine[];
}

/** The columns of `formatSummary` (src/diagnostics/summary.ts), in its order. */
export interface SummaryLine {
  readonly name: string;
  readonly mean: Num;
  readonly sd: Num;
  readonly hdiLower: Num;
  readonly hdiUpper: Num;
  readonly hdiProb: number;
  readonly median: Num;
  readonly mad: Num;
  readonly q5: Num;
  readonly q95: Num;
  readonly mcseMean: Num;
  readonly mcseSd: Num;
  readonly essBulk: Num;
  readonly essTail: Num;
  readonly rhat: Num;
}

/** One finding of `diagnose` as the page shows it. */
export interface PageFinding {
  readonly level: "ok" | "info" | "warn" | "bad";
  readonly check: string;
  readonly text: string;
}

/** Page -> server: the frame `seq` was applied (the server sends the next only then). */
export interface Ack {
  readonly ack: number;
}

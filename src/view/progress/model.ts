/**
 * What the terminal progress shows, folded from a run's streams (`progress$`, `events$`,
 * `diagnostics$`): a pure state machine with the clock passed in, so that recorded streams
 * replay to the same frames (the unit tests do that).
 */
import type { ChainProgress, OnlineDiagnostics, RunEvent, RunProgress, RunStatusKind } from "../../../actors/events.js";
import type { EarlyStopOptions } from "../../../actors/coordinator.js";
import { describeOdeFailures } from "../../ode/index.js";

export type ChainState = "starting" | "running" | "restarting" | "completed" | "stopped-early" | "failed" | "aborted";

export interface ChainLine {
  readonly chain: number;
  readonly state: ChainState;
  readonly phase: "warmup" | "sampling";
  /** Iterations done (warmup + sampling) and planned (the most planned so far: it never shrinks, so the bar's scale does not jump). */
  readonly done: number;
  readonly planned: number;
  readonly numWarmup: number;
  /** Sampling draws done and planned (the maximum with early stop, until it stops). */
  readonly draws: number;
  readonly plannedDraws: number;
  readonly divergences: number;
  readonly stepSize: number;
  /** Recent gradient evaluations per iteration (NaN before two updates). */
  readonly gradientsPerDraw: number;
  /** Recent iterations per second (NaN before two updates). */
  readonly drawsPerSecond: number;
  readonly restarts: number;
  readonly placeholders: number;
}

export interface ConvergenceLine {
  readonly targets: { readonly rhat: number; readonly essBulk: number; readonly essTail: number };
  /** The latest check point's extremes (null before the first). */
  readonly latest: { readonly draws: number; readonly maxRhat: number; readonly minEssBulk: number; readonly minEssTail: number } | null;
  /** Draws per chain at which the run stopped (null while running or when it never did). */
  readonly stoppedAt: number | null;
}

export interface ProgressFrame {
  readonly title: string | null;
  readonly chains: readonly ChainLine[];
  readonly threads: number | null;
  readonly seed: number | null;
  readonly elapsedSeconds: number;
  /** Seconds left at the recent pace (null: unknown; 0 when over). */
  readonly etaSeconds: number | null;
  /** 0..1 over every chain's planned iterations. */
  readonly fraction: number;
  readonly convergence: ConvergenceLine | null;
  readonly status: RunStatusKind | "running" | "paused";
  readonly warmupExtensions: number;
  /** Notable events, oldest first (restarts, failures, placeholders, warmup extended, early stop). */
  readonly notes: readonly string[];
}

export interface ProgressModelOptions {
  readonly chains: number;
  readonly title?: string | null;
  /** Early-stop targets, when the run stops early (its convergence line is shown then). */
  readonly earlyStop?: Pick<EarlyStopOptions, "rhat" | "essBulk" | "essTail"> | null;
  /** Notes kept (the latest). */
  readonly maxNotes?: number;
}

interface ChainTrack {
  p: ChainProgress | null;
  state: ChainState;
  placeholders: number;
  /** Smoothed rates and the snapshot they were last updated from. */
  rate: number;
  gradPerDraw: number;
  lastT: number;
  lastIteration: number;
  lastGradients: number;
  /** The most iterations planned so far (an adaptive warmup or an early stop may end sooner). */
  maxPlanned: number;
  /** Divergences of the sampling draws the run published (null: batches not followed). */
  keptDivergences: number | null;
}

/** Rates are smoothed over about this many seconds. */
const RATE_SECONDS = 2;

export class ProgressModel {
  private readonly tracks: ChainTrack[];
  private readonly earlyStop: ProgressModelOptions["earlyStop"];
  private readonly maxNotes: number;
  private readonly title: string | null;
  private t0: number | null = null;
  private endT: number | null = null;
  private threads: number | null = null;
  private seed: number | null = null;
  private status: ProgressFrame["status"] = "running";
  private latest: ConvergenceLine["latest"] = null;
  private stoppedAt: number | null = null;
  private extensions = 0;
  private notes: string[] = [];
  /** Recent total iterations per second (all chains), for the ETA. */
  private totalRate = NaN;
  private lastTotalT = NaN;
  private lastTotalDone = 0;

  constructor(options: ProgressModelOptions) {
    this.tracks = Array.from({ length: options.chains }, () => ({
      p: null,
      state: "starting" as ChainState,
      placeholders: 0,
      rate: NaN,
      gradPerDraw: NaN,
      lastT: NaN,
      lastIteration: 0,
      lastGradients: 0,
      maxPlanned: 0,
      keptDivergences: null,
    }));
    this.earlyStop = options.earlyStop ?? null;
    this.maxNotes = options.maxNotes ?? 4;
    this.title = options.title ?? null;
  }

  private start(now: number): void {
    if (this.t0 === null) this.t0 = now;
  }

  /** Notes made so far (the frame keeps the latest `maxNotes`). */
  notesSeen = 0;

  private note(s: string): void {
    this.notesSeen++;
    this.notes.push(s);
    if (this.notes.length > this.maxNotes) this.notes.splice(0, this.notes.length - this.maxNotes);
  }

  private track(chain: number): ChainTrack | undefined {
    return this.tracks[chain];
  }

  event(e: RunEvent, now: number): void {
    this.start(now);
    switch (e.type) {
      case "run-started":
        this.threads = e.threads;
        this.seed = e.seed;
        break;
      case "chain-started": {
        const t = this.track(e.chain);
        if (t !== undefined && t.state === "starting") t.state = "running";
        break;
      }
      case "chunk-failed": {
        const t = this.track(e.chain);
        if (t !== undefined) t.state = "restarting";
        this.note(`chain ${e.chain}: chunk from iteration ${e.fromIteration} failed (${e.reason}, try ${e.attempt + 1}): ${firstLine(e.message)}`);
        break;
      }
      case "chain-restarted": {
        const t = this.track(e.chain);
        if (t !== undefined) t.state = "running";
        this.note(`chain ${e.chain}: restarted from iteration ${e.fromIteration} (restart ${e.attempt})`);
        break;
      }
      case "chain-failed": {
        const t = this.track(e.chain);
        if (t !== undefined) t.state = "failed";
        this.note(`chain ${e.chain}: FAILED at iteration ${e.atIteration} after ${e.restarts} restart(s): ${firstLine(e.message)}`);
        break;
      }
      case "placeholders": {
        const t = this.track(e.chain);
        if (t !== undefined) t.placeholders += e.count;
        this.note(`chain ${e.chain}: ${e.count} placeholder ${e.phase} draws from iteration ${e.start}`);
        break;
      }
      case "ode-failures":
        this.note(`chain ${e.chain}: ODE solves failed in ${e.phase} iterations ${e.iteration}..${e.iteration + e.count - 1} (${describeOdeFailures(e.failures)}): those proposals were rejected`);
        break;
      case "metric-kept":
        this.note(`chain ${e.chain}: kept its previous metric at iteration ${e.iteration} (${firstLine(e.reason)})`);
        break;
      case "warmup-extended":
        this.extensions = e.extension;
        this.note(`warmup extended by ${e.by} to ${e.numWarmup} (R-hat of the last window ${e.maxRhat.toFixed(3)})`);
        break;
      case "warmup-ended":
        this.note(`warmup ends at iteration ${e.numWarmup}: the metric stopped moving at ${e.iteration} (change ${e.change.toFixed(3)}, R-hat ${e.maxRhat.toFixed(3)})`);
        break;
      case "pathfinder-init":
        this.note(e.fallback !== null ? `Pathfinder gave no inits (${firstLine(e.fallback)}): random inits` : `chains start from Pathfinder's draws (Pareto k ${e.paretoK.toFixed(2)})`);
        break;
      case "early-stop":
        this.stoppedAt = e.draws;
        // Shown on the convergence line (and at the end of the plain line), not as a note.
        this.latest = { draws: e.draws, maxRhat: e.maxRhat, minEssBulk: e.minEssBulk, minEssTail: e.minEssTail };
        break;
      case "paused":
        if (this.status === "running") this.status = "paused";
        break;
      case "resumed":
        if (this.status === "paused") this.status = "running";
        break;
      case "aborted":
        this.note(`aborted: ${e.reason}`);
        break;
      case "run-completed":
        this.status = e.status;
        this.endT = now;
        break;
      case "chain-moved":
        this.note(`chain ${e.chain}: moved from runner ${e.from} to ${e.to}, resumed from its checkpoint at iteration ${e.fromIteration}`);
        break;
      case "window-end":
        break;
    }
  }

  progress(p: RunProgress, now: number): void {
    this.start(now);
    for (const c of p.chains) this.chainProgress(c, now);
    let done = 0;
    for (const t of this.tracks) if (t.p !== null) done += t.p.iteration;
    if (Number.isNaN(this.lastTotalT)) {
      this.lastTotalT = now;
      this.lastTotalDone = done;
    } else if (now - this.lastTotalT >= 0.2) {
      const r = (done - this.lastTotalDone) / (now - this.lastTotalT);
      const w = Math.min(1, (now - this.lastTotalT) / RATE_SECONDS);
      this.totalRate = Number.isNaN(this.totalRate) ? r : (1 - w) * this.totalRate + w * r;
      this.lastTotalT = now;
      this.lastTotalDone = done;
    }
  }

  private chainProgress(c: ChainProgress, now: number): void {
    const t = this.track(c.chain);
    if (t === undefined) return;
    t.p = c;
    if (c.status !== "running") t.state = c.status;
    else if (t.state === "starting") t.state = "running";
    if (Number.isNaN(t.lastT)) {
      t.lastT = now;
      t.lastIteration = c.iteration;
      t.lastGradients = c.gradientEvaluations;
      if (c.iteration > 0) t.gradPerDraw = c.gradientEvaluations / c.iteration;
      return;
    }
    const dt = now - t.lastT;
    if (dt < 0.05) return; // measured over the interval since the last update, once long enough
    const di = c.iteration - t.lastIteration;
    if (di > 0) {
      const g = (c.gradientEvaluations - t.lastGradients) / di;
      t.gradPerDraw = Number.isNaN(t.gradPerDraw) ? g : 0.7 * t.gradPerDraw + 0.3 * g;
    }
    const w = Math.min(1, dt / RATE_SECONDS);
    t.rate = Number.isNaN(t.rate) ? di / dt : (1 - w) * t.rate + (w * di) / dt;
    t.lastT = now;
    t.lastIteration = c.iteration;
    t.lastGradients = c.gradientEvaluations;
  }

  /**
   * A published batch's divergent flags: the run publishes no draw past an early stop, so
   * counting them gives the divergences of the kept draws (what `diagnose` counts), where the
   * chains' progress also counts the draws made past the stop and discarded.
   */
  batch(chain: number, phase: "warmup" | "sampling", placeholder: boolean, divergent: Uint8Array): void {
    const t = this.track(chain);
    if (t === undefined) return;
    t.keptDivergences ??= 0;
    if (phase !== "sampling" || placeholder) return;
    for (let i = divergent.indexOf(1); i >= 0; i = divergent.indexOf(1, i + 1)) t.keptDivergences++;
  }

  diagnostics(d: OnlineDiagnostics): void {
    if (this.stoppedAt !== null && d.draws > this.stoppedAt) return;
    if (this.latest !== null && d.draws < this.latest.draws) return;
    this.latest = { draws: d.draws, maxRhat: d.maxRhat, minEssBulk: d.minEssBulk, minEssTail: d.minEssTail };
  }

  frame(now: number): ProgressFrame {
    const over = this.endT !== null;
    const stop = this.stoppedAt;
    const chains: ChainLine[] = this.tracks.map((t, chain) => {
      const p = t.p;
      const numWarmup = p?.numWarmup ?? 0;
      const maxDraws = p?.numDraws ?? 0;
      // Draws past an early stop are discarded (not shown); the denominator stays what was planned.
      const plannedDraws = maxDraws;
      const iteration = p?.iteration ?? 0;
      // Draws past an early stop are discarded: they are not shown either.
      const draws = Math.min(Math.max(0, iteration - numWarmup), stop !== null ? Math.min(stop, maxDraws) : maxDraws);
      const done = Math.min(iteration, numWarmup) + draws;
      let state = t.state;
      if (stop !== null && over && (state === "completed" || state === "running")) state = "stopped-early";
      return {
        chain,
        state,
        phase: iteration < numWarmup || p === null ? "warmup" : "sampling",
        done,
        planned: (t.maxPlanned = Math.max(t.maxPlanned, numWarmup + plannedDraws)),
        numWarmup,
        draws,
        plannedDraws,
        divergences: t.keptDivergences ?? p?.divergences ?? 0,
        stepSize: p?.stepSize ?? NaN,
        gradientsPerDraw: t.gradPerDraw,
        drawsPerSecond: over || state !== "running" ? NaN : t.rate,
        restarts: p?.restarts ?? 0,
        placeholders: t.placeholders,
      };
    });
    let done = 0;
    let planned = 0;
    for (const c of chains) {
      // A failed chain's remaining draws are placeholders: they count as done.
      done += c.state === "failed" ? c.planned : c.done;
      planned += c.planned;
    }
    const known = chains.every((c) => c.planned > 0);
    // Only a completed run did all it planned; one that stopped early (or was aborted) says how much it did.
    const fraction = over && this.status === "completed" ? 1 : known && planned > 0 ? Math.min(1, done / planned) : 0;
    const elapsed = this.t0 === null ? 0 : (this.endT ?? now) - this.t0;
    let eta: number | null = null;
    // With early stop the end is unknown until it comes: no ETA.
    if (over) eta = 0;
    else if (known && this.totalRate > 0 && convergenceKnown(this.earlyStop)) eta = (planned - done) / this.totalRate;
    const convergence: ConvergenceLine | null =
      this.earlyStop === null || this.earlyStop === undefined
        ? null
        : { targets: { rhat: this.earlyStop.rhat, essBulk: this.earlyStop.essBulk, essTail: this.earlyStop.essTail }, latest: this.latest, stoppedAt: stop };
    return {
      title: this.title,
      chains,
      threads: this.threads,
      seed: this.seed,
      elapsedSeconds: Math.max(0, elapsed),
      etaSeconds: eta,
      fraction,
      convergence,
      status: this.status,
      warmupExtensions: this.extensions,
      notes: [...this.notes],
    };
  }

  get finished(): boolean {
    return this.endT !== null;
  }
}

function firstLine(s: string): string {
  const line = s.split("\n")[0] ?? "";
  return line.length > 80 ? line.slice(0, 77) + "..." : line;
}

/** Whether the run's length is known in advance (no early stop). */
function convergenceKnown(earlyStop: ProgressModelOptions["earlyStop"]): boolean {
  return earlyStop === null || earlyStop === undefined;
}

/**
 * The warmup coordinator: barriers at slow-window ends (pooled metric, warmup extension)
 * and at sampling check points (online R-hat/ESS, early stop).
 *
 * Every decision is a function of what the chains committed up to the barrier, taken in
 * chain order, never of thread timing: the same seed gives the same decisions whatever the
 * pool size or the restarts.
 *
 * - Window ends. Pooled (default): the chains' window accumulators are merged (Chan's
 *   parallel Welford, in chain order) and one metric is made from them and broadcast: every
 *   chain waits for the others. Not pooled: each chain gets the metric of its own
 *   accumulator at once (exactly what `sampleSync` does), with no waiting.
 * - Warmup extension: at the end of the last slow window, if the rank-normalised R-hat
 *   across chains of that window's draws exceeds `rhat` for any quantity, warmup grows by
 *   one more slow window of the same length (or `length`), up to `max` times.
 * - Check points: every `checkEvery` sampling draws (per chain), R-hat and bulk/tail ESS of
 *   every quantity over the first `k * checkEvery` draws of every healthy chain, with the
 *   functions of `src/diagnostics`. Nobody waits at a check point (DECISIONS.md D23): it is
 *   examined once the slowest healthy chain has passed it, while the others sample on. In
 *   early-stop mode every check point is examined, in order, quantities worst-first,
 *   stopping at the first that fails; at the first where every quantity has R-hat < target
 *   and bulk and tail ESS >= target the run stops there: chains end at their next chunk
 *   boundary and the result is cut back to that point (the draws made beyond it are
 *   discarded, and sampling batches are only published once no earlier check point can stop
 *   the run, so the streams carry exactly the result's draws). The full table for
 *   `diagnostics$` is computed only if someone listens, a quantity at a time between
 *   event-loop turns (it costs ~1.5 ms per quantity at 4 x 1000 draws). Without early stop
 *   one table at a time, of the latest point passed, within a small share of the main
 *   thread's time (`FREE_TABLE_SHARE`).
 * - A failed chain leaves every barrier at once; the others never wait for it. At a check
 *   point it counts if it has real draws up to that point (the draws it made before it
 *   failed are kept): which chains a check point examines depends on where a chain failed,
 *   never on when, so early-stop decisions stay a function of the seed.
 */
import { Deferred, Effect, FiberId } from "effect";
import { DrawSet, essBulkDS, essTailDS, rhatDS } from "../src/diagnostics/convergence.js";
import {
  compactEstimator,
  estimatorDiagonal,
  learnedLambda,
  learnsParameterisationNow,
  mergeReparamStats,
  type FisherScheduleSettings,
  finalPhaseLength,
  mergeEstimators,
  thinEstimator,
  mergeWindowAccumulators,
  metricChange,
  metricFromAccumulator,
  poolableChains,
  type ChainState,
  type FisherEstimator,
  type LocalSwitch,
  type WarmupEndRule,
  type WindowAccumulator,
  type WindowUpdate,
} from "../src/inference/index.js";
import type { OnlineDiagnostics, ParamDiagnostics, RunSink } from "./events.js";
import type { TraceStore } from "./trace-store.js";
import { atLastWindowEnd } from "./warmup-extension.js";

export interface WarmupExtensionOptions {
  /** Extend when max R-hat of the last window's draws is above this (1.05). */
  readonly rhat: number;
  /** At most this many extensions (2). */
  readonly max: number;
  /** Length of an extension window; null: the length of the last slow window. */
  readonly length: number | null;
}

export interface EarlyStopOptions {
  readonly rhat: number;
  readonly essBulk: number;
  readonly essTail: number;
  /** Never stop before this many draws per chain. */
  readonly minDraws: number;
}

export interface CoordinatorOptions {
  readonly numChains: number;
  readonly pooled: boolean;
  /** Adaptive warmup length: end warmup at the first window end where the rule holds (null: fixed length). */
  readonly adaptiveWarmup: WarmupEndRule | null;
  /** nutpie's schedule settings (when the parameterisation is learned). */
  readonly fisher: FisherScheduleSettings;
  readonly extension: WarmupExtensionOptions | null;
  readonly checkEvery: number;
  readonly earlyStop: EarlyStopOptions | null;
  readonly store: TraceStore;
  readonly sink: RunSink;
  /**
   * Gradient evaluations of all chains up to sampling draw `draws` (warmup included): not
   * what they have done by now, which depends on how far each chain ran past the check point.
   */
  readonly gradients: (draws: number) => number;
}

export interface WindowDecision {
  /** What the chain applies before its next chunk: a metric (Stan's schedule) or nutpie's switch. */
  readonly update: WindowUpdate;
  /** Extra warmup iterations (0: none). */
  readonly extendBy: number;
  /** Adaptive warmup: warmup ends after this many more (step-size only) iterations; null: it goes on. */
  readonly endWarmup: number | null;
}

/** One window's draws as the coordinator keeps them for the adaptive-warmup rule. */
interface WindowRecord {
  readonly start: number;
  readonly end: number;
  /** All chains' window estimators merged (nutpie), or their accumulators merged (Stan). */
  readonly pooled: FisherEstimator | WindowAccumulator;
  /** Per chain (nutpie only): its own window estimator, for a per-chain final foreground. */
  readonly perChain: ReadonlyMap<number, FisherEstimator> | null;
}

export type CheckDecision = "continue" | "stop";

/**
 * In early-stop mode a chain samples on past check points not yet examined, up to this
 * many check intervals beyond the last one examined; then it waits. Bounds the draws an
 * early stop discards (at most this many intervals per chain).
 */
export const MAX_LEAD = 1;

/**
 * Without early stop, the `diagnostics$` tables may take this share of the run's time on the
 * main thread, plus `FREE_TABLE_ALLOWANCE_MS` (so that the first, cheap, tables come at once).
 */
export const FREE_TABLE_SHARE = 0.01;
export const FREE_TABLE_ALLOWANCE_MS = 50;
/** Without early stop, the last point is still tabled at the end of the run if that should take less (ms). */
export const FREE_FINAL_MAX_MS = 50;

/** What the tables without early stop have cost so far (ms, performance.now()'s clock). */
export interface FreeTableBudget {
  /** When the run started. */
  readonly startedAt: number;
  readonly now: number;
  /** Time spent computing tables so far. */
  readonly spentMs: number;
  /** The last table: the draws it covered (0: none yet) and what it took. */
  readonly lastDraws: number;
  readonly lastMs: number;
}

/**
 * Milliseconds to wait before a table of `draws` draws may start (<= 0: now). A table costs
 * about as much per draw as the last one did, so the next one is predicted from it, and it
 * starts only once every table, it included, fits in `FREE_TABLE_SHARE` of the time elapsed
 * plus the allowance (DECISIONS.md D92).
 */
export function freeTableWait(b: FreeTableBudget, draws: number): number {
  const predictedMs = b.lastDraws > 0 ? (b.lastMs * draws) / b.lastDraws : 0;
  return b.startedAt + (b.spentMs + predictedMs - FREE_TABLE_ALLOWANCE_MS) / FREE_TABLE_SHARE - b.now;
}

/** A sampling batch waiting until no check point at or before its first draw can stop the run. */
interface HeldBatch {
  readonly fromDraw: number;
  readonly publish: () => void;
  readonly drop: () => void;
}

interface Rendezvous<P, R> {
  readonly arrivals: Map<number, P>;
  readonly waiters: Map<number, Deferred.Deferred<R>>;
  resolved: boolean;
}

function rendezvous<P, R>(): Rendezvous<P, R> {
  return { arrivals: new Map(), waiters: new Map(), resolved: false };
}

/** The update a chain makes from its own window: its own metric (Stan) or its own switch (nutpie). */
function ownUpdate(state: ChainState): WindowUpdate {
  if (state.fisher !== null) return { kind: "fisher", foreground: null };
  return { kind: "metric", metric: metricFromAccumulator(state.accumulator!, state.metric) };
}

export class WarmupCoordinator {
  private readonly alive: Set<number>;
  /** Failed chains and the real sampling draws each kept. */
  private readonly failed = new Map<number, number>();
  private readonly windowIndex: number[];
  private readonly windows = new Map<number, Rendezvous<ChainState, WindowDecision>>();
  private readonly reached: number[];
  /** Sampling draws per chain up to which no check point can stop the run any more. */
  private decidedThrough = 0;
  private readonly held: HeldBatch[][];
  /** Chains waiting for the examined check points to catch up with them (`MAX_LEAD`). */
  private leaders: Deferred.Deferred<void>[] = [];
  private nextCheck = 1;
  private extensions = 0;
  /** Recent window ends (adaptive warmup), oldest first. */
  private history: WindowRecord[] = [];
  /** Per chain, the latest windows of the switches it made on its own (adaptive warmup), oldest first. */
  private readonly ownSwitches: LocalSwitch[][];
  /** Set once the adaptive rule ended warmup. */
  warmupEndedAt: number | null = null;
  /** The rule's measures at every window end it examined (for reports). */
  readonly warmupChecks: { iteration: number; change: number; rhat: number }[] = [];
  /** The quantity that failed the last early-stop examination (examined first next time). */
  private worst = 0;
  private pending: Promise<void> = Promise.resolve();
  /** The latest online diagnostics (null before the first check point). */
  latest: OnlineDiagnostics | null = null;
  stoppedAt: number | null = null;

  constructor(private readonly opts: CoordinatorOptions) {
    this.alive = new Set(Array.from({ length: opts.numChains }, (_, c) => c));
    this.windowIndex = new Array<number>(opts.numChains).fill(0);
    this.reached = new Array<number>(opts.numChains).fill(0);
    this.held = Array.from({ length: opts.numChains }, () => []);
    this.ownSwitches = Array.from({ length: opts.numChains }, () => []);
  }

  /**
   * Whether chunks should report the switches chains make on their own (`sharedSwitches:
   * "main"`): the adaptive warmup rule reads their windows, until it has ended warmup.
   */
  get wantsLocalSwitches(): boolean {
    return this.opts.adaptiveWarmup !== null && this.warmupEndedAt === null;
  }

  /**
   * A chain made these switches on its own (in order) in the chunk it committed. Nobody waits:
   * their windows enter the adaptive rule's history at the next shared window end, from the
   * chains that reach it. Only the windows the rule can still read are kept (two blocks).
   */
  localSwitches(chain: number, switches: readonly LocalSwitch[]): void {
    const rule = this.opts.adaptiveWarmup;
    if (rule === null || this.warmupEndedAt !== null) return;
    const list = this.ownSwitches[chain]!;
    list.push(...switches);
    const keep = Math.ceil((2 * rule.block) / Math.max(1, this.opts.fisher.earlySwitchEvery)) + 2;
    if (list.length > keep) list.splice(0, list.length - keep);
  }

  /**
   * Moves the windows of the chains' own switches before `end` into the history (adaptive
   * warmup), from `chains` (those at the shared window end: which these are is a function of
   * the seed), each window pooled over its poolable chains as a shared window end pools them.
   */
  private recordOwnSwitches(chains: readonly number[], end: number, dim: number): void {
    const byEnd = new Map<number, Map<number, LocalSwitch>>();
    for (const c of chains) {
      for (const w of this.ownSwitches[c]!) {
        if (w.end >= end) continue;
        let m = byEnd.get(w.end);
        if (m === undefined) byEnd.set(w.end, (m = new Map()));
        m.set(c, w);
      }
    }
    for (const c of chains) this.ownSwitches[c]!.length = 0;
    const ends = [...byEnd.keys()].filter((e) => chains.every((c) => byEnd.get(e)!.has(c))).sort((a, b) => a - b);
    if (ends.length === 0) return;
    const first = byEnd.get(ends[0]!)!.get(chains[0]!)!;
    // Windows are contiguous: records older than the first reported window no longer border it.
    this.history = this.history.filter((r) => r.end >= first.start);
    for (const e of ends) {
      const ws = chains.map((c) => byEnd.get(e)!.get(c)!);
      const poolable = poolableChains(ws.map((w) => w.logDensity), dim);
      const pooled = mergeEstimators(ws.filter((_, k) => poolable[k]).map((w) => w.window), dim);
      this.history.push({ start: ws[0]!.start, end: e, pooled, perChain: new Map(chains.map((c, k) => [c, ws[k]!.window])) });
    }
  }

  get extensionsDone(): number {
    return this.extensions;
  }

  /** Whether chains may wait for each other at slow-window ends (pooled warmup, extension, adaptive length). */
  get sharesWindowEnds(): boolean {
    return this.opts.pooled || this.opts.extension !== null || this.opts.adaptiveWarmup !== null;
  }

  // ---- window ends ---------------------------------------------------------------

  /**
   * A chain stands at a slow-window end (`state.awaitingMetric`): returns the metric to set
   * and whether to extend warmup; waits for the other chains when the decision is shared.
   */
  windowEnd(chain: number, state: ChainState): Effect.Effect<WindowDecision> {
    return Effect.suspend(() => {
      const w = this.windowIndex[chain]!;
      this.windowIndex[chain] = w + 1;
      const r = this.windowRendezvous(w);
      r.arrivals.set(chain, state);
      const ext = this.opts.extension;
      const shared =
        this.opts.pooled ||
        (this.opts.adaptiveWarmup !== null && this.warmupEndedAt === null) ||
        (ext !== null && this.extensions < ext.max && atLastWindowEnd(state));
      if (!shared) {
        this.tryResolveWindow(w);
        return Effect.succeed({ update: ownUpdate(state), extendBy: 0, endWarmup: null });
      }
      const d = Deferred.unsafeMake<WindowDecision>(FiberId.none);
      r.waiters.set(chain, d);
      this.tryResolveWindow(w);
      return Deferred.await(d);
    });
  }

  private windowRendezvous(w: number): Rendezvous<ChainState, WindowDecision> {
    let r = this.windows.get(w);
    if (r === undefined) {
      r = rendezvous();
      this.windows.set(w, r);
    }
    return r;
  }

  private allArrived(arrivals: Map<number, unknown>): boolean {
    for (const c of this.alive) if (!arrivals.has(c)) return false;
    return true;
  }

  private tryResolveWindow(w: number): void {
    const r = this.windows.get(w);
    if (r === undefined || r.resolved || !this.allArrived(r.arrivals)) return;
    r.resolved = true;
    const chains = [...r.arrivals.keys()].filter((c) => this.alive.has(c)).sort((a, b) => a - b);
    if (chains.length === 0) return;
    const states = chains.map((c) => r.arrivals.get(c)!);
    const first = states[0]!;
    const nutpie = first.fisher !== null;
    const dim = first.dim;
    // nutpie: the chains' backgrounds (the window just ended); Stan: their window accumulators.
    const windows = nutpie ? states.map((s) => compactEstimator(s.fisher!.background, dim)) : null;
    // Only chains near the best one's log density go into the pooled metric; all chains get it (D95).
    const poolable = poolableChains(states.map((s) => s.logDensity), dim);
    const pooledChains = chains.filter((_, k) => poolable[k]);
    let pooled: FisherEstimator | WindowAccumulator | null = null;
    if (this.opts.pooled || (this.opts.adaptiveWarmup !== null && r.waiters.size > 0)) {
      pooled = nutpie ? mergeEstimators(windows!.filter((_, k) => poolable[k]), dim) : mergeWindowAccumulators(states.filter((_, k) => poolable[k]).map((s) => s.accumulator!));
    }
    let endWarmup: number | null = null;
    let foregrounds: Map<number, FisherEstimator> | null = null;
    if (this.opts.adaptiveWarmup !== null && this.warmupEndedAt === null && r.waiters.size > 0 && pooled !== null) {
      if (nutpie) this.recordOwnSwitches(chains, first.iteration, dim);
      const start = nutpie
        ? Math.max(0, first.iteration - first.fisher!.sinceSwitch)
        : this.history.length > 0
          ? this.history[this.history.length - 1]!.end
          : 0;
      this.history.push({ start, end: first.iteration, pooled, perChain: nutpie ? new Map(chains.map((c, k) => [c, windows![k]!])) : null });
      const verdict = this.warmupDone(chains, first);
      if (verdict !== null) {
        endWarmup = verdict.finalLength;
        foregrounds = verdict.foregrounds;
        this.warmupEndedAt = first.iteration;
        this.opts.sink.event({ type: "warmup-ended", iteration: first.iteration, numWarmup: first.iteration + endWarmup, change: verdict.change, maxRhat: verdict.rhat });
      }
    }
    // Learned parameterisation (pooled): every chain moves to the lambdas of all chains' statistics.
    let lambda: Float64Array | null = null;
    if (this.opts.pooled && nutpie && learnsParameterisationNow(first, this.opts.fisher)) {
      const rp = first.reparam!;
      lambda = learnedLambda(mergeReparamStats(states.map((s) => s.reparam!.stats)), rp.sizes, rp.lambda);
      this.opts.sink.event({ type: "reparameterised", iteration: first.iteration, lambda: Array.from(lambda) });
    }
    let pooledUpdate: WindowUpdate | null = null;
    if (this.opts.pooled) {
      pooledUpdate = nutpie
        ? { kind: "fisher", foreground: pooledForeground(foregrounds?.get(-1) ?? (pooled as FisherEstimator), dim, Math.max(1, pooledChains.length)), lambda }
        : { kind: "metric", metric: metricFromAccumulator(pooled as WindowAccumulator, first.metric) };
    }
    let extendBy = 0;
    const ext = this.opts.extension;
    if (r.waiters.size > 0 && endWarmup === null && ext !== null && this.extensions < ext.max && atLastWindowEnd(first)) {
      const windowLength = first.accumulator!.draws.n;
      const end = first.iteration;
      const maxRhat = this.windowRhat(chains, end - windowLength, end);
      if (maxRhat > ext.rhat) {
        extendBy = ext.length ?? windowLength;
        this.extensions++;
        this.opts.sink.event({
          type: "warmup-extended",
          iteration: end,
          by: extendBy,
          extension: this.extensions,
          maxRhat,
          numWarmup: first.numWarmup + extendBy,
        });
      }
    }
    const excluded = this.opts.pooled ? chains.filter((_, k) => !poolable[k]) : [];
    this.opts.sink.event({
      type: "window-end",
      window: w,
      iteration: first.iteration,
      pooled: this.opts.pooled,
      chains: this.opts.pooled ? pooledChains : chains,
      draws: nutpie
        ? windows!.reduce((a, e, k) => a + (this.opts.pooled && !poolable[k] ? 0 : e.kind === "diag" ? e.draws.n : e.n), 0)
        : states.reduce((a, s, k) => a + (this.opts.pooled && !poolable[k] ? 0 : s.accumulator!.draws.n), 0),
      ...(excluded.length > 0 ? { excluded } : {}),
    });
    for (const [c, d] of r.waiters) {
      const s = r.arrivals.get(c)!;
      const own = foregrounds?.get(c);
      const update = pooledUpdate ?? (own !== undefined ? { kind: "fisher" as const, foreground: own } : ownUpdate(s));
      Deferred.unsafeDone(d, Effect.succeed({ update, extendBy, endWarmup }));
    }
  }

  /**
   * The adaptive-warmup rule (DECISIONS.md D69) at the window that just ended: after `floor`
   * iterations, the diagonal estimated from the last block of windows (at least `block`
   * iterations, all chains) must differ from the block before by at most `tolerance` (RMS of
   * log ratios), and the chains must agree on the last block's draws (R-hat below `rhat`).
   * When it holds: the final phase's length and, for nutpie, the foregrounds to end on (the
   * whole last block, pooled under key -1 and per chain).
   */
  private warmupDone(chains: readonly number[], first: ChainState): { finalLength: number; change: number; rhat: number; foregrounds: Map<number, FisherEstimator> | null } | null {
    const rule = this.opts.adaptiveWarmup!;
    const it = first.iteration;
    const h = this.history;
    const blockFrom = (endIndex: number): number => {
      let k = endIndex;
      while (k >= 0 && h[endIndex]!.end - h[k]!.start < rule.block) k--;
      return k;
    };
    const lastStart = blockFrom(h.length - 1);
    if (lastStart < 1) return null;
    const prevStart = blockFrom(lastStart - 1);
    if (prevStart < 0) return null;
    // Older windows are not needed again.
    if (prevStart > 0) {
      this.history = h.slice(prevStart);
      return this.warmupDone(chains, first);
    }
    const last = h.slice(lastStart);
    const prev = h.slice(prevStart, lastStart);
    const diagOf = (ws: readonly WindowRecord[]): Float64Array => {
      if (first.fisher !== null) {
        return estimatorDiagonal(mergeEstimators(ws.map((w) => w.pooled as FisherEstimator), first.dim), first.metric.inverse);
      }
      const m = metricFromAccumulator(mergeWindowAccumulators(ws.map((w) => w.pooled as WindowAccumulator)), first.metric);
      return m.kind === "dense" ? Float64Array.from({ length: first.dim }, (_, i) => m.inverse[i * first.dim + i]!) : m.inverse;
    };
    const change = metricChange(diagOf(last), diagOf(prev));
    const from = last[0]!.start;
    const rhat = this.windowRhat(chains, from, it);
    this.warmupChecks.push({ iteration: it, change, rhat });
    if (it < rule.floor || !(change <= rule.tolerance) || !(rhat < rule.rhat)) return null;
    let foregrounds: Map<number, FisherEstimator> | null = null;
    if (first.fisher !== null) {
      foregrounds = new Map([[-1, mergeEstimators(last.map((w) => w.pooled as FisherEstimator), first.dim)]]);
      for (const c of chains) foregrounds.set(c, mergeEstimators(last.map((w) => w.perChain!.get(c)!), first.dim));
    }
    return { finalLength: finalPhaseLength(it, rule), change, rhat, foregrounds };
  }

  /** Max over quantities of the rank-normalised R-hat of warmup draws [from, to) across chains. */
  private windowRhat(chains: readonly number[], from: number, to: number): number {
    if (chains.length < 2 || to - from < 4) return NaN;
    let max = -Infinity;
    for (let k = 0; k < this.opts.store.names.length; k++) {
      const r = rhatDS(new DrawSet(chains.map((c) => this.opts.store.chains[c]!.warmup.range(k, from, to))));
      if (r > max) max = r;
    }
    return max;
  }

  // ---- sampling check points -------------------------------------------------------

  /**
   * Next sampling draw count at which a chunk ends in early-stop mode (a check point), or
   * null. Chunks do not span check points: a batch is then held or dropped as a whole.
   */
  nextCheckPoint(draws: number): number | null {
    if (this.opts.earlyStop === null) return null;
    return (Math.floor(draws / this.opts.checkEvery) + 1) * this.opts.checkEvery;
  }

  /**
   * A chain committed sampling draws up to `draws`: examines the check points every healthy
   * chain has now passed. Never waits; "stop" once the run has stopped early (at
   * `stoppedAt`, which may be behind `draws`).
   */
  sampled(chain: number, draws: number): Effect.Effect<CheckDecision> {
    return Effect.suspend(() => {
      this.reached[chain] = draws;
      if (this.opts.earlyStop === null) {
        this.runFreeChecks();
        return Effect.succeed<CheckDecision>("continue");
      }
      this.examineCheckPoints();
      return this.leadAllowed(draws);
    });
  }

  /** Whether a chain that will be at `draws` after its next chunk is within `MAX_LEAD` of the examined check points. */
  withinLead(draws: number): boolean {
    return this.opts.earlyStop === null || draws - this.decidedThrough <= MAX_LEAD * this.opts.checkEvery;
  }

  /** "stop" once the run stopped; "continue" once a chain at `draws` is within `MAX_LEAD` (waits until then). */
  private leadAllowed(draws: number): Effect.Effect<CheckDecision> {
    return Effect.suspend(() => {
      if (this.stoppedAt !== null) return Effect.succeed<CheckDecision>("stop");
      if (this.withinLead(draws)) return Effect.succeed<CheckDecision>("continue");
      const d = Deferred.unsafeMake<void>(FiberId.none);
      this.leaders.push(d);
      return Deferred.await(d).pipe(Effect.zipRight(this.leadAllowed(draws)));
    });
  }

  private wakeLeaders(): void {
    const waiting = this.leaders;
    this.leaders = [];
    for (const d of waiting) Deferred.unsafeDone(d, Effect.void);
  }

  /**
   * Publishes a chain's sampling batch that starts after `fromDraw` draws now, or holds it
   * until no check point at or before `fromDraw` can stop the run (then it is published, in
   * order, or dropped if the run stopped before it).
   */
  publishSampling(chain: number, fromDraw: number, publish: () => void, drop: () => void): void {
    const q = this.held[chain]!;
    if (q.length === 0 && this.mayPublish(fromDraw)) return publish();
    q.push({ fromDraw, publish, drop });
  }

  private mayPublish(fromDraw: number): boolean {
    if (this.stoppedAt !== null) return fromDraw < this.stoppedAt;
    const es = this.opts.earlyStop;
    if (es === null) return true;
    // The last check point at or before the batch's start: the batch is kept unless the run stops there.
    const point = Math.floor(fromDraw / this.opts.checkEvery) * this.opts.checkEvery;
    return point < es.minDraws || point <= this.decidedThrough;
  }

  /** The run is over with `numDraws` per chain: held batches within them are published, the rest dropped. */
  finish(numDraws: number): void {
    for (const q of this.held) for (const b of q.splice(0)) (b.fromDraw < numDraws ? b.publish : b.drop)();
  }

  private releaseHeld(): void {
    for (const q of this.held) {
      while (q.length > 0 && (this.mayPublish(q[0]!.fromDraw) || this.stoppedAt !== null)) {
        const b = q.shift()!;
        if (this.mayPublish(b.fromDraw)) b.publish();
        else b.drop();
      }
    }
  }

  /** Early-stop mode: every check point all healthy chains have passed, in order, until one stops the run. */
  private examineCheckPoints(): void {
    if (this.alive.size === 0) return;
    let min = Infinity;
    for (const c of this.alive) min = Math.min(min, this.reached[c]!);
    const es = this.opts.earlyStop!;
    while (this.stoppedAt === null && this.nextCheck * this.opts.checkEvery <= min) {
      const draws = this.nextCheck * this.opts.checkEvery;
      this.nextCheck++;
      const full = this.decide(draws);
      if (full !== null) this.publish(full);
      else this.schedule(draws);
      if (full !== null && draws >= es.minDraws) {
        this.stoppedAt = draws;
        this.opts.sink.event({ type: "early-stop", draws, maxRhat: full.maxRhat, minEssBulk: full.minEssBulk, minEssTail: full.minEssTail });
      } else {
        this.decidedThrough = draws;
      }
    }
    this.releaseHeld();
    this.wakeLeaders();
  }

  /**
   * Without early stop: diagnostics once the slowest healthy chain passed a check point,
   * only the latest point when a chunk passed several.
   */
  private runFreeChecks(): void {
    if (this.alive.size === 0) return;
    let min = Infinity;
    for (const c of this.alive) min = Math.min(min, this.reached[c]!);
    const k = Math.floor(min / this.opts.checkEvery);
    if (k < this.nextCheck) return;
    this.nextCheck = k + 1;
    this.scheduleFree(k * this.opts.checkEvery);
  }

  /** The chains a check point at `draws` examines: those still running, and failed ones with real draws up to it. */
  private participants(draws: number): number[] {
    const chains = [...this.alive];
    for (const [c, real] of this.failed) if (real >= draws) chains.push(c);
    return chains.sort((a, b) => a - b);
  }

  private quantity(k: number, chains: readonly number[], draws: number): ParamDiagnostics {
    const store = this.opts.store;
    const ds = new DrawSet(chains.map((c) => store.chains[c]!.sampling.quantity(k, draws)));
    return { name: store.names[k]!, rhat: rhatDS(ds), essBulk: essBulkDS(ds), essTail: essTailDS(ds) };
  }

  /**
   * The early-stop decision at a check point: quantities are examined worst-first (the one
   * that failed last time leads) and the first that fails ends the examination. Returns the
   * full diagnostics when every quantity passes, null otherwise. The answer does not depend
   * on the order, only the work does.
   */
  private decide(draws: number): OnlineDiagnostics | null {
    const es = this.opts.earlyStop!;
    const chains = this.participants(draws);
    if (chains.length < 2) return null;
    const n = this.opts.store.names.length;
    const params: ParamDiagnostics[] = new Array(n);
    const order = [this.worst, ...Array.from({ length: n }, (_, k) => k).filter((k) => k !== this.worst)];
    for (const k of order) {
      const p = this.quantity(k, chains, draws);
      params[k] = p;
      const fails = p.rhat >= es.rhat || p.essBulk < es.essBulk || p.essTail < es.essTail;
      if (fails) {
        this.worst = k;
        return null;
      }
    }
    return this.assemble(draws, chains, params);
  }

  private assemble(draws: number, chains: readonly number[], params: ParamDiagnostics[]): OnlineDiagnostics {
    let maxRhat = NaN;
    let minEssBulk = NaN;
    let minEssTail = NaN;
    for (const p of params) {
      // NaN (a constant quantity) is left out of the extremes.
      if (!Number.isNaN(p.rhat) && !(p.rhat <= maxRhat)) maxRhat = p.rhat;
      if (!Number.isNaN(p.essBulk) && !(p.essBulk >= minEssBulk)) minEssBulk = p.essBulk;
      if (!Number.isNaN(p.essTail) && !(p.essTail >= minEssTail)) minEssTail = p.essTail;
    }
    const es = this.opts.earlyStop;
    const converged =
      es !== null && chains.length > 1 && maxRhat < es.rhat && minEssBulk >= es.essBulk && minEssTail >= es.essTail;
    return { draws, chains, params, maxRhat, minEssBulk, minEssTail, converged, gradientEvaluations: this.opts.gradients(draws) };
  }

  /** Emits in check-point order, after any table still being computed. */
  private publish(d: OnlineDiagnostics): void {
    this.pending = this.pending.then(() => this.emit(d));
  }

  private emit(d: OnlineDiagnostics): void {
    this.latest = d;
    this.opts.sink.diagnostics(d);
  }

  /**
   * Full diagnostics at `draws` for `diagnostics$`, if anyone listens: computed after the
   * barrier is released, one quantity at a time between turns of the event loop, so chains
   * go on sampling and their chunks keep being dispatched meanwhile. Jobs run in order.
   */
  private schedule(draws: number): void {
    if (!this.opts.sink.wantsDiagnostics()) return;
    const chains = this.participants(draws);
    if (chains.length === 0) return;
    this.pending = this.pending.then(async () => {
      const { params } = await this.table(draws, chains);
      this.emit(this.assemble(draws, chains, params));
    });
  }

  /** Every quantity's diagnostics at `draws`, yielding to the event loop every few ms; `busyMs`: the computing time. */
  private async table(draws: number, chains: readonly number[]): Promise<{ params: ParamDiagnostics[]; busyMs: number }> {
    const params: ParamDiagnostics[] = [];
    let busyMs = 0;
    let slice = performance.now();
    for (let k = 0; k < this.opts.store.names.length; k++) {
      params.push(this.quantity(k, chains, draws));
      if (performance.now() - slice > 4) {
        busyMs += performance.now() - slice;
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
    }
    return { params, busyMs: busyMs + performance.now() - slice };
  }

  // Without early stop (DECISIONS.md D50): the latest point waiting for its table, the point
  // and cost of the last table, when the next may start, and the job making them.
  private freeTarget = 0;
  private freeDone = 0;
  private freeLastMs = 0;
  private freeSpentMs = 0;
  private readonly createdAt = performance.now();
  private freeJob: Promise<void> | null = null;
  private wakeFree: (() => void) | null = null;
  private draining = false;

  /**
   * Without early stop nobody waits for the tables, and a table costs more as the run grows
   * (every draw so far: about 6 s per quantity at 4 x 10^6 draws). So one table at a time,
   * always of the latest point passed (points passed meanwhile are skipped), and a table starts
   * only if all tables together, it included, take at most `FREE_TABLE_SHARE` of the run's
   * time so far (plus a small allowance).
   */
  private scheduleFree(draws: number): void {
    if (!this.opts.sink.wantsDiagnostics() || this.participants(draws).length === 0) return;
    this.freeTarget = draws;
    this.freeJob ??= this.runFree();
  }

  private async runFree(): Promise<void> {
    while (this.freeTarget > this.freeDone) {
      // After a wait the latest point has moved on: its table is predicted again.
      const budget = { startedAt: this.createdAt, now: performance.now(), spentMs: this.freeSpentMs, lastDraws: this.freeDone, lastMs: this.freeLastMs };
      const wait = freeTableWait(budget, this.freeTarget);
      if (wait > 0 && !this.draining) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.wakeFree = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeFree = null;
        continue;
      }
      const draws = this.freeTarget;
      // At the end of the run the last point is tabled only if that is cheap (the run's result waits for it).
      if (this.draining && this.freeDone > 0 && (this.freeLastMs * draws) / this.freeDone > FREE_FINAL_MAX_MS) break;
      const chains = this.participants(draws);
      if (chains.length === 0) break;
      const { params, busyMs } = await this.table(draws, chains);
      this.emit(this.assemble(draws, chains, params));
      this.freeDone = draws;
      this.freeLastMs = busyMs;
      this.freeSpentMs += busyMs;
    }
    this.freeJob = null;
  }

  /** Completes once every scheduled diagnostics job has been emitted. */
  async drain(): Promise<void> {
    this.draining = true;
    this.wakeFree?.();
    await this.pending;
    await this.freeJob;
  }

  // ---- failures ----------------------------------------------------------------------

  /** A chain gave up with `realDraws` sampling draws: it leaves every barrier, pending ones are re-examined. */
  chainFailed(chain: number, realDraws: number): void {
    if (!this.alive.delete(chain)) return;
    this.failed.set(chain, realDraws);
    for (const w of [...this.windows.keys()].sort((a, b) => a - b)) this.tryResolveWindow(w);
    if (this.opts.earlyStop === null) this.runFreeChecks();
    else this.examineCheckPoints();
  }

  isAlive(chain: number): boolean {
    return this.alive.has(chain);
  }
}

/**
 * Chains whose rows a pooled low-rank foreground keeps in full; beyond it the pooled rows are
 * thinned to this many chains' worth. Every chain receives (and keeps in its checkpoint) the
 * foreground, so without a bound warmup memory grew with the square of the chain count
 * (issue 26: 1.3 GB at 256 chains); with it, linear. Up to this many chains nothing changes.
 */
export const POOLED_ROWS_CHAINS = 4;

/** The pooled foreground each chain is sent: at most `POOLED_ROWS_CHAINS` chains' worth of rows. */
function pooledForeground(e: FisherEstimator, dim: number, chains: number): FisherEstimator {
  if (e.kind === "diag" || chains <= POOLED_ROWS_CHAINS) return e;
  return thinEstimator(e, dim, Math.ceil((e.n * POOLED_ROWS_CHAINS) / chains));
}

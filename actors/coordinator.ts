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
 *   functions of `src/diagnostics`. In early-stop mode the chains wait at each check point
 *   for the decision, which examines quantities worst-first and stops at the first that
 *   fails; all chains stop there once every quantity has R-hat < target and bulk and tail
 *   ESS >= target. The full table for `diagnostics$` is computed only if someone listens,
 *   after the chains were released, a quantity at a time between event-loop turns (it costs
 *   ~1.5 ms per quantity at 4 x 1000 draws). Without early stop nobody waits: the table is
 *   computed when the slowest chain passes a point (the latest point, if a chunk passed
 *   several).
 * - A failed chain leaves every barrier at once; the others never wait for it.
 */
import { Deferred, Effect, FiberId } from "effect";
import { DrawSet, essBulkDS, essTailDS, rhatDS } from "../src/diagnostics/convergence.js";
import { mergeWindowAccumulators, metricFromAccumulator, type ChainState, type Metric } from "../src/inference/index.js";
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
  readonly extension: WarmupExtensionOptions | null;
  readonly checkEvery: number;
  readonly earlyStop: EarlyStopOptions | null;
  readonly store: TraceStore;
  readonly sink: RunSink;
  /** Gradient evaluations of all chains so far. */
  readonly gradients: () => number;
}

export interface WindowDecision {
  readonly metric: Metric;
  /** Extra warmup iterations (0: none). */
  readonly extendBy: number;
}

export type CheckDecision = "continue" | "stop";

interface Rendezvous<P, R> {
  readonly arrivals: Map<number, P>;
  readonly waiters: Map<number, Deferred.Deferred<R>>;
  resolved: boolean;
}

function rendezvous<P, R>(): Rendezvous<P, R> {
  return { arrivals: new Map(), waiters: new Map(), resolved: false };
}

export class WarmupCoordinator {
  private readonly alive: Set<number>;
  private readonly windowIndex: number[];
  private readonly windows = new Map<number, Rendezvous<ChainState, WindowDecision>>();
  private readonly checks = new Map<number, Rendezvous<number, CheckDecision>>();
  private readonly reached: number[];
  private nextCheck = 1;
  private extensions = 0;
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
  }

  get extensionsDone(): number {
    return this.extensions;
  }

  /** Whether chains may wait for each other at slow-window ends (pooled warmup or extension). */
  get sharesWindowEnds(): boolean {
    return this.opts.pooled || this.opts.extension !== null;
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
      const shared = this.opts.pooled || (ext !== null && this.extensions < ext.max && atLastWindowEnd(state));
      if (!shared) {
        this.tryResolveWindow(w);
        return Effect.succeed({ metric: metricFromAccumulator(state.accumulator!, state.metric), extendBy: 0 });
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
    let pooledMetric: Metric | null = null;
    if (this.opts.pooled) {
      const merged = mergeWindowAccumulators(states.map((s) => s.accumulator!));
      pooledMetric = metricFromAccumulator(merged, first.metric);
    }
    let extendBy = 0;
    const ext = this.opts.extension;
    if (r.waiters.size > 0 && ext !== null && this.extensions < ext.max && atLastWindowEnd(first)) {
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
    this.opts.sink.event({
      type: "window-end",
      window: w,
      iteration: first.iteration,
      pooled: this.opts.pooled,
      chains,
      draws: states.reduce((a, s) => a + s.accumulator!.draws.n, 0),
    });
    for (const [c, d] of r.waiters) {
      const s = r.arrivals.get(c)!;
      const metric = pooledMetric ?? metricFromAccumulator(s.accumulator!, s.metric);
      Deferred.unsafeDone(d, Effect.succeed({ metric, extendBy }));
    }
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

  /** True when a chunk should end at `draws` sampling draws (an early-stop check point). */
  isCheckPoint(draws: number): boolean {
    return this.opts.earlyStop !== null && draws > 0 && draws % this.opts.checkEvery === 0;
  }

  /** Next sampling draw count at which a chain must stop for a check (early-stop mode), or null. */
  nextCheckPoint(draws: number): number | null {
    if (this.opts.earlyStop === null) return null;
    return (Math.floor(draws / this.opts.checkEvery) + 1) * this.opts.checkEvery;
  }

  /**
   * A chain committed sampling draws up to `draws`. In early-stop mode, at a check point,
   * waits for the decision of all chains; otherwise returns "continue" at once.
   */
  sampled(chain: number, draws: number): Effect.Effect<CheckDecision> {
    return Effect.suspend(() => {
      this.reached[chain] = draws;
      if (!this.isCheckPoint(draws)) {
        this.runFreeChecks();
        return Effect.succeed<CheckDecision>("continue");
      }
      const k = draws / this.opts.checkEvery;
      let r = this.checks.get(k);
      if (r === undefined) {
        r = rendezvous();
        this.checks.set(k, r);
      }
      r.arrivals.set(chain, draws);
      const d = Deferred.unsafeMake<CheckDecision>(FiberId.none);
      r.waiters.set(chain, d);
      this.tryResolveCheck(k);
      return Deferred.await(d);
    });
  }

  private tryResolveCheck(k: number): void {
    const r = this.checks.get(k);
    if (r === undefined || r.resolved || !this.allArrived(r.arrivals)) return;
    r.resolved = true;
    if (r.waiters.size === 0) return;
    const draws = k * this.opts.checkEvery;
    const es = this.opts.earlyStop!;
    const full = this.decide(draws);
    const stop = full !== null && draws >= es.minDraws;
    if (full !== null) this.publish(full);
    else this.schedule(draws);
    if (stop) {
      this.stoppedAt = draws;
      this.opts.sink.event({ type: "early-stop", draws, maxRhat: full.maxRhat, minEssBulk: full.minEssBulk, minEssTail: full.minEssTail });
    }
    for (const d of r.waiters.values()) Deferred.unsafeDone(d, Effect.succeed<CheckDecision>(stop ? "stop" : "continue"));
  }

  /**
   * Without early stop: diagnostics once the slowest healthy chain passed a check point,
   * only the latest point when a chunk passed several.
   */
  private runFreeChecks(): void {
    if (this.opts.earlyStop !== null || this.alive.size === 0) return;
    let min = Infinity;
    for (const c of this.alive) min = Math.min(min, this.reached[c]!);
    const k = Math.floor(min / this.opts.checkEvery);
    if (k < this.nextCheck) return;
    this.nextCheck = k + 1;
    this.schedule(k * this.opts.checkEvery);
  }

  private healthyChains(): number[] {
    return [...this.alive].sort((a, b) => a - b);
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
    const chains = this.healthyChains();
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
    return { draws, chains, params, maxRhat, minEssBulk, minEssTail, converged, gradientEvaluations: this.opts.gradients() };
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
    const chains = this.healthyChains();
    if (chains.length === 0) return;
    const gradients = this.opts.gradients();
    this.pending = this.pending.then(async () => {
      const params: ParamDiagnostics[] = [];
      let slice = performance.now();
      for (let k = 0; k < this.opts.store.names.length; k++) {
        params.push(this.quantity(k, chains, draws));
        if (performance.now() - slice > 4) {
          await new Promise((r) => setImmediate(r));
          slice = performance.now();
        }
      }
      this.emit({ ...this.assemble(draws, chains, params), gradientEvaluations: gradients });
    });
  }

  /** Completes once every scheduled diagnostics job has been emitted. */
  drain(): Promise<void> {
    return this.pending;
  }

  // ---- failures ----------------------------------------------------------------------

  /** A chain gave up: it leaves every barrier, pending ones are re-examined. */
  chainFailed(chain: number): void {
    if (!this.alive.delete(chain)) return;
    for (const w of [...this.windows.keys()].sort((a, b) => a - b)) this.tryResolveWindow(w);
    for (const k of [...this.checks.keys()].sort((a, b) => a - b)) this.tryResolveCheck(k);
    this.runFreeChecks();
  }

  isAlive(chain: number): boolean {
    return this.alive.has(chain);
  }
}

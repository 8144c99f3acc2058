/**
 * The chain actor. Its state is a checkpoint (`ChainState`, plus a metric the coordinator
 * handed it at a window end and the worker has not set yet); its work runs as chunk tasks
 * through an executor the chain supervisor provides (watchdog, restarts). It:
 * - sizes chunks to about `targetSeconds` of compute (less near the chain's end; more on a slow
 *   link, where a chunk's transport would otherwise be a large share of its time), never past
 *   a slow-window end, the end of warmup, an early-stop check point or the last draw;
 * - commits a chunk's result: the next checkpoint, the batch into the trace store and to the
 *   run's streams;
 * - at a window end reports to the coordinator and waits for the metric (and a possible
 *   warmup extension); at a check point reports its draw count (and, in early-stop mode,
 *   waits for the decision);
 * - waits while the run is paused, and while `maxPendingBatches` of its batches are
 *   undelivered (credit-based flow control).
 *
 * A chunk that fails is retried by the supervisor from the same checkpoint: the kernel is
 * deterministic given (checkpoint, metric, settings), so a restarted chain continues with
 * the very draws it would have made.
 */
import { Effect } from "effect";
import { firstWindowEnd, nextWindowEnd, shortenWarmup, type ChainState, type Metric, type SamplerSettings, type WindowUpdate } from "../src/inference/index.js";
import { noOdeFailures, ODE_FAILURE_REASONS, type OdeFailureCounts } from "../src/ode/index.js";
import type { WarmupCoordinator } from "./coordinator.js";
import type { ChainProgress, ChainStatusKind, RunSink } from "./events.js";
import { mostIterations, type ChunkProgress, type ChunkResult, type ChunkTask, type FaultSpec, type InitRequest, type ModelSpec } from "./protocol.js";
import type { BatchData, ChainTrace } from "./trace-store.js";
import { extendWarmup } from "./warmup-extension.js";

/** A chunk aims at this many times its transport seconds (so transport is at most a fifth of its time). */
const TRANSPORT_SHARE = 4;

export interface ChunkSizing {
  /** Iterations of the first chunk (the chain's speed is unknown then). */
  readonly initial: number;
  /**
   * The first chunk goes on past `initial` iterations, up to the first window end (or `max`),
   * while it has taken less than `targetSeconds` (`ChunkTask.extend`; D240), except under
   * nutpie's schedule (see `ChainActor.extendsFirstChunk`). Absent: false.
   */
  readonly extendFirst?: boolean;
  /** Later chunks aim at this much compute (seconds). */
  readonly targetSeconds: number;
  readonly max: number;
}

export interface ChainActorConfig {
  readonly chain: number;
  readonly modelId: string;
  readonly model: ModelSpec;
  readonly settings: SamplerSettings;
  readonly init: InitRequest;
  /** Sampling draws to make (the most; early stop may end the chain sooner). */
  readonly numDraws: number;
  readonly faults: readonly FaultSpec[];
  readonly sizing: ChunkSizing;
  readonly maxPendingBatches: number;
}

/** Runs one chunk, with whatever supervision the caller adds; fails when it gives up. */
export type ChunkExecutor<E> = (task: ChunkTask) => Effect.Effect<ChunkResult, E>;

export interface ChainControl {
  /** Open while the run is not paused. */
  readonly running: Effect.Latch;
}

export class ChainActor {
  readonly chain: number;
  /** The last committed checkpoint (null before the first chunk). */
  state: ChainState | null = null;
  /** Window update (metric, or nutpie's switch) to apply at the start of the next chunk (the chain stands at a window end). */
  pendingMetric: WindowUpdate | null = null;
  /**
   * Whether the chain has met the coordinator at a window end (a shared switch of nutpie's:
   * before it, nutpie's early switches are made inside the chunks, D147).
   */
  private metWindowEnd = false;
  status: ChainStatusKind = "running";
  restarts = 0;
  /** Iteration from which the chain's draws are placeholders (a failed chain). */
  failedAt: number | null = null;
  error: string | null = null;
  divergences = 0;
  /** ODE solves that failed (each rejected a proposal), by phase and reason (`ChunkResult.odeFailures` summed). */
  readonly odeFailures: { readonly warmup: OdeFailureCounts; readonly sampling: OdeFailureCounts } = {
    warmup: noOdeFailures(),
    sampling: noOdeFailures(),
  };
  /** Gradient evaluations of the draws a failed chunk completed, kept when the chain was given up. */
  private keptGradients = 0;
  private chunkSize: number;
  private secondsPerIteration = NaN;
  /** Smoothed transport seconds per chunk (a cluster's round trip less the runner's time; NaN: none seen). */
  private transportSeconds = NaN;
  private outstanding = 0;
  /** As many batches pending as the limit allows: the credit latch is closed. */
  private get creditSpent(): boolean {
    return this.outstanding >= this.config.maxPendingBatches;
  }
  private readonly credit = Effect.unsafeMakeLatch(true);
  private readonly firstWindowEnd: number | null;

  constructor(
    readonly config: ChainActorConfig,
    private readonly trace: ChainTrace,
    private readonly coordinator: WarmupCoordinator,
    private readonly sink: RunSink,
    private readonly control: ChainControl,
  ) {
    this.chain = config.chain;
    this.chunkSize = Math.max(1, config.sizing.initial);
    this.firstWindowEnd = firstWindowEnd(config.settings);
  }

  get iteration(): number {
    return this.state?.iteration ?? 0;
  }

  get numWarmup(): number {
    return this.state?.numWarmup ?? this.config.settings.numWarmup;
  }

  get sampledDraws(): number {
    return Math.max(0, this.iteration - this.numWarmup);
  }

  get gradientEvaluations(): number {
    return (this.state?.gradientEvaluations ?? 0) + this.keptGradients;
  }

  /** Gradient evaluations up to sampling draw `draws` (all of them if the chain has not got there). */
  gradientsThrough(draws: number): number {
    const sampling = this.trace.sampling;
    let total = this.gradientEvaluations;
    for (let i = Math.max(0, draws); i < sampling.length; i++) total -= sampling.stats.nLeapfrog[i]!;
    return total;
  }

  private get finished(): boolean {
    return this.state !== null && this.pendingMetric === null && !this.state.awaitingMetric && this.iteration >= this.numWarmup + this.config.numDraws;
  }

  /**
   * Estimated compute seconds the chain has left (its planned iterations at its recent
   * seconds per iteration; NaN before its first chunk): the pool runs the chunk of the chain
   * with the most left first.
   */
  remainingSeconds(): number {
    return Math.max(0, this.numWarmup + this.config.numDraws - this.iteration) * this.secondsPerIteration;
  }

  /**
   * Whether the first chunk goes on past `initial` iterations while the time allows
   * (`ChunkSizing.extendFirst`). Not under nutpie's schedule: its chains search step sizes
   * inside their chunks, and what a chunk that fails for good is credited with (its gradients)
   * would then depend on where the time ended the chunk before it.
   */
  private get extendsFirstChunk(): boolean {
    return this.config.sizing.extendFirst === true && this.config.settings.schedule !== "nutpie";
  }

  /** The next chunk from the current checkpoint. */
  nextTask(): ChunkTask {
    const s = this.state;
    const it = this.iteration;
    const warm = this.numWarmup;
    // The most the chunk may run: to the next window end, the end of warmup, a check point or the last draw.
    let limit: number;
    if (it < warm) {
      limit = warm - it;
      const we = s === null ? this.firstWindowEnd : nextWindowEnd(s, this.config.settings);
      if (we !== null && we > it) limit = Math.min(limit, we - it);
    } else {
      const drawn = it - warm;
      limit = this.config.numDraws - drawn;
      const cp = this.coordinator.nextCheckPoint(drawn);
      if (cp !== null) limit = Math.min(limit, cp - drawn);
    }
    limit = Math.max(0, limit);
    const iterations = Math.min(this.chunkSize, limit);
    // The first chunk: `initial` iterations, then on to the limit while it takes less than
    // the target (D240). Its thread knows the model's speed; this thread does not yet.
    const upTo = Math.min(limit, this.config.sizing.max);
    const extend = s === null && this.extendsFirstChunk && upTo > iterations ? { upTo, seconds: this.config.sizing.targetSeconds } : null;
    // The chunk writes its draws straight into this chain's trace (shared arrays).
    const target = (it < warm ? this.trace.warmup : this.trace.sampling).target(extend?.upTo ?? iterations);
    return {
      kind: "chunk",
      modelId: this.config.modelId,
      model: this.config.model,
      chain: this.chain,
      attempt: 0,
      state: s,
      init: s === null ? this.config.init : null,
      metric: this.pendingMetric,
      iterations,
      ...(extend !== null ? { extend } : {}),
      target,
      settings: this.config.settings,
      faults: this.config.faults,
      ...(this.coordinator.wantsLocalSwitches ? { reportSwitches: true } : {}),
    };
  }

  /**
   * Whether, once `task` (the chunk `nextTask` just made) is done, the chain goes straight on
   * to its next chunk (false: it ends there, or waits at a shared window end or an early-stop
   * check point). The pool keeps the thread for such a chain when it has the most work left.
   */
  continuesAfter(task: ChunkTask): boolean {
    const it = this.iteration;
    const warm = this.numWarmup;
    const end = it + mostIterations(task);
    if (it < warm) {
      const we = this.state === null ? this.firstWindowEnd : nextWindowEnd(this.state, this.config.settings);
      return !(we === end && this.coordinator.sharesWindowEnds);
    }
    return end - warm < this.config.numDraws && this.coordinator.stoppedAt === null && this.coordinator.withinLead(end - warm);
  }

  /** Takes a chunk's result as the new checkpoint and publishes its draws (views of the trace). */
  commit(task: ChunkTask, result: ChunkResult): void {
    const phase = result.warmup ? this.trace.warmup : this.trace.sampling;
    if (!phase.commit(task.target, result.count)) {
      throw new Error(`chain ${this.chain}: the chunk's draws (iterations ${result.start}..${result.start + result.count}) do not continue its trace`);
    }
    const kept = (result.state.keptMetrics?.count ?? 0) - (this.state?.keptMetrics?.count ?? 0);
    if (kept > 0) {
      const k = result.state.keptMetrics!;
      this.sink.event({ type: "metric-kept", chain: this.chain, iteration: k.iteration, count: kept, reason: k.reason });
    }
    if (result.odeFailures !== undefined) {
      const into = result.warmup ? this.odeFailures.warmup : this.odeFailures.sampling;
      for (const r of ODE_FAILURE_REASONS) into[r] += result.odeFailures[r];
      this.sink.event({ type: "ode-failures", chain: this.chain, iteration: result.start, count: result.count, phase: result.warmup ? "warmup" : "sampling", failures: result.odeFailures });
    }
    this.state = result.state;
    this.pendingMetric = null;
    if (result.switches !== undefined) this.coordinator.localSwitches(this.chain, result.switches);
    phase.seconds += result.seconds;
    phase.cpuSeconds += result.cpuSeconds;
    if (result.count > 0) {
      if (!result.warmup) this.divergences += result.divergences;
      const per = result.seconds / result.count;
      this.secondsPerIteration = Number.isNaN(this.secondsPerIteration) ? per : 0.5 * this.secondsPerIteration + 0.5 * per;
      if (result.transportSeconds !== undefined && result.transportSeconds >= 0) {
        const t = result.transportSeconds;
        this.transportSeconds = Number.isNaN(this.transportSeconds) ? t : 0.5 * this.transportSeconds + 0.5 * t;
      }
      const { max } = this.config.sizing;
      // On a slow link a chunk aims at four times its transport (at most a fifth of its time on the wire).
      const targetSeconds = Math.max(this.config.sizing.targetSeconds, Number.isNaN(this.transportSeconds) ? 0 : TRANSPORT_SHARE * this.transportSeconds);
      // Towards the end of the chain, chunks shrink (half of what is left, down to a fifth
      // of the target): the threads then run out of work at nearly the same moment instead
      // of one finishing a full-size last chunk alone.
      const seconds = Math.min(targetSeconds, Math.max(targetSeconds / 5, this.remainingSeconds() / 2));
      const want = Math.round(seconds / Math.max(this.secondsPerIteration, 1e-9));
      // Growth from what the chunk ran (an extended first chunk runs more than planned).
      this.chunkSize = Math.max(1, Math.min(max, want, Math.max(this.chunkSize, result.count) * 4));
      this.publish(phase.view(this.chain, result.start, task.target.offset, result.count, result.warmup), result.warmup ? null : task.target.offset);
    }
    this.sink.progress(this.progress());
  }

  /**
   * Sends a batch to the streams; a sampling batch (`fromDraw`: sampling draws before it)
   * goes through the coordinator, which holds it while an early stop could still discard it.
   * Until acknowledged (or dropped) it counts against the chain's credit.
   */
  private publish(b: BatchData, fromDraw: number | null): void {
    this.outstanding++;
    if (this.creditSpent) this.credit.unsafeClose();
    let acked = false;
    const ack = () => {
      if (acked) return;
      acked = true;
      this.outstanding--;
      if (!this.creditSpent) this.credit.unsafeOpen();
    };
    const emit = () => this.sink.batch(b, ack);
    if (fromDraw === null) emit();
    else this.coordinator.publishSampling(this.chain, fromDraw, emit, ack);
  }

  /**
   * Gradient evaluations of the sampling draws from `numDraws` on (made beyond an early stop
   * or an abort, left out of the result): one per leapfrog step.
   */
  gradientsBeyond(numDraws: number): number {
    const n = this.trace.sampling.stat("nLeapfrog");
    let sum = 0;
    for (let i = numDraws; i < this.trace.sampling.length; i++) sum += n[i]!;
    return sum;
  }

  progress(): ChainProgress {
    const it = this.iteration;
    return {
      chain: this.chain,
      status: this.status,
      iteration: it,
      phase: it < this.numWarmup ? "warmup" : "sampling",
      numWarmup: this.numWarmup,
      numDraws: this.config.numDraws,
      gradientEvaluations: this.gradientEvaluations,
      divergences: this.divergences,
      stepSize: this.state?.stepSize ?? NaN,
      restarts: this.restarts,
    };
  }

  /** The actor's life: chunks until done, early stop, or (through `execute`) giving up. */
  run<E>(execute: ChunkExecutor<E>): Effect.Effect<ChainStatusKind, E> {
    const self = this;
    return Effect.gen(function* () {
      self.sink.event({ type: "chain-started", chain: self.chain });
      while (!self.finished) {
        yield* self.control.running.await;
        // Awaiting an open latch is an Effect suspension per chunk for nothing (D196).
        if (self.creditSpent) yield* self.credit.await;
        if (self.coordinator.stoppedAt !== null && self.iteration >= self.numWarmup) {
          self.status = "stopped-early";
          break;
        }
        const task = self.nextTask();
        const result = yield* execute(task);
        self.commit(task, result);
        const s = self.state!;
        if (s.awaitingMetric) {
          self.metWindowEnd = true;
          const decision = yield* self.coordinator.windowEnd(self.chain, s);
          self.pendingMetric = decision.update;
          if (decision.extendBy > 0) self.state = extendWarmup(s, decision.extendBy);
          if (decision.endWarmup !== null) self.state = shortenWarmup(s, decision.endWarmup);
        } else if (result.count > 0 && !result.warmup) {
          if ((yield* self.coordinator.sampled(self.chain, self.sampledDraws)) === "stop") {
            self.status = "stopped-early";
            break;
          }
        }
      }
      if (self.status === "running") self.status = "completed";
      self.sink.progress(self.progress());
      return self.status;
    });
  }

  /**
   * The supervisor gave up on this chain: the rest of its draws become placeholders. The
   * draws the last failed attempt completed (`failed`: its task and progress) are real draws
   * of the chain, the same on every attempt: they are kept, so where the placeholders start
   * depends on where the chain failed, not on where its chunk began (chunk sizes follow the
   * clock).
   */
  fail(message: string, failed: { readonly task: ChunkTask; readonly progress: ChunkProgress } | null = null): void {
    const kept = failed === null ? 0 : this.keepCompleted(failed.task, failed.progress);
    this.status = "failed";
    this.failedAt = this.iteration + kept;
    this.error = message;
    this.sink.event({ type: "chain-failed", chain: this.chain, atIteration: this.failedAt, restarts: this.restarts, message });
    this.coordinator.chainFailed(this.chain, this.trace.sampling.length);
    this.credit.unsafeOpen();
    this.sink.progress(this.progress());
  }

  /** Commits and publishes the draws a failed chunk completed; returns how many were kept. */
  private keepCompleted(task: ChunkTask, progress: ChunkProgress): number {
    // Only a chunk from the current checkpoint (its attempts all start there) whose iterations began.
    if (task.state !== this.state || !(progress.gradients > 0)) return 0;
    const warmup = this.iteration < this.numWarmup;
    const phase = warmup ? this.trace.warmup : this.trace.sampling;
    const count = Math.min(Math.max(0, Math.floor(progress.written)), mostIterations(task));
    if (!phase.commit(task.target, count)) return 0;
    // The init or a window end's step-size search, then the kept draws' leapfrog steps.
    this.keptGradients = progress.gradients - (this.state?.gradientEvaluations ?? 0);
    const from = task.target.offset;
    const nLeapfrog = phase.stats.nLeapfrog;
    const divergent = phase.stats.divergent;
    for (let i = from; i < from + count; i++) {
      this.keptGradients += nLeapfrog[i]!;
      if (!warmup) this.divergences += divergent[i]!;
    }
    if (count > 0) this.publish(phase.view(this.chain, this.iteration, from, count, warmup), warmup ? null : from);
    return count;
  }

  /**
   * The step size and metric of the chain's last real draw, for the result. A failed chain's
   * checkpoint may be older than its last real draw (where depends on chunk sizes): its step
   * size is that of its last real draw, its metric the one in effect where it failed. A chain
   * that failed before its first window end has no metric when the checkpoint it has depends on
   * the time: in nutpie's early phase with its switches made inside the chunks (D147) the one in
   * effect was adapted inside the chunk that failed, and the checkpoint's is an earlier one that
   * depends on chunk sizes; with an extended first chunk (`extendsFirstChunk`, D240), whether it
   * has a checkpoint at all depends on how far that chunk went.
   */
  adaptation(): { readonly stepSize: number; readonly metric: Metric | null } {
    if (this.status !== "failed") return { stepSize: this.state?.stepSize ?? NaN, metric: this.state?.metric ?? null };
    const sampled = this.trace.sampling.realLength();
    const phase = sampled > 0 ? this.trace.sampling : this.trace.warmup;
    const n = sampled > 0 ? sampled : this.trace.warmup.realLength();
    const stepSize = n > 0 ? phase.stats.stepSize[n - 1]! : NaN;
    const { settings } = this.config;
    const localEarlySwitches = settings.schedule === "nutpie" && settings.sharedSwitches === "main";
    if (!this.metWindowEnd && (localEarlySwitches || (this.extendsFirstChunk && this.firstWindowEnd !== null))) return { stepSize, metric: null };
    // A pending Fisher update is made into a metric only when applied: the chain's metric stands.
    const pending = this.pendingMetric?.kind === "metric" ? this.pendingMetric.metric : null;
    return { stepSize, metric: pending ?? this.state?.metric ?? null };
  }
}

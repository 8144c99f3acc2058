/**
 * `sample(model, options)`: the supervised multi-chain runtime. Chains run as actors whose
 * work is chunk tasks on a pool of worker threads, under an Effect supervision tree (run
 * supervisor -> chain supervisors + warmup coordinator). Returns a run handle at once:
 * RxJS streams of draws, progress, diagnostics and events, the result as a Promise of a
 * `RunPosterior` (a `Posterior` with per-chain status), and abort / pause / resume.
 *
 * The Effect-native twins: `sampleEffect` (an Effect of the result with typed errors; the
 * pool is a scoped resource, released on completion, failure or interruption) and
 * `sampleRunEffect` (the run handle as a scoped resource: closing the scope aborts the run).
 */
import { Cause, Deferred, Effect, Exit, FiberId, type Scope } from "effect";
import { Observable, ReplaySubject, Subject } from "rxjs";
import { DrawBatch, type Draw } from "../../actors/batch.js";
import type { ChainProgress, OnlineDiagnostics, RunEvent, RunProgress, RunSink } from "../../actors/events.js";
import type { BatchData } from "../../actors/trace-store.js";
import type { PoolStartError } from "../../supervisors/worker-pool.js";
import { createRun, type RunControl, type RunPlan } from "../../supervisors/run-supervisor.js";
import type { Metric } from "../inference/metric.js";
import { InvalidModelError, InvalidOptionError } from "./errors.js";
import { withPathfinderInit } from "./pathfinder-init.js";
import { modelIdOf, resolveInits, resolveModel, resolveModelSync, type ModelInput, type ResolvedModel } from "./model-input.js";
import { runPosteriorFromOutcome, type RunPosterior } from "./run-posterior.js";
import { validateOptions, type SampleOptions, type ValidatedOptions } from "./sample-options.js";

export type SampleError = InvalidOptionError | InvalidModelError | PoolStartError;

export interface SampleRun {
  /** Every draw (warmup and sampling), in order within each chain. */
  readonly draws$: Observable<Draw>;
  /** The same draws as batches (typed arrays, the cheap way to consume them; flow control unit). */
  readonly batches$: Observable<DrawBatch>;
  /** A snapshot of every chain after each committed batch (replays the latest). */
  readonly progress$: Observable<RunProgress>;
  /** Online R-hat / bulk and tail ESS at every check point (replayed to late subscribers). */
  readonly diagnostics$: Observable<OnlineDiagnostics>;
  /** Lifecycle: starts, window ends, restarts, failures, early stop, pause, abort (replayed). */
  readonly events$: Observable<RunEvent>;
  /** The posterior when the run ends (completed, stopped early or aborted). */
  readonly result: Promise<RunPosterior>;
  readonly seed: number;
  readonly threads: number;
  readonly chains: number;
  /** Stops the run: returns the partial posterior once no worker thread is left. */
  abort(reason?: string): Promise<RunPosterior>;
  /**
   * No new chunks are handed out until `resume` (each chain finishes the chunk it has already
   * handed out, and its draws are delivered).
   */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
}

/** The API side of a run: RxJS subjects behind the actors' sink. */
class RunStreams implements RunSink {
  readonly batches = new Subject<DrawBatch>();
  readonly events = new ReplaySubject<RunEvent>();
  readonly progressSubject = new ReplaySubject<RunProgress>(1);
  readonly diagnosticsSubject = new ReplaySubject<OnlineDiagnostics>();
  readonly draws$: Observable<Draw>;
  private names: readonly string[] = [];
  private readonly queued: DrawBatch[] = [];
  private flushScheduled = false;
  private chainProgress: ChainProgress[] = [];
  private readonly t0 = performance.now();

  constructor(private readonly manualAck: boolean) {
    const batches = this.batches;
    this.draws$ = new Observable<Draw>((sub) =>
      batches.subscribe({
        next: (b) => {
          for (let i = 0; i < b.count; i++) sub.next(b.draw(i));
        },
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      }),
    );
  }

  setNames(names: readonly string[]): void {
    this.names = names;
  }

  /**
   * Batches go to the subscribers on the next turn of the event loop, in order: the chain
   * that committed one first hands its next chunk to a thread (emitting a batch of `simple`
   * one draw at a time on `draws$` takes ~1-2 ms, a thread would wait that long).
   */
  batch(data: BatchData, ack: () => void): void {
    const b = new DrawBatch(data, this.names, ack);
    if (!this.batches.observed) {
      b.ack();
      return;
    }
    this.queued.push(b);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batches = this.queued.splice(0);
    for (const b of batches) {
      this.batches.next(b);
      if (!this.manualAck || !this.batches.observed) b.ack();
    }
  }

  event(e: RunEvent): void {
    this.events.next(e);
  }

  progress(p: ChainProgress): void {
    this.chainProgress[p.chain] = p;
    let done = 0;
    let planned = 0;
    for (const c of this.chainProgress) {
      if (c === undefined) continue;
      done += Math.min(c.iteration, c.numWarmup + c.numDraws);
      planned += c.numWarmup + c.numDraws;
    }
    this.progressSubject.next({
      chains: this.chainProgress.filter((c) => c !== undefined),
      fraction: planned > 0 ? done / planned : 0,
      elapsedSeconds: (performance.now() - this.t0) / 1000,
    });
  }

  diagnostics(d: OnlineDiagnostics): void {
    this.diagnosticsSubject.next(d);
  }

  wantsDiagnostics(): boolean {
    return this.diagnosticsSubject.observed;
  }

  complete(): void {
    this.flush();
    this.batches.complete();
    this.events.complete();
    this.progressSubject.complete();
    this.diagnosticsSubject.complete();
  }
}

function planOf(resolved: ResolvedModel, opts: ValidatedOptions, inits: (Float64Array | null)[], initMetric: Metric | null): RunPlan {
  return {
    initMetric,
    modelId: modelIdOf(resolved.name, resolved.spec),
    model: resolved.spec,
    names: resolved.density.names,
    paramCount: resolved.density.paramCount,
    numChains: opts.numChains,
    threads: opts.threads,
    pool: opts.pool,
    seed: opts.seed,
    settings: opts.settings,
    numDraws: opts.numDraws,
    inits,
    initRadius: opts.initRadius,
    pooled: opts.pooled,
    extension: opts.extension,
    checkEvery: opts.checkEvery,
    earlyStop: opts.earlyStop,
    faults: opts.faults,
    sizing: opts.sizing,
    maxPendingBatches: opts.maxPendingBatches,
    policy: opts.policy,
    resourceLimits: opts.resourceLimits,
  };
}

/** The whole run as an Effect: resolve the model (if not done), run, build the result. */
function runProgram(
  model: ModelInput,
  options: SampleOptions,
  opts: ValidatedOptions,
  pre: { resolved: ResolvedModel; inits: (Float64Array | null)[] } | null,
  streams: RunStreams,
  control: RunControl,
): Effect.Effect<RunPosterior, SampleError> {
  return Effect.gen(function* () {
    const { resolved, inits } =
      pre ??
      (yield* resolveModel(model).pipe(
        Effect.flatMap((r) =>
          Effect.try({
            try: () => ({ resolved: r, inits: resolveInits(r, options.inits, opts.numChains) }),
            catch: (e) => e as InvalidOptionError,
          }),
        ),
      ));
    streams.setNames(resolved.density.names);
    const outcome = yield* withPathfinderInit(resolved, options, opts, inits, streams, control.abort, (o, i, metric) =>
      createRun(planOf(resolved, o, i, metric), streams, control).program,
    );
    return runPosteriorFromOutcome(outcome, {
      names: resolved.density.names,
      paramCount: resolved.density.paramCount,
      seed: opts.seed,
      metric: opts.settings.metric,
      saveWarmup: opts.saveWarmup,
      threads: opts.threads,
      pooledWarmup: opts.pooled,
    });
  }).pipe(Effect.ensuring(Effect.sync(() => streams.complete())));
}

class RunHandle implements SampleRun {
  readonly draws$: Observable<Draw>;
  readonly batches$: Observable<DrawBatch>;
  readonly progress$: Observable<RunProgress>;
  readonly diagnostics$: Observable<OnlineDiagnostics>;
  readonly events$: Observable<RunEvent>;
  readonly result: Promise<RunPosterior>;
  readonly seed: number;
  readonly threads: number;
  readonly chains: number;
  private isPaused = false;
  private readonly streams: RunStreams;
  private readonly control: RunControl;

  constructor(model: ModelInput, options: SampleOptions, opts: ValidatedOptions, pre: { resolved: ResolvedModel; inits: (Float64Array | null)[] } | null) {
    this.streams = new RunStreams(opts.manualAck);
    this.control = { running: Effect.unsafeMakeLatch(true), abort: Deferred.unsafeMake<string>(FiberId.none) };
    this.draws$ = this.streams.draws$;
    this.batches$ = this.streams.batches.asObservable();
    this.progress$ = this.streams.progressSubject.asObservable();
    this.diagnostics$ = this.streams.diagnosticsSubject.asObservable();
    this.events$ = this.streams.events.asObservable();
    this.seed = opts.seed;
    this.threads = opts.threads;
    this.chains = opts.numChains;
    // Start on the next turn of the event loop, so that subscriptions made right after
    // `sample()` returns see everything.
    const program = Effect.promise(() => new Promise<void>((r) => setImmediate(r))).pipe(
      Effect.zipRight(runProgram(model, options, opts, pre, this.streams, this.control)),
    );
    this.result = Effect.runPromiseExit(program).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value;
      throw Cause.squash(exit.cause);
    });
    // A rejected result nobody awaits must not crash the process: the error is also the
    // result's (and `abort()`'s) rejection.
    this.result.catch(() => undefined);
  }

  get paused(): boolean {
    return this.isPaused;
  }

  abort(reason = "aborted by the user"): Promise<RunPosterior> {
    Deferred.unsafeDone(this.control.abort, Effect.succeed(reason));
    this.control.running.unsafeOpen();
    return this.result;
  }

  pause(): void {
    if (this.isPaused) return;
    this.isPaused = true;
    this.control.running.unsafeClose();
    this.streams.event({ type: "paused" });
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.control.running.unsafeOpen();
    this.streams.event({ type: "resumed" });
  }
}

/**
 * Starts a supervised multi-chain run. Options and the model are checked first (throws
 * `InvalidOptionError` / `InvalidModelError` before any worker starts; a module model is
 * loaded asynchronously and its errors reject `result`).
 */
export function sample(model: ModelInput, options: SampleOptions = {}): SampleRun {
  const opts = validateOptions(options);
  const resolved = resolveModelSync(model);
  const pre = resolved === null ? null : { resolved, inits: resolveInits(resolved, options.inits, opts.numChains) };
  return new RunHandle(model, options, opts, pre);
}

/**
 * `sample` as an Effect: succeeds with the posterior, fails with a typed `SampleError`.
 * Interrupting it aborts the run and releases the pool (no result then: use `sample` or
 * `sampleRunEffect` for a partial posterior on abort).
 */
export function sampleEffect(model: ModelInput, options: SampleOptions = {}): Effect.Effect<RunPosterior, SampleError> {
  return Effect.gen(function* () {
    const opts = yield* Effect.try({ try: () => validateOptions(options), catch: (e) => e as InvalidOptionError });
    const control: RunControl = { running: yield* Effect.makeLatch(true), abort: yield* Deferred.make<string>() };
    return yield* runProgram(model, options, opts, null, new RunStreams(opts.manualAck), control);
  });
}

/**
 * The run handle as a scoped resource: the run starts when acquired; closing the scope
 * aborts it (if still running) and waits until its pool is gone.
 */
export function sampleRunEffect(model: ModelInput, options: SampleOptions = {}): Effect.Effect<SampleRun, InvalidOptionError | InvalidModelError, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.try({
      try: () => sample(model, options),
      catch: (e) => (e instanceof InvalidOptionError || e instanceof InvalidModelError ? e : new InvalidModelError({ message: String(e), cause: e })),
    }),
    (run) => Effect.promise(() => run.abort("scope closed").catch(() => undefined)),
  );
}

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
import { Subject, ReplaySubject, type Observable } from "rxjs";
import { DrawBatch, type Draw } from "../../actors/batch.js";
import type { ChainProgress, OnlineDiagnostics, RunEvent, RunProgress, RunSink } from "../../actors/events.js";
import type { BatchData } from "../../actors/trace-store.js";
import type { ModelSpec } from "../../actors/protocol.js";
import type { ClusterStartError } from "../../supervisors/cluster/config.js";
import type { PoolStartError } from "../../supervisors/worker-pool.js";
import { createRun, type ModelLoadError, type RunControl, type RunOutcome, type RunPlan } from "../../supervisors/run-supervisor.js";
import type { Metric } from "../inference/metric.js";
import { InvalidModelError, InvalidOptionError, RunFailedError } from "./errors.js";
import { SubscriberErrors } from "./guarded-observable.js";
import { DrawStream } from "./draw-stream.js";
import { isModuleSpec, missingModule, modelIdOf, resolveInits, resolveModelSync, userInits, type ModelInput, type ResolvedModel } from "./model-input.js";
import { withPathfinderInit } from "./pathfinder-init.js";
import { runPosteriorFromOutcome, type RunPosterior } from "./run-posterior.js";
import { checkRunSize, validateOptions, type SampleOptions, type ValidatedOptions } from "./sample-options.js";

export type SampleError = InvalidOptionError | InvalidModelError | PoolStartError | ClusterStartError | RunFailedError;

export interface SampleRun {
  /** Every draw (warmup and sampling), in order within each chain. */
  readonly draws$: Observable<Draw>;
  /** The same draws as batches (typed arrays, the cheap way to consume them; flow control unit). */
  readonly batches$: Observable<DrawBatch>;
  /** A snapshot of every chain after each committed batch (replays the latest). */
  readonly progress$: Observable<RunProgress>;
  /** Online R-hat / bulk and tail ESS at every check point (replayed to late subscribers). */
  readonly diagnostics$: Observable<OnlineDiagnostics>;
  /** Lifecycle: starts, window ends, restarts, failures, early stop, pause, abort, subscribers that threw (replayed). */
  readonly events$: Observable<RunEvent>;
  /**
   * The posterior when the run ends (completed, stopped early or aborted). Rejects with a
   * `RunFailedError` (carrying the partial posterior) when every chain failed, with an
   * `InvalidModelError` / `InvalidOptionError` when a module model cannot be loaded or its
   * inits mapped.
   */
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

type StreamName = "draws$" | "batches$" | "progress$" | "diagnostics$" | "events$";

/**
 * The API side of a run: RxJS subjects behind the actors' sink, exposed as guarded
 * observables (a subscriber that throws is dropped and reported on `events$`, never thrown
 * at the process: `GuardedObservable`).
 */
class RunStreams implements RunSink {
  readonly batches = new Subject<DrawBatch>();
  readonly events = new ReplaySubject<RunEvent>();
  readonly progressSubject = new ReplaySubject<RunProgress>(1);
  readonly diagnosticsSubject = new ReplaySubject<OnlineDiagnostics>();
  readonly draws$: Observable<Draw>;
  readonly batches$: Observable<DrawBatch>;
  readonly progress$: Observable<RunProgress>;
  readonly diagnostics$: Observable<OnlineDiagnostics>;
  readonly events$: Observable<RunEvent>;
  private names: readonly string[] = [];
  private readonly queued: DrawBatch[] = [];
  private flushScheduled = false;
  private chainProgress: ChainProgress[] = [];
  private readonly t0 = performance.now();
  /** Subscriptions to `batches$` (only they can acknowledge a batch: a `Draw` has no `ack`). */
  private batchSubscribers = 0;
  /** Manual acknowledgement: batches delivered to `batches$` and not acknowledged yet. */
  private readonly unacked = new Set<DrawBatch>();
  private readonly subscriberErrors = new SubscriberErrors<StreamName, RunEvent>(this.events);

  constructor(private readonly manualAck: boolean) {
    const batches = this.batches;
    const errors = this.subscriberErrors;
    this.draws$ = new DrawStream(batches, errors.reporter("draws$"));
    this.batches$ = errors.guard<DrawBatch>("batches$", (sub) => {
      this.batchSubscribers++;
      const inner = batches.subscribe(sub);
      return () => {
        inner.unsubscribe();
        // The last consumer that could acknowledge left: what it held is delivered.
        if (--this.batchSubscribers === 0) for (const b of [...this.unacked]) b.ack();
      };
    });
    this.progress$ = errors.guard("progress$", (sub) => this.progressSubject.subscribe(sub));
    this.diagnostics$ = errors.guard("diagnostics$", (sub) => this.diagnosticsSubject.subscribe(sub));
    this.events$ = errors.guard("events$", (sub) => this.events.subscribe(sub));
  }

  model(names: readonly string[]): void {
    this.names = names;
  }

  /**
   * Batches go to the subscribers on the next turn of the event loop, in order: the chain
   * that committed one first hands its next chunk to a thread (emitting a batch of `simple`
   * one draw at a time on `draws$` takes ~1-2 ms, a thread would wait that long).
   */
  batch(data: BatchData, ack: () => void): void {
    const b: DrawBatch = new DrawBatch(data, this.names, () => {
      this.unacked.delete(b);
      ack();
    });
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
      // Manual acknowledgement applies to batches$ subscribers; draws$ alone cannot acknowledge.
      if (!this.manualAck || this.batchSubscribers === 0) b.ack();
      else if (!b.isAcked) this.unacked.add(b);
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
    this.subscriberErrors.flush();
    this.events.complete();
    this.progressSubject.complete();
    this.diagnosticsSubject.complete();
  }
}

/** The run's model and inits: compiled (known here) or a module model (loaded in a worker by the run). */
type Prepared =
  | { readonly kind: "compiled"; readonly resolved: ResolvedModel; readonly inits: (Float64Array | null)[] }
  | { readonly kind: "module"; readonly spec: ModelSpec & { kind: "module" }; readonly inits: ReturnType<typeof userInits> };

/** Checks the model and the inits; throws `InvalidModelError` / `InvalidOptionError` (no thread started). */
function prepare(model: ModelInput, options: SampleOptions, opts: ValidatedOptions): Prepared {
  if (isModuleSpec(model) && opts.cluster !== null) {
    throw new InvalidModelError({
      message: `module model ${model.module} cannot run on a cluster (it is a file of this machine): pass the Model from model(...), compile(model) or compileModel(model)`,
    });
  }
  if (isModuleSpec(model)) {
    // Pathfinder runs before the chains on a model the main thread knows; a module model is known only to the workers.
    if (options.init !== undefined && options.init !== "random") {
      throw new InvalidOptionError({ option: "init", value: options.init, message: 'option init: a module model (moduleModel) starts from random inits or `inits`; init "pathfinder" needs a Model, compile(model) or compileModel(model)' });
    }
    // Its quantities are known once a worker has loaded it: at least one.
    checkRunSize(opts, 1);
    return { kind: "module", spec: { kind: "module", spec: model }, inits: userInits(options.inits, opts.numChains) };
  }
  const resolved = resolveModelSync(model)!;
  checkRunSize(opts, resolved.density.names.length);
  return { kind: "compiled", resolved, inits: resolveInits(resolved.density, options.inits, opts.numChains) };
}

/** The run's plan; `initMetric`: every chain's initial metric (Pathfinder's, `init: "pathfinder"`). */
function planOf(prepared: Prepared, opts: ValidatedOptions, initMetric: Metric | null = null): RunPlan {
  const model =
    prepared.kind === "compiled"
      ? {
          modelId: modelIdOf(prepared.resolved.name, prepared.resolved.spec),
          model: prepared.resolved.spec,
          shape: { names: prepared.resolved.density.names, paramCount: prepared.resolved.density.paramCount, inits: prepared.inits },
          userInits: { inits: [], options: [] },
        }
      : { modelId: modelIdOf(prepared.spec.spec.module, prepared.spec), model: prepared.spec, shape: null, userInits: prepared.inits };
  return {
    ...model,
    initMetric,
    numChains: opts.numChains,
    threads: opts.threads,
    pool: opts.pool,
    seed: opts.seed,
    settings: opts.settings,
    numDraws: opts.numDraws,
    initRadius: opts.initRadius,
    pooled: opts.pooled,
    extension: opts.extension,
    adaptiveWarmup: opts.adaptiveWarmup,
    checkEvery: opts.checkEvery,
    earlyStop: opts.earlyStop,
    faults: opts.faults,
    sizing: opts.sizing,
    maxPendingBatches: opts.maxPendingBatches,
    policy: opts.policy,
    resourceLimits: opts.resourceLimits,
    cluster: opts.cluster,
  };
}

/** A module model that failed to load becomes the API's typed error. */
function loadError(e: ModelLoadError | PoolStartError | ClusterStartError, options: SampleOptions): InvalidModelError | InvalidOptionError | PoolStartError | ClusterStartError {
  if (e._tag === "PoolStartError" || e._tag === "ClusterStartError") return e;
  if (e.option !== null) return new InvalidOptionError({ option: e.option, value: options.inits, message: e.message });
  return new InvalidModelError({ message: e.message, cause: e });
}

function failedMessage(outcome: RunOutcome, posterior: RunPosterior): string {
  const why = outcome.actors.map((a) => `chain ${a.chain}: ${a.error ?? a.status}`).join("; ");
  const real = posterior.realDraws();
  const total = real.reduce((a, b) => a + b, 0);
  const holds =
    total === 0
      ? "every chain failed during warmup: error.posterior holds each chain's status and warmup trace, and no sampling draw"
      : `error.posterior holds the ${real.join(", ")} sampling draws the chains made before failing (its summary() covers them, flagged; they are not a posterior)`;
  return `every chain failed (${why}); ${holds}`;
}

/** The whole run as an Effect: check the model (if not done), run, build the result. */
function runProgram(
  model: ModelInput,
  options: SampleOptions,
  opts: ValidatedOptions,
  pre: Prepared | null,
  streams: RunStreams,
  control: RunControl,
): Effect.Effect<RunPosterior, SampleError> {
  return Effect.gen(function* () {
    const prepared = pre ?? (yield* Effect.try({ try: () => prepare(model, options, opts), catch: (e) => e as InvalidModelError | InvalidOptionError }));
    if (prepared.kind === "module") {
      const missing = missingModule(prepared.spec.spec);
      if (missing !== null) return yield* Effect.fail(missing);
    }
    const outcome = yield* (
      prepared.kind === "compiled"
        ? withPathfinderInit(prepared.resolved, options, opts, prepared.inits, streams, control.abort, (o, inits, metric) =>
            createRun(planOf({ ...prepared, inits }, o, metric), streams, control).program,
          )
        : createRun(planOf(prepared, opts), streams, control).program
    ).pipe(Effect.mapError((e) => loadError(e, options)));
    const density = prepared.kind === "compiled" ? prepared.resolved.density : null;
    const posterior = runPosteriorFromOutcome(outcome, {
      backend: density?.backend,
      seed: opts.seed,
      metric: opts.settings.metric,
      saveWarmup: opts.saveWarmup,
      threads: opts.threads,
      pooledWarmup: opts.pooled,
      maxTreeDepth: opts.settings.maxTreeDepth,
      warmupCap: opts.adaptiveWarmup !== null ? opts.numWarmup : null,
      modelName: prepared.kind === "compiled" ? prepared.resolved.name : prepared.spec.spec.module,
      ...(density?.model ? { model: density.model } : {}),
    });
    if (posterior.status === "failed") return yield* Effect.fail(new RunFailedError({ message: failedMessage(outcome, posterior), posterior }));
    return posterior;
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

  constructor(model: ModelInput, options: SampleOptions, opts: ValidatedOptions, pre: Prepared) {
    this.streams = new RunStreams(opts.manualAck);
    this.control = { running: Effect.unsafeMakeLatch(true), abort: Deferred.unsafeMake<string>(FiberId.none) };
    this.draws$ = this.streams.draws$;
    this.batches$ = this.streams.batches$;
    this.progress$ = this.streams.progress$;
    this.diagnostics$ = this.streams.diagnostics$;
    this.events$ = this.streams.events$;
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
 * loaded in a worker, under the watchdog, and its errors reject `result`).
 */
export function sample(model: ModelInput, options: SampleOptions = {}): SampleRun {
  const opts = validateOptions(options);
  return new RunHandle(model, options, opts, prepare(model, options, opts));
}

/**
 * `sample` as an Effect: succeeds with the posterior, fails with a typed `SampleError`
 * (`RunFailedError`, carrying the partial posterior, when every chain failed).
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

/**
 * `pathfinder(model, options)`, `advi(model, options)` and `smc(model, options)`: the other
 * inference methods on the same runtime as `sample`. Each checks its options and the model
 * first (`InvalidOptionError` / `InvalidModelError`, before any worker starts), then runs its
 * actors' tasks on the worker pool under supervision (supervisors/approx-supervisor.ts) and
 * returns a handle at once: RxJS streams of progress and events, the result as a Promise of a
 * `Posterior` subclass, and `abort()`. The same seed gives the same result whatever the number
 * of threads. Effect twins: `pathfinderEffect`, `adviEffect`, `smcEffect`.
 */
import { Cause, Data, Deferred, Effect, Exit, FiberId } from "effect";
import { ReplaySubject, type Observable } from "rxjs";
import { ADVI_PARALLEL_TASKS, AdviActor } from "../../actors/advi-actor.js";
import type { ApproxActorProgress, ApproxEvent, ApproxMethod, ApproxProgress, ApproxSink } from "../../actors/approx-events.js";
import { combinePaths, PathActor } from "../../actors/pathfinder-actor.js";
import type { ModelSpec } from "../../actors/protocol.js";
import { SmcChain } from "../../actors/smc-coordinator.js";
import { adviProgram, pathfinderProgram, runApprox, smcProgram, type ActorsProgram, type ApproxControl } from "../../supervisors/approx-supervisor.js";
import type { PoolStartError } from "../../supervisors/worker-pool.js";
import { compileLikelihood, priorSampler, type PriorSampler } from "../compile/prior.js";
import type { Model } from "../model/builder.js";
import { Rng } from "../rng/index.js";
import {
  validateAdviOptions,
  validatePathfinderOptions,
  validateSmcOptions,
  type AdviOptions,
  type PathfinderOptions,
  type SmcOptions,
  type ValidatedAdvi,
  type ValidatedPathfinder,
  type ValidatedRun,
  type ValidatedSmc,
} from "./approx-options.js";
import { AdviPosterior, chainFromDraws, PathfinderPosterior, SmcPosterior, type PathInfo, type SmcChainInfo } from "./approx-posterior.js";
import { ClusterStartError, InvalidModelError, InvalidOptionError } from "./errors.js";
import { SubscriberErrors } from "./guarded-observable.js";
import { loadModuleModel } from "../compile/module-model.js";
import { isBuilderModel, isModuleSpec, modelIdOf, resolveInits, resolveModelSync, type ModelInput, type ResolvedModel } from "./model-input.js";

/** The method produced no result: every path, the ADVI run or every SMC run failed (or the run was aborted first). */
export class ApproxFailedError extends Data.TaggedError("ApproxFailedError")<{
  readonly method: ApproxMethod;
  readonly message: string;
  /** Evaluations spent before failing (when known). */
  readonly gradientEvaluations?: number;
  readonly densityEvaluations?: number;
}> {}

/** Why an approximation failed; `ClusterStartError` only for ABC on the cluster. */
export type ApproxError = InvalidOptionError | InvalidModelError | PoolStartError | ApproxFailedError | ClusterStartError;

export interface ApproxRun<P> {
  /** Progress of every actor (paths, the ADVI run, SMC runs), replaying the latest. */
  readonly progress$: Observable<ApproxProgress>;
  /** Lifecycle and method events (path done, eta chosen, ELBO evaluations, SMC stages, restarts), replayed. */
  readonly events$: Observable<ApproxEvent>;
  readonly result: Promise<P>;
  readonly seed: number;
  readonly threads: number;
  /** Stops the run; resolves with what completed (paths, SMC runs) or rejects when nothing did. */
  abort(reason?: string): Promise<P>;
}

/**
 * The API side of a run: RxJS subjects behind the actors' sink, exposed as guarded
 * observables (a subscriber that throws is dropped and reported on `events$`, as `sample`'s).
 */
export class ApproxStreams implements ApproxSink {
  private readonly events = new ReplaySubject<ApproxEvent>();
  private readonly progressSubject = new ReplaySubject<ApproxProgress>(1);
  private readonly subscriberErrors = new SubscriberErrors<"progress$" | "events$", ApproxEvent>(this.events);
  readonly progress$ = this.subscriberErrors.guard<ApproxProgress>("progress$", (sub) => this.progressSubject.subscribe(sub));
  readonly events$ = this.subscriberErrors.guard<ApproxEvent>("events$", (sub) => this.events.subscribe(sub));
  private readonly actors = new Map<string, { p: ApproxActorProgress; fraction: number }>();
  private readonly t0 = performance.now();

  constructor(
    private readonly method: ApproxMethod,
    private readonly expected: number,
  ) {}

  event(e: ApproxEvent): void {
    this.events.next(e);
  }

  progress(p: ApproxActorProgress, fraction: number): void {
    this.actors.set(p.actor, { p, fraction });
    let sum = 0;
    for (const a of this.actors.values()) sum += a.fraction;
    this.progressSubject.next({
      method: this.method,
      actors: [...this.actors.values()].map((a) => a.p),
      fraction: Math.min(1, sum / Math.max(this.expected, this.actors.size)),
      elapsedSeconds: (performance.now() - this.t0) / 1000,
    });
  }

  complete(): void {
    this.subscriberErrors.flush();
    this.events.complete();
    this.progressSubject.complete();
  }
}

export interface RunContext {
  readonly streams: ApproxStreams;
  readonly control: ApproxControl;
}

/** Runs the actors of a method, with the run's lifecycle events; returns the abort reason or null. */
export function execute(v: ValidatedRun, method: ApproxMethod, actors: number, program: ActorsProgram, ctx: RunContext): Effect.Effect<string | null, PoolStartError> {
  return Effect.gen(function* () {
    ctx.streams.event({ type: "run-started", method, actors, threads: v.threads, seed: v.seed });
    const t0 = performance.now();
    const aborted = yield* runApprox({ pool: v.pool, threads: v.threads, resourceLimits: v.resourceLimits, policy: v.policy, actors }, ctx.control, program, ctx.streams);
    ctx.streams.event({ type: "run-completed", seconds: (performance.now() - t0) / 1000 });
    return aborted;
  });
}

/**
 * A module model, loaded on the calling thread: unlike `sample` (DECISIONS.md D30), the
 * approximations still need its density here for its shape and inits (DECISIONS.md D58).
 */
function resolveModuleModel(input: ModelInput): Effect.Effect<ResolvedModel, InvalidModelError> {
  if (!isModuleSpec(input)) return Effect.try({ try: () => resolveModelSync(input)!, catch: (e) => e as InvalidModelError });
  return Effect.tryPromise({
    try: () => loadModuleModel(input),
    catch: (e) => new InvalidModelError({ message: e instanceof Error ? e.message : String(e), cause: e }),
  }).pipe(Effect.map((density) => ({ spec: { kind: "module", spec: input } as const, name: input.module, density })));
}

function resolvedWithInits<I>(model: ModelInput, pre: { resolved: ResolvedModel; inits: I } | null, inits: (r: ResolvedModel) => I): Effect.Effect<{ resolved: ResolvedModel; inits: I }, InvalidModelError | InvalidOptionError> {
  if (pre !== null) return Effect.succeed(pre);
  return resolveModuleModel(model).pipe(
    Effect.flatMap((resolved) => Effect.try({ try: () => ({ resolved, inits: inits(resolved) }), catch: (e) => e as InvalidOptionError })),
  );
}

// ---------------------------------------------------------------- Pathfinder

/**
 * Multi-path Pathfinder on a resolved model: `v.paths` paths on the pool, then PSIS
 * resampling. Paths use RNG streams `streamOffset + path` of the seed, the resampling
 * `streamOffset + paths`. Fails with `ApproxFailedError` when no path completes.
 */
export function runPathfinder(
  resolved: ResolvedModel,
  inits: readonly (Float64Array | null)[],
  v: ValidatedPathfinder,
  ctx: RunContext,
  streamOffset = 0,
): Effect.Effect<PathfinderPosterior, PoolStartError | ApproxFailedError> {
  return Effect.gen(function* () {
    const modelId = modelIdOf(resolved.name, resolved.spec);
    const paths = Array.from(
      { length: v.paths },
      (_, p) =>
        new PathActor(
          {
            path: p,
            modelId,
            model: resolved.spec,
            settings: v.settings,
            init: { seed: v.seed, stream: streamOffset + p, position: inits[p] ?? null },
            iterationsPerTask: 50,
          },
          ctx.streams,
        ),
    );
    const t0 = performance.now();
    yield* execute(v, "pathfinder", v.paths, pathfinderProgram(paths), ctx);
    const seconds = (performance.now() - t0) / 1000;
    for (const p of paths) if (p.status === "running") p.fail("aborted");
    const info: PathInfo[] = paths.map((p) => ({
      path: p.config.path,
      status: p.status === "completed" ? "completed" : "failed",
      elbo: p.result?.elbo ?? NaN,
      bestIteration: p.result?.bestIteration ?? 0,
      iterations: p.result?.iterations ?? p.state?.lbfgs.iteration ?? 0,
      message: p.result?.message ?? "",
      error: p.error,
      gradientEvaluations: p.progress().gradientEvaluations,
      densityEvaluations: p.progress().densityEvaluations,
    }));
    if (!paths.some((p) => p.status === "completed")) {
      return yield* Effect.fail(
        new ApproxFailedError({
          method: "pathfinder",
          message: `every path failed: ${info.map((p) => p.error).join("; ")}`,
          gradientEvaluations: info.reduce((s, p) => s + p.gradientEvaluations, 0),
          densityEvaluations: info.reduce((s, p) => s + p.densityEvaluations, 0),
        }),
      );
    }
    const density = resolved.density;
    const width = density.names.length;
    const d = density.dim;
    const rng = Rng.fromSeed(v.seed, streamOffset + v.paths);
    const combined = yield* Effect.try({
      try: () => combinePaths(paths, width, d, v.psisDraws, v.psisResample, rng),
      catch: (e) =>
        new ApproxFailedError({
          method: "pathfinder",
          message: `PSIS resampling of the paths' draws failed: ${e instanceof Error ? e.message : String(e)}`,
          gradientEvaluations: info.reduce((s, p) => s + p.gradientEvaluations, 0),
          densityEvaluations: info.reduce((s, p) => s + p.densityEvaluations, 0),
        }),
    });
    if (v.psisResample) ctx.streams.event({ type: "psis", paretoK: combined.paretoK, draws: combined.count });
    const done = paths.filter((p) => p.result !== null);
    const perChain = v.psisResample ? [combined] : done.map((p) => ({ constrained: p.constrained!, unconstrained: p.result!.draws, lp: p.result!.lp, lpApprox: p.result!.lpApprox, count: p.result!.count }));
    const chains = perChain.map((c, k) => chainFromDraws(k, c.constrained, c.count, width, c.lp, seconds));
    return new PathfinderPosterior({
      names: density.names,
      paramCount: density.paramCount,
      seed: v.seed,
      chains,
      numDraws: perChain[0]!.count,
      method: "pathfinder",
      gradientEvaluations: info.reduce((s, p) => s + p.gradientEvaluations, 0),
      densityEvaluations: info.reduce((s, p) => s + p.densityEvaluations, 0),
      seconds,
      threads: v.threads,
      paths: info,
      paretoK: combined.paretoK,
      psisResample: v.psisResample,
      distinctDraws: combined.distinct,
      lpApprox: perChain.map((c) => c.lpApprox),
      unconstrained: perChain.map((c) => c.unconstrained),
      dim: d,
    });
  });
}

/**
 * Pathfinder for `sample`'s `init: "pathfinder"` (pathfinder-init.ts): on `v.pool`, its paths
 * on RNG streams from `streamOffset` (after the chains'), aborted with the run.
 */
export function pathfinderForInit(resolved: ResolvedModel, v: ValidatedPathfinder, abort: Deferred.Deferred<string>, streamOffset: number): Effect.Effect<PathfinderPosterior, PoolStartError | ApproxFailedError> {
  const streams = new ApproxStreams("pathfinder", v.paths);
  return runPathfinder(resolved, new Array<null>(v.paths).fill(null), v, { streams, control: { abort } }, streamOffset).pipe(Effect.ensuring(Effect.sync(() => streams.complete())));
}

// ---------------------------------------------------------------- ADVI

function runAdvi(resolved: ResolvedModel, init: Float64Array | null, v: ValidatedAdvi, ctx: RunContext): Effect.Effect<AdviPosterior, PoolStartError | ApproxFailedError> {
  return Effect.gen(function* () {
    const actor = new AdviActor(
      { modelId: modelIdOf(resolved.name, resolved.spec), model: resolved.spec, settings: v.settings, init: { seed: v.seed, stream: 0, position: init }, stepsPerTask: 500 },
      ctx.streams,
    );
    const t0 = performance.now();
    yield* execute(v, "advi", v.settings.adaptEngaged ? ADVI_PARALLEL_TASKS : 1, adviProgram(actor), ctx);
    const seconds = (performance.now() - t0) / 1000;
    if (actor.status !== "completed") {
      return yield* Effect.fail(new ApproxFailedError({ method: "advi", message: actor.error ?? "aborted before ADVI converged" }));
    }
    const s = actor.state!;
    const r = actor.result!;
    const density = resolved.density;
    const width = density.names.length;
    return new AdviPosterior({
      names: density.names,
      paramCount: density.paramCount,
      seed: v.seed,
      chains: [chainFromDraws(0, actor.constrained!, r.count, width, r.lp, seconds)],
      numDraws: r.count,
      method: `advi-${v.settings.family}`,
      gradientEvaluations: actor.gradientEvaluations,
      densityEvaluations: actor.densityEvaluations,
      seconds,
      threads: v.threads,
      family: v.settings.family,
      eta: s.eta,
      iterations: s.iteration,
      stopReason: s.stopReason!,
      elboTrace: s.trace,
      mean: r.mean,
      lpApprox: r.lpApprox,
    });
  });
}

// ---------------------------------------------------------------- SMC

interface SmcModel {
  readonly resolved: ResolvedModel;
  readonly prior: PriorSampler;
  readonly likelihood: ModelSpec;
  readonly likelihoodId: string;
}

/** SMC needs the model's prior and likelihood apart: a `Model` from `model(...)` with proper priors. */
function smcModel(model: ModelInput): SmcModel {
  if (!isBuilderModel(model)) {
    throw new InvalidModelError({
      message: "smc(model, ...) needs the Model from model(...): it draws the initial particles from the prior and tempers the likelihood, which a compiled or module model does not separate",
    });
  }
  const resolved = resolveModelSync(model)!;
  let prior: PriorSampler;
  try {
    prior = priorSampler(model as Model);
  } catch (e) {
    throw new InvalidModelError({ message: `smc: ${(e as Error).message}`, cause: e });
  }
  const likelihood: ModelSpec = { kind: "compiled", compiled: compileLikelihood(model as Model) };
  return { resolved, prior, likelihood, likelihoodId: modelIdOf(`${resolved.name}__likelihood`, likelihood) };
}

function runSmc(m: SmcModel, v: ValidatedSmc, ctx: RunContext): Effect.Effect<SmcPosterior, PoolStartError | ApproxFailedError | InvalidModelError> {
  return Effect.gen(function* () {
    const { resolved } = m;
    const d = resolved.density.dim;
    const width = resolved.density.names.length;
    const n = v.settings.particles;
    const streamsPerChain = v.groups + 2;
    const chains: SmcChain[] = [];
    for (let c = 0; c < v.chains; c++) {
      const streamBase = c * streamsPerChain;
      // The prior draws use the chain's last stream (the coordinator's is its first, the groups' between).
      const rng = Rng.fromSeed(v.seed, streamBase + v.groups + 1);
      const initial = new Float64Array(n * d);
      yield* Effect.try({
        try: () => {
          for (let i = 0; i < n; i++) m.prior.draw(rng, initial.subarray(i * d, (i + 1) * d));
        },
        catch: (e) => new InvalidModelError({ message: `smc: ${(e as Error).message}`, cause: e }),
      });
      chains.push(
        new SmcChain(
          {
            chain: c,
            dim: d,
            width,
            groups: v.groups,
            settings: v.settings,
            dense: v.dense,
            modelId: modelIdOf(resolved.name, resolved.spec),
            model: resolved.spec,
            likelihoodId: m.likelihoodId,
            likelihood: m.likelihood,
            seed: v.seed,
            streamBase,
            keyBase: c * v.groups,
          },
          initial,
          ctx.streams,
        ),
      );
    }
    const t0 = performance.now();
    const aborted = yield* execute(v, "smc", v.chains * v.groups, smcProgram(chains), ctx);
    const seconds = (performance.now() - t0) / 1000;
    const info: SmcChainInfo[] = chains.map((c) => ({
      chain: c.config.chain,
      status: c.status === "running" ? (aborted !== null ? "aborted" : "failed") : c.status,
      error: c.error,
      logMarginalLikelihood: c.status === "completed" ? c.logEvidence : NaN,
      stages: c.stages,
    }));
    if (!info.some((c) => c.status === "completed")) {
      const why = info.map((c) => `chain ${c.chain}: ${c.error ?? c.status}`).join("; ");
      return yield* Effect.fail(new ApproxFailedError({ method: "smc", message: `no SMC run completed: ${why}` }));
    }
    const placeholder = new Float64Array(n * width).fill(NaN);
    return new SmcPosterior({
      names: resolved.density.names,
      paramCount: resolved.density.paramCount,
      seed: v.seed,
      chains: chains.map((c, k) => (info[k]!.status === "completed" ? chainFromDraws(k, c.constrained, n, width, c.a.lp, seconds) : chainFromDraws(k, placeholder, n, width, null, seconds))),
      numDraws: n,
      method: `smc-${v.settings.kernel}`,
      gradientEvaluations: chains.reduce((s, c) => s + c.gradientEvaluations, 0),
      densityEvaluations: chains.reduce((s, c) => s + c.densityEvaluations, 0),
      seconds,
      threads: v.threads,
      kernel: v.settings.kernel,
      chainInfo: info,
    });
  });
}

// ---------------------------------------------------------------- handles

/** A run's handle: streams, the result, abort. */
export class Handle<P> implements ApproxRun<P> {
  readonly progress$: Observable<ApproxProgress>;
  readonly events$: Observable<ApproxEvent>;
  readonly result: Promise<P>;
  readonly seed: number;
  readonly threads: number;
  private readonly control: ApproxControl;

  constructor(v: ValidatedRun, streams: ApproxStreams, program: (ctx: RunContext) => Effect.Effect<P, ApproxError>) {
    this.control = { abort: Deferred.unsafeMake<string>(FiberId.none) };
    this.progress$ = streams.progress$;
    this.events$ = streams.events$;
    this.seed = v.seed;
    this.threads = v.threads;
    const ctx = { streams, control: this.control };
    // Start on the next turn of the event loop, so that subscriptions made right after the call see everything.
    const run = Effect.promise(() => new Promise<void>((r) => setImmediate(r))).pipe(
      Effect.zipRight(program(ctx)),
      Effect.ensuring(Effect.sync(() => streams.complete())),
    );
    this.result = Effect.runPromiseExit(run).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value;
      throw Cause.squash(exit.cause);
    });
    this.result.catch(() => undefined);
  }

  abort(reason = "aborted by the user"): Promise<P> {
    Deferred.unsafeDone(this.control.abort, Effect.succeed(reason));
    return this.result;
  }
}

/** The Effect twin of a run made by `make`. */
export function effectOf<P>(make: () => { v: ValidatedRun; streams: ApproxStreams; program: (ctx: RunContext) => Effect.Effect<P, ApproxError> }): Effect.Effect<P, ApproxError> {
  return Effect.gen(function* () {
    const { streams, program } = yield* Effect.try({ try: make, catch: (e) => e as InvalidOptionError | InvalidModelError });
    const control: ApproxControl = { abort: yield* Deferred.make<string>() };
    return yield* program({ streams, control }).pipe(Effect.ensuring(Effect.sync(() => streams.complete())));
  });
}

/**
 * An error thrown where none was expected (a defect) becomes the method's typed failure, named
 * as such: nothing untyped leaves `pathfinder`, `advi` or `smc`.
 */
function typedDefects<P>(method: ApproxMethod, program: Effect.Effect<P, ApproxError>): Effect.Effect<P, ApproxError> {
  return program.pipe(
    Effect.catchAllDefect((d) => Effect.fail(new ApproxFailedError({ method, message: `${method} failed with an unexpected error: ${d instanceof Error ? d.message : String(d)}` }))),
  );
}

function pathfinderRun(model: ModelInput, options: PathfinderOptions) {
  const v = validatePathfinderOptions(options);
  const resolved = resolveModelSync(model);
  const pre = resolved === null ? null : { resolved, inits: resolveInits(resolved.density, options.inits, v.paths) };
  const program = (ctx: RunContext) =>
    typedDefects("pathfinder", resolvedWithInits(model, pre, (r) => resolveInits(r.density, options.inits, v.paths)).pipe(Effect.flatMap(({ resolved: r, inits }) => runPathfinder(r, inits, v, ctx))));
  return { v, streams: new ApproxStreams("pathfinder", v.paths), program };
}

function adviRun(model: ModelInput, options: AdviOptions) {
  const v = validateAdviOptions(options);
  const resolved = resolveModelSync(model);
  const init = (r: ResolvedModel) => resolveInits(r.density, options.inits, 1)[0] ?? null;
  const pre = resolved === null ? null : { resolved, inits: init(resolved) };
  const program = (ctx: RunContext) => typedDefects("advi", resolvedWithInits(model, pre, init).pipe(Effect.flatMap(({ resolved: r, inits }) => runAdvi(r, inits, v, ctx))));
  return { v, streams: new ApproxStreams("advi", 1), program };
}

function smcRun(model: ModelInput, options: SmcOptions) {
  const v = validateSmcOptions(options);
  const m = smcModel(model);
  return { v, streams: new ApproxStreams("smc", v.chains), program: (ctx: RunContext) => typedDefects("smc", runSmc(m, v, ctx)) };
}

/**
 * Pathfinder (Stan's, multi-path): `paths` L-BFGS paths from random inits, each keeping the
 * normal approximation with the best ELBO along its path, then Pareto-smoothed importance
 * resampling over all paths' draws. A fast first look, and inits for NUTS.
 */
export function pathfinder(model: ModelInput, options: PathfinderOptions = {}): ApproxRun<PathfinderPosterior> {
  const { v, streams, program } = pathfinderRun(model, options);
  return new Handle(v, streams, program);
}

/** ADVI (Stan's): a mean-field or full-rank Gaussian fitted by stochastic gradient ascent on the ELBO. */
export function advi(model: ModelInput, options: AdviOptions = {}): ApproxRun<AdviPosterior> {
  const { v, streams, program } = adviRun(model, options);
  return new Handle(v, streams, program);
}

/**
 * Sequential Monte Carlo (PyMC's `sample_smc`): `chains` independent runs of `particles`
 * particles from the prior, tempered to the posterior; the log marginal likelihood with its
 * Monte Carlo error. Needs the `Model` from `model(...)` with proper priors.
 */
export function smc(model: ModelInput, options: SmcOptions = {}): ApproxRun<SmcPosterior> {
  const { v, streams, program } = smcRun(model, options);
  return new Handle(v, streams, program);
}

export function pathfinderEffect(model: ModelInput, options: PathfinderOptions = {}): Effect.Effect<PathfinderPosterior, ApproxError> {
  return effectOf(() => pathfinderRun(model, options));
}

export function adviEffect(model: ModelInput, options: AdviOptions = {}): Effect.Effect<AdviPosterior, ApproxError> {
  return effectOf(() => adviRun(model, options));
}

export function smcEffect(model: ModelInput, options: SmcOptions = {}): Effect.Effect<SmcPosterior, ApproxError> {
  return effectOf(() => smcRun(model, options));
}

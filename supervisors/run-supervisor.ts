/**
 * The run supervisor: the root of the supervision tree. It owns the chunk scheduler and,
 * unless the user gave a shared `WorkerPool`, the pool of worker threads (scoped
 * resources), the warmup coordinator and one chain supervisor per chain, all forked in one
 * scope. The run ends when every chain has ended (completed, stopped early, or failed) or
 * when it is aborted; either way the scope closes (no thread of the run's own pool
 * outlives it; on a shared pool, the run's running chunks are ended) and the outcome, with
 * whatever was committed, is returned: a run always has a result.
 *
 * Chains are cut to a common length, so that R-hat and friends see equal chains: the
 * draws every healthy chain completed (all of them, unless aborted). A failed chain is
 * padded with placeholder draws to that length (emitted as placeholder batches).
 */
import { Data, Deferred, Duration, Effect, type Scope } from "effect";
import { ChainActor, type ChunkSizing } from "../actors/chain-actor.js";
import { WarmupCoordinator, type EarlyStopOptions, type WarmupExtensionOptions } from "../actors/coordinator.js";
import type { OnlineDiagnostics, RunSink, RunStatusKind } from "../actors/events.js";
import type { FaultSpec, LoadTask, ModelSpec } from "../actors/protocol.js";
import { TraceStore } from "../actors/trace-store.js";
import type { ConstrainedInit, Metric, SamplerSettings, WarmupEndRule } from "../src/inference/index.js";
import { superviseChain, type ChunkRunner, type SupervisionPolicy } from "./chain-supervisor.js";
import type { ClusterPlan } from "./cluster/client.js";
import { CLUSTER_PACKAGES, ClusterStartError } from "./cluster/config.js";
import { acquireScheduler, type Scheduler } from "./scheduler.js";
import type { PoolStartError, WorkerPool, WorkerResourceLimits } from "./worker-pool.js";

/** The model as the main thread knows it. */
export interface ModelShape {
  readonly names: readonly string[];
  readonly paramCount: number;
  /** Per chain: user inits in the unconstrained space, or null for random inits. */
  readonly inits: readonly (Float64Array | null)[];
}

/** A validated run: everything decided before any worker starts. */
export interface RunPlan {
  readonly modelId: string;
  readonly model: ModelSpec;
  /**
   * The model's names and inits, known up front for a compiled model. Null for a module
   * model: a worker loads it first, under the watchdog, and describes it (its code never
   * runs on the main thread); `userInits` are then mapped there.
   */
  readonly shape: ModelShape | null;
  /** A module model's user inits (constrained, by name) per chain, and the option each came from. */
  readonly userInits: { readonly inits: readonly (ConstrainedInit | null)[]; readonly options: readonly string[] };
  readonly numChains: number;
  /** Threads of the run's own pool (ignored with `pool`). */
  readonly threads: number;
  /** The user's pool to run on (left open), or null for a pool of the run's own. */
  readonly pool: WorkerPool | null;
  readonly seed: number;
  /** Kernel settings (with `metricUpdate: "external"`: the coordinator sets metrics). */
  readonly settings: SamplerSettings;
  readonly numDraws: number;
  readonly initRadius: number | null;
  /** Initial inverse metric of every chain (`init: "pathfinder"`); absent: the identity. */
  readonly initMetric?: Metric | null;
  readonly pooled: boolean;
  readonly extension: WarmupExtensionOptions | null;
  /** Adaptive warmup length (null: fixed). */
  readonly adaptiveWarmup: WarmupEndRule | null;
  readonly checkEvery: number;
  readonly earlyStop: EarlyStopOptions | null;
  readonly faults: readonly FaultSpec[];
  readonly sizing: ChunkSizing;
  readonly maxPendingBatches: number;
  readonly policy: SupervisionPolicy;
  readonly resourceLimits: WorkerResourceLimits | undefined;
  /**
   * Chunks go to cluster runners (or the in-process runner) instead of a pool of this run's
   * (`supervisors/cluster/`); the model is then a compiled one, its shape known.
   */
  readonly cluster: ClusterPlan | null;
}

export interface RunControl {
  /** Closed while paused. */
  readonly running: Effect.Latch;
  /** Completed (with a reason) to abort the run. */
  readonly abort: Deferred.Deferred<string>;
}

export interface RunOutcome {
  readonly status: RunStatusKind;
  readonly abortReason: string | null;
  readonly names: readonly string[];
  readonly paramCount: number;
  /** Common lengths of the chains in the result. */
  readonly numWarmup: number;
  readonly numDraws: number;
  readonly actors: readonly ChainActor[];
  readonly store: TraceStore;
  readonly diagnostics: OnlineDiagnostics | null;
  readonly warmupExtensions: number;
  readonly seconds: number;
  /** A cluster run: each runner that ran chunks, with its worker threads; null on local threads. */
  readonly runners: ReadonlyMap<string, number> | null;
}

/**
 * A module model that could not be loaded (it threw, its thread died, or it outlived the
 * watchdog: `timeout`), or a user init it could not map (`option` names it).
 */
export class ModelLoadError extends Data.TaggedError("ModelLoadError")<{
  readonly message: string;
  readonly option: string | null;
  readonly timeout: boolean;
}> {}

/** The run's chains, trace store and coordinator, made once the model's shape is known. */
interface RunParts {
  readonly store: TraceStore;
  readonly coordinator: WarmupCoordinator;
  readonly actors: readonly ChainActor[];
}

function buildRun(plan: RunPlan, shape: ModelShape, sink: RunSink, control: RunControl): RunParts {
  // Preallocated for the planned draws (no copies while growing, none when the result is
  // made); with early stop the maximum may be far more than needed, so it starts smaller.
  const drawsCapacity = plan.earlyStop === null ? plan.numDraws : Math.min(plan.numDraws, 4096);
  const store = new TraceStore(shape.names, plan.numChains, plan.settings.numWarmup, drawsCapacity);
  let actors: ChainActor[] = [];
  const coordinator = new WarmupCoordinator({
    numChains: plan.numChains,
    pooled: plan.pooled,
    adaptiveWarmup: plan.adaptiveWarmup,
    fisher: plan.settings.fisher,
    extension: plan.extension,
    checkEvery: plan.checkEvery,
    earlyStop: plan.earlyStop,
    store,
    sink,
    gradients: (draws) => actors.reduce((a, x) => a + x.gradientsThrough(draws), 0),
  });
  actors = Array.from(
    { length: plan.numChains },
    (_, chain) =>
      new ChainActor(
        {
          chain,
          modelId: plan.modelId,
          model: plan.model,
          settings: plan.settings,
          init: { seed: plan.seed, position: shape.inits[chain] ?? null, initRadius: plan.initRadius, metric: plan.initMetric ?? null },
          numDraws: plan.numDraws,
          faults: plan.faults,
          sizing: plan.sizing,
          maxPendingBatches: plan.maxPendingBatches,
        },
        store.chains[chain]!,
        coordinator,
        sink,
        control,
      ),
  );
  return { store, coordinator, actors };
}

/**
 * Loads a module model in a worker under the watchdog (`chunkTimeout`) and learns its shape;
 * null when the run was aborted first.
 */
function loadModel(plan: RunPlan, scheduler: Scheduler, control: RunControl): Effect.Effect<ModelShape | null, ModelLoadError> {
  const what = plan.model.kind === "module" ? `module model ${plan.model.spec.module}` : "the model";
  const task: LoadTask = { kind: "load", modelId: plan.modelId, model: plan.model, inits: plan.userInits.inits, initOptions: plan.userInits.options };
  const load = scheduler.load(task, Duration.decode(plan.policy.chunkTimeout)).pipe(
    Effect.mapError(
      (e) =>
        new ModelLoadError({
          // The worker's own message names the module already when the import itself failed.
          message:
            e._tag === "ChunkTimeout"
              ? `${what} did not finish loading: ${e.message} (chunkTimeout)`
              : e.message.startsWith(`${what} `)
                ? e.message
                : `${what} could not be loaded: ${e.message}`,
          option: null,
          timeout: e._tag === "ChunkTimeout",
        }),
    ),
    Effect.flatMap((d) =>
      d.badInit !== null
        ? Effect.fail(new ModelLoadError({ message: d.badInit.message, option: d.badInit.option, timeout: false }))
        : Effect.succeed<ModelShape | null>({ names: d.names, paramCount: d.paramCount, inits: d.inits }),
    ),
  );
  return Effect.raceFirst(load, Deferred.await(control.abort).pipe(Effect.as(null)));
}

export interface Run {
  readonly program: Effect.Effect<RunOutcome, PoolStartError | ModelLoadError | ClusterStartError>;
}

/**
 * Where the run's chunks go, and the model's shape: the local scheduler (after loading a
 * module model in a worker, if need be; null when aborted meanwhile), or the cluster client
 * (loaded only for cluster runs: a run without `cluster` needs neither its modules nor a
 * database).
 */
function acquireChunks(
  plan: RunPlan,
  sink: RunSink,
  control: RunControl,
): Effect.Effect<{ chunks: ChunkRunner; known: ModelShape | null }, PoolStartError | ModelLoadError | ClusterStartError, Scope.Scope> {
  return Effect.gen(function* () {
    const cluster = plan.cluster;
    if (cluster !== null && plan.shape !== null && plan.model.kind === "compiled") {
      // The cluster packages are optional peer dependencies: without them, say which to install.
      const { acquireClusterChunks } = yield* Effect.tryPromise({
        try: () => import("./cluster/client.js"),
        catch: (e) =>
          new ClusterStartError({
            message:
              (e as { code?: string }).code === "ERR_MODULE_NOT_FOUND"
                ? `cluster runs need the optional packages ${CLUSTER_PACKAGES.join(", ")}: npm install ${CLUSTER_PACKAGES.join(" ")} (${(e as Error).message})`
                : `cluster client failed to load: ${(e as Error).message}`,
          }),
      });
      const spec = { model: plan.model, chains: plan.numChains, width: plan.shape.names.length };
      return { chunks: yield* acquireClusterChunks(cluster, spec, sink), known: plan.shape };
    }
    const scheduler: Scheduler = yield* acquireScheduler({
      shared: plan.pool,
      threads: plan.threads,
      chains: plan.numChains,
      resourceLimits: plan.resourceLimits,
    });
    return { chunks: scheduler, known: plan.shape ?? (yield* loadModel(plan, scheduler, control)) };
  });
}

export function createRun(plan: RunPlan, sink: RunSink, control: RunControl): Run {
  const program = Effect.gen(function* () {
    const t0 = performance.now();
    const { parts, shape, aborted, runners } = yield* Effect.scoped(
      Effect.gen(function* () {
        const { chunks, known } = yield* acquireChunks(plan, sink, control);
        // Aborted while a module model was loading: a run of no draws and no names.
        const shape = known ?? { names: [], paramCount: 0, inits: [] };
        sink.model(shape.names);
        const parts = buildRun(plan, shape, sink, control);
        const runners = chunks.runners ?? null;
        if (known === null) return { parts, shape, aborted: yield* Deferred.await(control.abort), runners };
        sink.event({ type: "run-started", chains: plan.numChains, threads: plan.threads, seed: plan.seed });
        const chains = Effect.forEach(parts.actors, (a) => superviseChain(a, chunks, plan.policy, sink), {
          concurrency: "unbounded",
          discard: true,
        });
        const ended = yield* Effect.race(
          chains.pipe(Effect.as(null as string | null)),
          Deferred.await(control.abort).pipe(Effect.map((reason): string | null => reason)),
        );
        return { parts, shape, aborted: ended, runners };
      }),
    );
    const { actors, coordinator, store } = parts;
    yield* Effect.promise(() => coordinator.drain());
    for (const a of actors) if (a.status === "running") a.status = "aborted";
    // No chain has a usable draw: the run failed, whatever else happened.
    const failed = actors.length > 0 && actors.every((a) => a.status === "failed");
    const status: RunStatusKind = failed ? "failed" : aborted !== null ? "aborted" : coordinator.stoppedAt !== null ? "stopped-early" : "completed";
    if (aborted !== null) sink.event({ type: "aborted", reason: aborted });
    const lengths = commonLengths(actors, store);
    const numWarmup = lengths.numWarmup;
    // Stopped early: chains that sampled on past the stop point are cut back to it.
    const numDraws = coordinator.stoppedAt === null ? lengths.numDraws : Math.min(lengths.numDraws, coordinator.stoppedAt);
    if (coordinator.stoppedAt !== null) for (const a of actors) if (a.status === "completed") a.status = "stopped-early";
    coordinator.finish(numDraws);
    padFailedChains(actors, store, sink, numWarmup, numDraws);
    for (const a of actors) sink.progress(a.progress());
    const seconds = (performance.now() - t0) / 1000;
    sink.event({ type: "run-completed", status, seconds });
    return {
      status,
      abortReason: aborted,
      names: shape.names,
      paramCount: shape.paramCount,
      numWarmup,
      numDraws,
      actors,
      store,
      diagnostics: coordinator.latest,
      warmupExtensions: coordinator.extensionsDone,
      seconds,
      runners: runners === null ? null : new Map(runners()),
    } satisfies RunOutcome;
  });
  return { program };
}

/** The draws every healthy chain has (all chains' if none is healthy). */
function commonLengths(actors: readonly ChainActor[], store: TraceStore): { numWarmup: number; numDraws: number } {
  const healthy = actors.filter((a) => a.status !== "failed").map((a) => a.chain);
  const pick = healthy.length > 0 ? healthy : actors.map((a) => a.chain);
  const reduce = healthy.length > 0 ? Math.min : Math.max;
  const numWarmup = reduce(...pick.map((c) => store.chains[c]!.warmup.length));
  const numDraws = reduce(...pick.map((c) => store.chains[c]!.sampling.length));
  return { numWarmup, numDraws };
}

function padFailedChains(actors: readonly ChainActor[], store: TraceStore, sink: RunSink, numWarmup: number, numDraws: number): void {
  for (const a of actors) {
    if (a.status !== "failed") continue;
    const trace = store.chains[a.chain]!;
    const w = trace.warmup.length;
    if (w < numWarmup) {
      trace.warmup.appendPlaceholders(numWarmup - w);
      sink.event({ type: "placeholders", chain: a.chain, phase: "warmup", start: w, count: numWarmup - w });
      sink.batch(trace.warmup.view(a.chain, w, w, numWarmup - w, true), () => undefined);
    }
    const s = trace.sampling.length;
    if (s < numDraws) {
      trace.sampling.appendPlaceholders(numDraws - s);
      sink.event({ type: "placeholders", chain: a.chain, phase: "sampling", start: numWarmup + s, count: numDraws - s });
      sink.batch(trace.sampling.view(a.chain, numWarmup + s, s, numDraws - s, false), () => undefined);
    }
  }
}

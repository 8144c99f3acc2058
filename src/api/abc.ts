/**
 * `abc(simulator, options)` and `abcSmc(simulator, options)`: likelihood-free inference on the
 * runtime's worker pool. Options and the prior are checked first (`InvalidOptionError` /
 * `InvalidModelError`); the simulator's module is imported on the calling thread to summarise
 * the observed data (and to fail early when it cannot load), then simulations run in batches
 * on worker threads under the watchdog (actors/abc-actor.ts). Returns the same handle as the
 * approximations: `progress$`, `events$` (one `abc-generation` event per generation), the
 * result as a Promise of an `AbcPosterior`, and `abort()`. Effect twins: `abcEffect`,
 * `abcSmcEffect`.
 */
import { Duration, Effect } from "effect";
import { AbcActor, type AbcActorConfig } from "../../actors/abc-actor.js";
import { abcProgram, runAbcOnCluster } from "../../supervisors/approx-supervisor.js";
import type { ClusterUsage } from "../../supervisors/cluster/abc-client.js";
import type { PoolStartError } from "../../supervisors/worker-pool.js";
import { priorSampler } from "../compile/prior.js";
import { loadSimulator, type SimulatorSpec } from "../compile/simulator.js";
import type { Model } from "../model/builder.js";
import { Rng } from "../rng/index.js";
import { systematicResample } from "../inference/smc.js";
import { validateAbcOptions, validateAbcSmcOptions, type AbcOptions, type AbcSmcOptions, type ValidatedAbc } from "./abc-options.js";
import { AbcPosterior } from "./abc-posterior.js";
import { chainFromDraws } from "./approx-posterior.js";
import { ApproxFailedError, ApproxStreams, effectOf, execute, Handle, type ApproxError, type ApproxRun, type RunContext } from "./approx.js";
import { InvalidModelError } from "./errors.js";
import { isBuilderModel, modelIdOf, resolveModelSync } from "./model-input.js";

/** The prior as a model the runtime can draw from and evaluate, and the layout of its parameters. */
function priorOf(prior: unknown) {
  if (!isBuilderModel(prior)) throw new InvalidModelError({ message: "abc: `prior` must be a model(...) that declares the simulator's parameters with their priors" });
  const m = prior as Model;
  if (m.observed.length > 0 || (m.potentialTerms ?? []).length > 0) {
    throw new InvalidModelError({ message: `abc: the prior model ${m.name} has observed nodes or potentials; ABC's likelihood is the simulator: declare only parameters (and deterministics)` });
  }
  const resolved = resolveModelSync(m)!;
  let sampler;
  try {
    sampler = priorSampler(m);
  } catch (e) {
    throw new InvalidModelError({ message: `abc: ${(e as Error).message}`, cause: e });
  }
  const params = m.params.map((p) => ({ name: p.name, size: p.size, scalar: p.shape.length === 0 }));
  return { resolved, sampler, params };
}

function runAbc(simulatorSpec: SimulatorSpec, v: ValidatedAbc, prior: ReturnType<typeof priorOf>, ctx: RunContext): Effect.Effect<AbcPosterior, ApproxError> {
  return Effect.gen(function* () {
    const { resolved, sampler, params } = prior;
    const simulator = yield* Effect.tryPromise({
      try: () => loadSimulator(simulatorSpec),
      catch: (e) => new InvalidModelError({ message: (e as Error).message, cause: e }),
    });
    const observed = yield* Effect.try({
      try: () => {
        const s = simulator.summarise(v.observed);
        if (s.length === 0 || !s.every(Number.isFinite)) throw new Error(`the observed summary must be finite numbers, got [${Array.from(s).join(", ")}]`);
        return s;
      },
      catch: (e) => new InvalidModelError({ message: `abc: ${(e as Error).message}`, cause: e }),
    });
    let settings = v.settings;
    if (settings.scales !== null && settings.scales.length === 0) settings = { ...settings, scales: new Float64Array(observed.length).fill(1) };
    if (settings.scales !== null && settings.scales.length !== observed.length) {
      return yield* Effect.fail(new InvalidModelError({ message: `abc: distance.scales has ${settings.scales.length} entries, the observed summary ${observed.length}` }));
    }
    const method = settings.method === "smc" ? "abc-smc" : "abc";
    const config: Omit<AbcActorConfig, "threads"> = {
      modelId: modelIdOf(resolved.name, resolved.spec),
      model: resolved.spec,
      prior: resolved.density,
      sampler,
      params,
      simulator: simulatorSpec,
      observed,
      distance: simulator.distance,
      settings,
      seed: v.seed,
    };
    const t0 = performance.now();
    let actor: AbcActor;
    let usage: ClusterUsage | null = null;
    if (v.cluster === null) {
      actor = new AbcActor({ ...config, threads: v.threads }, ctx.streams);
      yield* execute(v, method, v.threads, abcProgram(actor), ctx);
    } else {
      const spec = resolved.spec;
      if (spec.kind !== "compiled") return yield* Effect.fail(new InvalidModelError({ message: "abc: a cluster run needs the prior as a model(...)" }));
      ctx.streams.event({ type: "run-started", method, actors: 1, threads: 0, seed: v.seed });
      // A batch on the cluster pays a round trip through the database: half a second of simulations each.
      const ran = yield* runAbcOnCluster(v.cluster, spec, Duration.decode(v.policy.chunkTimeout), ctx.control, (lanes) => new AbcActor({ ...config, threads: lanes, taskSeconds: 0.5 }, ctx.streams), ctx.streams);
      ctx.streams.event({ type: "run-completed", seconds: (performance.now() - t0) / 1000 });
      actor = ran.actor;
      usage = ran.usage;
    }
    const seconds = (performance.now() - t0) / 1000;
    const pop = actor.population;
    if (actor.status !== "completed" || pop === null) {
      return yield* Effect.fail(new ApproxFailedError({ method, message: actor.error ?? "aborted before a population was complete", densityEvaluations: actor.simulations }));
    }
    const density = resolved.density;
    const width = density.names.length;
    const d = density.dim;
    const particles = new Float64Array(pop.count * width);
    for (let i = 0; i < pop.count; i++) density.constrainFlat(pop.positions.subarray(i * d, (i + 1) * d), particles.subarray(i * width, (i + 1) * width));
    // Unequal weights: the chain is the population resampled by them (systematic, the seed's stream 1).
    const equal = pop.weights.every((w) => w === pop.weights[0]);
    const picks = equal ? Int32Array.from({ length: pop.count }, (_, i) => i) : systematicResample(pop.weights, Rng.fromSeed(v.seed, 1).uniform());
    const draws = new Float64Array(pop.count * width);
    picks.forEach((i, j) => draws.set(particles.subarray(i * width, (i + 1) * width), j * width));
    return new AbcPosterior({
      names: density.names,
      paramCount: density.paramCount,
      seed: v.seed,
      chains: [chainFromDraws(0, draws, pop.count, width, null, seconds)],
      numDraws: pop.count,
      method,
      gradientEvaluations: 0,
      densityEvaluations: actor.simulations,
      seconds,
      threads: usage === null ? v.threads : [...usage.runners.values()].reduce((a, b) => a + b, 0),
      runners: usage === null ? null : new Map(usage.runners),
      abcMethod: settings.method,
      generations: actor.generations,
      simulations: actor.simulations,
      stopReason: actor.stopReason!,
      particles,
      weights: pop.weights,
      distances: pop.distances,
      scales: pop.scales,
      observedSummary: observed,
    });
  });
}

function abcRun(simulatorSpec: SimulatorSpec, v: ValidatedAbc) {
  const prior = priorOf(v.prior);
  return { v, streams: new ApproxStreams(v.settings.method === "smc" ? "abc-smc" : "abc", 1), program: (ctx: RunContext) => runAbc(simulatorSpec, v, prior, ctx) };
}

/**
 * Rejection ABC: parameters from the prior, a simulation each (on worker threads), and the
 * `particles` simulations nearest the observed summary kept: those within `tolerance`, or the
 * nearest share `quantile` (0.01) of particles / quantile simulations. A simulator that throws,
 * exits its thread or runs past `simulationTimeout` loses its proposal, not the run.
 */
export function abc(simulator: SimulatorSpec, options: AbcOptions): ApproxRun<AbcPosterior> {
  const { v, streams, program } = abcRun(simulator, validateAbcOptions(options));
  return new Handle(v, streams, program);
}

/**
 * ABC-SMC (Beaumont et al. 2009): a population per generation, each generation's tolerance the
 * `alpha` quantile (0.5) of the last population's distances, proposals perturbed from it by a
 * normal kernel fitted to it, weights corrected for the kernel; stops at `minTolerance`, below
 * `minAcceptanceRate`, after `maxGenerations` or when `maxSimulations` are spent.
 */
export function abcSmc(simulator: SimulatorSpec, options: AbcSmcOptions): ApproxRun<AbcPosterior> {
  const { v, streams, program } = abcRun(simulator, validateAbcSmcOptions(options));
  return new Handle(v, streams, program);
}

/** `abc` as an Effect: fails with a typed error in its error channel. */
export function abcEffect(simulator: SimulatorSpec, options: AbcOptions): Effect.Effect<AbcPosterior, ApproxError | PoolStartError> {
  return effectOf(() => abcRun(simulator, validateAbcOptions(options)));
}

/** `abcSmc` as an Effect. */
export function abcSmcEffect(simulator: SimulatorSpec, options: AbcSmcOptions): Effect.Effect<AbcPosterior, ApproxError | PoolStartError> {
  return effectOf(() => abcRun(simulator, validateAbcSmcOptions(options)));
}

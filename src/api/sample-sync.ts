/**
 * `sampleSync`: NUTS chains run one after another on the calling thread. The simple,
 * deterministic entry point (tests, scripts, small models); the actor-based `sample`
 * runs the same kernel in chunks on workers.
 */
import type { CompiledModel } from "../compile/compile.js";
import { checkLogDensity } from "../compile/module-model.js";
import type { LogDensity } from "../compile/types.js";
import { initChainState, runIterations, type ConstrainedInit } from "../inference/index.js";
import { noOdeFailures, odeFailuresSince, odeFailureTally } from "../ode/index.js";
import type { Model } from "../model/builder.js";
import { InvalidModelError } from "./errors.js";
import { resolveInits, resolveModelSync } from "./model-input.js";
import { allocateStats, Posterior, type ChainResult, type SamplerStatsArrays } from "./posterior.js";
import { checkRunSize, validateSyncOptions, type ValidatedSyncOptions } from "./sample-options.js";
import type { SampleSyncOptions } from "./sync-options.js";

export type { SampleSyncOptions } from "./sync-options.js";

function storeStats(to: SamplerStatsArrays, i: number, s: { lp: number; stepSize: number; treeDepth: number; nLeapfrog: number; divergent: boolean; energy: number; acceptStat: number }): void {
  to.lp[i] = s.lp;
  to.stepSize[i] = s.stepSize;
  to.treeDepth[i] = s.treeDepth;
  to.nLeapfrog[i] = s.nLeapfrog;
  to.divergent[i] = s.divergent ? 1 : 0;
  to.energy[i] = s.energy;
  to.acceptStat[i] = s.acceptStat;
}

function isInitArray(x: ConstrainedInit | readonly ConstrainedInit[]): x is readonly ConstrainedInit[] {
  return Array.isArray(x);
}

/** The density `sampleSync` runs: a `LogDensity` as given (checked), or one compiled from a model. */
function densityOf(input: unknown): LogDensity {
  if (typeof input === "object" && input !== null && (input as { backend?: unknown }).backend === "module") {
    throw new InvalidModelError({ message: "sampleSync cannot load a module model (loading is asynchronous): pass await loadModuleModel(spec), or use sample" });
  }
  if (typeof input === "object" && input !== null && typeof (input as LogDensity).logDensityGradient === "function") {
    try {
      return checkLogDensity(input, "sampleSync: the model");
    } catch (e) {
      throw new InvalidModelError({ message: (e as Error).message, cause: e });
    }
  }
  return resolveModelSync(input as Model)!.density;
}

/**
 * Runs `chains` NUTS chains one after another on this thread. The model is a `LogDensity`
 * (`compile(model)`, or your own object), a `Model` or a `CompiledModel`. Options and the
 * model are checked first (`InvalidOptionError` / `InvalidModelError`).
 */
export function sampleSync(model: LogDensity | Model | CompiledModel, options: SampleSyncOptions = {}): Posterior {
  const opts = validateSyncOptions(options);
  const density = densityOf(model);
  checkRunSize(opts, density.names.length);
  const { numChains, inits } = opts;
  // Inits are mapped to the unconstrained scale here, so that a bad one is an
  // `InvalidOptionError` before any chain runs.
  resolveInits(density, inits, numChains);
  return runChains(density, opts);
}

function runChains(model: LogDensity, options: ValidatedSyncOptions): Posterior {
  const { numChains, numWarmup, numDraws, seed, settings, inits } = options;
  const nq = model.names.length;
  const saveWarmup = options.saveWarmup;
  const out = new Float64Array(nq);
  const chains: ChainResult[] = [];

  for (let c = 0; c < numChains; c++) {
    const init = inits === undefined ? undefined : isInitArray(inits) ? inits[c] : inits;
    const t0 = performance.now();
    const odeBefore = odeFailureTally();
    let state = initChainState(model, settings, {
      seed,
      chain: c,
      ...(init !== undefined ? { init } : {}),
      ...(options.initRadius !== null ? { initRadius: options.initRadius } : {}),
    });
    const values = new Float64Array(nq * numDraws);
    const warmupValues = saveWarmup ? new Float64Array(nq * numWarmup) : null;
    const stats = allocateStats(numDraws);
    const warmupStats = allocateStats(numWarmup);
    let tWarmupEnd = t0;
    const warm = runIterations(model, state, numWarmup, settings, (d) => {
      const i = d.iteration;
      storeStats(warmupStats, i, d.stats);
      if (warmupValues !== null) {
        model.constrainFlat(d.position, out);
        for (let k = 0; k < nq; k++) warmupValues[k * numWarmup + i] = out[k]!;
      }
    });
    state = warm.state;
    tWarmupEnd = performance.now();
    const warmupOdeFailures = odeFailuresSince(odeBefore);
    const odeMid = odeFailureTally();
    const samp = runIterations(model, state, numDraws, settings, (d) => {
      const i = d.iteration - numWarmup;
      storeStats(stats, i, d.stats);
      model.constrainFlat(d.position, out);
      for (let k = 0; k < nq; k++) values[k * numDraws + i] = out[k]!;
    });
    state = samp.state;
    const t1 = performance.now();
    const samplingOdeFailures = odeFailuresSince(odeMid);
    chains.push({
      chain: c,
      values,
      stats,
      warmupValues,
      warmupStats,
      stepSize: state.stepSize,
      metric: state.metric,
      gradientEvaluations: state.gradientEvaluations,
      warmupSeconds: (tWarmupEnd - t0) / 1000,
      samplingSeconds: (t1 - tWarmupEnd) / 1000,
      ...(warmupOdeFailures !== null || samplingOdeFailures !== null ? { odeFailures: { warmup: warmupOdeFailures ?? noOdeFailures(), sampling: samplingOdeFailures ?? noOdeFailures() } } : {}),
    });
  }
  return new Posterior({
    names: model.names,
    paramCount: model.paramCount,
    numWarmup,
    numDraws,
    seed,
    metric: settings.metric,
    maxTreeDepth: settings.maxTreeDepth,
    chains,
    ...(model.model ? { model: model.model } : {}),
    backend: model.backend,
  });
}

/**
 * What a worker thread does with the approximation tasks (approx-protocol.ts): a stretch of a
 * Pathfinder path or of an ADVI run from its checkpoint, or a mutation of one group of SMC
 * particles. Models come from the worker's cache (worker.ts), built once per thread; the
 * worker marks the task started for the watchdog, this module marks it ended.
 */
import type { LogDensity } from "../src/compile/types.js";
import { adviDraws, adviEtaTrial, adviIterate, adviStart } from "../src/inference/advi.js";
import { initPathfinder, pathfinderDraws, pathfinderIterate, type PathfinderState } from "../src/inference/pathfinder.js";
import { evaluateParticles, imhMutate, nutsMutate, type ParticleSlice } from "../src/inference/smc.js";
import { Rng } from "../src/rng/index.js";
import type { AbcTask, AdviTask, AdviTaskResult, ApproxTask, ApproxTaskResult, PathfinderTask, PathfinderTaskResult, SmcTask, SmcTaskResult } from "./approx-protocol.js";
import { TASK_CELL } from "./protocol.js";

function markEnded(task: ApproxTask): void {
  if (task.started !== undefined) task.started[TASK_CELL.ENDED] = Date.now();
}

/** Reported quantities of `count` unconstrained draws (draw-major) into `out` (draw-major). */
function constrainDraws(model: LogDensity, draws: Float64Array, count: number, out: Float64Array = new Float64Array(count * model.names.length)): Float64Array {
  const d = model.dim;
  const width = model.names.length;
  const row = new Float64Array(width);
  for (let s = 0; s < count; s++) {
    model.constrainFlat(draws.subarray(s * d, (s + 1) * d), row);
    out.set(row, s * width);
  }
  return out;
}

/** The message of an error the algorithm itself raised (a retry would raise it again), else rethrows. */
function algorithmError(e: unknown, names: readonly string[]): string {
  if (e instanceof Error && names.includes(e.name)) return e.message;
  throw e;
}

function pathfinderTask(model: LogDensity, task: PathfinderTask): PathfinderTaskResult {
  const t0 = performance.now();
  const init = task.init;
  let state: PathfinderState | null = task.state;
  try {
    state ??= initPathfinder(model, task.settings, init.seed, task.path, init.stream, init.position ?? undefined);
    state = pathfinderIterate(model, state, task.settings, task.iterations);
    const result = state.done ? pathfinderDraws(model, state, task.settings) : null;
    const constrained = result === null ? null : constrainDraws(model, result.draws, result.count);
    return { kind: "pathfinder", state, result, constrained, error: null, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    const error = algorithmError(e, ["PathfinderError", "InitializationError"]);
    return { kind: "pathfinder", state, result: null, constrained: null, error, seconds: (performance.now() - t0) / 1000 };
  }
}

function adviTask(model: LogDensity, task: AdviTask): AdviTaskResult {
  const t0 = performance.now();
  const none = { start: null, trial: null, state: null, result: null, constrained: null, error: null };
  const done = (r: Partial<AdviTaskResult>): AdviTaskResult => ({ kind: "advi", ...none, ...r, seconds: (performance.now() - t0) / 1000 });
  const st = task.stage;
  try {
    switch (st.kind) {
      case "start":
        return done({ start: adviStart(model, task.settings, Rng.fromSeed(st.init.seed, st.init.stream), st.init.position ?? undefined) });
      case "trial":
        return done({ trial: adviEtaTrial(model, task.settings, st.init, st.eta, Rng.fromSeed(st.seed, st.stream)) });
      case "optimise": {
        const state = adviIterate(model, st.state, task.settings, st.steps);
        const result = state.phase === "done" ? adviDraws(model, state, task.settings) : null;
        return done({ state, result, constrained: result === null ? null : constrainDraws(model, result.draws, result.count) });
      }
    }
  } catch (e) {
    return done({ error: algorithmError(e, ["AdviError", "InitializationError"]) });
  }
}

function smcTask(full: LogDensity, lik: LogDensity, task: SmcTask): SmcTaskResult {
  const t0 = performance.now();
  const d = full.dim;
  const { start, end, input, output } = task;
  // Work on the output's slice (a copy of the input's): a retried task starts again from the input.
  output.positions.set(input.positions.subarray(start * d, end * d), start * d);
  output.lp.set(input.lp.subarray(start, end), start);
  output.ll.set(input.ll.subarray(start, end), start);
  const slice: ParticleSlice = {
    positions: output.positions.subarray(start * d, end * d),
    lp: output.lp.subarray(start, end),
    ll: output.ll.subarray(start, end),
    count: end - start,
  };
  const rng = Rng.fromState(task.rng);
  const m = task.mutation;
  const stats =
    m === null
      ? evaluateParticles(full, lik, slice)
      : m.kernel === "imh"
        ? imhMutate(full, lik, slice, m.proposal, m.beta, m.steps, rng)
        : nutsMutate(full, lik, slice, m.metric!, m.stepSize, m.beta, m.steps, m.maxTreeDepth, rng);
  if (task.constrained !== null) {
    const width = full.names.length;
    constrainDraws(full, slice.positions, slice.count, task.constrained.subarray(start * width, end * width));
  }
  return { kind: "smc", rng: rng.getState(), ...stats, seconds: (performance.now() - t0) / 1000 };
}

/** Runs an approximation task on its model (and, for SMC, the model's likelihood part), already loaded by the worker. */
export function runApproxTask(task: Exclude<ApproxTask, AbcTask>, model: LogDensity, likelihood: LogDensity | null): ApproxTaskResult {
  let result: ApproxTaskResult;
  switch (task.kind) {
    case "pathfinder":
      result = pathfinderTask(model, task);
      break;
    case "advi":
      result = adviTask(model, task);
      break;
    case "smc":
      result = smcTask(model, likelihood!, task);
      break;
  }
  markEnded(task);
  return result;
}

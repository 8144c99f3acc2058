/**
 * The piscina worker: runs chunk tasks, and load tasks (a module model imported and described
 * for the main thread). A worker instantiates each model once (by id, from
 * the spec the task carries) and keeps the most recent few, so that the runs of a shared
 * pool find their model built and JIT-compiled; the model's data stays in the
 * SharedArrayBuffers the main thread made. A chunk's draws are written straight into the
 * chain's trace arrays (SharedArrayBuffers the task points to: `DrawTarget`), in the
 * posterior's layout, so they reach the main thread without a copy, a transfer or a
 * transposition; only the small checkpoint is cloned back.
 *
 * This file must run as compiled JavaScript (`dist/actors/worker.js`): see
 * `supervisors/worker-pool.ts` for how the path is resolved.
 */
import { threadId } from "node:worker_threads";
import { disposeDensity, instantiateAnyAsync } from "../src/compile/backends.js";
import { loadModuleModel } from "../src/compile/module-model.js";
import type { LogDensity } from "../src/compile/types.js";
import { applyWindowUpdate, initChainState, runIterations, type ChainState, type DrawInfo, type LocalSwitch } from "../src/inference/index.js";
import { odeFailureTally, odeFailuresSince } from "../src/ode/index.js";
import { runAbcTask, simulatorFor } from "./abc-worker.js";
import { ABC_LOADING, type ApproxTaskResult } from "./approx-protocol.js";
import { runApproxTask } from "./approx-worker.js";
import { checkGradientLength, describeModel } from "./model-checks.js";
import { mostIterations, TASK_CELL, type ChunkResult, type ChunkTask, type FaultSpec, type LoadTask, type ModelDescription, type ModelSpec, type WorkerTask } from "./protocol.js";
import { threadCpuSeconds } from "./thread-cpu.js";

/** Models a thread keeps instantiated (least recently used dropped first). */
const MODELS_KEPT = 8;
const models = new Map<string, Promise<LogDensity>>();

/** The model `id`, built on first use (`beforeLoad` runs first then: loading runs the model's code). */
function getModel(id: string, spec: ModelSpec, beforeLoad: () => void): Promise<LogDensity> {
  let m = models.get(id);
  if (m === undefined) {
    beforeLoad();
    m = spec.kind === "compiled" ? instantiateAnyAsync(spec.compiled) : loadModuleModel(spec.spec);
    if (models.size >= MODELS_KEPT) {
      const oldest = models.keys().next().value!;
      // A tfjs model holds its data as tensors outside the JavaScript heap: free them.
      void models.get(oldest)!.then(disposeDensity, () => {});
      models.delete(oldest);
    }
  } else {
    models.delete(id);
  }
  models.set(id, m);
  return m;
}

/** A view of `model` whose `unconstrain` returns the position the main thread computed. */
function withPosition(model: LogDensity, position: Float64Array): LogDensity {
  return Object.create(model, { unconstrain: { value: () => Float64Array.from(position) } }) as LogDensity;
}

function injectFault(f: FaultSpec): void {
  switch (f.kind) {
    case "throw":
      throw new Error(`injected fault: throw at iteration ${f.atIteration} of chain ${f.chain}`);
    case "exit":
      process.exit(3);
      break;
    case "hang":
      for (;;) {
        // An endless loop: only the watchdog (thread termination) ends it.
      }
    case "oom": {
      // Many small arrays (each below V8's large-object size): V8 then ends the thread at its
      // heap limit (ERR_WORKER_OUT_OF_MEMORY). Large single allocations can instead abort the
      // whole process at a worker's limit (nodejs/node#47224): see DECISIONS.md D35.
      const hog: number[][] = [];
      for (;;) hog.push(Array.from({ length: 4096 }, (_, i) => i + hog.length));
    }
  }
}

/** Marks the task as running on this thread (the watchdog counts from here). */
function markStarted(cell: Float64Array | undefined): void {
  if (cell === undefined) return;
  cell[TASK_CELL.THREAD] = threadId;
  cell[TASK_CELL.STARTED] = Date.now();
}

export default async function runTask(task: WorkerTask): Promise<ChunkResult | ModelDescription | ApproxTaskResult> {
  // A thread may hold two chunks, and piscina may take both from its port at once and
  // start them together up to their first await; without a turn of the event loop here,
  // both would run before either result is posted (the first result would wait for the
  // second chunk, and a crash in the second would lose it).
  await new Promise<void>((resolve) => setImmediate(resolve));
  // An ABC task's progress reads LOADING until its first simulation: a thread that dies or
  // outlives the watchdog before then failed in the load, not in a simulation.
  if (task.kind === "abc" && task.started !== undefined) task.started[TASK_CELL.WRITTEN] = ABC_LOADING;
  // Loading a model runs its code (a module's top level, its factory): the task that loads it
  // is under the watchdog from here. One that waits for a load another task of this thread
  // began has not started (if that load hangs, it is not at fault).
  const model = await getModel(task.modelId, task.model, () => markStarted(task.started));
  // An SMC task also needs the likelihood part of the model.
  const likelihood = task.kind === "smc" ? await getModel(task.likelihoodId, task.likelihood, () => markStarted(task.started)) : null;
  // An ABC task also needs the simulator (importing it runs the user's code: under the watchdog).
  const simulator = task.kind === "abc" ? await simulatorFor(task.simulator, () => markStarted(task.started)) : null;
  // From here the task runs to its end without yielding: a task that has not reached this line
  // when its thread dies is not at fault (the scheduler hands it out again).
  markStarted(task.started);
  switch (task.kind) {
    case "load":
      return load(task, model);
    case "chunk":
      return runChunk(task, model);
    case "abc":
      return runAbcTask(task, model, simulator!);
    default:
      // Pathfinder, ADVI and SMC tasks (approx-protocol.ts).
      return runApproxTask(task, model, likelihood);
  }
}

function load(task: LoadTask, model: LogDensity): ModelDescription {
  const description = describeModel(model, task.inits, task.initOptions);
  if (task.started !== undefined) task.started[TASK_CELL.ENDED] = Date.now();
  return description;
}

function runChunk(task: ChunkTask, model: LogDensity): ChunkResult {
  const started = task.started;
  const t0 = performance.now();
  const c0 = threadCpuSeconds();
  const odeBefore = odeFailureTally();
  let state: ChainState;
  if (task.state === null) {
    const init = task.init;
    if (init === null) throw new Error("worker: a chunk without a checkpoint needs an init request");
    const m = init.position === null ? model : withPosition(model, init.position);
    state = initChainState(m, task.settings, {
      seed: init.seed,
      chain: task.chain,
      ...(init.position !== null ? { init: {} } : {}),
      ...(init.initRadius !== null ? { initRadius: init.initRadius } : {}),
      ...(init.metric != null ? { metric: init.metric } : {}),
    });
  } else {
    state = task.state;
  }
  if (task.metric !== null) state = applyWindowUpdate(model, state, task.metric, task.settings);
  checkGradientLength(model, state.position);

  const width = model.names.length;
  const start = state.iteration;
  const warmup = start < state.numWarmup;
  // A chunk holds one phase: it never crosses the end of warmup.
  const inPhase = (k: number): number => (warmup ? Math.min(k, state.numWarmup - start) : k);
  const n = inPhase(task.iterations);
  const most = inPhase(mostIterations(task));
  const t = task.target;
  const cap = t.capacity;
  // The arrays' first draw is draw `base` of the phase (0 for the trace store).
  const offset = t.offset - (t.base ?? 0);
  if (t.offset !== (warmup ? start : start - state.numWarmup) || offset < 0 || offset + most > cap || t.values.length !== width * cap) {
    throw new Error(`worker: chain ${task.chain}: the draw target (offset ${t.offset}, capacity ${cap}) does not fit iterations ${start}..${start + most}`);
  }
  const out = new Float64Array(width);
  const faults = task.faults.filter((f) => f.chain === task.chain && task.attempt < f.attempts && f.atIteration >= start && f.atIteration < start + most);
  const { values, lp, stepSize, treeDepth, nLeapfrog, divergent, energy, acceptStat } = t;
  let j = offset;
  let divergences = 0;
  // Progress for the main thread (kept if the chunk then fails for good).
  const written = started ?? new Float64Array(TASK_CELL.LENGTH);
  written[TASK_CELL.GRADIENTS] = state.gradientEvaluations;
  written[TASK_CELL.WRITTEN] = 0;
  const onDraw = (d: DrawInfo): void => {
    model.constrainFlat(d.position, out);
    for (let k = 0; k < width; k++) values[k * cap + j] = out[k]!;
    const s = d.stats;
    lp[j] = s.lp;
    stepSize[j] = s.stepSize;
    treeDepth[j] = s.treeDepth;
    nLeapfrog[j] = s.nLeapfrog;
    if (s.divergent) {
      divergent[j] = 1;
      divergences++;
    } else {
      divergent[j] = 0;
    }
    energy[j] = s.energy;
    acceptStat[j] = s.acceptStat;
    j++;
    written[TASK_CELL.WRITTEN] = j - offset;
  };
  const withFaults = (d: DrawInfo): void => {
    // The iteration fails before its draw is recorded, as one whose model code fails would.
    for (const f of faults) if (f.atIteration === d.iteration) injectFault(f);
    onDraw(d);
  };
  const switches: LocalSwitch[] = [];
  const draw = faults.length === 0 ? onDraw : withFaults;
  const onSwitch = task.reportSwitches === true ? (w: LocalSwitch) => switches.push(w) : undefined;
  // The task's state is this thread's own copy (it came by structured clone): no copy.
  let r = runIterations(model, state, n, task.settings, draw, onSwitch, true);
  // Then on in pieces while the time allows (`ChunkTask.extend`): a chain run in several
  // calls makes the same draws as in one. Each piece is sized by the speed so far.
  const budget = task.extend?.seconds ?? 0;
  for (let done = r.iterations; done < most && !r.awaitingMetric && done > 0; done += r.iterations) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= budget) break;
    const piece = Math.min(most - done, Math.max(1, Math.floor(((budget - elapsed) * done) / elapsed)));
    r = runIterations(model, r.state, piece, task.settings, draw, onSwitch, true);
  }
  // Stopped early at a window end: only the draws made count.
  const seconds = (performance.now() - t0) / 1000;
  if (started !== undefined) started[TASK_CELL.ENDED] = Date.now();
  const odeFailures = odeFailuresSince(odeBefore);
  return {
    state: r.state,
    start,
    count: j - offset,
    warmup,
    divergences,
    seconds,
    cpuSeconds: threadCpuSeconds() - c0,
    ...(switches.length > 0 ? { switches } : {}),
    ...(odeFailures !== null ? { odeFailures } : {}),
  };
}

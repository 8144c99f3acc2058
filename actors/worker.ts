/**
 * The piscina worker: runs chunk tasks. A worker instantiates each model once (by id, from
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
import { instantiate } from "../src/compile/compile.js";
import { loadModuleModel } from "../src/compile/module-model.js";
import type { LogDensity } from "../src/compile/types.js";
import { initChainState, runIterations, setMetricAtWindowEnd, type ChainState, type DrawInfo } from "../src/inference/index.js";
import { isApproxTask, type WorkerResult, type WorkerTask } from "./approx-protocol.js";
import { runApproxTask } from "./approx-worker.js";
import type { ChunkResult, ChunkTask, FaultSpec, ModelSpec } from "./protocol.js";

/** Models a thread keeps instantiated (least recently used dropped first). */
const MODELS_KEPT = 8;
const models = new Map<string, Promise<LogDensity>>();

function getModel(id: string, spec: ModelSpec): Promise<LogDensity> {
  let m = models.get(id);
  if (m === undefined) {
    m = spec.kind === "compiled" ? Promise.resolve(instantiate(spec.compiled)) : loadModuleModel(spec.spec);
    if (models.size >= MODELS_KEPT) models.delete(models.keys().next().value!);
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
      const hog: number[][] = [];
      for (;;) hog.push(Array.from({ length: 1 << 16 }, (_, i) => i + hog.length));
    }
  }
}

export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  // A thread may hold two chunks, and piscina may take both from its port at once and
  // start them together up to their first await; without a turn of the event loop here,
  // both would run before either result is posted (the first result would wait for the
  // second chunk, and a crash in the second would lose it).
  await new Promise<void>((resolve) => setImmediate(resolve));
  // Pathfinder, ADVI and SMC tasks (approx-protocol.ts).
  if (isApproxTask(task)) return runApproxTask(task, getModel);
  return runChunk(task);
}

async function runChunk(task: ChunkTask): Promise<ChunkResult> {
  const model = await getModel(task.modelId, task.model);
  // From here the chunk runs to its end without yielding: tell the pool's watchdog that it
  // runs, and where.
  const started = task.started;
  if (started !== undefined) {
    started[1] = threadId;
    started[0] = Date.now();
  }
  const t0 = performance.now();
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
  if (task.metric !== null) state = setMetricAtWindowEnd(model, state, task.metric);

  const width = model.names.length;
  const start = state.iteration;
  const warmup = start < state.numWarmup;
  // A chunk holds one phase: it never crosses the end of warmup.
  const n = warmup ? Math.min(task.iterations, state.numWarmup - start) : task.iterations;
  const t = task.target;
  const cap = t.capacity;
  const offset = t.offset;
  if (offset !== (warmup ? start : start - state.numWarmup) || offset + n > cap || t.values.length !== width * cap) {
    throw new Error(`worker: chain ${task.chain}: the draw target (offset ${offset}, capacity ${cap}) does not fit iterations ${start}..${start + n}`);
  }
  const out = new Float64Array(width);
  const faults = task.faults.filter((f) => f.chain === task.chain && task.attempt < f.attempts && f.atIteration >= start && f.atIteration < start + n);
  const { values, lp, stepSize, treeDepth, nLeapfrog, divergent, energy, acceptStat } = t;
  let j = offset;
  let divergences = 0;
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
  };
  const withFaults = (d: DrawInfo): void => {
    onDraw(d);
    for (const f of faults) if (f.atIteration === d.iteration) injectFault(f);
  };
  const r = runIterations(model, state, n, task.settings, faults.length === 0 ? onDraw : withFaults);
  // Stopped early at a window end: only the draws made count.
  const seconds = (performance.now() - t0) / 1000;
  if (started !== undefined) started[2] = Date.now();
  return { state: r.state, start, count: j - offset, warmup, divergences, seconds };
}

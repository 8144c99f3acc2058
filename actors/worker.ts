/**
 * The piscina worker: runs chunk tasks. A worker instantiates each model once (by id, from
 * the pool's `workerData`) and keeps it; the model's data stays in the SharedArrayBuffers
 * the main thread made. A batch's draws are written into SharedArrayBuffers, so they reach
 * the main thread without a copy (and without a transfer: see `allocateBatch`); the small
 * checkpoint is cloned.
 *
 * This file must run as compiled JavaScript (`dist/actors/worker.js`): see
 * `supervisors/pool.ts` for how the path is resolved.
 */
import { workerData } from "piscina";
import { instantiate } from "../src/compile/compile.js";
import { loadModuleModel } from "../src/compile/module-model.js";
import type { LogDensity } from "../src/compile/types.js";
import { initChainState, runIterations, setMetricAtWindowEnd, type ChainState, type DrawInfo } from "../src/inference/index.js";
import { allocateBatch, STAT_KEYS, type BatchData, type ChunkResult, type ChunkTask, type FaultSpec, type WorkerData } from "./protocol.js";

const models = new Map<string, Promise<LogDensity>>();

function getModel(id: string): Promise<LogDensity> {
  let m = models.get(id);
  if (m === undefined) {
    const spec = (workerData as WorkerData).models[id];
    if (spec === undefined) throw new Error(`worker: unknown model id ${id}`);
    m = spec.kind === "compiled" ? Promise.resolve(instantiate(spec.compiled)) : loadModuleModel(spec.spec);
    models.set(id, m);
  }
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

export default async function runChunk(task: ChunkTask): Promise<ChunkResult> {
  const t0 = performance.now();
  const model = await getModel(task.modelId);
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
    });
  } else {
    state = task.state;
  }
  if (task.metric !== null) state = setMetricAtWindowEnd(model, state, task.metric);

  const width = model.names.length;
  const start = state.iteration;
  const warmup = start < state.numWarmup;
  // A batch holds one phase: a chunk never crosses the end of warmup.
  const n = warmup ? Math.min(task.iterations, state.numWarmup - start) : task.iterations;
  const batch = allocateBatch(task.chain, start, n, warmup, width, false, true);
  const out = new Float64Array(width);
  const faults = task.faults.filter((f) => f.chain === task.chain && task.attempt < f.attempts && f.atIteration >= start && f.atIteration < start + n);
  let i = 0;
  const values = batch.values;
  const onDraw = (d: DrawInfo): void => {
    model.constrainFlat(d.position, out);
    const base = i * width;
    for (let k = 0; k < width; k++) values[base + k] = out[k]!;
    const s = d.stats;
    batch.lp[i] = s.lp;
    batch.stepSize[i] = s.stepSize;
    batch.treeDepth[i] = s.treeDepth;
    batch.nLeapfrog[i] = s.nLeapfrog;
    batch.divergent[i] = s.divergent ? 1 : 0;
    batch.energy[i] = s.energy;
    batch.acceptStat[i] = s.acceptStat;
    i++;
  };
  const withFaults = (d: DrawInfo): void => {
    onDraw(d);
    for (const f of faults) if (f.atIteration === d.iteration) injectFault(f);
  };
  const r = runIterations(model, state, n, task.settings, faults.length === 0 ? onDraw : withFaults);
  // Stopped early at a window end: hand back only the draws made.
  const made = i === n ? batch : trimBatch(batch, i, width);
  return { state: r.state, batch: made, seconds: (performance.now() - t0) / 1000 };
}

function trimBatch(b: BatchData, count: number, width: number): BatchData {
  const t = allocateBatch(b.chain, b.start, count, b.warmup, width, b.placeholder, true);
  t.values.set(b.values.subarray(0, count * width));
  for (const k of STAT_KEYS) (t[k] as Float64Array).set((b[k] as Float64Array).subarray(0, count));
  return t;
}

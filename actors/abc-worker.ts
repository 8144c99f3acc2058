/**
 * What a worker thread does with an ABC task (approx-protocol.ts `AbcTask`): runs simulations
 * of a round one after another, each with its own generator, and writes their summaries and
 * outcomes into the round's shared arrays. A simulator that throws or returns something that is
 * not a finite summary of the right length fails that simulation only. Before each simulation
 * the watchdog's clock restarts and the count of finished ones is published, so a simulation
 * that hangs or takes the thread down is found and dropped by the main thread
 * (actors/abc-actor.ts), and the rest of the batch goes on elsewhere.
 */
import type { LogDensity } from "../src/compile/types.js";
import { loadSimulator, simulatorRng, type LoadedSimulator, type SimulatorParams, type SimulatorSpec } from "../src/compile/simulator.js";
import { simulationSeed } from "../src/inference/abc.js";
import { SIMULATION, type AbcTask, type AbcTaskResult } from "./approx-protocol.js";
import { TASK_CELL } from "./protocol.js";

/** Messages of failed simulations kept per task (the count is in the round's status). */
const MESSAGES_KEPT = 3;
const simulators = new Map<string, Promise<LoadedSimulator>>();

/** The simulator of `spec`, imported once per thread. */
export function simulatorFor(spec: SimulatorSpec): Promise<LoadedSimulator> {
  const key = `${spec.module}#${spec.simulate}#${spec.summary}`;
  let s = simulators.get(key);
  if (s === undefined) {
    s = loadSimulator(spec);
    simulators.set(key, s);
    // A module that failed to load is tried again by the next task (the failure may have been its thread's).
    s.catch(() => simulators.delete(key));
  }
  return s;
}

/** The constrained parameters of a proposal, by name (arrays for parameters with a shape). */
function paramsOf(task: AbcTask, constrained: Float64Array): SimulatorParams {
  const out: Record<string, number | number[]> = {};
  let k = 0;
  for (const p of task.params) {
    out[p.name] = p.scalar ? constrained[k]! : Array.from(constrained.subarray(k, k + p.size));
    k += p.size;
  }
  return out;
}

export function runAbcTask(task: AbcTask, prior: LogDensity, simulator: LoadedSimulator): AbcTaskResult {
  const t0 = performance.now();
  const { proposals, summaries, status } = task.round;
  const d = prior.dim;
  const s = task.summaryLength;
  const constrained = new Float64Array(prior.names.length);
  const cell = task.started;
  const messages: string[] = [];
  for (let i = task.start; i < task.end; i++) {
    if (cell !== undefined) {
      cell[TASK_CELL.WRITTEN] = i - task.start;
      cell[TASK_CELL.STARTED] = Date.now();
    }
    prior.constrainFlat(proposals.subarray(i * d, (i + 1) * d), constrained);
    const rng = simulatorRng(simulationSeed(task.seed, task.generation, task.firstIndex + i));
    try {
      const summary = simulator.simulateSummary(paramsOf(task, constrained), rng);
      if (summary.length !== s) throw new Error(`the summary has ${summary.length} values, the observed data's has ${s}`);
      for (let k = 0; k < s; k++) if (!Number.isFinite(summary[k]!)) throw new Error(`summary value ${k} is ${summary[k]}`);
      summaries.set(summary, i * s);
      status[i] = SIMULATION.OK;
    } catch (e) {
      status[i] = SIMULATION.FAILED;
      if (messages.length < MESSAGES_KEPT) messages.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (cell !== undefined) {
    cell[TASK_CELL.WRITTEN] = task.end - task.start;
    cell[TASK_CELL.ENDED] = Date.now();
  }
  return { kind: "abc", messages, seconds: (performance.now() - t0) / 1000 };
}

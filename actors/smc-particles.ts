/**
 * An SMC particle actor: one group of a run's particles. It owns the particles at indices
 * [start, end) of its run's population (shared memory) and its own RNG stream; its work, a
 * mutation of its particles at the stage's inverse temperature (or the first evaluation of
 * their densities), runs as a task on the worker pool. Its checkpoint is its RNG state: the
 * population buffers a task reads are not written until every group of the stage has
 * committed, so a failed task re-runs with the same input and the same draws.
 */
import type { RngState } from "../src/rng/index.js";
import type { SharedPopulation, SmcMutation, SmcTask, SmcTaskResult } from "./approx-protocol.js";
import type { ModelSpec } from "./protocol.js";

export interface ParticleGroupConfig {
  /** The run (chain) and this group's index in it. */
  readonly chain: number;
  readonly group: number;
  readonly start: number;
  readonly end: number;
  readonly modelId: string;
  readonly model: ModelSpec;
  readonly likelihoodId: string;
  readonly likelihood: ModelSpec;
  /** Scheduler key: unique over every group of every run. */
  readonly key: number;
}

export class ParticleGroup {
  rng: RngState;
  accepted = 0;
  proposed = 0;
  gradientEvaluations = 0;
  densityEvaluations = 0;

  constructor(
    readonly config: ParticleGroupConfig,
    rng: RngState,
  ) {
    this.rng = rng;
  }

  get label(): string {
    return `chain ${this.config.chain} group ${this.config.group}`;
  }

  task(input: SharedPopulation, output: SharedPopulation, mutation: SmcMutation | null, constrained: Float64Array | null): SmcTask {
    const c = this.config;
    return {
      kind: "smc",
      modelId: c.modelId,
      model: c.model,
      likelihoodId: c.likelihoodId,
      likelihood: c.likelihood,
      chain: c.key,
      attempt: 0,
      start: c.start,
      end: c.end,
      input,
      output,
      mutation,
      constrained,
      rng: this.rng,
    };
  }

  commit(r: SmcTaskResult): void {
    this.rng = r.rng;
    this.accepted = r.accepted;
    this.proposed = r.proposed;
    this.gradientEvaluations += r.gradientEvaluations;
    this.densityEvaluations += r.densityEvaluations;
  }
}

/**
 * The result of `abc` and `abcSmc`: a `Posterior` whose one chain is the final population
 * (resampled by its weights when they are unequal, so summaries, plots and InferenceData read
 * it as draws), with the weighted population itself, each generation's record and the number
 * of simulations spent. ESS and R-hat of resampled particles say nothing about mixing (there
 * is no chain); `weightedSummary()` reads the weighted population directly.
 */
import type { AbcGeneration, AbcStopReason } from "../../actors/abc-actor.js";
import { weightedQuantile } from "../inference/abc.js";
import { ApproxPosterior, type ApproxInit } from "./approx-posterior.js";

/** A weighted summary row: mean, sd and quantiles of one quantity under the population's weights. */
export interface WeightedSummaryRow {
  readonly name: string;
  readonly mean: number;
  readonly sd: number;
  readonly q5: number;
  readonly median: number;
  readonly q95: number;
}

export interface AbcInit extends ApproxInit {
  readonly abcMethod: "rejection" | "smc";
  readonly generations: readonly AbcGeneration[];
  readonly simulations: number;
  readonly stopReason: AbcStopReason;
  /** The population in the model's reported quantities (particles x names, draw-major), before resampling. */
  readonly particles: Float64Array;
  readonly weights: Float64Array;
  readonly distances: Float64Array;
  readonly scales: Float64Array;
  readonly observedSummary: Float64Array;
  /** A cluster run: each runner that ran simulations, with its worker threads; null on local threads. */
  readonly runners: ReadonlyMap<string, number> | null;
}

export class AbcPosterior extends ApproxPosterior {
  readonly abcMethod: "rejection" | "smc";
  readonly generations: readonly AbcGeneration[];
  /** Simulations run, failed ones included. */
  readonly simulations: number;
  readonly stopReason: AbcStopReason;
  /** The weighted population (particles x names, draw-major) and its normalised weights. */
  readonly particles: Float64Array;
  readonly weights: Float64Array;
  /** Each particle's distance to the observed summary, and the distance's scales. */
  readonly distances: Float64Array;
  readonly scales: Float64Array;
  readonly observedSummary: Float64Array;
  /** The last generation's tolerance. */
  readonly tolerance: number;
  /** A cluster run: each runner that ran simulations, with its worker threads (`threads` is their sum); null on local threads. */
  readonly runners: ReadonlyMap<string, number> | null;

  constructor(init: AbcInit) {
    super(init);
    this.abcMethod = init.abcMethod;
    this.generations = init.generations;
    this.simulations = init.simulations;
    this.stopReason = init.stopReason;
    this.particles = init.particles;
    this.weights = init.weights;
    this.distances = init.distances;
    this.scales = init.scales;
    this.observedSummary = init.observedSummary;
    this.runners = init.runners;
    this.tolerance = [...init.generations].reverse().find((g) => g.accepted === this.weights.length)?.tolerance ?? NaN;
  }

  /** Mean, sd and 5/50/95% quantiles of each quantity under the population's weights. */
  weightedSummary(names: readonly string[] = this.names.slice(0, this.paramCount)): WeightedSummaryRow[] {
    const n = this.weights.length;
    const width = this.names.length;
    return names.map((name) => {
      const k = this.names.indexOf(name);
      if (k < 0) throw new RangeError(`unknown quantity ${JSON.stringify(name)}; known: ${this.names.join(", ")}`);
      const values = Float64Array.from({ length: n }, (_, i) => this.particles[i * width + k]!);
      let mean = 0;
      for (let i = 0; i < n; i++) mean += this.weights[i]! * values[i]!;
      let v = 0;
      for (let i = 0; i < n; i++) v += this.weights[i]! * (values[i]! - mean) ** 2;
      const q = (p: number) => weightedQuantile(values, this.weights, p);
      return { name, mean, sd: Math.sqrt(v), q5: q(0.05), median: q(0.5), q95: q(0.95) };
    });
  }

  protected header(): string {
    const what = this.abcMethod === "smc" ? `ABC-SMC, ${this.generations.length} generations` : "rejection ABC";
    const where = this.runners === null ? "" : `, on ${this.runners.size} runner${this.runners.size === 1 ? "" : "s"} with ${this.threads} thread${this.threads === 1 ? "" : "s"}`;
    return `${what}: ${this.weights.length} particles from ${this.simulations} simulations${where}, seed ${this.seed}, ${this.seconds.toFixed(2)} s (ESS and R-hat below are of resampled particles: not a measure of mixing)`;
  }

  protected footer(): string[] {
    const lines = this.generations.map(
      (g) =>
        `generation ${g.generation}: tolerance ${g.tolerance.toPrecision(4)}, ${g.simulations} simulations, acceptance ${(100 * g.acceptanceRate).toFixed(2)}%, ESS ${g.ess.toFixed(0)}` +
        (g.failed + g.crashed + g.timedOut > 0 ? `, dropped ${g.failed} failed + ${g.crashed} crashed + ${g.timedOut} timed out` : ""),
    );
    lines.push(`stopped: ${this.stopReason}`);
    return lines;
  }
}

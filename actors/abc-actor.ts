/**
 * The population actor of rejection ABC and ABC-SMC. It lives on the main thread, proposes
 * parameters (from the prior, or by perturbing the last population), hands simulations to
 * the worker pool in batches (`AbcTask`), and keeps, in proposal order, the first `particles`
 * whose summaries land within the tolerance. Everything that decides the result (proposals,
 * the size of each round, acceptance in proposal order, each simulation's seed) depends only
 * on the seed, so the same seed gives the same population on any number of threads; only how
 * a round is cut into tasks follows the measured simulation time.
 *
 * A simulation that fails (throws, returns no usable summary, takes its thread down, or runs
 * past the timeout) is counted and its proposal dropped; the rest of its batch goes on. A run
 * fails only when most simulations fail (a broken simulator), with their messages.
 */
import { Effect } from "effect";
import type { LogDensity } from "../src/compile/types.js";
import type { PriorSampler } from "../src/compile/prior.js";
import type { SimulatorSpec } from "../src/compile/simulator.js";
import {
  cumulativeSums,
  effectiveSampleSize,
  fitKernel,
  madScales,
  perturb,
  pickByWeight,
  scaledDistance,
  smcWeights,
  weightedQuantile,
  type KernelKind,
  type PerturbationKernel,
} from "../src/inference/abc.js";
import { Rng } from "../src/rng/index.js";
import type { ApproxSink } from "./approx-events.js";
import { ABC_LOADING, SIMULATION, type AbcRound, type AbcTask, type AbcTaskResult } from "./approx-protocol.js";
import type { ChunkProgress, ModelSpec } from "./protocol.js";

/** How a task failed, as the scheduler reports it: its thread died under it, or the watchdog ended it. */
export interface TaskFailure {
  readonly _tag: "ChunkFailed" | "ChunkTimeout";
  readonly message: string;
  readonly progress: ChunkProgress;
}

export interface AbcSettings {
  readonly method: "rejection" | "smc";
  /** Particles in the (final) population. */
  readonly particles: number;
  /** Rejection: accept within this distance (null: use `quantile`). */
  readonly tolerance: number | null;
  /** Rejection: simulate particles / quantile prior draws and keep the nearest particles. */
  readonly quantile: number | null;
  /** ABC-SMC: the next tolerance is this weighted quantile of the last population's distances. */
  readonly alpha: number;
  /** ABC-SMC: stop once a generation's tolerance is at or below this. */
  readonly minTolerance: number;
  /** ABC-SMC: stop once a generation accepts fewer than this share of its simulations. */
  readonly minAcceptanceRate: number;
  readonly maxGenerations: number;
  /** Simulations at most over the run (Infinity: no budget). */
  readonly maxSimulations: number;
  /** null: adaptive (MAD of each generation's simulations, pyABC's adaptive distance); else fixed scales. */
  readonly scales: Float64Array | null;
  readonly kernel: KernelKind;
  /** Local kernel: neighbours per particle. */
  readonly neighbours: number;
  /** Share of failed simulations (after at least 50) that fails the run. */
  readonly maxFailureRate: number;
}

/** What one generation did (the rejection run is generation 0). */
export interface AbcGeneration {
  readonly generation: number;
  /** Acceptance distance of this generation (Infinity for ABC-SMC's prior generation). */
  readonly tolerance: number;
  readonly accepted: number;
  /** Simulations run in this generation, failed ones included. */
  readonly simulations: number;
  readonly acceptanceRate: number;
  /** Kish's effective sample size of the population's weights. */
  readonly ess: number;
  /** Simulations that threw or gave no usable summary, that took their thread down, that timed out. */
  readonly failed: number;
  readonly crashed: number;
  readonly timedOut: number;
  readonly seconds: number;
}

export type AbcStopReason = "tolerance" | "acceptance-rate" | "generations" | "budget" | "quantile" | "accepted";

/** The population the run ends with. */
export interface AbcPopulation {
  /** Unconstrained positions (particles x dim, draw-major). */
  readonly positions: Float64Array;
  readonly count: number;
  /** Normalised weights. */
  readonly weights: Float64Array;
  /** Distances under the final scales. */
  readonly distances: Float64Array;
  readonly scales: Float64Array;
}

export interface AbcActorConfig {
  readonly modelId: string;
  readonly model: ModelSpec;
  /** The prior on the main thread: log density (unconstrained, Jacobians included) and constrain. */
  readonly prior: LogDensity;
  readonly sampler: PriorSampler;
  readonly params: AbcTask["params"];
  readonly simulator: SimulatorSpec;
  readonly observed: Float64Array;
  /** The simulator's own distance between summaries (simulated, observed), or null for the scaled Euclidean one. */
  readonly distance: ((simulated: Float64Array, observed: Float64Array) => number) | null;
  readonly settings: AbcSettings;
  readonly seed: number;
  /** Threads the batches spread over (a cluster run: its lanes). */
  readonly threads: number;
  /** Seconds of work a batch aims at (default 0.05; longer on the cluster, where a batch pays a round trip). */
  readonly taskSeconds?: number;
}

/** A batch that could not be run at all (the cluster refused it or never answered): the run fails, no simulation is dropped in silence. */
export class AbcBatchError extends Error {
  override readonly name = "AbcBatchError";
}

/** Runs one ABC task (no retries: a failed simulation is dropped, not re-run). */
export type AbcExecutor = (task: AbcTask) => Effect.Effect<AbcTaskResult, TaskFailure | AbcBatchError>;

/** Tries of a batch whose thread failed while loading, before the run fails. */
const MAX_LOAD_FAILURES = 3;

const isTaskFailure = (e: TaskFailure | AbcBatchError): e is TaskFailure => !(e instanceof AbcBatchError);

/**
 * Runs simulations `task.start .. task.end - 1` of a round through `execute`. The simulation
 * that was running when its thread died or timed out is marked in the round's status and
 * dropped, and the rest of the batch goes on; the first few failure messages go to `messages`.
 * The local pool's batches and a cluster runner's take this same road.
 */
export function simulateBatch(execute: AbcExecutor, task: AbcTask, messages: string[], loadFailures = 0): Effect.Effect<void, AbcBatchError> {
  return execute(task).pipe(
    Effect.tap((r) => Effect.sync(() => messages.push(...r.messages.slice(0, Math.max(0, 5 - messages.length))))),
    Effect.asVoid,
    Effect.catchIf(isTaskFailure, (e) => {
      if (e.progress.written === ABC_LOADING) {
        // The thread died or timed out loading the model or simulator (a fresh thread on a
        // loaded machine can outlive a short simulation timeout): no simulation is to blame.
        if (loadFailures + 1 >= MAX_LOAD_FAILURES) {
          return Effect.fail(new AbcBatchError(`loading the model and simulator on a worker thread failed ${MAX_LOAD_FAILURES} times: ${e.message}`));
        }
        return simulateBatch(execute, task, messages, loadFailures + 1);
      }
      const culprit = task.start + Math.min(task.end - task.start - 1, Math.max(0, e.progress.written));
      task.round.status[culprit] = e._tag === "ChunkTimeout" ? SIMULATION.TIMED_OUT : SIMULATION.CRASHED;
      if (messages.length < 5) messages.push(e.message);
      return culprit + 1 < task.end ? simulateBatch(execute, { ...task, start: culprit + 1 }, messages) : Effect.void;
    }),
  );
}

/** The broken simulator's messages, when most simulations fail. */
export class AbcSimulatorError extends Error {
  override readonly name = "AbcSimulatorError";
}

/** Seconds of work a task aims at (cut finer, the pool's overhead shows; coarser, threads idle at a round's end). */
const TASK_SECONDS = 0.05;
const MIN_ROUND = 32;
const MAX_ROUND = 1 << 16;
const MAX_PRIOR_REDRAWS = 1000;

/** Everything valid a generation simulated, in proposal order. */
class GenerationStore {
  positions: number[] = [];
  summaries: number[] = [];
  /** Of the valid simulations: indices of the accepted ones, and their distances. */
  accepted: number[] = [];
  distances: number[] = [];
  valid = 0;
  simulations = 0;
  failed = 0;
  crashed = 0;
  timedOut = 0;
  messages: string[] = [];
}

export class AbcActor {
  status: "running" | "completed" | "failed" = "running";
  error: string | null = null;
  readonly generations: AbcGeneration[] = [];
  population: AbcPopulation | null = null;
  stopReason: AbcStopReason | null = null;
  simulations = 0;
  private secondsPerSimulation = NaN;
  private readonly rng: Rng;
  private readonly d: number;
  private readonly s: number;

  constructor(
    readonly config: AbcActorConfig,
    private readonly sink: ApproxSink,
  ) {
    this.rng = Rng.fromSeed(config.seed, 0);
    this.d = config.prior.dim;
    this.s = config.observed.length;
  }

  fail(message: string): void {
    this.status = "failed";
    this.error = message;
    this.report();
  }

  private report(): void {
    const g = this.generations.at(-1);
    const st = this.config.settings;
    const fraction = this.status !== "running" ? 1 : st.method === "rejection" ? 0 : this.generations.length / st.maxGenerations;
    this.sink.progress(
      { actor: "abc", status: this.status, iteration: this.generations.length, value: g?.tolerance ?? Infinity, gradientEvaluations: 0, densityEvaluations: this.simulations },
      fraction,
    );
  }

  /** The run: rejection, or generations of ABC-SMC until a stopping rule. */
  run(execute: AbcExecutor): Effect.Effect<void, AbcBatchError | AbcSimulatorError> {
    const self = this;
    return Effect.gen(function* () {
      const st = self.config.settings;
      if (st.method === "rejection") yield* self.rejection(execute);
      else yield* self.smc(execute);
      self.status = "completed";
      self.report();
    });
  }

  private rejection(execute: AbcExecutor): Effect.Effect<void, AbcBatchError | AbcSimulatorError> {
    const self = this;
    const st = this.config.settings;
    return Effect.gen(function* () {
      const t0 = performance.now();
      const proposeFromPrior = (out: Float64Array) => self.config.sampler.draw(self.rng, out);
      let store: GenerationStore;
      let scales: Float64Array;
      if (st.quantile !== null) {
        // Simulate particles / quantile prior draws, then keep the nearest particles.
        const total = Math.min(st.maxSimulations, Math.ceil(st.particles / st.quantile));
        store = new GenerationStore();
        yield* self.simulateRound(execute, store, 0, total, proposeFromPrior);
        scales = st.scales ?? madScales(Float64Array.from(store.summaries), store.valid, self.s);
        const all = Array.from({ length: store.valid }, (_, i) => i);
        const dist = all.map((i) => self.distanceOf(store, i, scales));
        const nearest = all.sort((a, b) => dist[a]! - dist[b]! || a - b).slice(0, Math.min(st.particles, store.valid));
        nearest.sort((a, b) => a - b);
        store.accepted = nearest;
        store.distances = nearest.map((i) => dist[i]!);
        self.stopReason = store.valid >= st.particles ? "quantile" : "budget";
      } else {
        // A first round of prior simulations sets the adaptive scales; then accept within the tolerance.
        store = new GenerationStore();
        const calibration = Math.min(st.maxSimulations, Math.max(MIN_ROUND, st.particles));
        yield* self.simulateRound(execute, store, 0, calibration, proposeFromPrior);
        scales = st.scales ?? madScales(Float64Array.from(store.summaries), store.valid, self.s);
        self.acceptWithin(store, 0, st.tolerance!, scales);
        yield* self.fillGeneration(execute, store, 0, st.tolerance!, scales, proposeFromPrior);
        self.stopReason = store.accepted.length >= st.particles ? "accepted" : "budget";
      }
      if (store.accepted.length === 0) return yield* Effect.fail(new AbcSimulatorError(`no simulation was accepted in ${store.simulations} simulations${self.failureNote(store)}`));
      const weights = new Float64Array(store.accepted.length).fill(1 / store.accepted.length);
      self.finishGeneration(store, 0, st.quantile !== null ? Math.max(...store.distances) : st.tolerance!, scales, weights, t0);
    });
  }

  private smc(execute: AbcExecutor): Effect.Effect<void, AbcBatchError | AbcSimulatorError> {
    const self = this;
    const st = this.config.settings;
    const n = st.particles;
    const d = this.d;
    return Effect.gen(function* () {
      // Generation 0: the prior, every valid simulation accepted; it sets the scales and the first tolerance.
      let t0 = performance.now();
      let store = new GenerationStore();
      const fromPrior = (out: Float64Array) => self.config.sampler.draw(self.rng, out);
      self.acceptAll = true;
      yield* self.fillGeneration(execute, store, 0, Infinity, null, fromPrior);
      self.acceptAll = false;
      if (store.accepted.length < n) {
        self.stopReason = "budget";
        if (store.accepted.length === 0) return yield* Effect.fail(new AbcSimulatorError(`no simulation succeeded in ${store.simulations}${self.failureNote(store)}`));
      }
      let scales = st.scales ?? madScales(Float64Array.from(store.summaries), store.valid, self.s);
      let weights: Float64Array = new Float64Array(store.accepted.length).fill(1 / store.accepted.length);
      self.finishGeneration(store, 0, Infinity, scales, weights, t0);
      for (let g = 1; self.stopReason === null; g++) {
        const pop = self.population!;
        const tolerance = weightedQuantile(pop.distances, pop.weights, st.alpha);
        const kernel = fitKernel(pop.positions, pop.count, d, pop.weights, st.kernel, st.neighbours);
        const cumulative = cumulativeSums(pop.weights);
        const z = new Float64Array(d);
        const propose = (out: Float64Array) => self.perturbFrom(pop, kernel, cumulative, z, out);
        t0 = performance.now();
        store = new GenerationStore();
        yield* self.fillGeneration(execute, store, g, tolerance, scales, propose);
        if (store.accepted.length < n) {
          // The budget ran out inside the generation: the last complete population stands.
          self.stopReason = "budget";
          self.generations.push(self.record(store, g, tolerance, effectiveSampleSize(pop.weights), t0));
          break;
        }
        const positions = self.acceptedPositions(store);
        const logPrior = new Float64Array(n);
        for (let j = 0; j < n; j++) logPrior[j] = self.config.prior.logDensity(positions.subarray(j * d, (j + 1) * d));
        weights = smcWeights(positions, n, logPrior, pop.positions, pop.count, pop.weights, kernel);
        if (st.scales === null) scales = madScales(Float64Array.from(store.summaries), store.valid, self.s);
        self.finishGeneration(store, g, tolerance, scales, weights, t0);
        const last = self.generations.at(-1)!;
        if (tolerance <= st.minTolerance) self.stopReason = "tolerance";
        else if (last.acceptanceRate < st.minAcceptanceRate) self.stopReason = "acceptance-rate";
        else if (g >= st.maxGenerations) self.stopReason = "generations";
        else if (self.simulations >= st.maxSimulations) self.stopReason = "budget";
      }
    });
  }

  /** During ABC-SMC's prior generation every valid simulation is accepted, whatever its distance. */
  private acceptAll = false;

  /** A perturbed draw from the population, redrawn while the prior density there is zero. */
  private perturbFrom(pop: AbcPopulation, kernel: PerturbationKernel, cumulative: Float64Array, z: Float64Array, out: Float64Array): void {
    const d = this.d;
    for (let attempt = 0; attempt < MAX_PRIOR_REDRAWS; attempt++) {
      const i = pickByWeight(cumulative, this.rng.uniform());
      this.rng.fillNormal(z);
      perturb(kernel, i, pop.positions.subarray(i * d, (i + 1) * d), z, out);
      if (Number.isFinite(this.config.prior.logDensity(out))) return;
    }
    throw new AbcSimulatorError(`abc-smc: ${MAX_PRIOR_REDRAWS} perturbed particles in a row fell where the prior density is zero`);
  }

  private distanceOf(store: GenerationStore, valid: number, scales: Float64Array): number {
    const s = this.s;
    const x = Float64Array.from(store.summaries.slice(valid * s, (valid + 1) * s));
    return this.config.distance === null ? scaledDistance(x, this.config.observed, scales) : this.config.distance(x, this.config.observed);
  }

  /** Accepts, in order, the valid simulations from `from` on within `tolerance`, up to `particles`. */
  private acceptWithin(store: GenerationStore, from: number, tolerance: number, scales: Float64Array | null): void {
    const n = this.config.settings.particles;
    for (let i = from; i < store.valid && store.accepted.length < n; i++) {
      const dist = scales === null ? 0 : this.distanceOf(store, i, scales);
      if (this.acceptAll || dist <= tolerance) {
        store.accepted.push(i);
        store.distances.push(dist);
      }
    }
  }

  /** Rounds of simulations until `particles` are accepted or the budget is spent. */
  private fillGeneration(
    execute: AbcExecutor,
    store: GenerationStore,
    generation: number,
    tolerance: number,
    scales: Float64Array | null,
    propose: (out: Float64Array) => void,
  ): Effect.Effect<void, AbcBatchError | AbcSimulatorError> {
    const self = this;
    const st = this.config.settings;
    return Effect.gen(function* () {
      while (store.accepted.length < st.particles) {
        const budget = st.maxSimulations - self.simulations;
        if (budget <= 0) return;
        const need = st.particles - store.accepted.length;
        // Acceptance so far in this generation, or the last generation's (+1s: a first guess without either).
        const last = self.generations.at(-1);
        const rate = store.simulations > 0 ? (store.accepted.length + 1) / (store.simulations + 1) : (last?.acceptanceRate ?? 1);
        const size = Math.min(budget, MAX_ROUND, Math.max(MIN_ROUND, Math.ceil((1.2 * need) / Math.max(rate, 1e-4))));
        const from = store.valid;
        yield* self.simulateRound(execute, store, generation, size, propose);
        self.acceptWithin(store, from, tolerance, scales);
      }
    });
  }

  /** Proposes `size` parameter sets, simulates them on the pool, appends the valid ones to `store`. */
  private simulateRound(
    execute: AbcExecutor,
    store: GenerationStore,
    generation: number,
    size: number,
    propose: (out: Float64Array) => void,
  ): Effect.Effect<void, AbcBatchError | AbcSimulatorError> {
    const self = this;
    const d = this.d;
    const s = this.s;
    return Effect.gen(function* () {
      const round: AbcRound = {
        proposals: new Float64Array(new SharedArrayBuffer(size * d * 8)),
        summaries: new Float64Array(new SharedArrayBuffer(Math.max(1, size * s) * 8)),
        status: new Int8Array(new SharedArrayBuffer(size)),
      };
      for (let i = 0; i < size; i++) propose(round.proposals.subarray(i * d, (i + 1) * d));
      const perTask = self.taskSize(size);
      const firstIndex = store.simulations;
      const t0 = performance.now();
      const task: AbcTask = {
        kind: "abc",
        modelId: self.config.modelId,
        model: self.config.model,
        chain: 0,
        attempt: 0,
        simulator: self.config.simulator,
        params: self.config.params,
        round,
        summaryLength: s,
        start: 0,
        end: 0,
        seed: self.config.seed,
        generation,
        firstIndex,
      };
      const batch = (start: number, end: number) => simulateBatch(execute, { ...task, start, end }, store.messages);
      const starts = Array.from({ length: Math.ceil(size / perTask) }, (_, k) => k * perTask);
      yield* Effect.forEach(starts, (a) => batch(a, Math.min(size, a + perTask)), { concurrency: "unbounded", discard: true });
      self.secondsPerSimulation = ((performance.now() - t0) / 1000 / size) * Math.min(self.config.threads, starts.length);
      for (let i = 0; i < size; i++) {
        const code = round.status[i]!;
        if (code === SIMULATION.OK) {
          for (let a = 0; a < d; a++) store.positions.push(round.proposals[i * d + a]!);
          for (let k = 0; k < s; k++) store.summaries.push(round.summaries[i * s + k]!);
          store.valid++;
        } else if (code === SIMULATION.CRASHED) store.crashed++;
        else if (code === SIMULATION.TIMED_OUT) store.timedOut++;
        else store.failed++;
      }
      store.simulations += size;
      self.simulations += size;
      const bad = store.simulations - store.valid;
      if (store.simulations >= 50 && bad > self.config.settings.maxFailureRate * store.simulations) {
        return yield* Effect.fail(new AbcSimulatorError(`${bad} of ${store.simulations} simulations failed${self.failureNote(store)}`));
      }
      self.report();
    });
  }

  /** Simulations per task: about TASK_SECONDS of work, at least 1, and enough tasks to keep every thread busy. */
  private taskSize(size: number): number {
    const fair = Math.ceil(size / (2 * this.config.threads));
    if (!(this.secondsPerSimulation > 0)) return Math.min(16, fair);
    return Math.max(1, Math.min(fair, Math.round((this.config.taskSeconds ?? TASK_SECONDS) / this.secondsPerSimulation)));
  }

  private failureNote(store: GenerationStore): string {
    const counts = `${store.failed} failed, ${store.crashed} crashed their thread, ${store.timedOut} timed out`;
    return ` (${counts}${store.messages.length > 0 ? `; e.g. ${store.messages.slice(0, 3).join("; ")}` : ""})`;
  }

  private acceptedPositions(store: GenerationStore): Float64Array {
    const d = this.d;
    const out = new Float64Array(store.accepted.length * d);
    store.accepted.forEach((i, j) => {
      for (let a = 0; a < d; a++) out[j * d + a] = store.positions[i * d + a]!;
    });
    return out;
  }

  private record(store: GenerationStore, generation: number, tolerance: number, ess: number, t0: number): AbcGeneration {
    return {
      generation,
      tolerance,
      accepted: store.accepted.length,
      simulations: store.simulations,
      acceptanceRate: store.simulations > 0 ? store.accepted.length / store.simulations : 0,
      ess,
      failed: store.failed,
      crashed: store.crashed,
      timedOut: store.timedOut,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  /** The accepted particles become the population; the generation is recorded and reported. */
  private finishGeneration(store: GenerationStore, generation: number, tolerance: number, scales: Float64Array, weights: Float64Array, t0: number): void {
    const distances = Float64Array.from(store.accepted, (i) => this.distanceOf(store, i, scales));
    this.population = { positions: this.acceptedPositions(store), count: store.accepted.length, weights, distances, scales };
    const g = this.record(store, generation, tolerance, effectiveSampleSize(weights), t0);
    this.generations.push(g);
    this.sink.event({
      type: "abc-generation",
      generation,
      tolerance,
      acceptanceRate: g.acceptanceRate,
      simulations: g.simulations,
      ess: g.ess,
      failed: g.failed + g.crashed + g.timedOut,
      simulationsPerSecond: g.simulations / Math.max(g.seconds, 1e-9),
    });
    this.report();
  }
}

/**
 * The coordinator of one SMC run (one "chain"): it holds the run's population in shared
 * memory and does, at each stage, what needs every particle (src/inference/smc.ts): the next
 * inverse temperature and the importance weights, the evidence increment, systematic
 * resampling, the proposal (and NUTS metric) fitted to the resampled particles, and the
 * number of mutation steps from the last stage's acceptance. The mutation itself is the
 * particle actors' (smc-particles.ts): one task per group, run concurrently on the pool.
 *
 * Buffers: `a` holds the population between stages; a stage resamples `a` into `b`, and the
 * groups' tasks mutate `b`'s particles into `a` (each task copies its slice first), so a task
 * that fails and is retried starts from the same particles. Every decision uses committed
 * values in particle order with the coordinator's own RNG stream: the same seed gives the
 * same run whatever the number of threads.
 */
import { Effect } from "effect";
import { fitProposal, metricFromProposal, nextStepSize, stepsFromAcceptance, systematicResample, temper, type SmcSettings } from "../src/inference/smc.js";
import { typedArray } from "../src/inference/stats.js";
import { Rng } from "../src/rng/index.js";
import type { ApproxActorProgress, ApproxSink } from "./approx-events.js";
import type { SharedPopulation, SmcMutation, SmcTask, SmcTaskResult } from "./approx-protocol.js";
import { ApproxActor } from "./approx-actor.js";
import { ParticleGroup } from "./smc-particles.js";
import type { ModelSpec } from "./protocol.js";

export interface SmcChainConfig {
  readonly chain: number;
  readonly dim: number;
  /** Reported quantities per draw. */
  readonly width: number;
  readonly groups: number;
  readonly settings: SmcSettings;
  /** NUTS mutations: the metric's form. */
  readonly dense: boolean;
  readonly modelId: string;
  readonly model: ModelSpec;
  readonly likelihoodId: string;
  readonly likelihood: ModelSpec;
  readonly seed: number;
  /** RNG streams of `seed`: the coordinator's is `streamBase`, group g's `streamBase + 1 + g`. */
  readonly streamBase: number;
  /** Scheduler keys of the groups start here (unique over runs). */
  readonly keyBase: number;
}

export interface SmcStageRecord {
  readonly stage: number;
  readonly beta: number;
  readonly logEvidenceIncrement: number;
  /** ESS of the importance weights before resampling. */
  readonly ess: number;
  readonly steps: number;
  readonly acceptRate: number;
  /** NUTS step size used (NaN for IMH). */
  readonly stepSize: number;
  /** Gradient and log-density evaluations of the stage's mutation. */
  readonly gradientEvaluations: number;
  readonly densityEvaluations: number;
}

export type GroupsExecutor<Err> = (tasks: readonly SmcTask[]) => Effect.Effect<readonly SmcTaskResult[], Err>;

function population(n: number, d: number): SharedPopulation {
  return { positions: typedArray(Float64Array, n * d, true), lp: typedArray(Float64Array, n, true), ll: typedArray(Float64Array, n, true) };
}

export class SmcChain extends ApproxActor {
  readonly n: number;
  readonly a: SharedPopulation;
  readonly b: SharedPopulation;
  /** The final particles' reported quantities (n x width, draw-major). */
  readonly constrained: Float64Array;
  readonly groups: ParticleGroup[];
  readonly stages: SmcStageRecord[] = [];
  beta = 0;
  logEvidence = 0;
  private steps: number;
  private stepSize: number;
  private readonly rng: Rng;

  /** `initial`: the prior draws (n x d, unconstrained, draw-major). */
  constructor(
    readonly config: SmcChainConfig,
    initial: Float64Array,
    sink: ApproxSink,
  ) {
    super(sink);
    const d = config.dim;
    const n = initial.length / d;
    this.n = n;
    this.a = population(n, d);
    this.b = population(n, d);
    this.b.positions.set(initial);
    this.constrained = typedArray(Float64Array, n * config.width, true);
    this.rng = Rng.fromSeed(config.seed, config.streamBase);
    this.steps = config.settings.initialSteps;
    this.stepSize = Math.pow(d, -0.25);
    const g = config.groups;
    this.groups = Array.from({ length: g }, (_, k) => {
      const start = Math.floor((k * n) / g);
      const end = Math.floor(((k + 1) * n) / g);
      const c = config;
      return new ParticleGroup(
        { chain: c.chain, group: k, start, end, modelId: c.modelId, model: c.model, likelihoodId: c.likelihoodId, likelihood: c.likelihood, key: c.keyBase + k },
        Rng.fromSeed(c.seed, c.streamBase + 1 + k).getState(),
      );
    });
  }

  get label(): string {
    return `chain ${this.config.chain}`;
  }

  get gradientEvaluations(): number {
    return this.groups.reduce((s, g) => s + g.gradientEvaluations, 0);
  }

  get densityEvaluations(): number {
    return this.groups.reduce((s, g) => s + g.densityEvaluations, 0);
  }

  progress(): ApproxActorProgress {
    return {
      actor: this.label,
      status: this.status,
      iteration: this.stages.length,
      value: this.beta,
      gradientEvaluations: this.gradientEvaluations,
      densityEvaluations: this.densityEvaluations,
    };
  }

  /** Reweights, resamples into `b` and fits the proposal: the mutation of the next stage. */
  private prepareStage(): SmcMutation & { readonly ess: number; readonly increment: number } {
    const s = this.config.settings;
    const d = this.config.dim;
    const t = temper(this.a.ll, this.beta, s.threshold);
    const idx = systematicResample(t.weights, this.rng.uniform());
    for (let i = 0; i < this.n; i++) {
      const j = idx[i]!;
      this.b.positions.set(this.a.positions.subarray(j * d, (j + 1) * d), i * d);
      this.b.lp[i] = this.a.lp[j]!;
      this.b.ll[i] = this.a.ll[j]!;
    }
    const proposal = fitProposal(this.b.positions, this.n, d);
    const nuts = s.kernel === "nuts";
    return {
      kernel: s.kernel,
      beta: t.beta,
      steps: this.steps,
      proposal,
      metric: nuts ? metricFromProposal(proposal, this.config.dense) : null,
      stepSize: nuts ? this.stepSize : NaN,
      maxTreeDepth: s.maxTreeDepth,
      ess: t.ess,
      increment: t.logEvidenceIncrement,
    };
  }

  private commit(results: readonly SmcTaskResult[]): { accepted: number; proposed: number; gradients: number; densities: number } {
    let accepted = 0;
    let proposed = 0;
    let gradients = 0;
    let densities = 0;
    results.forEach((r, k) => {
      this.groups[k]!.commit(r);
      accepted += r.accepted;
      proposed += r.proposed;
      gradients += r.gradientEvaluations;
      densities += r.densityEvaluations;
    });
    return { accepted, proposed, gradients, densities };
  }

  /** The run: the prior draws' densities, then stages until beta = 1 and its mutation are done. */
  run<Err>(executeAll: GroupsExecutor<Err>): Effect.Effect<void, Err> {
    const self = this;
    const s = this.config.settings;
    return Effect.gen(function* () {
      self.commit(yield* executeAll(self.groups.map((g) => g.task(self.b, self.a, null, null))));
      while (self.status === "running") {
        if (self.stages.length >= s.maxStages) return self.fail(`no inverse temperature of 1 after ${s.maxStages} stages`);
        let m: ReturnType<SmcChain["prepareStage"]>;
        try {
          m = self.prepareStage();
        } catch (e) {
          return self.fail((e as Error).message);
        }
        const last = m.beta === 1;
        const { ess, increment, ...mutation } = m;
        const { accepted, proposed, gradients, densities } = self.commit(yield* executeAll(self.groups.map((g) => g.task(self.b, self.a, mutation, last ? self.constrained : null))));
        const acceptRate = proposed > 0 ? accepted / proposed : 0;
        self.beta = m.beta;
        self.logEvidence += increment;
        const record: SmcStageRecord = {
          stage: self.stages.length + 1,
          beta: m.beta,
          logEvidenceIncrement: increment,
          ess,
          steps: m.steps,
          acceptRate,
          stepSize: m.stepSize,
          gradientEvaluations: gradients,
          densityEvaluations: densities,
        };
        self.stages.push(record);
        self.sink.event({ type: "smc-stage", chain: self.config.chain, stage: record.stage, beta: m.beta, acceptRate, steps: m.steps, logMarginalLikelihood: self.logEvidence });
        self.steps = stepsFromAcceptance(acceptRate, s);
        if (s.kernel === "nuts") self.stepSize = nextStepSize(self.stepSize, acceptRate, s.targetAccept);
        if (last) self.status = "completed";
        self.sink.progress(self.progress(), self.beta);
      }
    });
  }
}

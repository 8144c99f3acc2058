/**
 * The ADVI actor. Its work runs as tasks on the worker pool (approx-protocol.ts), through an
 * executor the supervisor provides:
 * 1. the initial point and its ELBO (RNG stream `stream`);
 * 2. Stan's eta search: the five trials at once, trial k on stream `stream + 1 + k`, then
 *    Stan's rule on their ELBOs (`chooseEta`); skipped when eta is given;
 * 3. the optimisation, from its checkpoint (`AdviState`, stream `stream + 6`), in tasks of at
 *    most `stepsPerTask` iterations, the last returning the draws.
 * ADVI is one optimisation: only the eta trials run side by side.
 *
 * One departure from Stan: when the optimisation fails (a non-finite gradient or ELBO, which
 * ends Stan's ADVI) with a searched eta, it starts again from the initial point with the next
 * smaller eta of the sequence (a fresh RNG stream each time), until none is left. The trials
 * use other random numbers than Stan's sequential search, so an eta that survived its 50 trial
 * steps may still diverge; Stan's search could have picked the smaller one.
 */
import { Effect } from "effect";
import { chooseEta, ETA_SEQUENCE, initAdvi, type AdviResult, type AdviSettings, type AdviState } from "../src/inference/advi.js";
import { rngStateFromSeed } from "../src/rng/index.js";
import type { ApproxActorProgress, ApproxSink } from "./approx-events.js";
import { ApproxActor } from "./approx-actor.js";
import type { AdviStage, AdviTask, AdviTaskResult, ApproxInit } from "./approx-protocol.js";
import type { ModelSpec } from "./protocol.js";

export interface AdviActorConfig {
  readonly modelId: string;
  readonly model: ModelSpec;
  readonly settings: AdviSettings;
  readonly init: ApproxInit;
  readonly stepsPerTask: number;
}

/** Tasks of the eta search that may run at once (one per candidate). */
export const ADVI_PARALLEL_TASKS = ETA_SEQUENCE.length;

export class AdviActor extends ApproxActor {
  state: AdviState | null = null;
  result: AdviResult | null = null;
  constrained: Float64Array | null = null;
  readonly label = "advi";
  /** Evaluations of the start and the eta trials (the optimisation's are in its state). */
  private searchGradients = 0;
  private searchDensities = 0;

  constructor(
    readonly config: AdviActorConfig,
    sink: ApproxSink,
  ) {
    super(sink);
  }

  private task(stage: AdviStage, key = 0): AdviTask {
    const c = this.config;
    return { kind: "advi", modelId: c.modelId, model: c.model, chain: key, attempt: 0, stage, settings: c.settings };
  }

  get gradientEvaluations(): number {
    return this.searchGradients + (this.state?.gradientEvaluations ?? 0);
  }

  get densityEvaluations(): number {
    return this.searchDensities + (this.state?.densityEvaluations ?? 0) + (this.result?.count ?? 0);
  }

  progress(): ApproxActorProgress {
    const s = this.state;
    return {
      actor: this.label,
      status: this.status,
      iteration: s?.iteration ?? 0,
      value: s === null || s.trace.length === 0 ? NaN : s.elbo,
      gradientEvaluations: this.gradientEvaluations,
      densityEvaluations: this.densityEvaluations,
    };
  }

  fraction(): number {
    if (this.status !== "running") return 1;
    return Math.min(1, (this.state?.iteration ?? 0) / this.config.settings.maxIterations);
  }

  private commitOptimisation(r: AdviTaskResult): void {
    const before = this.state!.trace.length;
    this.state = r.state!;
    for (const t of this.state.trace.slice(before)) this.sink.event({ type: "advi-elbo", ...t });
    if (r.result !== null) {
      this.result = r.result;
      this.constrained = r.constrained;
      this.status = "completed";
    }
  }

  run<Err>(execute: (task: AdviTask, label: string) => Effect.Effect<AdviTaskResult, Err>): Effect.Effect<void, Err> {
    const self = this;
    const c = this.config;
    return Effect.gen(function* () {
      const start = yield* execute(self.task({ kind: "start", init: c.init }), self.label);
      if (start.error !== null) return self.fail(start.error);
      const { init, elboInit, densityEvaluations } = start.start!;
      self.searchDensities += densityEvaluations;
      let eta = c.settings.eta;
      if (c.settings.adaptEngaged) {
        const trials = yield* Effect.forEach(
          ETA_SEQUENCE,
          (candidate, k) => execute(self.task({ kind: "trial", init, eta: candidate, seed: c.init.seed, stream: c.init.stream + 1 + k }, k), `${self.label} eta ${candidate}`),
          { concurrency: "unbounded" },
        );
        for (const t of trials) {
          if (t.error !== null) return self.fail(t.error);
          self.searchGradients += t.trial!.gradientEvaluations;
          self.searchDensities += t.trial!.densityEvaluations;
        }
        try {
          eta = chooseEta(elboInit, trials.map((t) => t.trial!.elbo))!;
        } catch (e) {
          return self.fail((e as Error).message);
        }
        self.sink.event({ type: "eta-chosen", eta });
      }
      for (let restart = 0; self.status === "running"; restart++) {
        self.state = initAdvi(c.settings, init, eta, rngStateFromSeed(c.init.seed, c.init.stream + 1 + ETA_SEQUENCE.length + restart));
        while (self.status === "running") {
          const r = yield* execute(self.task({ kind: "optimise", state: self.state, steps: c.stepsPerTask }), self.label);
          if (r.error === null) {
            self.commitOptimisation(r);
            self.sink.progress(self.progress(), self.fraction());
            continue;
          }
          const smaller = ETA_SEQUENCE.indexOf(eta) + 1;
          if (!c.settings.adaptEngaged || smaller === 0 || smaller >= ETA_SEQUENCE.length) return self.fail(r.error);
          // The failed attempt's committed evaluations still count (its last task's are lost with it).
          self.searchGradients += self.state.gradientEvaluations;
          self.searchDensities += self.state.densityEvaluations;
          eta = ETA_SEQUENCE[smaller]!;
          self.sink.event({ type: "eta-chosen", eta, reason: r.error });
          break;
        }
      }
    });
  }
}

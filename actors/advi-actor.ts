/**
 * The ADVI actor: its state is the optimisation's checkpoint (`AdviState`); its work runs as
 * tasks of at most `stepsPerTask` stochastic-gradient iterations on the worker pool, through
 * an executor the supervisor provides. ADVI is one sequential optimisation: one actor.
 */
import { Effect } from "effect";
import type { AdviResult, AdviSettings, AdviState } from "../src/inference/advi.js";
import type { ApproxActorProgress, ApproxSink } from "./approx-events.js";
import type { AdviTask, AdviTaskResult, ApproxInit } from "./approx-protocol.js";
import type { ModelSpec } from "./protocol.js";

export interface AdviActorConfig {
  readonly modelId: string;
  readonly model: ModelSpec;
  readonly settings: AdviSettings;
  readonly init: ApproxInit;
  readonly stepsPerTask: number;
}

export class AdviActor {
  state: AdviState | null = null;
  result: AdviResult | null = null;
  constrained: Float64Array | null = null;
  status: "running" | "completed" | "failed" = "running";
  error: string | null = null;
  readonly label = "advi";

  constructor(
    readonly config: AdviActorConfig,
    private readonly sink: ApproxSink,
  ) {}

  nextTask(): AdviTask {
    const c = this.config;
    return { kind: "advi", modelId: c.modelId, model: c.model, chain: 0, attempt: 0, state: this.state, init: c.init, settings: c.settings, steps: c.stepsPerTask };
  }

  commit(r: AdviTaskResult): void {
    const before = this.state;
    if (r.error !== null) return this.fail(r.error);
    this.state = r.state;
    if ((before === null || before.phase === "adapt") && r.state.phase !== "adapt") this.sink.event({ type: "eta-chosen", eta: r.state.eta });
    for (const t of r.state.trace.slice(before?.trace.length ?? 0)) this.sink.event({ type: "advi-elbo", ...t });
    if (r.result !== null) {
      this.result = r.result;
      this.constrained = r.constrained;
      this.status = "completed";
    }
  }

  progress(): ApproxActorProgress {
    const s = this.state;
    return {
      actor: this.label,
      status: this.status,
      iteration: s?.iteration ?? 0,
      value: s === null || s.trace.length === 0 ? NaN : s.elbo,
      gradientEvaluations: s?.gradientEvaluations ?? 0,
      densityEvaluations: s?.densityEvaluations ?? 0,
    };
  }

  fraction(): number {
    if (this.status !== "running") return 1;
    return Math.min(1, (this.state?.iteration ?? 0) / this.config.settings.maxIterations);
  }

  run<Err>(execute: (task: AdviTask) => Effect.Effect<AdviTaskResult, Err>): Effect.Effect<void, Err> {
    const self = this;
    return Effect.gen(function* () {
      while (self.status === "running") {
        const r = yield* execute(self.nextTask());
        self.commit(r);
        self.sink.progress(self.progress(), self.fraction());
      }
    });
  }

  fail(message: string): void {
    this.status = "failed";
    this.error = message;
    this.sink.event({ type: "actor-failed", actor: this.label, message });
    this.sink.progress(this.progress(), 1);
  }
}

/**
 * Pathfinder's actors: one per path. A path actor's state is its checkpoint
 * (`PathfinderState`); its work runs as tasks of at most `iterationsPerTask` L-BFGS
 * iterations on the worker pool (approx-protocol.ts), through an executor the supervisor
 * provides (watchdog, restarts). When the path is done its last task returns the path's draws.
 *
 * `combinePaths` is the multi-path step (Stan's pathfinder_lbfgs_multi): the paths' draws
 * pooled, importance weights log p - log q Pareto-smoothed (src/diagnostics/psis.ts, tail
 * min(0.2 S, 3 sqrt(S))), and `draws` resampled with replacement by those weights.
 */
import { Effect } from "effect";
import { psis } from "../src/diagnostics/loo.js";
import type { PathfinderSettings, PathfinderState, PathResult } from "../src/inference/pathfinder.js";
import type { Rng } from "../src/rng/index.js";
import type { ApproxActorProgress, ApproxSink } from "./approx-events.js";
import { ApproxActor } from "./approx-actor.js";
import type { ApproxInit, PathfinderTask, PathfinderTaskResult } from "./approx-protocol.js";
import type { ModelSpec } from "./protocol.js";

export interface PathActorConfig {
  readonly path: number;
  readonly modelId: string;
  readonly model: ModelSpec;
  readonly settings: PathfinderSettings;
  readonly init: ApproxInit;
  readonly iterationsPerTask: number;
}

export class PathActor extends ApproxActor {
  state: PathfinderState | null = null;
  result: PathResult | null = null;
  /** The path's draws in constrained space (draws x names, draw-major). */
  constrained: Float64Array | null = null;

  constructor(
    readonly config: PathActorConfig,
    sink: ApproxSink,
  ) {
    super(sink);
  }

  get label(): string {
    return `path ${this.config.path}`;
  }

  nextTask(): PathfinderTask {
    const c = this.config;
    return {
      kind: "pathfinder",
      modelId: c.modelId,
      model: c.model,
      chain: c.path,
      attempt: 0,
      path: c.path,
      state: this.state,
      init: c.init,
      settings: c.settings,
      iterations: c.iterationsPerTask,
    };
  }

  commit(r: PathfinderTaskResult): void {
    // Kept even when the path failed: its evaluations count.
    if (r.state !== null) this.state = r.state;
    if (r.error !== null) return this.fail(r.error);
    if (r.result !== null) {
      this.result = r.result;
      this.constrained = r.constrained;
      this.status = "completed";
      this.sink.event({
        type: "path-done",
        path: this.config.path,
        iterations: r.result.iterations,
        bestIteration: r.result.bestIteration,
        elbo: r.result.elbo,
        message: r.result.message,
      });
    }
  }

  progress(): ApproxActorProgress {
    const s = this.state;
    return {
      actor: this.label,
      status: this.status,
      iteration: s?.lbfgs.iteration ?? 0,
      value: s?.best?.elbo ?? -Infinity,
      gradientEvaluations: this.result?.gradientEvaluations ?? s?.gradientEvaluations ?? 0,
      densityEvaluations: this.result?.densityEvaluations ?? s?.densityEvaluations ?? 0,
    };
  }

  /** Share of the path's work done, for progress (iterations over the maximum; 1 when done). */
  fraction(): number {
    if (this.status !== "running") return 1;
    return Math.min(1, (this.state?.lbfgs.iteration ?? 0) / this.config.settings.maxIterations);
  }

  run<Err>(execute: (task: PathfinderTask) => Effect.Effect<PathfinderTaskResult, Err>): Effect.Effect<void, Err> {
    const self = this;
    return Effect.gen(function* () {
      while (self.status === "running") {
        const r = yield* execute(self.nextTask());
        self.commit(r);
        self.sink.progress(self.progress(), self.fraction());
      }
    });
  }
}

export interface CombinedPaths {
  /** Resampled draws: reported quantities (draws x names, draw-major) and unconstrained (draws x d). */
  readonly constrained: Float64Array;
  readonly unconstrained: Float64Array;
  readonly lp: Float64Array;
  readonly lpApprox: Float64Array;
  readonly count: number;
  /** Pareto k of the importance weights (NaN when not resampled). */
  readonly paretoK: number;
  /** Distinct pooled draws among the resampled ones. */
  readonly distinct: number;
}

/**
 * Pools the completed paths' draws; with `resample`, PSIS importance resampling of `draws`
 * draws with replacement (Stan's multi-path Pathfinder), else every pooled draw in path order.
 * Draws with a log density of -Infinity get weight zero; throws when no draw has a finite one.
 */
export function combinePaths(paths: readonly PathActor[], width: number, dim: number, draws: number, resample: boolean, rng: Rng): CombinedPaths {
  const done = paths.filter((p) => p.result !== null && p.constrained !== null);
  const total = done.reduce((s, p) => s + p.result!.count, 0);
  const pooledC = new Float64Array(total * width);
  const pooledU = new Float64Array(total * dim);
  const lp = new Float64Array(total);
  const lpApprox = new Float64Array(total);
  let at = 0;
  for (const p of done) {
    const r = p.result!;
    pooledC.set(p.constrained!, at * width);
    pooledU.set(r.draws, at * dim);
    lp.set(r.lp, at);
    lpApprox.set(r.lpApprox, at);
    at += r.count;
  }
  if (!resample) {
    return { constrained: pooledC, unconstrained: pooledU, lp, lpApprox, count: total, paretoK: NaN, distinct: total };
  }
  const ratios = Float64Array.from(lp, (v, i) => v - lpApprox[i]!);
  // A draw whose log density is -Infinity (or whose ratio is not finite) has importance weight
  // zero: it takes no part in the smoothing and is never drawn.
  const usable: number[] = [];
  for (let i = 0; i < total; i++) if (Number.isFinite(ratios[i]!)) usable.push(i);
  if (usable.length === 0) throw new Error(`none of the ${total} draws of the paths has a finite log density`);
  // loo's PSIS with the draws as one observation's ratios (r_eff 1: independent draws); k is reported by the caller.
  const smoothed = psis([usable.map((i) => [ratios[i]!])], { onWarning: () => {} });
  const logWeights = smoothed.logWeights[0]!;
  const weights = new Float64Array(total);
  usable.forEach((i, k) => (weights[i] = Math.exp(logWeights[k]!)));
  const cdf = new Float64Array(total);
  let acc = 0;
  for (let i = 0; i < total; i++) cdf[i] = acc += weights[i]!;
  const constrained = new Float64Array(draws * width);
  const unconstrained = new Float64Array(draws * dim);
  const outLp = new Float64Array(draws);
  const outLpApprox = new Float64Array(draws);
  const seen = new Set<number>();
  for (let s = 0; s < draws; s++) {
    const u = rng.uniform() * acc;
    let lo = 0;
    let hi = total - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    seen.add(lo);
    constrained.set(pooledC.subarray(lo * width, (lo + 1) * width), s * width);
    unconstrained.set(pooledU.subarray(lo * dim, (lo + 1) * dim), s * dim);
    outLp[s] = lp[lo]!;
    outLpApprox[s] = lpApprox[lo]!;
  }
  return { constrained, unconstrained, lp: outLp, lpApprox: outLpApprox, count: draws, paretoK: smoothed.paretoK[0]!, distinct: seen.size };
}

/**
 * `sample(model, { init: "pathfinder" })`: NUTS chains that start from Pathfinder's draws with
 * Pathfinder's covariance estimate as their initial metric. Not the default: on top of the
 * default adaptation (low-rank metric, nutpie's schedule, adaptive warmup length) it does not
 * save gradients (DECISIONS.md D59, `npm run bench:init`).
 *
 * Before the chains start, multi-path Pathfinder (`paths`, default 4) runs on the run's pool
 * (the same threads the chains then use) with RNG streams after the chains' (chain c uses
 * stream c of the seed; path p stream chains + p), so the run stays a function of the seed.
 * Chain c starts at the c-th distinct draw of the importance-resampled set; the initial metric
 * is those draws' covariance, regularised as Stan regularises a window's estimate, in the run's
 * metric form: its diagonal ("diag"), itself ("dense"), or its diagonal with the eigenvectors of
 * its correlation matrix outside nutpie's cutoff ("low-rank"). The metric adaptation then goes
 * on from there as usual. Fewer than `MIN_DISTINCT` distinct draws (Pathfinder collapsed)
 * leave the usual initial metric; when no path gives draws at all (L-BFGS cannot start, as on
 * data of a large scale), the chains start as with init "random" and the `pathfinder-init`
 * event says why. On Stan's fixed windows (`metric: "diag"` or `"dense"`, no adaptive warmup)
 * without `warmup` or `sampler.windows`, the run warms up for `PATHFINDER_WARMUP` iterations
 * with `PATHFINDER_WINDOWS` (D56).
 */
import { Effect, Either, type Deferred } from "effect";
import type { RunSink } from "../../actors/events.js";
import { acquireWorkerPool, type PoolStartError } from "../../supervisors/worker-pool.js";
import { LOW_RANK_DEFAULTS, symmetricEigen } from "../inference/adaptation/index.js";
import type { LowRankMetric } from "../inference/metric.js";
import { samplerSettings, type Metric, type SamplerSettings, type WindowConfig } from "../inference/index.js";
import { pathfinderForInit } from "./approx.js";
import { validatePathfinderOptions } from "./approx-options.js";
import type { ResolvedModel } from "./model-input.js";
import type { SampleOptions, ValidatedOptions } from "./sample-options.js";

export { validateInit, type InitOption, type PathfinderInitOptions, type ValidatedInit } from "./init-options.js";

/** Warmup iterations when the chains start from Pathfinder on Stan's fixed windows and `warmup` is not given. */
export const PATHFINDER_WARMUP = 300;
/** Warmup windows then (unless `sampler.windows` is given): one metric update on 100 draws, then one on 150. */
export const PATHFINDER_WINDOWS: WindowConfig = { initBuffer: 50, baseWindow: 100, termBuffer: 50 };
/** Distinct resampled draws needed to estimate the metric. */
export const MIN_DISTINCT = 20;

/** The covariance (row-major d x d) of `count` draws (draw-major), shrunk as Stan regularises a window's estimate with `n` draws. */
function regularisedCovariance(draws: Float64Array, count: number, d: number, n: number): Float64Array {
  const mean = new Float64Array(d);
  for (let s = 0; s < count; s++) for (let k = 0; k < d; k++) mean[k] = mean[k]! + draws[s * d + k]! / count;
  const c = new Float64Array(d * d);
  for (let s = 0; s < count; s++) {
    for (let a = 0; a < d; a++) {
      const da = draws[s * d + a]! - mean[a]!;
      if (da === 0) continue;
      for (let b = 0; b < d; b++) c[a * d + b] = c[a * d + b]! + (da * (draws[s * d + b]! - mean[b]!)) / (count - 1);
    }
  }
  const shrink = n / (n + 5);
  const toward = 1e-3 * (5 / (n + 5));
  for (let i = 0; i < c.length; i++) c[i] = shrink * c[i]!;
  for (let k = 0; k < d; k++) c[k * d + k] = c[k * d + k]! + toward;
  return c;
}

/**
 * A covariance in the low-rank metric's form M^-1 = D^1/2 (I + U (Lambda - I) U^T) D^1/2: D its
 * diagonal, U and Lambda the eigenvectors and eigenvalues of its correlation matrix outside
 * [1/cutoff, cutoff] (nutpie's cutoff: the others count as 1, as the low-rank estimator keeps them).
 */
export function lowRankFromCovariance(cov: Float64Array, d: number, cutoff = LOW_RANK_DEFAULTS.cutoff): LowRankMetric {
  const diag = Float64Array.from({ length: d }, (_, k) => cov[k * d + k]!);
  const corr = new Float64Array(d * d);
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) corr[a * d + b] = cov[a * d + b]! / Math.sqrt(diag[a]! * diag[b]!);
  const e = symmetricEigen(corr, d);
  const keep: number[] = [];
  for (let j = 0; j < d; j++) if (e.values[j]! > cutoff || e.values[j]! < 1 / cutoff) keep.push(j);
  const k = keep.length;
  const vectors = new Float64Array(d * k);
  keep.forEach((j, c) => {
    for (let i = 0; i < d; i++) vectors[i * k + c] = e.vectors[i * d + j]!;
  });
  return { kind: "low-rank", inverse: diag, vectors, values: Float64Array.from(keep, (j) => e.values[j]!) };
}

/**
 * Chain inits and the initial metric from Pathfinder's resampled draws (count x d,
 * draw-major): their variance, covariance or low-rank form, for the run's metric kind.
 */
export function initsFromDraws(
  draws: Float64Array,
  count: number,
  d: number,
  chains: number,
  kind: SamplerSettings["metric"],
): { inits: Float64Array[]; metric: Metric | null; distinct: number } {
  const distinct: Float64Array[] = [];
  const seen = new Set<string>();
  for (let s = 0; s < count; s++) {
    const x = draws.subarray(s * d, (s + 1) * d);
    const key = x.join(",");
    if (seen.has(key)) continue;
    seen.add(key);
    distinct.push(Float64Array.from(x));
  }
  const inits = Array.from({ length: chains }, (_, c) => distinct[c % distinct.length]!);
  const n = distinct.length;
  if (n < MIN_DISTINCT) return { inits, metric: null, distinct: n };
  const cov = regularisedCovariance(draws, count, d, n);
  if (kind === "dense") return { inits, metric: { kind: "dense", inverse: cov }, distinct: n };
  if (kind === "low-rank") return { inits, metric: lowRankFromCovariance(cov, d), distinct: n };
  return { inits, metric: { kind: "diag", inverse: Float64Array.from({ length: d }, (_, k) => cov[k * d + k]!) }, distinct: n };
}

/**
 * Runs `run` with the chains' inits, initial metric and settings: Pathfinder's when `init`
 * asks for it (on a pool shared with the chains: the run's own, opened here, or the user's),
 * else the given ones.
 */
export function withPathfinderInit<A, E>(
  resolved: ResolvedModel,
  options: SampleOptions,
  opts: ValidatedOptions,
  inits: (Float64Array | null)[],
  sink: RunSink,
  abort: Deferred.Deferred<string>,
  run: (opts: ValidatedOptions, inits: (Float64Array | null)[], metric: Metric | null) => Effect.Effect<A, E>,
): Effect.Effect<A, E | PoolStartError> {
  const init = opts.init;
  if (init === null) return run(opts, inits, null);
  return Effect.scoped(
    Effect.gen(function* () {
      const pool = opts.pool ?? (yield* acquireWorkerPool({ threads: opts.threads, resourceLimits: opts.resourceLimits }));
      const v = {
        ...validatePathfinderOptions({ ...init.pathfinder, seed: opts.seed }),
        pool,
        threads: Math.min(pool.threads, init.pathfinder.paths ?? 4),
        policy: opts.policy,
        resourceLimits: undefined,
      };
      const t0 = performance.now();
      const pf = yield* pathfinderForInit(resolved, v, abort, opts.numChains).pipe(
        Effect.map((p) => Either.right(p)),
        Effect.catchTag("ApproxFailedError", (e) => Effect.succeed(Either.left(e))),
      );
      const seconds = (performance.now() - t0) / 1000;
      if (Either.isLeft(pf)) {
        // No path gave draws (L-BFGS could not start, say): the chains start as with init "random".
        const e = pf.left;
        sink.event({ type: "pathfinder-init", fallback: e.message, paretoK: NaN, draws: 0, gradientEvaluations: e.gradientEvaluations ?? 0, densityEvaluations: e.densityEvaluations ?? 0, seconds });
        return yield* run({ ...opts, pool }, inits, null);
      }
      const post = pf.right;
      const d = resolved.density.dim;
      const got = initsFromDraws(post.unconstrained[0]!, post.numDraws, d, opts.numChains, opts.settings.metric);
      sink.event({
        type: "pathfinder-init",
        fallback: null,
        paretoK: post.paretoK,
        draws: got.distinct,
        gradientEvaluations: post.gradientEvaluations,
        densityEvaluations: post.densityEvaluations,
        seconds,
      });
      // Stan's fixed windows get the short warmup when the user chose no warmup of their own;
      // an adaptive warmup length (nutpie's schedule, the default) ends warmup by itself.
      const short = opts.settings.schedule === "stan" && opts.adaptiveWarmup === null && options.warmup === undefined && options.sampler?.windows === undefined;
      const settings = short ? samplerSettings({ ...opts.settings, numWarmup: PATHFINDER_WARMUP, windows: PATHFINDER_WINDOWS }) : opts.settings;
      return yield* run({ ...opts, pool, settings }, got.inits, got.metric);
    }),
  );
}

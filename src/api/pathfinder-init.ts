/**
 * `sample(model, { init: "pathfinder" })`: NUTS chains that start from Pathfinder's draws with
 * Pathfinder's covariance estimate as their initial metric, and a shorter warmup. The default
 * when the user leaves inits and warmup to the runtime (`defaultInit`).
 *
 * Before the chains start, multi-path Pathfinder (`paths`, default 4) runs on the run's pool
 * (the same threads the chains then use) with RNG streams after the chains' (chain c uses
 * stream c of the seed; path p stream chains + p), so the run stays a function of the seed.
 * Chain c starts at the c-th distinct draw of the importance-resampled set; the metric is those
 * draws' variance (or covariance, for `metric: "dense"`), regularised as Stan regularises a
 * window's estimate. Fewer than `MIN_DISTINCT` distinct draws (Pathfinder collapsed) leave the
 * identity metric; when no path gives draws at all (L-BFGS cannot start, as on data of a
 * large scale), the chains start as with init "random", with Stan's warmup, and the
 * `pathfinder-init` event says why. Without `warmup` (and `sampler.windows`) the run warms up
 * for `PATHFINDER_WARMUP` iterations with `PATHFINDER_WINDOWS`: the measurements behind these
 * numbers are in DECISIONS.md (D56) and `npm run bench:init`.
 */
import { Effect, Either, type Deferred } from "effect";
import type { RunSink } from "../../actors/events.js";
import { acquireWorkerPool, type PoolStartError } from "../../supervisors/worker-pool.js";
import { samplerSettings, type Metric, type WindowConfig } from "../inference/index.js";
import { pathfinderForInit } from "./approx.js";
import { validatePathfinderOptions, type PathfinderOptions } from "./approx-options.js";
import type { ResolvedModel } from "./model-input.js";
import { bad, record } from "./sample-options.js";
import type { SampleOptions, ValidatedOptions } from "./sample-options.js";

/** Pathfinder's options for `init` (its run options are the sample's). */
export type PathfinderInitOptions = Omit<PathfinderOptions, "seed" | "threads" | "pool" | "restart" | "chunkTimeout" | "workerResourceLimits" | "inits">;

/** `init`: "random" (Stan's uniform(-2, 2), the default), "pathfinder", or `{ pathfinder: options }`. */
export type InitOption = "random" | "pathfinder" | { readonly pathfinder: PathfinderInitOptions };

/** Warmup iterations when the chains start from Pathfinder and `warmup` is not given. */
export const PATHFINDER_WARMUP = 300;
/** Warmup windows then (unless `sampler.windows` is given): one metric update on 100 draws, then one on 150. */
export const PATHFINDER_WINDOWS: WindowConfig = { initBuffer: 50, baseWindow: 100, termBuffer: 50 };
/** Distinct resampled draws needed to estimate the metric. */
export const MIN_DISTINCT = 20;

export interface ValidatedInit {
  readonly pathfinder: PathfinderInitOptions;
}

/**
 * The default of `init`: "pathfinder" when the run leaves both where the chains start and how
 * they warm up to the runtime (no `inits`, `warmup` or `sampler.windows`): Pathfinder's inits
 * and metric with the short warmup are what was measured to save gradients (D56); Pathfinder
 * with a warmup chosen by the user saves nothing measurable, so then "random" (Stan's).
 */
export function defaultInit(options: SampleOptions): "pathfinder" | "random" {
  return options.inits === undefined && options.warmup === undefined && options.sampler?.windows === undefined ? "pathfinder" : "random";
}

/** Checks `init` (and that it does not meet `inits`); null for random inits. */
export function validateInit(options: SampleOptions): ValidatedInit | null {
  const v = options.init ?? defaultInit(options);
  if (v === "random") return null;
  let pathfinder: PathfinderInitOptions;
  if (v === "pathfinder") pathfinder = {};
  else {
    const r = record("init", v, ["pathfinder"]);
    pathfinder = (r.pathfinder ?? {}) as PathfinderInitOptions;
  }
  if (options.inits !== undefined) bad("init", v, 'left out with `inits` (the chains start at the given values), or "random"');
  if (pathfinder.psisResample === false) bad("init.pathfinder.psisResample", false, "true (the inits are importance-resampled draws)");
  // Checked now, before any worker starts (seed and pool come from the run).
  validatePathfinderOptions({ ...pathfinder, seed: 0 });
  return { pathfinder };
}

/** Chain inits and the metric from Pathfinder's resampled draws (count x d, draw-major). */
export function initsFromDraws(draws: Float64Array, count: number, d: number, chains: number, dense: boolean): { inits: Float64Array[]; metric: Metric | null; distinct: number } {
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
  if (distinct.length < MIN_DISTINCT) return { inits, metric: null, distinct: distinct.length };
  const mean = new Float64Array(d);
  for (let s = 0; s < count; s++) for (let k = 0; k < d; k++) mean[k] = mean[k]! + draws[s * d + k]! / count;
  // Stan's regularisation of a window's estimate, with the distinct draws as its sample size.
  const n = distinct.length;
  const shrink = n / (n + 5);
  const toward = 1e-3 * (5 / (n + 5));
  if (!dense) {
    const v = new Float64Array(d);
    for (let s = 0; s < count; s++) for (let k = 0; k < d; k++) v[k] = v[k]! + (draws[s * d + k]! - mean[k]!) ** 2 / (count - 1);
    return { inits, metric: { kind: "diag", inverse: v.map((x) => shrink * x + toward) }, distinct: n };
  }
  const c = new Float64Array(d * d);
  for (let s = 0; s < count; s++) {
    for (let a = 0; a < d; a++) {
      const da = draws[s * d + a]! - mean[a]!;
      for (let b = 0; b < d; b++) c[a * d + b] = c[a * d + b]! + (da * (draws[s * d + b]! - mean[b]!)) / (count - 1);
    }
  }
  for (let i = 0; i < c.length; i++) c[i] = shrink * c[i]!;
  for (let k = 0; k < d; k++) c[k * d + k] = c[k * d + k]! + toward;
  return { inits, metric: { kind: "dense", inverse: c }, distinct: n };
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
      const got = initsFromDraws(post.unconstrained[0]!, post.numDraws, d, opts.numChains, opts.settings.metric === "dense");
      sink.event({
        type: "pathfinder-init",
        fallback: null,
        paretoK: post.paretoK,
        draws: got.distinct,
        gradientEvaluations: post.gradientEvaluations,
        densityEvaluations: post.densityEvaluations,
        seconds,
      });
      // The short warmup only when the user chose no warmup of their own.
      const settings = samplerSettings({
        ...opts.settings,
        ...(options.warmup === undefined && options.sampler?.windows === undefined ? { numWarmup: PATHFINDER_WARMUP, windows: PATHFINDER_WINDOWS } : {}),
      });
      return yield* run({ ...opts, pool, settings }, got.inits, got.metric);
    }),
  );
}

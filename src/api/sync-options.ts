/**
 * The options of `sampleSync`, which `sample`'s extend (sample-options.ts): on their own so that
 * the options' validation and `sampleSync` do not import each other.
 */
import type { ConstrainedInit, MetricKind, SamplerSettings, ScheduleKind } from "../inference/index.js";

/** Options of `sampleSync` (and the part of `sample`'s options that it shares). */
export interface SampleSyncOptions {
  /** Number of chains (4). */
  readonly chains?: number;
  /** Warmup iterations per chain (1000). */
  readonly warmup?: number;
  /** Sampling iterations per chain (1000). */
  readonly draws?: number;
  /** Seed; chain c uses stream c of it. Random when absent (recorded in the result). */
  readonly seed?: number;
  /**
   * Metric adaptation: "diag" (Stan's, the default), "dense", "diag-fisher" or "low-rank" (Fisher
   * divergence; with `sample` these take nutpie's schedule and an adaptive warmup length).
   */
  readonly metric?: MetricKind;
  /** Warmup schedule: "stan" (windows 75 / 25 doubling / 50) or "nutpie" (Fisher metrics only). */
  readonly schedule?: ScheduleKind;
  /** Dual averaging's target acceptance statistic (0.8). */
  readonly targetAccept?: number;
  /** Maximum tree depth (10). */
  readonly maxTreeDepth?: number;
  /** Initial values in constrained space: one object for all chains or one per chain. */
  readonly inits?: ConstrainedInit | readonly ConstrainedInit[];
  /** Random inits are uniform(-initRadius, initRadius) on the unconstrained scale (2). */
  readonly initRadius?: number;
  /** Initial step size before the heuristic search (1). */
  readonly stepSize?: number;
  /** Keep warmup draws (false); warmup sampler statistics are always kept. */
  readonly saveWarmup?: boolean;
  /** Anything else of the kernel's settings (maxDeltaH, gamma, kappa, t0, windows). */
  readonly sampler?: Partial<Omit<SamplerSettings, "numWarmup" | "metric" | "schedule" | "targetAccept" | "maxTreeDepth" | "initStepSize">>;
}

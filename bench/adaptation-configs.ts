/** The warmup adaptations `bench:adaptation` compares (and `bench:reparam` runs with). */
import type { SampleOptions } from "../src/api/sample-options.js";

export interface AdaptationConfig {
  readonly name: string;
  readonly options: Partial<SampleOptions>;
}

const METRICS = [
  ["stan-diag", { metric: "diag", schedule: "stan" }],
  ["nutpie-diag", { metric: "diag-fisher", schedule: "nutpie" }],
  ["low-rank", { metric: "low-rank", schedule: "nutpie" }],
] as const;

export const CONFIGS: readonly AdaptationConfig[] = METRICS.flatMap(([m, opts]) =>
  (["pooled", "chain"] as const).flatMap((pool) =>
    (["fixed", "adaptive"] as const).map((len) => ({
      name: `${m}/${pool}/${len}`,
      options: { ...opts, pooledWarmup: pool === "pooled", adaptiveWarmup: len === "adaptive" } as Partial<SampleOptions>,
    })),
  ),
);


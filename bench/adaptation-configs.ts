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

/**
 * `fixed`: 1000 warmup iterations; `adaptive`: the adaptive rule with its defaults (floor 300,
 * D69); `adaptive-f150`: the same rule with a floor of 150 (the first grid was run with it).
 */
export const CONFIGS: readonly AdaptationConfig[] = METRICS.flatMap(([m, opts]) =>
  (["pooled", "chain"] as const).flatMap((pool) =>
    (["fixed", "adaptive", "adaptive-f150"] as const).map((len) => ({
      name: `${m}/${pool}/${len}`,
      options: {
        ...opts,
        pooledWarmup: pool === "pooled",
        adaptiveWarmup: len === "fixed" ? false : len === "adaptive" ? true : { floor: 150 },
      } as Partial<SampleOptions>,
    })),
  ),
);

/** The configurations compared, by name. `previous` is the default before issue 26/27 (D12, D14). */
export const SCALING_CONFIGS: Readonly<Record<string, Partial<SampleOptions>>> = {
  previous: { metric: "diag", schedule: "stan", adaptiveWarmup: false },
  "low-rank": { metric: "low-rank", schedule: "nutpie", pooledWarmup: true, adaptiveWarmup: true },
  "low-rank-chain": { metric: "low-rank", schedule: "nutpie", pooledWarmup: false, adaptiveWarmup: true },
  "fisher-diag": { metric: "diag-fisher", schedule: "nutpie", pooledWarmup: true, adaptiveWarmup: true },
};

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

/**
 * Configurations run only when named (`--configs`), outside the grid: the pooled low-rank
 * adaptation with every switch of nutpie's schedule made by the coordinator, as before D147
 * (`/shared-all`), to measure what making the early switches inside the chunks saves.
 */
export const EXTRA_CONFIGS: readonly AdaptationConfig[] = [
  {
    name: "low-rank/pooled/adaptive/shared-all",
    options: { metric: "low-rank", schedule: "nutpie", pooledWarmup: true, adaptiveWarmup: true, sampler: { sharedSwitches: "all" } },
  },
];

/** The configurations compared, by name. `previous` is the default before issue 26/27 (D12, D14). */
export const SCALING_CONFIGS: Readonly<Record<string, Partial<SampleOptions>>> = {
  previous: { metric: "diag", schedule: "stan", adaptiveWarmup: false },
  "low-rank": { metric: "low-rank", schedule: "nutpie", pooledWarmup: true, adaptiveWarmup: true },
  /** As before D147: every switch of nutpie's schedule made by the coordinator (a chunk round trip each). */
  "low-rank-shared-all": { metric: "low-rank", schedule: "nutpie", pooledWarmup: true, adaptiveWarmup: true, sampler: { sharedSwitches: "all" } },
  "low-rank-chain": { metric: "low-rank", schedule: "nutpie", pooledWarmup: false, adaptiveWarmup: true },
  "fisher-diag": { metric: "diag-fisher", schedule: "nutpie", pooledWarmup: true, adaptiveWarmup: true },
};

/**
 * Per-draw sampler statistics of one chain, one typed array per statistic (Stan's lp__,
 * stepsize__, treedepth__, n_leapfrog__, divergent__, energy__, accept_stat__): the layout of
 * the posterior, of the runtime's trace and of what a worker writes into.
 */
export interface SamplerStatsArrays {
  readonly lp: Float64Array;
  readonly stepSize: Float64Array;
  readonly treeDepth: Int32Array;
  readonly nLeapfrog: Int32Array;
  /** 1 for a divergent transition. */
  readonly divergent: Uint8Array;
  readonly energy: Float64Array;
  readonly acceptStat: Float64Array;
}

export type SamplerStatName = keyof SamplerStatsArrays;

export const STAT_KEYS = ["lp", "stepSize", "treeDepth", "nLeapfrog", "divergent", "energy", "acceptStat"] as const satisfies readonly SamplerStatName[];

type StatArray = Float64Array | Int32Array | Uint8Array;

/** A typed array of `n` elements, on a SharedArrayBuffer when `shared` (threads can write it). */
export function typedArray<T extends StatArray>(Ctor: { new (b: ArrayBufferLike): T; readonly BYTES_PER_ELEMENT: number }, n: number, shared = false): T {
  const bytes = n * Ctor.BYTES_PER_ELEMENT;
  return new Ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** Statistics arrays for `n` draws (zeros), shared between threads when `shared`. */
export function allocateStats(n: number, shared = false): SamplerStatsArrays {
  return {
    lp: typedArray(Float64Array, n, shared),
    stepSize: typedArray(Float64Array, n, shared),
    treeDepth: typedArray(Int32Array, n, shared),
    nLeapfrog: typedArray(Int32Array, n, shared),
    divergent: typedArray(Uint8Array, n, shared),
    energy: typedArray(Float64Array, n, shared),
    acceptStat: typedArray(Float64Array, n, shared),
  };
}

/**
 * `"@bayests/runtime"` for the guide's runnable blocks: the package as it is, but runs made
 * small (at most 100 warmup iterations and 100 draws a chain, 300 SMC particles), so that every
 * ```` ```ts run ```` block runs in seconds. Only sizes change; every option is still checked.
 */
import * as api from "../../src/index.js";

export * from "../../src/index.js";

type Sizes = { warmup?: number; draws?: number; particles?: number };

function small<T>(options: T | undefined): T {
  const o = { ...(options ?? {}) } as T & Sizes;
  o.warmup = Math.min(o.warmup ?? 100, 100);
  o.draws = Math.min(o.draws ?? 100, 100);
  return o;
}

export const sample: typeof api.sample = (model, options) => api.sample(model, small(options));
export const sampleSync: typeof api.sampleSync = (model, options) => api.sampleSync(model, small(options));
export const sampleEffect: typeof api.sampleEffect = (model, options) => api.sampleEffect(model, small(options));
export const smc: typeof api.smc = (model, options) => api.smc(model, { ...options, particles: Math.min(options?.particles ?? 300, 300) });

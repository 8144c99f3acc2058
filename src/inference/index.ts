/**
 * Inference kernels: pure, synchronous, explicit state (no Effect, RxJS or workers here).
 */
export * from "./chain.js";
export * from "./dual-averaging.js";
export * from "./init.js";
export * from "./metric.js";
export * from "./stats.js";
export { NutsKernel, emptyStats, type TransitionStats } from "./nuts.js";
export * from "./welford.js";
export * from "./windows.js";
export * from "./adaptation/index.js";

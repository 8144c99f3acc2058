/**
 * Metric adaptation estimators and schedules (pure, plain data): the Fisher-divergence diagonal
 * and low-rank estimators, nutpie's schedule, the warmup-convergence measure.
 */
export * from "./estimator.js";
export * from "./fisher.js";
export * from "./linalg.js";
export * from "./low-rank.js";
export * from "./schedule.js";
export * from "./convergence.js";
export * from "./reparam.js";
export * from "./guard.js";

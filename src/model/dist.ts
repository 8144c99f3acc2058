/**
 * The `dist` namespace users see: the distributions (distributions.ts) and the combinators over
 * them (censoring, truncation, mixtures: combinators.ts). Above both, so neither imports the other
 * back.
 */
export * from "./distributions.js";
export { censored, intervalCensored, truncated, mixture, normalMixture } from "./combinators.js";

/**
 * Posterior diagnostics matching R's posterior package 1.4.0: split and
 * rank-normalised R-hat, bulk/tail/quantile ESS, Monte Carlo standard errors,
 * summary tables (with ArviZ's HDI) and E-BFMI; PSIS-LOO, WAIC and model comparison matching R's
 * loo 2.5.1. Chains are passed as chains[c][i].
 */
export {
  essBasic,
  essBulk,
  essMean,
  essQuantile,
  essSd,
  essTail,
  mcseMean,
  mcseQuantile,
  mcseSd,
  mean,
  quantile,
  rhat,
  rhatBasic,
  sd,
  type Chains,
} from "./convergence.js";
export { summary, formatSummary, hdi, mad, DEFAULT_HDI_PROB, type SummaryRow, type SummaryParam, type SummaryOptions } from "./summary.js";
export {
  loo,
  waic,
  looCompare,
  psis,
  relativeEff,
  gpdFit,
  paretoKTable,
  formatLoo,
  formatLooCompare,
  PARETO_K_OK,
  PARETO_K_BAD,
  PARETO_K_VERY_BAD,
  type LogLikArray,
  type LogLikSource,
  type LooOptions,
  type LooResult,
  type WaicResult,
  type LooCompareRow,
  type PsisResult,
  type ParetoKTable,
} from "./loo.js";
export { ebfmi } from "./ebfmi.js";

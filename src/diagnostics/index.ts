/**
 * Posterior diagnostics matching R's posterior package 1.4.0: split and
 * rank-normalised R-hat, bulk/tail/quantile ESS, Monte Carlo standard errors,
 * summary tables and E-BFMI. Chains are passed as chains[c][i].
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
export { summary, formatSummary, type SummaryRow, type SummaryParam } from "./summary.js";
export { ebfmi } from "./ebfmi.js";

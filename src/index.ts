/** Package root: the model language, the compiler, diagnostics, and (as they land) samplers. */
export * from "./model/index.js";
export * from "./compile/index.js";
export {
  rhat,
  rhatBasic,
  essBulk,
  essTail,
  essBasic,
  essMean,
  essSd,
  essQuantile,
  mcseMean,
  mcseSd,
  mcseQuantile,
  quantile,
  summary,
  formatSummary,
  ebfmi,
  type Chains,
  type SummaryRow,
  type SummaryParam,
} from "./diagnostics/index.js";
/** Diagnostics under one name too (`diagnostics.mean` and `diagnostics.sd` of draws). */
export * as diagnostics from "./diagnostics/index.js";
export { sampleSync, type SampleSyncOptions } from "./api/sample-sync.js";
export { Posterior } from "./api/posterior.js";

/** Package root: the model language, the compiler, diagnostics, and (as they land) samplers. */
export * from "./model/index.js";
export * from "./compile/index.js";
/**
 * Stan CSV (CmdStan's output format): write draws for R's posterior, ArviZ, CmdStanPy; read them
 * back. InferenceData (ArviZ's groups) in netCDF-4 for `arviz.from_netcdf`.
 */
export * from "./io/index.js";
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
  hdi,
  mad,
  ebfmi,
  loo,
  waic,
  looCompare,
  psis,
  relativeEff,
  paretoKTable,
  formatLoo,
  formatLooCompare,
  type Chains,
  type SummaryRow,
  type SummaryParam,
  type SummaryOptions,
  type LogLikArray,
  type LogLikSource,
  type LooOptions,
  type LooResult,
  type WaicResult,
  type LooCompareRow,
  type PsisResult,
  type ParetoKTable,
} from "./diagnostics/index.js";
/** Diagnostics under one name too (`diagnostics.mean` and `diagnostics.sd` of draws). */
export * as diagnostics from "./diagnostics/index.js";
export { sampleSync, type SampleSyncOptions } from "./api/sample-sync.js";
/** No finite starting point was found (sampleSync throws it; a run's chain fails with it). */
export { InitializationError } from "./inference/init.js";
export { Posterior, type PosteriorSummaryOptions, type ChainResult } from "./api/posterior.js";
/** One error class for a name a posterior does not know (`draws`, `summary`, `warmupDraws`). */
export { UnknownQuantityError } from "./api/quantity-error.js";
/** The checks a finished run should pass, as CmdStan's diagnose and ArviZ's warnings make them. */
export { diagnose, formatDiagnosis, type Diagnosis, type Finding, type FindingLevel } from "./api/diagnose.js";
export { type SampleRun, type SampleError } from "./api/sample.js";
export { type SampleOptions, type DashboardOption, type ClusterOption } from "./api/sample-options.js";
/** `sample` with terminal progress and an optional live dashboard (src/view), the dashboard and reports. */
export {
  sample,
  sampleEffect,
  sampleRunEffect,
  showProgress,
  serveDashboard,
  writeReport,
  reportHtml,
  type ViewedRun,
  type ProgressDisplay,
  type ProgressDisplayOptions,
  type Dashboard,
  type DashboardOptions,
  type ReportOptions,
} from "./view/index.js";
export {
  priorPredictive,
  posteriorPredictive,
  PredictiveDraws,
  type PredictiveVariable,
  type PriorPredictiveOptions,
  type PosteriorPredictiveOptions,
} from "./api/predictive.js";
export { RunPosterior, type ChainStatus, type RunChainResult } from "./api/run-posterior.js";
export { InvalidOptionError, InvalidModelError, PoolStartError, ClusterStartError, RunFailedError } from "./api/errors.js";
export { type ModelInput } from "./api/model-input.js";
export { DrawBatch, type Draw, type DrawStats, type Phase } from "../actors/batch.js";
export type {
  RunEvent,
  RunProgress,
  ChainProgress,
  OnlineDiagnostics,
  ParamDiagnostics,
  ChainStatusKind,
  RunStatusKind,
} from "../actors/events.js";
export type { FaultSpec } from "../actors/protocol.js";
export { liveWorkerThreads, type WorkerResourceLimits } from "../supervisors/worker-pool.js";
export { createWorkerPool, workerPoolScoped, WorkerPool, type WorkerPoolOptions } from "./api/worker-pool.js";
export { defaultRestartSchedule, type RestartSchedule } from "../supervisors/chain-supervisor.js";
/** Pathfinder, ADVI and SMC on the same runtime (issue 14). */
export {
  pathfinder,
  advi,
  smc,
  pathfinderEffect,
  adviEffect,
  smcEffect,
  ApproxFailedError,
  type ApproxRun,
  type ApproxError,
} from "./api/approx.js";
export type { PathfinderOptions, AdviOptions, SmcOptions, ApproxRunOptions } from "./api/approx-options.js";
export { PathfinderPosterior, AdviPosterior, SmcPosterior, type PathInfo, type SmcChainInfo, type SmcStage } from "./api/approx-posterior.js";
export type { InitOption, PathfinderInitOptions } from "./api/pathfinder-init.js";
export { abc, abcSmc, abcEffect, abcSmcEffect } from "./api/abc.js";
export type { AbcOptions, AbcSmcOptions } from "./api/abc-options.js";
export { AbcPosterior, type WeightedSummaryRow } from "./api/abc-posterior.js";
export { posteriorFromStanCsv } from "./io/stan-csv-posterior.js";
export type { AbcGeneration, AbcStopReason } from "../actors/abc-actor.js";
export { simulator, simulatorRng, type SimulatorSpec, type SimulatorRng, type SimulatorParams } from "./compile/simulator.js";
export type { ApproxEvent, ApproxProgress, ApproxActorProgress, ApproxMethod } from "../actors/approx-events.js";
export { stanModel, checkStanProgram, StanError, type StanModelOptions, type StanCheckResult, type StanDiagnostic, type StanErrorKind } from "./stan/index.js";

/** Package root: the model language, the compiler, diagnostics, and (as they land) samplers. */
export * from "./model/index.js";
export * from "./compile/index.js";
/** Stan CSV (CmdStan's output format): write draws for R's posterior, ArviZ, CmdStanPy; read them back. */
export {
  writeStanCsv,
  formatStanCsv,
  parseStanCsv,
  stanCsvColumns,
  stanFlatName,
  type StanCsv,
  type StanCsvOptions,
} from "./io/index.js";
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
export { sample, sampleEffect, sampleRunEffect, type SampleRun, type SampleError } from "./api/sample.js";
export { type SampleOptions } from "./api/sample-options.js";
export { RunPosterior, type ChainStatus, type RunChainResult } from "./api/run-posterior.js";
export { InvalidOptionError, InvalidModelError, PoolStartError } from "./api/errors.js";
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
export type { ApproxEvent, ApproxProgress, ApproxActorProgress, ApproxMethod } from "../actors/approx-events.js";
export { psis, gpdFit, psisTailLength, type PsisResult } from "./diagnostics/psis.js";

export { model, ModelBuilder, type Model, type ObservedNode, type ObserveOptions, type GeneratedNode, type ModelOptions, type ParamOptions, type ParamInfo, type DataValue } from "./builder.js";
export { ModelError, type ModelErrorCode } from "./errors.js";
export {
  Expr,
  type ExprLike,
  constant,
  add,
  sub,
  mul,
  div,
  pow,
  neg,
  exp,
  log,
  log1p,
  log1m,
  expm1,
  sqrt,
  square,
  abs,
  tanh,
  logistic,
  logit,
  log1pExp,
  log1mExp,
  lgamma,
  lgammaDiff,
  logAddExp,
  logMix,
  sum,
  mean,
  dot,
  slice,
  gather,
  reshape,
  diagonal,
  column,
} from "./expr.js";
export { scan, type ScanOptions } from "./scan.js";
export { ode, type OdeOptions } from "./ode.js";
export type { OdeFailureCounts, OdeFailureReason } from "../ode/index.js";
export { matvec, cumsum, concat, stack, logSumExp, cholesky, lowerSolve } from "./linalg.js";
export { logPhi, logDiffExp, logIncBeta } from "./cdf.js";
export * as dist from "./dist.js";
export type { Distribution, RandomSource, Support } from "./distributions.js";
export type { Shape } from "./shape.js";

export { compile, compileModel, instantiate, flatNames, type CompiledModel, type CompileOptions, type OutputLayout, type ParamLayout } from "./compile.js";
export { moduleModel, loadModuleModel, type ModuleModelSpec } from "./module-model.js";
export type { BackendChoice, LogDensity, ShapedValue, ModelInfo, VariableInfo, ObservedInfo } from "./types.js";
export { isAnyCompiled, instantiateAny, type AnyCompiledModel } from "./backends.js";
export {
  compileTfjsModel,
  instantiateTfjs,
  tfjsReady,
  availableDevices,
  nativeStatus,
  AUTO_THRESHOLD,
  TfjsUnsupportedError,
  type TfjsCompiledModel,
  type TfjsDevice,
  type TfjsDevicePreference,
  type TfjsLogDensity,
} from "./tfjs/index.js";
export { compileDraws, type DrawProgram, type DrawStep } from "./draws.js";
export { verifyCompiledModel } from "./checks.js";
export { trustModelKey } from "./trust.js";

export { compile, compileModel, instantiate, flatNames, type CompiledModel, type CompileOptions, type OutputLayout, type ParamLayout } from "./compile.js";
export { moduleModel, loadModuleModel, type ModuleModelSpec } from "./module-model.js";
export type { LogDensity, ShapedValue, ModelInfo, VariableInfo, ObservedInfo } from "./types.js";

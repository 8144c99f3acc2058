export { compile, compileModel, instantiate, flatNames, type CompiledModel, type CompileOptions, type OutputLayout, type ParamLayout } from "./compile.js";
export { moduleModel, loadModuleModel, type ModuleModelSpec } from "./module-model.js";
export type { LogDensity, ShapedValue } from "./types.js";
export { verifyCompiledModel } from "./checks.js";
export { trustModelKey } from "./trust.js";

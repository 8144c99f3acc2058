/** Package root: the model language, the compiler, and (as they land) samplers and diagnostics. */
export * from "./model/index.js";
export * from "./compile/index.js";

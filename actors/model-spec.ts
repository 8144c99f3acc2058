/**
 * How a worker gets a model, shared by the chain protocol (protocol.ts) and the approximations'
 * task kinds (approx-protocol.ts): on its own so that neither protocol imports the other's file.
 */
import type { AnyCompiledModel } from "../src/compile/backends.js";
import type { ModuleModelSpec } from "../src/compile/module-model.js";

/** How a worker gets a model: a compiled form, js or tfjs (constants in SharedArrayBuffers), or a module path. */
export type ModelSpec =
  | { readonly kind: "compiled"; readonly compiled: AnyCompiledModel }
  | { readonly kind: "module"; readonly spec: ModuleModelSpec };

/**
 * The serialisable form of a js-compiled model and its layouts: plain data that the compiler
 * writes (compile-js.ts, log-lik.ts), the boundary checks (checks.ts) and signatures (trust.ts)
 * read, and worker threads receive. Types only, at the bottom of src/compile, so that none of
 * those files imports another for them.
 */
import type { LearnedParameterisation } from "../model/builder.js";

export interface OutputLayout {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dims?: readonly string[];
  readonly offset: number;
}

export interface ParamLayout {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  readonly unconstrainedLabel: string;
}

/** Serialisable form of a compiled model (structured-clone friendly). */
export interface CompiledModel {
  readonly name: string;
  readonly backend: "js";
  readonly dim: number;
  readonly source: string;
  readonly constants: readonly (Float64Array | Int32Array)[];
  readonly outputs: readonly OutputLayout[];
  readonly params: readonly ParamLayout[];
  /** Per parameter: the sizes of its context values (bounds, loc/scale) in `evaluateContext` order. */
  readonly contextSizes: readonly (readonly number[])[];
  /** Observed nodes: where `pointwiseLogLik` writes each one's log-likelihood, and their values. */
  readonly observed?: readonly ObservedLayout[];
  /** Named data (`m.data`), for exports. */
  readonly data?: readonly DataLayout[];
  /**
   * HMAC-SHA256 (hex) of the source and layout, by this process's key or an operator's
   * (`CompileOptions.key`): `instantiate`, `sample` and the worker threads run a compiled
   * model only when it verifies (DECISIONS.md D24).
   */
  readonly signature: string;
  /** Learned parameterisations (their lambdas are the generated code's tunables `T`). */
  readonly tunables?: readonly LearnedParameterisation[];
}

/** Serialisable layout of one observed node (see `ObservedInfo`). */
export interface ObservedLayout {
  readonly name: string;
  /** Shape of its log-likelihood. */
  readonly shape: readonly number[];
  readonly offset: number;
  readonly valueShape: readonly number[];
  readonly dims?: readonly string[];
  /** Index of the observed values in `CompiledModel.constants`. */
  readonly value: number;
}

/** Serialisable layout of a named data node. */
export interface DataLayout {
  readonly name: string;
  readonly shape: readonly number[];
  /** Index of its values in `CompiledModel.constants`. */
  readonly constant: number;
}

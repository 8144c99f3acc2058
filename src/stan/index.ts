/**
 * The Stan-language front end: `stanModel(source, data)` parses a Stan program, checks it, and
 * traces it with the data into a builder `Model` (DECISIONS.md D116-D118); `checkStanProgram`
 * parses and checks only.
 */
import type { Model, ModelOptions } from "../model/index.js";
import { parseStanJson } from "../data/stan-json.js";
import type { Program } from "./ast.js";
import { StanError, formatAt, type StanDiagnostic } from "./errors.js";
import { Interpreter, type StanDataInput } from "./interpreter.js";
import { parseProgram } from "./parser.js";
import { checkProgram } from "./check.js";

export { StanError, type StanDiagnostic, type StanErrorKind } from "./errors.js";
export type { Program as StanProgram } from "./ast.js";

export interface StanModelOptions {
  /** The file name shown in error messages (default "model.stan"). */
  readonly file?: string;
  /** The model's name (default: the file name without ".stan", else "stan_model"). */
  readonly name?: string;
  /**
   * Non-centring of normal parameters, as the builder's option. Default false: a Stan program
   * is taken as written, so its unconstrained space is Stan's.
   */
  readonly noncentered?: ModelOptions["noncentered"];
  /** Called with each warning (deprecated syntax, data not declared, ...); default: process warnings. */
  readonly onWarning?: (message: string) => void;
  /**
   * Called with how each loop compiles: once as vectors, as a `scan` (a recurrence), or unrolled
   * and why (see the guide's page on Stan programs). Default: nothing.
   */
  readonly onDebug?: (message: string) => void;
}

/** The result of `checkStanProgram`: the parsed program when it has no errors, and every diagnostic. */
export interface StanCheckResult {
  readonly ok: boolean;
  readonly program?: Program;
  readonly errors: readonly StanDiagnostic[];
  readonly warnings: readonly StanDiagnostic[];
}

function warningDiagnostic(file: string, source: string, message: string, loc: { line: number; column: number }): StanDiagnostic {
  return { kind: "warning", message, file, line: loc.line, column: loc.column, formatted: formatAt("Warning", file, source, loc, message) };
}

/**
 * Parses and type-checks a Stan program without data (what `bayests check` runs). Never
 * throws for a bad program: its problems come back as diagnostics with line and column.
 */
export function checkStanProgram(source: string, options: { file?: string } = {}): StanCheckResult {
  const file = options.file ?? "model.stan";
  if (typeof source !== "string") throw new TypeError(`checkStanProgram: the source must be a string, got ${typeof source}`);
  let program: Program;
  try {
    program = parseProgram(source);
  } catch (e) {
    if (e instanceof StanError) return { ok: false, errors: [e.withSource(file, source).toDiagnostic()], warnings: [] };
    throw e;
  }
  const warnings = program.warnings.map((w) => warningDiagnostic(file, source, w.message, w.loc));
  const errors = checkProgram(program).map((e) => e.withSource(file, source).toDiagnostic());
  return { ok: errors.length === 0, program, errors, warnings };
}

/**
 * A model from a Stan program and its data: the returned `Model` works wherever a builder
 * model does (`compile`, `sample`, `sampleSync`, the approximations, predictive draws).
 * `data` is an object of numbers and nested arrays (Stan's JSON layout) or the text of a
 * Stan JSON file. Errors are `StanError`s whose message shows the file, line and column.
 */
export function stanModel(source: string, data: StanDataInput | string = {}, options: StanModelOptions = {}): Model {
  const file = options.file ?? "model.stan";
  const check = checkStanProgram(source, { file });
  const warn = options.onWarning ?? ((m: string) => process.emitWarning(m, "BayestsStanWarning"));
  for (const w of check.warnings) warn(w.formatted);
  if (!check.ok) {
    const first = check.errors[0]!;
    throw new StanError(first.kind === "warning" ? "type" : first.kind, first.message, { line: first.line, column: first.column }, file, source);
  }
  const values = typeof data === "string" ? parseStanJson(data) : data;
  if (typeof values !== "object" || values === null || Array.isArray(values)) throw new StanError("data", "The data must be an object of named values (or Stan JSON text).");
  const name = options.name ?? (options.file ? options.file.replace(/^.*[\\/]/, "").replace(/\.stan$/, "") : "stan_model");
  const interpreter = new Interpreter(check.program!, { name: /^[^\p{Cc}]{1,200}$/u.test(name) ? name : "stan_model", modelOptions: { noncentered: options.noncentered ?? false }, ...(options.onDebug ? { onDebug: options.onDebug } : {}) });
  try {
    const model = interpreter.run(values as StanDataInput);
    for (const w of interpreter.warnings) warn(`${file}: ${w}`);
    return model;
  } catch (e) {
    if (e instanceof StanError) throw e.withSource(file, source);
    throw e;
  }
}

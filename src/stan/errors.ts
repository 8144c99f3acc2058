/**
 * Errors of the Stan front end, in stanc's manner: the file, line and column, the line with a
 * caret under the place, and what was expected.
 */

/** A place in a Stan program: 1-based line and column. */
export interface Location {
  readonly line: number;
  readonly column: number;
}

export type StanErrorKind = "syntax" | "type" | "unsupported" | "data" | "runtime";

/** One problem found in a Stan program (a syntax or type error, or a warning). */
export interface StanDiagnostic {
  readonly kind: StanErrorKind | "warning";
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The whole report: location, the line with a caret, the message. */
  readonly formatted: string;
}

/** Formats a message stanc's way: `Syntax error in 'file', line 3, column 10:` then the code with a caret. */
export function formatAt(kind: string, file: string, source: string, loc: Location | undefined, message: string): string {
  if (!loc) return `${kind} in '${file}': ${message}`;
  const lines = source.split(/\r?\n/);
  const from = Math.max(1, loc.line - 2);
  const width = String(loc.line + 1).length;
  const shown: string[] = [];
  for (let l = from; l <= loc.line; l++) shown.push(`${String(l).padStart(width)}:  ${lines[l - 1] ?? ""}`);
  shown.push(`${" ".repeat(width + 3 + loc.column - 1)}^`);
  const rule = "-".repeat(50);
  return `${kind} in '${file}', line ${loc.line}, column ${loc.column - 1}:\n${rule}\n${shown.join("\n")}\n${rule}\n\n${message}`;
}

/** A problem in a Stan program or its data; `formatted` holds the report with the caret. */
export class StanError extends Error {
  override readonly name = "StanError";
  readonly kind: StanErrorKind;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The message without the location and the code excerpt. */
  readonly detail: string;
  constructor(kind: StanErrorKind, detail: string, loc?: Location, file = "model.stan", source = "") {
    const title = { syntax: "Syntax error", type: "Semantic error", unsupported: "Unsupported", data: "Data error", runtime: "Error" }[kind];
    super(formatAt(title, file, source, loc, detail));
    this.kind = kind;
    this.file = file;
    this.line = loc?.line ?? 0;
    this.column = loc?.column ?? 0;
    this.detail = detail;
  }

  /** The same error placed in `file`/`source` (errors are raised before the text is known). */
  withSource(file: string, source: string, loc?: Location): StanError {
    const at = loc ?? (this.line > 0 ? { line: this.line, column: this.column } : undefined);
    return new StanError(this.kind, this.detail, at, file, source);
  }

  toDiagnostic(): StanDiagnostic {
    return { kind: this.kind, message: this.detail, file: this.file, line: this.line, column: this.column, formatted: this.message };
  }
}

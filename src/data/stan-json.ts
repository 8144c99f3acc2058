/**
 * Stan's JSON data format (CmdStan guide, "JSON format for data"): every variable is a
 * number or a (possibly empty) nested array of numbers; matrices and multi-dimensional
 * arrays are arrays of rows (row-major). Non-finite values may be written as the strings
 * "inf"/"Inf"/"Infinity", "-inf"/"-Inf"/"-Infinity", "NaN"/"nan" (any case, optional sign),
 * or as the bare tokens `Infinity`, `-Infinity`, `NaN` that rapidjson (and Python's json)
 * produce. Tuples (JSON objects) are not supported.
 */
import { readFileSync } from "node:fs";

/** A Stan data value as parsed: a number or nested arrays of numbers. */
export type StanValue = number | StanValue[];
/** One Stan data file: variable name -> value. */
export type StanData = Record<string, StanValue>;

/** A dense row-major matrix. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly values: Float64Array;
}

const NON_FINITE = /^([+-]?)(inf|infinity|nan)$/i;

function convert(v: unknown, where: string): StanValue {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const m = NON_FINITE.exec(v.trim());
    if (m === null) throw new Error(`Stan JSON: ${where}: string "${v}" is not a number`);
    if (m[2]!.toLowerCase() === "nan") return NaN;
    return m[1] === "-" ? -Infinity : Infinity;
  }
  if (Array.isArray(v)) return v.map((x, i) => convert(x, `${where}[${i}]`));
  throw new Error(`Stan JSON: ${where}: unsupported value ${JSON.stringify(v)}`);
}

/** Quotes bare `NaN` / `Infinity` / `-Infinity` tokens (outside strings) so JSON.parse accepts them. */
function quoteBareNonFinite(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|-?\b(?:Infinity|NaN)\b/g, (tok) =>
    tok.startsWith('"') ? tok : `"${tok}"`,
  );
}

/** Parses Stan JSON data text. */
export function parseStanJson(text: string): StanData {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = JSON.parse(quoteBareNonFinite(text));
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("Stan JSON: the top level must be an object");
  }
  const out: StanData = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) out[name] = convert(v, name);
  return out;
}

/** Reads and parses a Stan JSON data file. */
export function loadStanJson(path: string): StanData {
  return parseStanJson(readFileSync(path, "utf8"));
}

/** Packs an array of equal-length rows into a row-major Float64Array. */
export function toMatrix(nested: readonly (readonly number[])[]): Matrix {
  const rows = nested.length;
  const cols = rows === 0 ? 0 : nested[0]!.length;
  const values = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = nested[i]!;
    if (row.length !== cols) throw new Error(`toMatrix: row ${i} has ${row.length} entries, expected ${cols}`);
    for (let j = 0; j < cols; j++) {
      const x = row[j];
      if (typeof x !== "number") throw new Error(`toMatrix: entry [${i}][${j}] is not a number`);
      values[i * cols + j] = x;
    }
  }
  return { rows, cols, values };
}

// Typed accessors: narrow a StanData entry to the shape a model expects, or throw.

function need(data: StanData, name: string): StanValue {
  const v = data[name];
  if (v === undefined) throw new Error(`Stan data: missing variable "${name}"`);
  return v;
}

/** A scalar (a one-element array is not accepted: Stan would not accept it either). */
export function scalar(data: StanData, name: string): number {
  const v = need(data, name);
  if (typeof v !== "number") throw new Error(`Stan data: "${name}" should be a scalar`);
  return v;
}

/** An integer scalar. */
export function int(data: StanData, name: string): number {
  const v = scalar(data, name);
  if (!Number.isInteger(v)) throw new Error(`Stan data: "${name}" should be an integer, got ${v}`);
  return v;
}

/** A vector (1-d array) of numbers, with optional expected length. */
export function vector(data: StanData, name: string, length?: number): number[] {
  const v = need(data, name);
  if (!Array.isArray(v) || !v.every((x): x is number => typeof x === "number")) {
    throw new Error(`Stan data: "${name}" should be a 1-d array of numbers`);
  }
  if (length !== undefined && v.length !== length) {
    throw new Error(`Stan data: "${name}" has length ${v.length}, expected ${length}`);
  }
  return v;
}

/** A matrix (2-d array of rows), with optional expected dimensions, packed row-major. */
export function matrix(data: StanData, name: string, rows?: number, cols?: number): Matrix {
  const v = need(data, name);
  if (!Array.isArray(v) || !v.every((r): r is number[] => Array.isArray(r))) {
    throw new Error(`Stan data: "${name}" should be a 2-d array`);
  }
  const m = v.length === 0 ? { rows: 0, cols: cols ?? 0, values: new Float64Array(0) } : toMatrix(v);
  if ((rows !== undefined && m.rows !== rows) || (cols !== undefined && m.rows > 0 && m.cols !== cols)) {
    throw new Error(`Stan data: "${name}" is ${m.rows}x${m.cols}, expected ${rows ?? "?"}x${cols ?? "?"}`);
  }
  return m;
}

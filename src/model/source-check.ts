/**
 * A check of every piece of generated source before it becomes a function: the code
 * generator builds source only from this library's templates, numbers it has validated and
 * identifiers it makes itself (DECISIONS.md D24), so the source it makes contains no string,
 * template or comment, and no identifier outside a short allow-list. This catches a template
 * that ever interpolates a user's string; it is not what makes a compiled model received
 * from outside trustworthy (its signature is: see src/compile/trust.ts).
 */
import { ModelError } from "./errors.js";
import { runtime } from "./special.js";

/** Identifiers generated code may use besides compiler-made ones (short lowercase names, optionally numbered). */
const FIXED = new Set([
  // keywords and values
  "const", "let", "for", "if", "else", "return", "function", "new", "true", "false", "Infinity", "NaN",
  // globals the templates use
  "Math", "Float64Array", "Int32Array",
  // parameters and locals of the generated functions
  "rt", "C", "T", "X", "Y", "S", "R", "q", "grad", "out", "target",
  "logDensityGradient", "logDensity", "constrainFlat", "evaluateContext", "pointwiseLogLik",
]);
/** Compiler-made names: up to three lowercase letters, optionally numbered (v12, t_3, sb_7). */
function isGenerated(src: string, start: number, end: number): boolean {
  let i = start;
  while (i < end && i - start < 4 && src.charCodeAt(i) >= 97 && src.charCodeAt(i) <= 122) i++;
  const letters = i - start;
  if (letters < 1 || letters > 3) return false;
  if (i === end) return true;
  if (src.charCodeAt(i) === 95) i++; // _
  if (i === end) return false;
  for (; i < end; i++) if (!isDigit(src.charCodeAt(i))) return false;
  return true;
}
/** Members of stored arrays generated code calls. */
const MEMBERS = new Set(["fill", "set", "length"]);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c);
/** The runtime namespace an `rt.a.b` chain has reached (`rt` itself, or one of its own sub-objects). */
const runtimeAt = (object: string): Record<string, unknown> | null => {
  if (object === "rt") return runtime as unknown as Record<string, unknown>;
  if (!object.startsWith("rt.")) return null;
  const sub = (runtime as unknown as Record<string, unknown>)[object.slice(3)];
  return typeof sub === "object" && sub !== null ? (sub as Record<string, unknown>) : null;
};
const memberOk = (object: string, member: string): boolean => {
  if (object === "Math") return typeof (Math as unknown as Record<string, unknown>)[member] === "function" && Object.hasOwn(Math, member);
  const ns = runtimeAt(object);
  if (ns !== null) return Object.hasOwn(ns, member);
  return object !== "rt" && !object.startsWith("rt.") && MEMBERS.has(member);
};

/** Anything but whitespace, word characters and the punctuation the templates use: a quote, backtick, backslash, `#`... */
const OUTSIDE_ALPHABET = /[^\s\w$.,;:?()[\]{}+\-*/%<>=!&|]/;
const PROLOGUE = '"use strict";';

/**
 * Throws unless `source` consists only of allowed tokens (see the module comment). One pass
 * over the characters, allocating only for identifiers that are not compiler-made (a
 * generated function is megabytes long for a model of tens of thousands of nodes).
 */
export function checkGeneratedSource(source: string): void {
  const start = source.startsWith(PROLOGUE) ? PROLOGUE.length : 0;
  const fail = (why: string): never => {
    throw new ModelError("invalid-argument", `internal error: generated code ${why}`);
  };
  if (OUTSIDE_ALPHABET.test(start === 0 ? source : source.slice(start))) fail("contains a character outside its alphabet (a string, a template or an escape)");
  let object = ""; // the identifier before a "." (member access), if any
  let afterDot = false;
  for (let i = start; i < source.length; ) {
    const c = source.charCodeAt(i);
    if (isDigit(c)) {
      // A number: digits, a fraction, an exponent.
      i++;
      while (i < source.length && (isDigit(source.charCodeAt(i)) || source[i] === ".")) i++;
      if (source[i] === "e" || source[i] === "E") {
        i++;
        if (source[i] === "+" || source[i] === "-") i++;
        while (i < source.length && isDigit(source.charCodeAt(i))) i++;
      }
      object = "";
      afterDot = false;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < source.length && isIdentPart(source.charCodeAt(j))) j++;
      const generated = isGenerated(source, i, j);
      const word = generated && !afterDot ? "" : source.slice(i, j);
      if (afterDot) {
        if (!memberOk(object, word)) fail(`reads ${object}.${word}`);
      } else if (!generated && !FIXED.has(word)) {
        fail(`uses an identifier ${word} outside the allow-list`);
      }
      const name = source.slice(i, j);
      // rt.<namespace> (one level: rt.cdf.logPhi) is followed into the runtime object.
      object = afterDot && object === "rt" && typeof (runtime as unknown as Record<string, unknown>)[name] === "object" ? `rt.${name}` : !generated ? word : name === "rt" ? "rt" : "generated";
      afterDot = false;
      i = j;
      continue;
    }
    if (c === 46) {
      afterDot = true; // "."
    } else if (c === 47 && (source[i + 1] === "/" || source[i + 1] === "*")) {
      fail("contains a comment");
    } else if (c !== 32 && c !== 10 && c !== 9 && c !== 13) {
      object = "";
      afterDot = false;
    }
    i++;
  }
}

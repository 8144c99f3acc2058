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
  "rt", "C", "X", "Y", "S", "q", "grad", "out", "target",
  "logDensityGradient", "logDensity", "constrainFlat", "evaluateContext",
]);
/** Compiler-made names: up to three lowercase letters, optionally numbered (v12, t_3, sb_7). */
const GENERATED = /^[a-z]{1,3}(_?[0-9]+)?$/;
const MEMBERS = new Set(["fill", "set", "length"]);
const memberOk = (object: string, member: string): boolean =>
  (object === "Math" && typeof (Math as unknown as Record<string, unknown>)[member] === "function" && Object.hasOwn(Math, member)) ||
  (object === "rt" && Object.hasOwn(runtime, member)) ||
  (object !== "Math" && object !== "rt" && MEMBERS.has(member));

const TOKEN = /\s+|[A-Za-z_$][A-Za-z0-9_$]*|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|[()[\]{};,.:?]|[+\-*/%<>=!&|]+/y;
const PROLOGUE = '"use strict";';

/** Throws unless `source` consists only of allowed tokens (see the module comment). */
export function checkGeneratedSource(source: string): void {
  let at = source.startsWith(PROLOGUE) ? PROLOGUE.length : 0;
  let previous = "";
  let beforeDot = "";
  const fail = (why: string): never => {
    throw new ModelError("invalid-argument", `internal error: generated code ${why} at offset ${at} (${JSON.stringify(source.slice(at, at + 40))})`);
  };
  while (at < source.length) {
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(source);
    if (m === null) fail("contains a character outside its alphabet");
    const token = m![0];
    if (/^[A-Za-z_$]/.test(token)) {
      if (previous === ".") {
        if (!memberOk(beforeDot, token)) fail(`reads a member ${token} of ${beforeDot}`);
      } else if (!FIXED.has(token) && !GENERATED.test(token)) {
        fail(`uses an identifier ${token} outside the allow-list`);
      }
    } else if (/^[+\-*/%<>=!&|]+$/.test(token) && (token.includes("//") || token.includes("/*"))) {
      fail("contains a comment");
    }
    if (!/^\s/.test(token)) {
      if (token === ".") beforeDot = previous;
      previous = token;
    }
    at += token.length;
  }
}

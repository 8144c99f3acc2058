/** Tokens of the Stan language. */
import { StanError, type Location } from "./errors.js";

export type TokenKind = "ident" | "int" | "real" | "string" | "op" | "eof";

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly loc: Location;
}

/** Longest first, so `.*=` wins over `.*` and `.`. */
const OPERATORS = [
  ".*=", "./=", "%/%",
  "<-", "+=", "-=", "*=", "/=", "==", "!=", "<=", ">=", "&&", "||", ".*", "./", ".^",
  "+", "-", "*", "/", "%", "\\", "^", "'", "!", "<", ">", "=", "~", "?", ":", ",", ";", "|", "(", ")", "[", "]", "{", "}",
];

/** Splits Stan source into tokens, skipping whitespace and `//`, `#` and block comments. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const here = (): Location => ({ line, column: i - lineStart + 1 });
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if ((c === "/" && source[i + 1] === "/") || c === "#") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && source[i + 1] === "*") {
      const start = here();
      i += 2;
      while (i < n && !(source[i] === "*" && source[i + 1] === "/")) {
        if (source[i] === "\n") {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      if (i >= n) throw new StanError("syntax", "Comment opened here is never closed (expected \"*/\").", start);
      i += 2;
      continue;
    }
    const loc = here();
    if (/[A-Za-z]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(source[j]!)) j++;
      tokens.push({ kind: "ident", text: source.slice(i, j), loc });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(source[i + 1] ?? ""))) {
      const m = /^(?:[0-9]+(?:_[0-9]+)*)?(\.[0-9]*)?([eE][+-]?[0-9]+)?/.exec(source.slice(i))!;
      let text = m[0];
      // `1.` followed by `*` is `1. *`; but `x[1:N]` has no dot. A trailing `.` before an operator like `.*` belongs to the operator.
      if (text.endsWith(".") && /[*/^]/.test(source[i + text.length] ?? "")) text = text.slice(0, -1);
      const isReal = /[.eE]/.test(text);
      tokens.push({ kind: isReal ? "real" : "int", text: text.replace(/_/g, ""), loc });
      i += text.length;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < n && source[j] !== '"' && source[j] !== "\n") j++;
      if (source[j] !== '"') throw new StanError("syntax", "String literal is never closed (expected '\"').", loc);
      tokens.push({ kind: "string", text: source.slice(i + 1, j), loc });
      i = j + 1;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (!op) throw new StanError("syntax", `Invalid character found: '${c}'.`, loc);
    tokens.push({ kind: "op", text: op, loc });
    i += op.length;
  }
  tokens.push({ kind: "eof", text: "end of input", loc: here() });
  return tokens;
}

/**
 * A recursive-descent parser for Stan with precedence climbing for binary operators (see
 * DECISIONS.md D116). Grammar after stanc3's `parser.mly`; messages say what was expected.
 */
import type { BaseType, Constraint, Expr, FunctionArg, FunctionDef, Index, Program, SizedType, Stmt, UnsizedType, VarDecl } from "./ast.js";
import { StanError, type Location } from "./errors.js";
import { tokenize, type Token } from "./lexer.js";

/** Binary operators, loosest first; all left-associative (`^` is handled apart). */
const BINARY_LEVELS: readonly (readonly string[])[] = [
  ["||"],
  ["&&"],
  ["==", "!="],
  ["<", "<=", ">", ">="],
  ["+", "-"],
  ["*", "/", "%", "\\", ".*", "./", "%/%"],
];
/** In a constraint (`<lower=a, upper=b>`) comparisons would swallow the closing `>`. */
const ARITHMETIC_LEVEL = 4;

const BASE_TYPES = new Set(["int", "real", "complex", "vector", "row_vector", "matrix"]);
const CONSTRAINED_VECTORS = new Set(["simplex", "unit_vector", "sum_to_zero_vector", "ordered", "positive_ordered"]);
const CONSTRAINED_MATRICES = new Set(["cholesky_factor_corr", "cholesky_factor_cov", "corr_matrix", "cov_matrix"]);
const COMPOUND = new Set(["+=", "-=", "*=", "/=", ".*=", "./="]);
const BLOCKS = ["functions", "data", "transformed data", "parameters", "transformed parameters", "model", "generated quantities"] as const;

/** Whether a word starts a variable declaration. */
export function isTypeWord(word: string): boolean {
  return BASE_TYPES.has(word) || CONSTRAINED_VECTORS.has(word) || CONSTRAINED_MATRICES.has(word) || word === "array";
}

class Parser {
  private pos = 0;
  readonly warnings: { message: string; loc: Location }[] = [];
  constructor(private readonly tokens: readonly Token[]) {}

  private get tok(): Token {
    return this.tokens[this.pos]!;
  }
  private peek(k = 1): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)]!;
  }
  private is(text: string): boolean {
    const t = this.tok;
    return (t.kind === "op" || t.kind === "ident") && t.text === text;
  }
  private accept(text: string): boolean {
    if (!this.is(text)) return false;
    this.pos++;
    return true;
  }
  private fail(expected: string, t: Token = this.tok): never {
    const found = t.kind === "eof" ? "the end of the program" : `"${t.text}"`;
    throw new StanError("syntax", `Expected ${expected} but found ${found}.`, t.loc);
  }
  private expect(text: string, what = `"${text}"`): Token {
    const t = this.tok;
    if (!this.is(text)) this.fail(what);
    this.pos++;
    return t;
  }
  private ident(what = "an identifier"): Token {
    const t = this.tok;
    if (t.kind !== "ident") this.fail(what);
    this.pos++;
    return t;
  }

  program(): Program {
    const parts: Record<string, unknown[]> = {};
    let last = -1;
    while (this.tok.kind !== "eof") {
      const start = this.tok;
      let name = start.text;
      if ((name === "transformed" || name === "generated") && this.peek().kind === "ident") {
        name = `${name} ${this.peek().text}`;
      }
      const k = BLOCKS.indexOf(name as (typeof BLOCKS)[number]);
      if (k < 0) this.fail(`a program block ("functions", "data", "transformed data", "parameters", "transformed parameters", "model" or "generated quantities")`);
      if (k <= last) throw new StanError("syntax", `The "${name}" block is out of order or repeated: blocks come in the order ${BLOCKS.join(", ")}.`, start.loc);
      last = k;
      this.pos += name.includes(" ") ? 2 : 1;
      this.expect("{", `"{" to open the ${name} block`);
      const items: unknown[] = [];
      while (!this.is("}")) {
        if ((this.tok as Token).kind === "eof") this.fail(`"}" to close the ${name} block`);
        if (name === "functions") items.push(this.functionDef());
        else if (name === "data" || name === "parameters") items.push(this.varDecl(false));
        else items.push(this.statement(true));
      }
      this.pos++;
      parts[name] = items;
    }
    return {
      functions: (parts.functions ?? []) as FunctionDef[],
      data: (parts.data ?? []) as VarDecl[],
      transformedData: (parts["transformed data"] ?? []) as Stmt[],
      parameters: (parts.parameters ?? []) as VarDecl[],
      transformedParameters: (parts["transformed parameters"] ?? []) as Stmt[],
      model: (parts.model ?? []) as Stmt[],
      generatedQuantities: (parts["generated quantities"] ?? []) as Stmt[],
      warnings: this.warnings,
    };
  }

  // ---------------------------------------------------------------- types

  private sizes(n: number | "1or2" | "any", what: string): Expr[] {
    this.expect("[", `"[" and the size of the ${what}`);
    const out = [this.expr()];
    while (this.accept(",")) out.push(this.expr());
    this.expect("]", `"]" after the size of the ${what}`);
    if (typeof n === "number" && out.length !== n) throw new StanError("syntax", `A ${what} takes ${n} size(s), got ${out.length}.`, this.tok.loc);
    if (n === "1or2" && out.length > 2) throw new StanError("syntax", `A ${what} takes 1 or 2 sizes, got ${out.length}.`, this.tok.loc);
    return out;
  }

  private constraint(allowAffine: boolean): Constraint {
    if (!this.is("<")) return { kind: "none" };
    this.pos++;
    const seen: Record<string, Expr> = {};
    do {
      const key = this.ident(`"lower", "upper"${allowAffine ? ', "offset" or "multiplier"' : ""}`);
      if (!["lower", "upper", "offset", "multiplier"].includes(key.text) || (!allowAffine && (key.text === "offset" || key.text === "multiplier"))) {
        this.fail(`"lower", "upper"${allowAffine ? ', "offset" or "multiplier"' : ""}`, key);
      }
      if (seen[key.text]) throw new StanError("syntax", `"${key.text}" is given twice.`, key.loc);
      this.expect("=", `"=" after "${key.text}"`);
      seen[key.text] = this.expr(ARITHMETIC_LEVEL);
    } while (this.accept(","));
    this.expect(">", `">" to close the constraint (or "," and another bound)`);
    const bounds = seen.lower !== undefined || seen.upper !== undefined;
    const affine = seen.offset !== undefined || seen.multiplier !== undefined;
    if (bounds && affine) throw new StanError("syntax", "A variable takes bounds or an offset/multiplier, not both.", this.tok.loc);
    if (affine) return { kind: "affine", ...(seen.offset ? { offset: seen.offset } : {}), ...(seen.multiplier ? { multiplier: seen.multiplier } : {}) };
    return { kind: "bounds", ...(seen.lower ? { lower: seen.lower } : {}), ...(seen.upper ? { upper: seen.upper } : {}) };
  }

  /** A sized type without its array dimensions. */
  private sizedBase(): Omit<SizedType, "arrayDims"> {
    const t = this.ident("a type");
    const loc = t.loc;
    const word = t.text;
    if (word === "int" || word === "real") return { base: word, constraint: this.constraint(word === "real"), sizes: [], loc };
    if (word === "complex") return { base: "complex", constraint: { kind: "none" }, sizes: [], loc };
    if (word === "vector" || word === "row_vector") {
      const constraint = this.constraint(true);
      return { base: word, constraint, sizes: this.sizes(1, word), loc };
    }
    if (word === "matrix") {
      const constraint = this.constraint(true);
      return { base: "matrix", constraint, sizes: this.sizes(2, "matrix"), loc };
    }
    if (CONSTRAINED_VECTORS.has(word)) {
      return { base: "vector", constraint: { kind: word as "simplex" }, sizes: this.sizes(1, word), loc };
    }
    if (CONSTRAINED_MATRICES.has(word)) {
      const sizes = this.sizes(word === "cholesky_factor_cov" ? "1or2" : 1, word);
      return { base: "matrix", constraint: { kind: word as "corr_matrix" }, sizes: sizes.length === 1 ? [sizes[0]!, sizes[0]!] : sizes, loc };
    }
    return this.fail("a type (int, real, vector, row_vector, matrix, array, or a constrained type)", t);
  }

  private sizedType(): SizedType {
    if (this.is("array")) {
      const loc = this.tok.loc;
      this.pos++;
      const dims = this.sizes("any", "array");
      const inner = this.sizedBase();
      return { ...inner, arrayDims: dims, loc };
    }
    return { ...this.sizedBase(), arrayDims: [] };
  }

  /** A declaration `type name [old dims] [= value];`. */
  private varDecl(allowInit: boolean): VarDecl {
    const start = this.tok;
    if (start.kind !== "ident" || !isTypeWord(start.text)) this.fail("a variable declaration (a type, e.g. \"real\" or \"array[N] vector[K]\")");
    let type = this.sizedType();
    const name = this.ident("a variable name");
    if (this.is("[")) {
      // Pre-2.33 syntax `real y[N]`: the array dimensions follow the name.
      this.pos++;
      const dims = [this.expr()];
      while (this.accept(",")) dims.push(this.expr());
      this.expect("]");
      if (type.arrayDims.length > 0) throw new StanError("syntax", "Array dimensions given both before and after the name.", name.loc);
      type = { ...type, arrayDims: dims };
      this.warnings.push({ message: `Declaration of arrays by placing brackets after a variable name ("${name.text}") is deprecated and removed in Stan 2.33; write array[...] before the type.`, loc: name.loc });
    }
    let init: Expr | undefined;
    if (this.is("=")) {
      if (!allowInit) throw new StanError("syntax", "Variables in the data and parameters blocks cannot be given values where they are declared.", this.tok.loc);
      this.pos++;
      init = this.expr();
    }
    this.expect(";", `";" after the declaration of ${name.text}${allowInit ? ' (or "=" and a value)' : ""}`);
    return { kind: "decl", name: name.text, type, ...(init ? { init } : {}), loc: start.loc };
  }

  private unsizedType(allowVoid: boolean): UnsizedType {
    const dataOnly = this.accept("data");
    let arrayDims = 0;
    if (this.accept("array")) {
      this.expect("[");
      arrayDims = 1;
      while (this.accept(",")) arrayDims++;
      this.expect("]");
    }
    const t = this.ident(allowVoid ? "a return type" : "an argument type");
    let base: UnsizedType["base"];
    if (t.text === "void" && allowVoid) base = "void";
    else if (BASE_TYPES.has(t.text)) base = t.text as BaseType;
    else this.fail(allowVoid ? "a return type (void, int, real, vector, row_vector, matrix or array[...] of them)" : "an argument type", t);
    if (this.is("[") && (this.peek().text === "]" || this.peek().text === ",")) {
      // Old syntax `real[ , ]`.
      this.pos++;
      arrayDims = 1;
      while (this.accept(",")) arrayDims++;
      this.expect("]");
    }
    return { base, arrayDims, dataOnly };
  }

  private functionDef(): FunctionDef {
    const loc = this.tok.loc;
    const returnType = this.unsizedType(true);
    const name = this.ident("a function name");
    this.expect("(", `"(" and the arguments of ${name.text}`);
    const args: FunctionArg[] = [];
    if (!this.is(")")) {
      do {
        const type = this.unsizedType(false);
        args.push({ name: this.ident("an argument name").text, type });
      } while (this.accept(","));
    }
    this.expect(")", `")" or "," in the arguments of ${name.text}`);
    if (this.accept(";")) return { name: name.text, returnType, args, loc };
    if (!this.is("{")) this.fail(`"{" and the body of ${name.text} (or ";" for a declaration)`);
    return { name: name.text, returnType, args, body: this.statement(false), loc };
  }

  // ---------------------------------------------------------------- statements

  private statement(allowDecl: boolean): Stmt {
    const t = this.tok;
    const loc = t.loc;
    if (t.kind === "op") {
      if (t.text === "{") {
        this.pos++;
        const body: Stmt[] = [];
        while (!this.is("}")) {
          if ((this.tok as Token).kind === "eof") this.fail('"}" to close the block');
          body.push(this.statement(true));
        }
        this.pos++;
        return { kind: "block", body, loc };
      }
      if (t.text === ";") {
        this.pos++;
        return { kind: "empty", loc };
      }
    }
    if (t.kind === "ident") {
      if (isTypeWord(t.text)) {
        if (!allowDecl) throw new StanError("syntax", "A variable declaration cannot stand alone here (put it in a block { ... }).", loc);
        return this.varDecl(true);
      }
      switch (t.text) {
        case "for":
          return this.forStatement();
        case "while": {
          this.pos++;
          this.expect("(", '"(" after while');
          const test = this.expr();
          this.expect(")", '")" after the condition of while');
          return { kind: "while", test, body: this.statement(false), loc };
        }
        case "if": {
          this.pos++;
          this.expect("(", '"(" after if');
          const test = this.expr();
          this.expect(")", '")" after the condition of if');
          const then = this.statement(false);
          if (this.accept("else")) return { kind: "if", test, then, else: this.statement(false), loc };
          return { kind: "if", test, then, loc };
        }
        case "break":
        case "continue":
          this.pos++;
          this.expect(";", `";" after ${t.text}`);
          return { kind: t.text, loc };
        case "return": {
          this.pos++;
          if (this.accept(";")) return { kind: "return", loc };
          const value = this.expr();
          this.expect(";", '";" after the returned value');
          return { kind: "return", value, loc };
        }
        case "print":
        case "reject":
        case "fatal_error": {
          this.pos++;
          this.expect("(", `"(" after ${t.text}`);
          const args: Expr[] = [];
          if (!this.is(")")) {
            do args.push(this.printable());
            while (this.accept(","));
          }
          this.expect(")", `")" or "," in ${t.text}`);
          this.expect(";", `";" after ${t.text}(...)`);
          return { kind: t.text, args, loc };
        }
        case "target":
          if (this.peek().text === "+=") {
            this.pos += 2;
            const value = this.expr();
            this.expect(";", '";" after the target increment');
            return { kind: "target", value, loc };
          }
          break;
        case "increment_log_prob":
          if (this.peek().text === "(") {
            this.pos += 2;
            const value = this.expr();
            this.expect(")");
            this.expect(";");
            this.warnings.push({ message: "increment_log_prob(...) was removed from Stan; write target += ... instead.", loc });
            return { kind: "target", value, loc };
          }
          break;
      }
    }
    const lhs = this.expr();
    const op = this.tok;
    if (op.text === "~" && op.kind === "op") {
      this.pos++;
      const dist = this.ident("a distribution name after \"~\"");
      this.expect("(", `"(" and the arguments of ${dist.text}`);
      const args: Expr[] = [];
      if (!this.is(")")) {
        do args.push(this.expr());
        while (this.accept(","));
      }
      this.expect(")", `")" or "," in the arguments of ${dist.text}`);
      let truncation: { lower?: Expr; upper?: Expr } | undefined;
      if (this.tok.kind === "ident" && this.tok.text === "T" && this.peek().text === "[") {
        this.pos += 2;
        const lower = this.is(",") ? undefined : this.expr();
        this.expect(",", '"," in the truncation T[lower, upper]');
        const upper = this.is("]") ? undefined : this.expr();
        this.expect("]", '"]" to close the truncation');
        truncation = { ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) };
      }
      this.expect(";", `";" after the ~ statement`);
      return { kind: "tilde", lhs, dist: dist.text, args, ...(truncation ? { truncation } : {}), loc };
    }
    if (op.kind === "op" && (op.text === "=" || op.text === "<-" || COMPOUND.has(op.text))) {
      const target = lvalue(lhs);
      if (op.text === "<-") this.warnings.push({ message: 'The assignment operator "<-" was removed from Stan; use "=".', loc: op.loc });
      this.pos++;
      const value = this.expr();
      this.expect(";", '";" after the assignment');
      return { kind: "assign", name: target.name, indices: target.indices, op: op.text === "<-" ? "=" : op.text, value, loc };
    }
    if (lhs.kind === "call") {
      this.expect(";", `";" after the call of ${lhs.name}`);
      return { kind: "call", name: lhs.name, args: lhs.args, loc };
    }
    return this.fail('"=", "~", a compound assignment ("+=", ...) or ";" after an expression statement', op);
  }

  private printable(): Expr {
    const t = this.tok;
    if (t.kind === "string") {
      this.pos++;
      return { kind: "string", value: t.text, loc: t.loc };
    }
    return this.expr();
  }

  private forStatement(): Stmt {
    const loc = this.tok.loc;
    this.pos++;
    this.expect("(", '"(" after for');
    const variable = this.ident("a loop variable").text;
    this.expect("in", '"in" after the loop variable');
    const first = this.expr();
    if (this.accept(":")) {
      const upper = this.expr();
      this.expect(")", '")" after the loop range');
      return { kind: "for", variable, lower: first, upper, body: this.statement(false), loc };
    }
    this.expect(")", '":" and an upper bound, or ")" after the container');
    return { kind: "foreach", variable, iterable: first, body: this.statement(false), loc };
  }

  // ---------------------------------------------------------------- expressions

  /** An expression; `minLevel` > 0 leaves out the looser operators (and the conditional). */
  expr(minLevel = 0): Expr {
    if (minLevel > 0) return this.binary(minLevel);
    const test = this.binary(0);
    if (this.is("?")) {
      const loc = this.tok.loc;
      this.pos++;
      const then = this.expr();
      this.expect(":", '":" in the conditional operator');
      const otherwise = this.expr();
      return { kind: "cond", test, then, else: otherwise, loc };
    }
    return test;
  }

  private binary(level: number): Expr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    const ops = BINARY_LEVELS[level]!;
    while (this.tok.kind === "op" && ops.includes(this.tok.text)) {
      const op = this.tok;
      this.pos++;
      const right = this.binary(level + 1);
      left = { kind: "binary", op: op.text, left, right, loc: left.loc };
    }
    return left;
  }

  private unary(): Expr {
    const t = this.tok;
    if (t.kind === "op" && (t.text === "-" || t.text === "!" || t.text === "+")) {
      this.pos++;
      const arg = this.unary();
      return t.text === "+" ? arg : { kind: "unary", op: t.text, arg, loc: t.loc };
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.postfix();
    if (this.tok.kind === "op" && (this.tok.text === "^" || this.tok.text === ".^")) {
      const op = this.tok;
      this.pos++;
      const exponent = this.unary();
      return { kind: "binary", op: op.text, left: base, right: exponent, loc: base.loc };
    }
    return base;
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      if (this.is("[")) {
        const loc = e.loc;
        this.pos++;
        const indices: Index[] = [this.index()];
        while (this.accept(",")) indices.push(this.index());
        this.expect("]", '"]" or "," in the index');
        e = { kind: "index", target: e, indices, loc };
      } else if (this.is("'")) {
        e = { kind: "transpose", arg: e, loc: this.tok.loc };
        this.pos++;
      } else {
        return e;
      }
    }
  }

  private index(): Index {
    if (this.is(",") || this.is("]")) return { kind: "all" };
    if (this.accept(":")) {
      if (this.is(",") || this.is("]")) return { kind: "all" };
      return { kind: "range", upper: this.expr() };
    }
    const lower = this.expr();
    if (this.accept(":")) {
      if (this.is(",") || this.is("]")) return { kind: "range", lower };
      return { kind: "range", lower, upper: this.expr() };
    }
    return { kind: "single", expr: lower };
  }

  private primary(): Expr {
    const t = this.tok;
    const loc = t.loc;
    switch (t.kind) {
      case "int":
        this.pos++;
        return { kind: "int", value: Number(t.text), loc };
      case "real":
        this.pos++;
        return { kind: "real", value: Number(t.text), loc };
      case "string":
        return this.fail("an expression (strings appear only in print, reject and fatal_error)");
      case "ident": {
        this.pos++;
        if (!this.is("(")) return { kind: "var", name: t.text, loc };
        this.pos++;
        const args: Expr[] = [];
        let conditional = false;
        if (!this.is(")")) {
          args.push(this.expr());
          if (this.accept("|")) {
            conditional = true;
            if (!this.is(")")) {
              args.push(this.expr());
              while (this.accept(",")) args.push(this.expr());
            }
          } else {
            while (this.accept(",")) args.push(this.expr());
          }
        }
        this.expect(")", `")" or "," in the arguments of ${t.text}`);
        return { kind: "call", name: t.text, args, conditional, loc };
      }
      case "op":
        if (t.text === "(") {
          this.pos++;
          const e = this.expr();
          this.expect(")", '")" to close the parenthesis');
          return e;
        }
        if (t.text === "{" || t.text === "[") {
          this.pos++;
          const close = t.text === "{" ? "}" : "]";
          const items: Expr[] = [];
          if (!this.is(close)) {
            do items.push(this.expr());
            while (this.accept(","));
          }
          this.expect(close, `"${close}" or "," in the ${t.text === "{" ? "array" : "row vector"} expression`);
          if (t.text === "{" && items.length === 0) throw new StanError("syntax", "An array expression needs at least one element.", loc);
          return t.text === "{" ? { kind: "array", items, loc } : { kind: "rowvector", items, loc };
        }
        break;
    }
    return this.fail("an expression");
  }
}

function lvalue(e: Expr): { name: string; indices: Index[] } {
  if (e.kind === "var") return { name: e.name, indices: [] };
  if (e.kind === "index") {
    const inner = lvalue(e.target);
    return { name: inner.name, indices: [...inner.indices, ...e.indices] };
  }
  throw new StanError("syntax", "The left side of an assignment must be a variable, possibly indexed.", e.loc);
}

/** Parses a whole Stan program. Throws a `StanError` (kind "syntax") at the first error. */
export function parseProgram(source: string): Program {
  return new Parser(tokenize(source)).program();
}

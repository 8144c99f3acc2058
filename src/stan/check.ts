/**
 * The static checks run before any data are seen (stanc's semantic errors, the common ones):
 * identifiers in scope, no redeclaration, assignments only to variables of the current block,
 * known functions and distributions, `target`, `~` and `_rng` only where Stan allows them, and
 * types where they are known without data (stanc's "Ill-typed arguments" errors: assignments
 * and initialisations, conditions, loop bounds, user-function arguments and returns). An
 * expression whose type this checker does not work out (most built-in calls) is not checked
 * here; sizes, and types it leaves open, are checked when the program is traced with its data.
 */
import type { Expr, FunctionDef, Index, Program, Stmt, VarDecl } from "./ast.js";
import { StanError } from "./errors.js";
import { DISTRIBUTIONS, FUNCTIONS, INFINITIES, SPECIAL_DENSITIES, splitSuffix } from "./library.js";

const isDistribution = (name: string) => Object.hasOwn(DISTRIBUTIONS, name) || (Object.hasOwn(SPECIAL_DENSITIES, name));

/** A type without sizes: a base type and its number of array dimensions. */
interface Type {
  readonly base: "int" | "real" | "vector" | "row_vector" | "matrix";
  readonly arr: number;
}
const INT_T: Type = { base: "int", arr: 0 };
const REAL_T: Type = { base: "real", arr: 0 };
const typeText = (t: Type) => `${t.arr > 0 ? `array[${",".repeat(t.arr - 1)}] ` : ""}${t.base}`;
const isScalar = (t: Type) => t.arr === 0 && (t.base === "int" || t.base === "real");
/** Whether a value of type `from` may be assigned to a variable of type `to` (int promotes to real). */
const assignable = (to: Type, from: Type) => to.arr === from.arr && (to.base === from.base || (to.base === "real" && from.base === "int"));
const typeOfDecl = (base: string, arr: number): Type | null => (base === "complex" || base === "void" ? null : { base: base as Type["base"], arr });

type Block = "data" | "transformed data" | "parameters" | "transformed parameters" | "model" | "generated quantities" | "function";

const KEYWORDS = new Set(["for", "in", "while", "repeat", "until", "if", "then", "else", "true", "false", "target", "functions", "model", "data", "parameters", "quantities", "transformed", "generated", "return", "break", "continue", "void", "int", "real", "vector", "row_vector", "matrix", "array", "print", "reject", "lower", "upper", "offset", "multiplier", "profile"]);
const ODE = /^(ode_(rk45|bdf|adams|ckrk|adjoint)(_tol)?(_ctl)?|integrate_ode(_rk45|_bdf|_adams)?)$/;

class Checker {
  readonly errors: StanError[] = [];
  private scopes: Map<string, Block>[] = [new Map()];
  private block: Block = "data";
  private loopDepth = 0;
  private readonly functions = new Map<string, FunctionDef>();
  private currentFunction: FunctionDef | null = null;
  /** The declared type of each name, per scope. */
  private readonly declaredTypes = new WeakMap<Map<string, Block>, Map<string, Type | null>>();

  constructor(private readonly program: Program) {
    for (const f of program.functions) this.functions.set(f.name, f);
  }

  run() {
    for (const f of this.program.functions) this.fn(f);
    const blocks: [Block, readonly Stmt[]][] = [
      ["data", this.program.data],
      ["transformed data", this.program.transformedData],
      ["parameters", this.program.parameters],
      ["transformed parameters", this.program.transformedParameters],
      ["model", this.program.model],
      ["generated quantities", this.program.generatedQuantities],
    ];
    for (const [b, stmts] of blocks) {
      this.block = b;
      if (b === "model") this.scopes.push(new Map());
      for (const s of stmts) this.stmt(s);
      if (b === "model") this.scopes.pop();
    }
  }

  private error(e: StanError) {
    this.errors.push(e);
  }

  private lookup(name: string): Block | undefined {
    for (let k = this.scopes.length - 1; k >= 0; k--) {
      const b = this.scopes[k]!.get(name);
      if (b) return b;
    }
    return undefined;
  }

  private lookupType(name: string): Type | null {
    for (let k = this.scopes.length - 1; k >= 0; k--) {
      const scope = this.scopes[k]!;
      if (scope.has(name)) return this.declaredTypes.get(scope)?.get(name) ?? null;
    }
    return null;
  }

  private setType(name: string, type: Type | null, scope = this.scopes[this.scopes.length - 1]!) {
    const types = this.declaredTypes.get(scope) ?? new Map<string, Type | null>();
    types.set(name, type);
    this.declaredTypes.set(scope, types);
  }

  private declare(d: { name: string; loc: VarDecl["loc"] }, block: Block, type: Type | null = null) {
    this.setType(d.name, type);
    if (KEYWORDS.has(d.name)) this.error(new StanError("type", `Identifier '${d.name}' clashes with a reserved keyword.`, d.loc));
    else if (this.lookup(d.name) !== undefined && (this.scopes.length === 1 || this.lookup(d.name) !== "function")) this.error(new StanError("type", `Identifier '${d.name}' is already in use.`, d.loc));
    else if (this.functions.has(d.name)) this.error(new StanError("type", `Identifier '${d.name}' clashes with a function of that name.`, d.loc));
    this.scopes[this.scopes.length - 1]!.set(d.name, block);
  }

  private fn(f: FunctionDef) {
    if (!f.body) return;
    this.currentFunction = f;
    this.block = "function";
    this.scopes.push(new Map());
    for (const a of f.args) {
      this.scopes[this.scopes.length - 1]!.set(a.name, "function");
      this.setType(a.name, typeOfDecl(a.type.base, a.type.arrayDims));
    }
    const saved = this.scopes;
    this.scopes = [new Map(), this.scopes[this.scopes.length - 1]!];
    this.stmt(f.body);
    this.scopes = saved;
    this.scopes.pop();
    this.currentFunction = null;
  }

  private stmt(s: Stmt) {
    switch (s.kind) {
      case "decl":
        for (const e of [...s.type.arrayDims, ...s.type.sizes]) this.expr(e);
        if (s.type.constraint.kind === "bounds") {
          if (s.type.constraint.lower) this.expr(s.type.constraint.lower);
          if (s.type.constraint.upper) this.expr(s.type.constraint.upper);
        }
        if (s.type.constraint.kind === "affine") {
          if (s.type.constraint.offset) this.expr(s.type.constraint.offset);
          if (s.type.constraint.multiplier) this.expr(s.type.constraint.multiplier);
        }
        if (s.init) this.expr(s.init);
        if (this.block === "parameters" && s.type.base === "int") this.error(new StanError("type", `(Transformed) Parameters cannot be integers: ${s.name}.`, s.loc));
        for (const e of s.type.arrayDims) this.expectInt(e, `An array size of ${s.name}`);
        for (const e of s.type.sizes) this.expectInt(e, `A size of ${s.name}`);
        {
          const declared = typeOfDecl(s.type.base, s.type.arrayDims.length);
          if (s.init) this.checkAssign(declared, this.typeOf(s.init), "=", s.init.loc);
          this.declare(s, this.block, declared);
        }
        return;
      case "assign": {
        const b = this.lookup(s.name);
        if (b === undefined) this.error(new StanError("type", `Identifier '${s.name}' not in scope.`, s.loc));
        else if (b !== this.block && !(this.block === "function" && this.scopes.length > 1)) {
          this.error(new StanError("type", `Cannot assign to global variable '${s.name}' declared in previous blocks.`, s.loc));
        }
        for (const ix of s.indices) this.index(ix);
        this.expr(s.value);
        const target = this.lookupType(s.name);
        this.checkAssign(target && this.indexed(target, s.indices), this.typeOf(s.value), s.op, s.value.loc);
        return;
      }
      case "tilde":
        if (this.block !== "model" && !(this.block === "function" && this.currentFunction?.name.endsWith("_lp"))) {
          this.error(new StanError("type", "Target can only be accessed in the model block or in definitions of functions with the suffix _lp.", s.loc));
        }
        this.expr(s.lhs);
        s.args.forEach((a) => this.expr(a));
        if (!isDistribution(s.dist) && !["_lpdf", "_lpmf", "_log"].some((x) => this.functions.has(s.dist + x))) {
          this.error(new StanError("unsupported", `Distribution ${s.dist} is not supported by this front end (or not a distribution).`, s.loc));
        }
        if (s.truncation?.lower) this.expr(s.truncation.lower);
        if (s.truncation?.upper) this.expr(s.truncation.upper);
        return;
      case "target":
        if (this.block !== "model" && !(this.block === "function" && this.currentFunction?.name.endsWith("_lp"))) {
          this.error(new StanError("type", "Target can only be accessed in the model block or in definitions of functions with the suffix _lp.", s.loc));
        }
        this.expr(s.value);
        return;
      case "for":
        this.expr(s.lower);
        this.expr(s.upper);
        this.expectInt(s.lower, "The lower bound of a for loop");
        this.expectInt(s.upper, "The upper bound of a for loop");
        this.loop(s.variable, s.loc, s.body, INT_T);
        return;
      case "foreach": {
        this.expr(s.iterable);
        const t = this.typeOf(s.iterable);
        const element: Type | null = t === null ? null : t.arr > 0 ? { base: t.base, arr: t.arr - 1 } : t.base === "int" || t.base === "real" ? null : REAL_T;
        this.loop(s.variable, s.loc, s.body, element);
        return;
      }
      case "while":
        this.expectCondition(s.test, "while");
        this.loopDepth++;
        this.scoped(() => this.stmt(s.body));
        this.loopDepth--;
        return;
      case "if":
        this.expectCondition(s.test, "if");
        this.scoped(() => this.stmt(s.then));
        if (s.else) this.scoped(() => this.stmt(s.else!));
        return;
      case "block":
        this.scoped(() => s.body.forEach((x) => this.stmt(x)));
        return;
      case "break":
      case "continue":
        if (this.loopDepth === 0) this.error(new StanError("type", `${s.kind} statements may only be used in loops.`, s.loc));
        return;
      case "return":
        if (!this.currentFunction) this.error(new StanError("type", "Expression return statements may only be used inside function definitions.", s.loc));
        if (s.value) {
          this.expr(s.value);
          const f = this.currentFunction;
          const declared = f && typeOfDecl(f.returnType.base, f.returnType.arrayDims);
          const found = this.typeOf(s.value);
          if (f && f.returnType.base === "void") this.error(new StanError("type", `Function '${f.name}' is declared void and cannot return a value.`, s.loc));
          else if (declared && found && !assignable(declared, found)) {
            this.error(new StanError("type", `Function '${f!.name}' must return ${typeText(declared)}; this returns ${typeText(found)}.`, s.value.loc));
          }
        }
        return;
      case "print":
      case "reject":
      case "fatal_error":
        s.args.forEach((a) => a.kind !== "string" && this.expr(a));
        return;
      case "call":
        this.call(s.name, s.args, s.loc);
        return;
      case "empty":
        return;
    }
  }

  private loop(variable: string, loc: Stmt["loc"], body: Stmt, type: Type | null) {
    this.loopDepth++;
    this.scoped(() => {
      this.declare({ name: variable, loc }, this.block, type);
      this.stmt(body);
    });
    this.loopDepth--;
  }

  private scoped(f: () => void) {
    this.scopes.push(new Map());
    f();
    this.scopes.pop();
  }

  private index(ix: import("./ast.js").Index) {
    if (ix.kind === "single") this.expr(ix.expr);
    if (ix.kind === "range") {
      if (ix.lower) this.expr(ix.lower);
      if (ix.upper) this.expr(ix.upper);
    }
  }

  private call(name: string, args: readonly Expr[], loc: Stmt["loc"]) {
    args.forEach((a) => this.expr(a));
    if (this.functions.has(name)) {
      const f = this.functions.get(name)!;
      if (f.args.length !== args.length) this.error(new StanError("type", `Function '${name}' takes ${f.args.length} argument(s) but was called with ${args.length}.`, loc));
      else {
        f.args.forEach((a, k) => {
          const declared = typeOfDecl(a.type.base, a.type.arrayDims);
          const found = this.typeOf(args[k]!);
          if (declared && found && !assignable(declared, found)) {
            this.error(new StanError("type", `Ill-typed arguments supplied to function '${name}': argument ${k + 1} (${a.name}) must be ${typeText(declared)}, but ${typeText(found)} was supplied.`, args[k]!.loc));
          }
        });
      }
      if (name.endsWith("_rng") && this.block !== "generated quantities" && this.block !== "transformed data" && this.block !== "function") {
        this.error(new StanError("type", "Random number generators are only allowed in the transformed data block, the generated quantities block or in user-defined functions with names ending in _rng.", loc));
      }
      return;
    }
    if (name === "target" || name === "get_lp") return;
    if (ODE.test(name)) return;
    if (Object.hasOwn(INFINITIES, name) || Object.hasOwn(FUNCTIONS, name)) return;
    const split = splitSuffix(name);
    if (split && !(split.suffix === "rng" && !Object.hasOwn(DISTRIBUTIONS, split.family)) && (isDistribution(split.family) || this.functions.has(`${split.family}_lpdf`) || this.functions.has(`${split.family}_lpmf`))) {
      if (split.suffix === "rng" && this.block !== "generated quantities" && this.block !== "transformed data" && !(this.block === "function" && this.currentFunction?.name.endsWith("_rng"))) {
        this.error(new StanError("type", "Random number generators are only allowed in the transformed data block, the generated quantities block or in user-defined functions with names ending in _rng.", loc));
      }
      return;
    }
    this.error(new StanError("unsupported", `A returning function was expected but an undeclared identifier '${name}' was supplied (or a Stan function this front end does not support).`, loc));
  }

  private checkAssign(target: Type | null, value: Type | null, op: string, loc: Stmt["loc"]) {
    if (!target || !value) return;
    const ok = op === "=" ? assignable(target, value) : target.arr === 0 && value.arr === 0 && !(target.base === "int" && value.base !== "int") && (isScalar(value) || target.base === value.base || op === "*=");
    if (!ok) {
      this.error(new StanError("type", `Ill-typed arguments supplied to assignment operator ${op}: lhs has type ${typeText(target)} and rhs has type ${typeText(value)}.`, loc));
    }
  }

  private expectInt(e: Expr, what: string) {
    const t = this.typeOf(e);
    if (t && !(t.arr === 0 && t.base === "int")) this.error(new StanError("type", `${what} must be of type int; found ${typeText(t)}.`, e.loc));
  }

  private expectCondition(e: Expr, statement: string) {
    this.expr(e);
    const t = this.typeOf(e);
    if (t && !isScalar(t)) this.error(new StanError("type", `Condition in ${statement} statement must be a primitive int or real; found type ${typeText(t)}.`, e.loc));
  }

  /** The type of `target[indices]`, or null when the indexing does not fit (left to tracing). */
  private indexed(target: Type, indices: readonly Index[]): Type | null {
    let arr = target.arr;
    let base: Type["base"] = target.base;
    const multi = (ix: Index) => ix.kind !== "single" || (this.typeOf(ix.expr)?.arr ?? 0) > 0;
    const rest = indices.slice(Math.min(indices.length, target.arr));
    arr -= indices.slice(0, target.arr).filter((ix) => !multi(ix)).length;
    if (rest.length === 0) return { base, arr };
    if ((base === "vector" || base === "row_vector") && rest.length === 1) return multi(rest[0]!) ? { base, arr } : { base: "real", arr };
    if (base === "matrix" && rest.length <= 2) {
      const [row, col] = rest.map(multi) as [boolean, boolean | undefined];
      if (col === undefined) base = row ? "matrix" : "row_vector";
      else base = row ? (col ? "matrix" : "vector") : col ? "row_vector" : "real";
      return { base, arr };
    }
    return null;
  }

  /** The type of an expression where it is known without data, else null. */
  private typeOf(e: Expr): Type | null {
    switch (e.kind) {
      case "int":
        return INT_T;
      case "real":
        return REAL_T;
      case "var":
        return this.lookupType(e.name);
      case "unary": {
        const t = this.typeOf(e.arg);
        return e.op === "!" ? (t && isScalar(t) ? INT_T : null) : t;
      }
      case "transpose": {
        const t = this.typeOf(e.arg);
        if (!t || t.arr > 0) return null;
        return t.base === "vector" ? { base: "row_vector", arr: 0 } : t.base === "row_vector" ? { base: "vector", arr: 0 } : t.base === "matrix" ? t : null;
      }
      case "cond": {
        const [a, b] = [this.typeOf(e.then), this.typeOf(e.else)];
        if (!a || !b) return null;
        return assignable(a, b) ? a : assignable(b, a) ? b : null;
      }
      case "index": {
        const t = this.typeOf(e.target);
        return t && this.indexed(t, e.indices);
      }
      case "binary":
        return this.binaryType(e.op, this.typeOf(e.left), this.typeOf(e.right));
      case "call": {
        const f = this.functions.get(e.name);
        if (f) return typeOfDecl(f.returnType.base, f.returnType.arrayDims);
        const split = splitSuffix(e.name);
        if (split && split.suffix !== "rng" && split.suffix !== "cdf") return REAL_T;
        return null;
      }
      case "array": {
        const items = e.items.map((i) => this.typeOf(i));
        if (items.some((t) => t === null) || items.length === 0) return null;
        const first = items.find((t) => t!.base !== "int") ?? items[0]!;
        return items.every((t) => assignable(first!, t!)) ? { base: first!.base, arr: first!.arr + 1 } : null;
      }
      case "rowvector": {
        const items = e.items.map((i) => this.typeOf(i));
        if (items.every((t) => t !== null && isScalar(t))) return { base: "row_vector", arr: 0 };
        if (items.every((t) => t !== null && t.arr === 0 && t.base === "row_vector")) return { base: "matrix", arr: 0 };
        return null;
      }
      default:
        return null;
    }
  }

  private binaryType(op: string, a: Type | null, b: Type | null): Type | null {
    if (["<", "<=", ">", ">=", "==", "!=", "&&", "||"].includes(op)) return a && b && isScalar(a) && isScalar(b) ? INT_T : null;
    if (!a || !b || a.arr > 0 || b.arr > 0) return null;
    if (isScalar(a) && isScalar(b)) {
      if (op === "^") return REAL_T;
      if (op === "%/%" || op === "%") return INT_T;
      return a.base === "int" && b.base === "int" ? INT_T : REAL_T;
    }
    if (op === "+" || op === "-" || op === ".*" || op === "./") {
      if (isScalar(a)) return b;
      if (isScalar(b)) return a;
      return a.base === b.base ? a : null;
    }
    if (op === "*") {
      if (isScalar(a)) return b;
      if (isScalar(b)) return a;
      const product: Record<string, Type["base"]> = {
        "row_vector vector": "real",
        "vector row_vector": "matrix",
        "matrix vector": "vector",
        "row_vector matrix": "row_vector",
        "matrix matrix": "matrix",
      };
      const base = product[`${a.base} ${b.base}`];
      return base ? { base, arr: 0 } : null;
    }
    if (op === "/" && isScalar(b)) return a;
    return null;
  }

  private expr(e: Expr): void {
    switch (e.kind) {
      case "var":
        if (this.lookup(e.name) === undefined && !this.functions.has(e.name)) this.error(new StanError("type", `Identifier '${e.name}' not in scope.`, e.loc));
        return;
      case "binary":
        this.expr(e.left);
        this.expr(e.right);
        return;
      case "unary":
      case "transpose":
        this.expr(e.arg);
        return;
      case "cond":
        this.expr(e.test);
        this.expr(e.then);
        this.expr(e.else);
        return;
      case "call":
        this.call(e.name, e.args, e.loc);
        return;
      case "index":
        this.expr(e.target);
        e.indices.forEach((ix) => this.index(ix));
        return;
      case "array":
      case "rowvector":
        e.items.forEach((i) => this.expr(i));
        return;
      default:
        return;
    }
  }
}

/** The static errors of a parsed program (empty when it passes). */
export function checkProgram(program: Program): StanError[] {
  const c = new Checker(program);
  c.run();
  return c.errors;
}

/**
 * The static checks run before any data are seen (stanc's semantic errors, the common ones):
 * identifiers in scope, no redeclaration, assignments only to variables of the current block,
 * known functions and distributions, `target`, `~` and `_rng` only where Stan allows them.
 * Types and sizes are checked when the program is traced with its data.
 */
import type { Expr, FunctionDef, Program, Stmt, VarDecl } from "./ast.js";
import { StanError } from "./errors.js";
import { DISTRIBUTIONS, FUNCTIONS, INFINITIES, SPECIAL_DENSITIES, splitSuffix } from "./library.js";

const isDistribution = (name: string) => Object.hasOwn(DISTRIBUTIONS, name) || (Object.hasOwn(SPECIAL_DENSITIES, name));

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

  private declare(d: { name: string; loc: VarDecl["loc"] }, block: Block) {
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
    for (const a of f.args) this.scopes[this.scopes.length - 1]!.set(a.name, "function");
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
        this.declare(s, this.block);
        return;
      case "assign": {
        const b = this.lookup(s.name);
        if (b === undefined) this.error(new StanError("type", `Identifier '${s.name}' not in scope.`, s.loc));
        else if (b !== this.block && !(this.block === "function" && this.scopes.length > 1)) {
          this.error(new StanError("type", `Cannot assign to global variable '${s.name}' declared in previous blocks.`, s.loc));
        }
        for (const ix of s.indices) this.index(ix);
        this.expr(s.value);
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
        this.loop(s.variable, s.loc, s.body);
        return;
      case "foreach":
        this.expr(s.iterable);
        this.loop(s.variable, s.loc, s.body);
        return;
      case "while":
        this.expr(s.test);
        this.loopDepth++;
        this.scoped(() => this.stmt(s.body));
        this.loopDepth--;
        return;
      case "if":
        this.expr(s.test);
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
        if (s.value) this.expr(s.value);
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

  private loop(variable: string, loc: Stmt["loc"], body: Stmt) {
    this.loopDepth++;
    this.scoped(() => {
      this.declare({ name: variable, loc }, this.block);
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

/**
 * The tracing interpreter (DECISIONS.md D117): runs a Stan program's blocks once, when the
 * model is built, with the data as constants and the parameters as IR expressions. Loops over
 * data run here, conditions on data are settled here, and what remains is the IR expression of
 * the log density (and of transformed parameters and generated quantities) that the compiler
 * turns into one fused function with its gradient.
 */
import { add, concat, constant, dist, Expr, logSumExp, ModelBuilder, mul, ode, reshape, sum, type Distribution, type Model, type ModelOptions, type ParamOptions } from "../model/index.js";
import { elementwise, findNode } from "../model/expr.js";
import { ModelError } from "../model/errors.js";
import { logpdfWithoutConstantTerms, withoutConstantAddends, withoutConstantTerms } from "../model/propto.js";
import type { Shape } from "../model/shape.js";
import type { Expr as Ast, FunctionDef, Index, Program, SizedType, Stmt, VarDecl } from "./ast.js";
import { StanError, type Location } from "./errors.js";
import { binaryOp, DISTRIBUTIONS, ELEMENTWISE_FUNCTIONS, FUNCTIONS, INFINITIES, SPECIAL_DENSITIES, splitSuffix, transpose, unaryOp } from "./library.js";
import { baseRank, INT, intVal, numberOf, observeWrites, REAL, resolvedLayout, typeName, Var, type ResolvedIndex, type SType, type Val, type WriteObserver } from "./values.js";
import { CARRY_READ_DIFFERENTLY, foldAccesses, READS_FURTHER_BACK, StepMatcher } from "./reroll.js";
import { dependsOn } from "../model/scan.js";

type BlockKind = "data" | "transformed data" | "parameters" | "transformed parameters" | "model" | "generated quantities" | "function";

class BreakSignal {}
/** Thrown when a loop traced for a scan does something a scan cannot hold (a draw); the loop is then unrolled. */
class ScanAbort {
  constructor(readonly reason: string) {}
}

/** Why a vectorised or scan attempt gave up, for the debug messages. */
function abortReason(e: unknown): string {
  if (e instanceof BatchAbort || e instanceof ScanAbort) return e.reason;
  if (e instanceof StanError) return e.detail;
  if (e instanceof Error) return e.message;
  return e instanceof BreakSignal ? "it may break" : e instanceof ContinueSignal ? "it may continue" : "it may return";
}
/**
 * Why tracing a loop's steps for a scan stopped, for the errors that only end the attempt (the
 * loop then unrolls); any other error is rethrown.
 */
function scanFailure(e: unknown): string {
  if (e instanceof ScanAbort || e instanceof StanError || e instanceof ModelError || e instanceof ReturnSignal) return abortReason(e);
  throw e;
}
/** Thrown when a loop cannot run vectorised; the loop then runs iteration by iteration. */
class BatchAbort {
  constructor(readonly reason: string) {}
}

/**
 * A scalar local of a vectorised loop body: one value per iteration (an expression of shape
 * [lanes]) or one value for all (shape []).
 */
class LaneVar extends Var {
  private value: Expr | null = null;
  override read(): Expr {
    if (!this.value) throw new BatchAbort(`${this.name} read before it is set`);
    return this.value;
  }
  override readAt(): Expr {
    throw new BatchAbort("indexing a scalar");
  }
  override write(e: Expr): void {
    this.assigned = true;
    this.value = e;
  }
  override writeAt(): void {
    throw new BatchAbort("indexing a scalar");
  }
}

/**
 * A local one-dimensional array or vector of scalars in a vectorised loop body (D238): each
 * element one value per iteration, written and read by single indexes known from the data, and
 * read whole only by the reductions in `LANE_REDUCTIONS`. Anything else ends the vectorised attempt.
 */
class LaneArrayVar extends Var {
  private readonly elements: (Expr | undefined)[];
  constructor(name: string, t: SType, shape: Shape) {
    super(name, t, shape);
    this.elements = new Array<Expr | undefined>(shape[0]!);
  }
  /** The type of one element. */
  get elementType(): SType {
    return this.t.base === "int" ? INT : REAL;
  }
  /** Element `k` (0-based): one value per iteration. */
  element(k: number): Expr {
    const e = this.elements[k];
    if (!e) throw new BatchAbort(`${this.name}[${k + 1}] read before it is set`);
    return e;
  }
  /** Sets element `k` (0-based) to `e`, one value per iteration. */
  setElement(k: number, e: Expr): void {
    this.assigned = true;
    this.elements[k] = e;
  }
  /** Every element, one row each (shape [size, lanes]). */
  rows(): Expr {
    return stackIr(Array.from({ length: this.elements.length }, (_, k) => this.element(k)));
  }
  override read(): Expr {
    throw new BatchAbort(`the local container ${this.name} read whole`);
  }
  override readAt(): Expr {
    throw new BatchAbort(`the local container ${this.name} read in slices`);
  }
  override write(): void {
    throw new BatchAbort(`the local container ${this.name} written whole`);
  }
  override writeAt(): void {
    throw new BatchAbort(`the local container ${this.name} written in slices`);
  }
  override snapshot(): unknown {
    throw new BatchAbort(`the local container ${this.name} assigned under a condition`);
  }
}

/** Reductions of a local container per iteration (`LaneArrayVar`), from its rows ([size, lanes]) to one value per iteration. */
const LANE_REDUCTIONS: Readonly<Record<string, (rows: Expr) => Expr>> = {
  // The same arithmetic per iteration as log_sum_exp of that iteration's container (linalg's logSumExp).
  log_sum_exp: (rows) => (rows.shape[0] === 1 ? reshape(rows, [rows.shape[1]!]) : logSumExp(rows, 0)),
};

/** The state of a loop body running vectorised: one lane per iteration. */
interface Batch {
  readonly lanes: number;
  /** Element writes to variables declared outside the loop, applied when the body has run. */
  readonly overlay: Map<Var, { positions: Int32Array; e: Expr }>;
  /** Variables declared outside the loop that the body read (a later write would be a loop-carried dependency). */
  readonly read: Set<Var>;
}
class ContinueSignal {}
class ReturnSignal {
  constructor(readonly value: Val | undefined) {}
}

/** Lexical scopes: a chain of maps from names to variables. */
class Scope {
  private readonly vars = new Map<string, { v: Var; block: BlockKind }>();
  constructor(readonly parent: Scope | null) {}
  lookup(name: string): { v: Var; block: BlockKind } | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }
  root(): Scope {
    return this.parent ? this.parent.root() : this;
  }
  has(name: string): boolean {
    return this.vars.has(name);
  }
  define(name: string, v: Var, block: BlockKind) {
    this.vars.set(name, { v, block });
  }
}

/** Stan's limit on loops whose end depends on the program (while): past it, an error rather than a hang. */
const MAX_ITERATIONS = 10_000_000;
/** Stan's constrained types and the builder constraint (with Stan's transform) each is. */
const BUILDER_CONSTRAINTS = {
  simplex: "simplex",
  unit_vector: "unitVector",
  ordered: "ordered",
  positive_ordered: "positiveOrdered",
  cholesky_factor_corr: "choleskyFactorCorr",
  cholesky_factor_cov: "choleskyFactorCov",
  corr_matrix: "corrMatrix",
  cov_matrix: "covMatrix",
} as const satisfies Record<string, NonNullable<ParamOptions["constraint"]>>;
const MAX_CALL_DEPTH = 1000;
/** Loops with fewer steps after the first iteration are unrolled rather than lowered to a scan. */
const MIN_SCAN_STEPS = 3;
/** Elements a loop lowered to a scan carrying its whole series may write (D221): each step costs O(this). */
const MAX_SERIES_WIDTH = 4096;
/** Elements a loop whose iterations read nothing earlier ones wrote may carry as a series (D221): beyond, it unrolls. */
const MAX_INDEPENDENT_SERIES = 64;
/** Elements written per iteration past which a loop is not lowered to a scan carrying its series (D221). */
const MAX_SERIES_WRITES = 4;
/** A variable an iteration writes whole or in long slices: a step-to-step scan cannot carry it. */
const WRITTEN_WHOLE = "is written as a whole or in slices of more than four elements";
/** Iterations whose carried values differ in number. */
const DIFFERENT_CARRY_COUNTS = "iterations pass on different numbers of values";
/** Why a step-to-step scan failed where a scan carrying every element the loop writes may not (D221). */
const SERIES_REASONS = [READS_FURTHER_BACK, WRITTEN_WHOLE, CARRY_READ_DIFFERENTLY, DIFFERENT_CARRY_COUNTS];
/** Structures among the steps of a loop that only adds to the target, each its own scan (D211). */
const MAX_STEP_CLASSES = 8;
/**
 * Iterations unrolled in all (outside loops traced for a scan) past which a program is refused as
 * too large (D183): iohmm_reg, the most among posteriordb's programs that compile, unrolls 3,532;
 * covid19imperial (73,260) makes code too large for V8's stack (gpcm_latent_reg_irt's 13,014
 * did, before its loop became a scan per structure, D211).
 */
const MAX_UNROLLED_ITERATIONS = 10_000;
/**
 * Operations (non-constant nodes) past which a log density, or the generated quantities, is
 * refused as too large before any code is generated (D183): normal_mixture_k's 17,041 compile and
 * run; covid19imperial's 37,736 make code (16 MB) that overflows V8's stack on its first call.
 */
const MAX_OPERATIONS = 25_000;
const ODE_FUNCTIONS = /^(ode_(rk45|bdf|adams|ckrk|adjoint)(_tol)?(_ctl)?|integrate_ode(_rk45|_bdf|_adams)?)$/;

export interface TraceOptions {
  readonly name: string;
  readonly modelOptions?: ModelOptions;
  /** Called with how each loop compiles: as vectors, as a scan, or unrolled and why. */
  readonly onDebug?: (message: string) => void;
}

/** Stan data as given: numbers and nested arrays of numbers. */
export type StanDataInput = Record<string, unknown>;

export class Interpreter {
  private readonly globals = new Scope(null);
  private readonly functions = new Map<string, FunctionDef>();
  private readonly builder: ModelBuilder;
  private block: BlockKind = "data";
  private targetTerms: Expr[] = [];
  private readonly observedNames = new Set<string>();
  private readonly dataValues = new Map<string, { v: Var; integer: boolean }>();
  private rngCount = 0;
  private depth = 0;
  readonly warnings: string[] = [];

  constructor(private readonly program: Program, private readonly options: TraceOptions) {
    this.builder = new ModelBuilder(options.modelOptions ?? { noncentered: false });
    for (const f of program.functions) {
      if (f.body || !this.functions.has(f.name)) this.functions.set(f.name, f);
    }
  }

  /** Runs every block and returns the model. */
  run(data: StanDataInput): Model {
    this.block = "data";
    for (const d of this.program.data) this.readData(d, data);
    const extra = Object.keys(data).filter((k) => !this.program.data.some((d) => d.name === k));
    if (extra.length > 0) this.warnings.push(`data given but not declared in the data block (ignored): ${extra.join(", ")}`);
    this.block = "transformed data";
    const tdDecls = this.runTopLevel(this.program.transformedData);
    for (const d of tdDecls) this.checkDeclaredBounds(d);
    this.block = "parameters";
    for (const p of this.program.parameters) this.declareParameter(p);
    this.block = "transformed parameters";
    const tp = this.runTopLevel(this.program.transformedParameters);
    for (const d of tp) {
      const v = this.globals.lookup(d.name)!.v;
      this.builder.deterministic(d.name, v.read());
    }
    this.block = "model";
    this.execBlock(this.program.model, new Scope(this.globals));
    const operations = countOperations([...this.targetTerms, ...tp.map((d) => this.globals.lookup(d.name)!.v.read())], MAX_OPERATIONS);
    if (operations > MAX_OPERATIONS) {
      throw new ModelError(
        "too-large",
        `${this.options.name}: its log density and transformed parameters take more than ${MAX_OPERATIONS} operations once traced; the code would be too large for JavaScript's stack (onDebug says how each loop was traced)`,
      );
    }
    // `target +=` keeps its constants in lp__, as Stan's does; `~` statements' terms have none
    // left (withoutConstantTerms), so lp__ is Stan's to the digit where densities split alike.
    const term = balancedSum(this.targetTerms);
    if (term) this.builder.potential("target", term, { keepConstants: true });
    this.block = "generated quantities";
    this.generatedQuantities();
    for (const [name, { v, integer }] of this.dataValues) {
      if (!this.observedNames.has(name) && v.size > 0) this.builder.data(name, v.read().constValues, { shape: v.shape, integer });
    }
    return this.builder.build(this.options.name);
  }

  private generatedQuantities() {
    const gq = this.program.generatedQuantities;
    if (gq.length === 0) return;
    const marks: Expr[] = [];
    this.rngMarks = marks;
    let decls: VarDecl[];
    try {
      decls = this.runTopLevel(gq);
    } catch (e) {
      if (e instanceof StanError) {
        this.warnings.push(`generated quantities are not computed: ${e.detail} (line ${e.line})`);
        return;
      }
      if (e instanceof ModelError && e.code === "too-large") {
        this.warnings.push(`generated quantities are not computed: ${e.message}`);
        return;
      }
      throw e;
    }
    const values = decls.map((d) => this.globals.lookup(d.name)!.v.read());
    if (countOperations(values, MAX_OPERATIONS) > MAX_OPERATIONS) {
      this.warnings.push(`generated quantities are not computed: they take more than ${MAX_OPERATIONS} operations once traced, too large for JavaScript's stack`);
      return;
    }
    const placeholders = new Set(marks);
    for (const d of decls) {
      const v = this.globals.lookup(d.name)!.v;
      const e = v.read();
      const random = findNode([e], (x) => placeholders.has(x)) !== undefined;
      if (this.namedDraws.has(d.name)) {
        if (!(e.node.kind === "placeholder")) this.warnings.push(`generated quantity ${d.name} is reported as drawn, before the statements that change it later`);
        continue;
      }
      if (random) this.builder.generated(d.name, e);
      else this.builder.deterministic(d.name, e);
    }
  }
  private rngMarks: Expr[] | null = null;
  /** The generated-quantity name for the next `_rng` draw (a declaration initialised by one draw). */
  private rngName: { name: string; node: Ast } | null = null;
  /** Generated quantities registered as draws under their own names. */
  private readonly namedDraws = new Set<string>();

  // ---------------------------------------------------------------- data

  private shapeOf(type: SizedType, scope: Scope): Shape {
    const dims = [...type.arrayDims, ...type.sizes].map((s) => {
      const n = numberOf(this.eval(s, scope), "A size", s.loc);
      if (!Number.isInteger(n) || n < 0) throw new StanError("runtime", `A size must be a non-negative integer, got ${n}.`, s.loc);
      return n;
    });
    return dims;
  }

  private stypeOf(type: SizedType): SType {
    return { base: type.base === "complex" ? this.unsupported("complex numbers", type.loc) : type.base, arr: type.arrayDims.length };
  }

  private unsupported(what: string, loc?: Location): never {
    throw new StanError("unsupported", `${what} ${what.endsWith("s") ? "are" : "is"} not supported by this front end.`, loc);
  }

  private readData(d: VarDecl, data: StanDataInput) {
    const shape = this.shapeOf(d.type, this.globals);
    const t = this.stypeOf(d.type);
    const raw = data[d.name];
    if (raw === undefined) {
      throw new StanError("data", `variable does not exist; processing stage=data initialization; variable name=${d.name}; base type=${d.type.base}`, d.loc);
    }
    const values = flattenData(raw, shape, d.name, d.loc);
    if (t.base === "int") {
      values.forEach((x, i) => {
        if (!Number.isInteger(x)) throw new StanError("data", `int variable contained non-int values; processing stage=data initialization; variable name=${d.name}${shape.length ? `[${i + 1}]` : ""}; value ${x}`, d.loc);
      });
    }
    values.forEach((x, i) => {
      if (!Number.isFinite(x) && !(t.base !== "int" && d.type.constraint.kind === "none")) {
        throw new StanError("data", `${d.name}${shape.length ? `[${i + 1}]` : ""} is ${x}, but the front end needs finite data here.`, d.loc);
      }
    });
    const v = new Var(d.name, t, shape, true);
    v.write(constant(values.map((x) => (Number.isFinite(x) ? x : 0)), shape, d.name, t.base === "int"));
    if (values.some((x) => !Number.isFinite(x))) throw new StanError("data", `${d.name} has non-finite values (NaN or infinity); the front end needs finite data.`, d.loc);
    this.globals.define(d.name, v, "data");
    this.dataValues.set(d.name, { v, integer: t.base === "int" });
    this.checkDeclaredBounds(d);
  }

  /** Stan's check of a declared constraint at the end of a block, with its message. */
  private checkDeclaredBounds(d: VarDecl) {
    const c = d.type.constraint;
    const v = this.globals.lookup(d.name)!.v;
    if (!v.isConst) return;
    const values = v.read().constValues;
    if (c.kind === "bounds") {
      for (const [which, bound] of [["lower", c.lower], ["upper", c.upper]] as const) {
        if (!bound) continue;
        const b = this.eval(bound, this.globals);
        if (!b.e.isConst) continue;
        const bv = b.e.constValues;
        values.forEach((x, i) => {
          const lim = bv[bv.length === 1 ? 0 : i]!;
          const ok = which === "lower" ? x >= lim : x <= lim;
          if (!ok) {
            const at = values.length > 1 ? `[${i + 1}]` : "";
            throw new StanError("data", `${this.options.name}: ${d.name}${at} is ${x}, but must be ${which === "lower" ? "greater" : "less"} than or equal to ${lim}`, d.loc);
          }
        });
      }
    } else if (c.kind === "simplex") {
      const s = values.reduce((a, b) => a + b, 0);
      if (Math.abs(s - 1) > 1e-8 || values.some((x) => x < 0)) throw new StanError("data", `${this.options.name}: ${d.name} is not a valid simplex. sum(${d.name}) = ${s}, but should be 1`, d.loc);
    } else if (c.kind === "ordered" || c.kind === "positive_ordered") {
      for (let i = 1; i < values.length; i++) {
        if (!(values[i]! > values[i - 1]!)) throw new StanError("data", `${this.options.name}: ${d.name} is not a valid ordered vector. The element at ${i + 1} is ${values[i]}, but should be greater than the previous element, ${values[i - 1]}`, d.loc);
      }
    }
  }

  // ---------------------------------------------------------------- parameters

  private declareParameter(d: VarDecl) {
    const t = this.stypeOf(d.type);
    if (t.base === "int") throw new StanError("type", `Parameter ${d.name} is an int; parameters must be real (vector, matrix, ...).`, d.loc);
    const shape = this.shapeOf(d.type, this.globals);
    const c = d.type.constraint;
    const opts: { -readonly [K in keyof ParamOptions]: ParamOptions[K] } = { shape, noncentered: false };
    switch (c.kind) {
      case "none":
        break;
      case "bounds":
        if (c.lower) opts.lower = this.eval(c.lower, this.globals).e;
        if (c.upper) opts.upper = this.eval(c.upper, this.globals).e;
        break;
      case "affine":
        if (c.offset) opts.offset = this.eval(c.offset, this.globals).e;
        if (c.multiplier) opts.multiplier = this.eval(c.multiplier, this.globals).e;
        break;
      case "sum_to_zero_vector":
        this.unsupported("sum_to_zero_vector parameters", d.loc);
        break;
      default:
        opts.constraint = BUILDER_CONSTRAINTS[c.kind];
    }
    // Stan reads a matrix parameter's unconstrained coordinates in column-major order.
    if (t.base === "matrix" && (c.kind === "none" || c.kind === "bounds" || c.kind === "affine")) opts.order = "columnMajor";
    const value = this.wrap(() => this.builder.param(d.name, opts), d.loc);
    const v = new Var(d.name, t, shape, true);
    v.write(value);
    this.globals.define(d.name, v, "parameters");
  }

  // ---------------------------------------------------------------- statements

  /** Runs a block's statements in the global scope; returns its top-level declarations. */
  private runTopLevel(stmts: readonly Stmt[]): VarDecl[] {
    const decls: VarDecl[] = [];
    for (const s of stmts) {
      if (s.kind === "decl") decls.push(s);
      this.execControlled(s, this.globals);
    }
    return decls;
  }

  private execControlled(s: Stmt, scope: Scope) {
    try {
      this.exec(s, scope);
    } catch (e) {
      if (e instanceof BreakSignal || e instanceof ContinueSignal) throw new StanError("syntax", "break and continue are allowed only inside loops.", s.loc);
      if (e instanceof ReturnSignal) throw new StanError("syntax", "return is allowed only inside functions.", s.loc);
      throw e;
    }
  }

  private execBlock(stmts: readonly Stmt[], scope: Scope) {
    for (const s of stmts) this.exec(s, scope);
  }

  /** Runs `f`, turning a builder error into a StanError at `loc`. */
  private wrap<T>(f: () => T, loc: Location): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof ModelError) throw new StanError("runtime", e.message, loc);
      throw e;
    }
  }

  private exec(s: Stmt, scope: Scope): void {
    switch (s.kind) {
      case "decl": {
        const inBlocks = scope.root() === this.globals;
        if (scope.has(s.name) || (inBlocks && (this.globals.lookup(s.name)?.block === "data" || (this.globals.lookup(s.name) && scope === this.globals)))) {
          throw new StanError("type", `Identifier '${s.name}' is already in use.`, s.loc);
        }
        const t = this.stypeOf(s.type);
        const shape = this.shapeOf(s.type, scope);
        const laneArray = this.batch !== null && shape.length === 1 && ((t.arr === 1 && (t.base === "real" || t.base === "int")) || (t.arr === 0 && (t.base === "vector" || t.base === "row_vector")));
        if (this.batch && shape.length > 0 && (!laneArray || s.init)) throw new BatchAbort(`a local container ${s.name}`);
        const v = laneArray ? new LaneArrayVar(s.name, t, shape) : this.batch ? new LaneVar(s.name, t, []) : new Var(s.name, t, shape);
        scope.define(s.name, v, this.block);
        // `array[N] real y_rep = normal_rng(...)` at the top of generated quantities: the draw is named y_rep.
        if (s.init && this.block === "generated quantities" && scope === this.globals && s.init.kind === "call" && s.init.name.endsWith("_rng")) this.rngName = { name: s.name, node: s.init };
        try {
          if (s.init) this.assignWhole(v, this.eval(s.init, scope), s.loc);
        } finally {
          this.rngName = null;
        }
        return;
      }
      case "assign":
        return this.assign(s, scope);
      case "tilde":
        return this.tilde(s, scope);
      case "target": {
        if (this.block !== "model" && this.block !== "function") throw new StanError("type", "Target can only be accessed in the model block or in definitions of functions with the suffix _lp.", s.loc);
        const v = this.eval(s.value, scope);
        // In a vectorised loop a value the same for every iteration counts once per iteration.
        const times = this.batch && !this.isBatched(v) ? this.batch.lanes : 1;
        this.targetTerms.push(this.wrap(() => mul(sum(v.e), times), s.loc));
        return;
      }
      case "for": {
        const lo = numberOf(this.eval(s.lower, scope), "A loop bound", s.lower.loc);
        const hi = numberOf(this.eval(s.upper, scope), "A loop bound", s.upper.loc);
        let from = lo;
        if (!this.batch && hi > lo && this.vectorise) {
          const notVectorised = this.runVectorised(s, lo, hi, scope);
          if (notVectorised === null) return this.debug(s.loc, `the loop over ${s.variable} (${hi - lo + 1} iterations) runs once, as vectors`);
          let why = notVectorised;
          if (this.scanning || hi - lo < MIN_SCAN_STEPS || this.block === "data" || this.block === "transformed data") {
            why += this.scanning ? "; inside a loop lowered to a scan" : hi - lo < MIN_SCAN_STEPS ? "; too short to lower to a scan" : "";
          } else {
            const scanned = this.runScan(s, lo, hi, scope);
            if (scanned.next > hi) return this.debug(s.loc, scanned.why);
            from = scanned.next;
            why += `; not a scan: ${scanned.why}`;
          }
          this.debug(s.loc, `the loop over ${s.variable} is unrolled (${hi - from + 1} iterations): not vectorised: ${why}`);
        }
        for (let i = from; i <= hi; i++) {
          if (!this.scanning && !this.batch && ++this.unrolled > MAX_UNROLLED_ITERATIONS) this.refuseTooLarge(s);
          if (this.runIteration(s, i, scope) === "break") break;
        }
        return;
      }
      case "foreach": {
        const c = this.eval(s.iterable, scope);
        const n = c.t.arr > 0 ? c.e.shape[0]! : c.e.size;
        const elemT: SType = c.t.arr > 0 ? { base: c.t.base, arr: c.t.arr - 1 } : { base: c.t.base === "int" ? "int" : "real", arr: 0 };
        const elemShape = c.t.arr > 0 ? c.e.shape.slice(1) : [];
        const inner = c.e.size / Math.max(n, 1);
        const flat = c.e.shape.length === 1 ? c.e : reshape(c.e, [c.e.size]);
        for (let i = 0; i < n; i++) {
          const sc = new Scope(scope);
          const lv = new Var(s.variable, elemT, elemShape, true);
          const positions = Int32Array.from({ length: inner }, (_, k) => i * inner + k);
          lv.write(this.wrap(() => accessFlat(flat, positions, elemShape), s.loc));
          sc.define(s.variable, lv, this.block);
          try {
            this.exec(s.body, sc);
          } catch (e) {
            if (e instanceof BreakSignal) break;
            if (e instanceof ContinueSignal) continue;
            throw e;
          }
        }
        return;
      }
      case "while": {
        for (let k = 0; ; k++) {
          if (k > MAX_ITERATIONS) throw new StanError("runtime", `The while loop ran ${MAX_ITERATIONS} times without ending.`, s.loc);
          const test = this.condition(s.test, scope);
          if (!test) break;
          try {
            this.exec(s.body, new Scope(scope));
          } catch (e) {
            if (e instanceof BreakSignal) break;
            if (e instanceof ContinueSignal) continue;
            throw e;
          }
        }
        return;
      }
      case "if": {
        const test = this.eval(s.test, scope);
        if (!test.e.isConst && !this.batch) return this.selectIf(s, test, scope);
        if (this.condition(s.test, scope)) this.exec(s.then, new Scope(scope));
        else if (s.else) this.exec(s.else, new Scope(scope));
        return;
      }
      case "block":
        return this.execBlock(s.body, new Scope(scope));
      case "break":
        throw new BreakSignal();
      case "continue":
        throw new ContinueSignal();
      case "return":
        throw new ReturnSignal(s.value ? this.eval(s.value, scope) : undefined);
      case "print":
        return;
      case "reject":
      case "fatal_error": {
        const parts = s.args.map((a) => (a.kind === "string" ? a.value : describe(this.eval(a, scope))));
        throw new StanError("runtime", `${s.kind === "reject" ? "Exception" : "Fatal error"}: ${parts.join("")}`, s.loc);
      }
      case "call": {
        this.call({ kind: "call", name: s.name, args: s.args, conditional: false, loc: s.loc }, scope, true);
        return;
      }
      case "empty":
        return;
    }
  }

  /** A condition, which must be known when the model is built (it may not depend on parameters). */
  private condition(test: Ast, scope: Scope): boolean {
    const v = this.eval(test, scope);
    if (!v.e.isConst) {
      throw new StanError("unsupported", "A condition that depends on parameters (if/while on a parameter) is not supported; use the conditional operator (c ? a : b) or fmin/fmax, which select per evaluation.", test.loc);
    }
    if (this.batch && this.isBatched(v)) {
      const vals = v.e.constValues;
      if (vals.some((x) => (x !== 0) !== (vals[0] !== 0))) throw new BatchAbort("a condition that differs between iterations");
      return vals[0] !== 0;
    }
    if (v.e.size !== 1) throw new StanError("type", `A condition must be an int or real, got ${typeName(v.t)}.`, test.loc);
    return v.e.constValues[0] !== 0;
  }

  private lookupForWrite(name: string, scope: Scope, loc: Location): Var {
    const found = scope.lookup(name);
    if (!found) throw new StanError("type", `Identifier '${name}' not in scope.`, loc);
    if (found.v.readonly_ || (found.block !== this.block && found.block !== "function" && scope.lookup(name) === this.globals.lookup(name) && this.globals.lookup(name)?.block !== this.block)) {
      throw new StanError("type", `Cannot assign to function argument, loop identifier or global variable '${name}' declared in a previous block.`, loc);
    }
    return found.v;
  }

  private assignWhole(v: Var, value: Val, loc: Location) {
    checkAssignable(v.t, value.t, v.name, loc);
    if (v instanceof LaneVar) return v.write(value.e);
    if (this.batch) throw new BatchAbort(`assignment to ${v.name}, declared outside the loop`);
    if (value.e.size !== v.size) {
      throw new StanError("runtime", `Size mismatch in the assignment to ${v.name}: it has size [${v.shape}] but the value has size [${value.e.shape}].`, loc);
    }
    this.wrap(() => v.write(value.e), loc);
  }

  private assign(s: Extract<Stmt, { kind: "assign" }>, scope: Scope) {
    const v = this.lookupForWrite(s.name, scope, s.loc);
    let value = this.eval(s.value, scope);
    if (s.indices.length === 0) {
      if (s.op !== "=") value = this.wrap(() => binaryOp(s.op.slice(0, -1), { t: v.t, e: v.read() }, value, s.loc), s.loc);
      this.assignWhole(v, value, s.loc);
      return;
    }
    const resolved = s.indices.map((ix) => this.resolveIndex(ix, scope));
    if (this.batch) return this.assignLanes(v, resolved, s, value);
    const layout = resolvedLayout(v.t, v.shape, resolved as ResolvedIndex[], v.name, s.loc);
    if (s.op !== "=") {
      const current = { t: layout.t, e: v.readAt(layout.positions, layout.shape) };
      value = this.wrap(() => binaryOp(s.op.slice(0, -1), current, value, s.loc), s.loc);
    }
    checkAssignable(layout.t, value.t, v.name, s.loc);
    if (value.e.size !== layout.positions.length) {
      throw new StanError("runtime", `Size mismatch in the assignment to ${v.name}[...]: the indexed part has size [${layout.shape}] but the value has size [${value.e.shape}].`, s.loc);
    }
    this.wrap(() => v.writeAt(layout.positions, value.e), s.loc);
  }

  private distribution(family: string, args: Val[], loc: Location): Distribution {
    const make = Object.hasOwn(DISTRIBUTIONS, family) ? DISTRIBUTIONS[family] : undefined;
    if (!make) throw new StanError("unsupported", `Distribution ${family} is not supported by this front end.`, loc);
    return this.wrap(() => make(args.map((a) => a.e), loc), loc);
  }

  private tilde(s: Extract<Stmt, { kind: "tilde" }>, scope: Scope) {
    if (this.block !== "model" && this.block !== "function") throw new StanError("type", "~ statements are allowed only in the model block or in functions with the suffix _lp.", s.loc);
    const lhs = this.eval(s.lhs, scope);
    const args = s.args.map((a) => this.eval(a, scope));
    for (const suffix of ["_lpdf", "_lpmf", "_log"]) {
      const user = this.functions.get(s.dist + suffix);
      if (user) {
        if (this.batch) throw new BatchAbort("a user-defined distribution");
        if (s.truncation) this.unsupported("truncation of user-defined distributions", s.loc);
        const r = this.callUser(user, [lhs, ...args], s.loc);
        this.targetTerms.push(sum(r!.e));
        return;
      }
    }
    let times = 1;
    if (this.batch) {
      const all = [lhs, ...args];
      const perIteration = all.some((a) => this.isBatched(a));
      if (perIteration && all.some((a) => !(a.t.arr === 0 && (a.t.base === "int" || a.t.base === "real")))) throw new BatchAbort("a container in a per-iteration ~ statement");
      if (!perIteration) times = this.batch.lanes;
    }
    const special = SPECIAL_DENSITIES[s.dist];
    if (special && Object.hasOwn(SPECIAL_DENSITIES, s.dist)) {
      if (this.batch || s.truncation) throw this.batch ? new BatchAbort("a categorical density") : new StanError("unsupported", `Truncation of ${s.dist} is not supported.`, s.loc);
      this.targetTerms.push(this.wrap(() => withoutConstantAddends(special(lhs, args, s.loc)), s.loc));
      return;
    }
    // Stan's ~ leaves out the terms free of parameters (_lupdf); a truncation's normaliser,
    // added after it, stays whole, as stanc3's code adds it.
    let d = withoutConstantTerms(this.distribution(s.dist, args, s.loc));
    if (s.truncation) {
      const lower = s.truncation.lower ? this.eval(s.truncation.lower, scope).e : undefined;
      const upper = s.truncation.upper ? this.eval(s.truncation.upper, scope).e : undefined;
      d = this.wrap(() => dist.truncated(d, { ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) }), s.loc);
    }
    const name = s.lhs.kind === "var" ? s.lhs.name : undefined;
    const isData = name !== undefined && this.dataValues.has(name) && scope.lookup(name)?.block === "data";
    if (isData && !this.batch && !this.scanning && !this.observedNames.has(name) && this.block === "model" && lhs.e.isConst && sameShape(lhs.e.shape, d.shape.length <= lhs.e.shape.length ? lhs.e.shape : d.shape)) {
      this.observedNames.add(name);
      this.wrap(() => this.builder.observe(name, d, lhs.e), s.loc);
      return;
    }
    this.targetTerms.push(this.wrap(() => mul(d.logp(lhs.e), times), s.loc));
  }

  // ---------------------------------------------------------------- expressions

  private resolveIndex(ix: Index, scope: Scope): ResolvedIndex | LaneIndex {
    switch (ix.kind) {
      case "all":
        return { kind: "all" };
      case "range": {
        const lower = ix.lower ? numberOf(this.eval(ix.lower, scope), "An index", ix.lower.loc) : undefined;
        const upper = ix.upper ? numberOf(this.eval(ix.upper, scope), "An index", ix.upper.loc) : undefined;
        return { kind: "range", ...(lower !== undefined ? { lower } : {}), ...(upper !== undefined ? { upper } : {}) };
      }
      case "single": {
        const v = this.eval(ix.expr, scope);
        if (v.t.base !== "int") throw new StanError("type", `Index must be of type int or int[], found ${typeName(v.t)}.`, ix.expr.loc);
        if (!v.e.isConst) throw new StanError("unsupported", "An index that depends on parameters is not supported.", ix.expr.loc);
        if (this.batch && this.isBatched(v)) return { kind: "lanes", values: v.e.constValues };
        if (v.t.arr === 0) return { kind: "single", value: v.e.constValues[0]! };
        if (v.t.arr === 1) return { kind: "multi", values: Array.from(v.e.constValues) };
        throw new StanError("type", "A multi-index must be a one-dimensional int array.", ix.expr.loc);
      }
    }
  }

  eval(e: Ast, scope: Scope): Val {
    switch (e.kind) {
      case "int":
        return intVal(e.value);
      case "real":
        return { t: REAL, e: constant(e.value) };
      case "string":
        throw new StanError("type", "Strings appear only in print, reject and fatal_error.", e.loc);
      case "var": {
        const found = scope.lookup(e.name);
        if (!found) {
          if (this.functions.has(e.name)) throw new StanError("unsupported", `Passing the function ${e.name} as a value is not supported (higher-order functions such as ODE solvers are not available).`, e.loc);
          throw new StanError("type", `Identifier '${e.name}' not in scope.`, e.loc);
        }
        if (found.block === "parameters" && this.block === "transformed data") throw new StanError("type", `Parameter ${e.name} cannot be used in transformed data.`, e.loc);
        if (this.batch && !(found.v instanceof LaneVar)) {
          if (this.batch.overlay.has(found.v)) throw new BatchAbort(`${e.name} read whole after an element write`);
          this.batch.read.add(found.v);
        }
        return { t: found.v.t, e: found.v.read() };
      }
      case "binary": {
        if (e.op === "&&" || e.op === "||") {
          const a = this.eval(e.left, scope);
          if (a.e.isConst && a.e.size === 1) {
            const x = a.e.constValues[0] !== 0;
            if (e.op === "&&" && !x) return intVal(0);
            if (e.op === "||" && x) return intVal(1);
          }
          const b = this.eval(e.right, scope);
          return this.wrap(() => binaryOp(e.op, a, b, e.loc), e.loc);
        }
        const a = this.eval(e.left, scope);
        const b = this.eval(e.right, scope);
        const r = this.wrap(() => binaryOp(e.op, a, b, e.loc), e.loc);
        return this.batch && (this.isBatched(a) || this.isBatched(b)) ? this.checkLanes(r, e.op) : r;
      }
      case "unary": {
        const a = this.eval(e.arg, scope);
        const r = this.wrap(() => unaryOp(e.op, a, e.loc), e.loc);
        return this.batch && this.isBatched(a) ? this.checkLanes(r, e.op) : r;
      }
      case "transpose": {
        const a = this.eval(e.arg, scope);
        if (this.batch && this.isBatched(a)) throw new BatchAbort("transpose");
        return this.wrap(() => transpose(a), e.loc);
      }
      case "cond": {
        const test = this.eval(e.test, scope);
        if (test.e.isConst && test.e.size === 1) return test.e.constValues[0] !== 0 ? this.eval(e.then, scope) : this.eval(e.else, scope);
        const [a, b] = [this.eval(e.then, scope), this.eval(e.else, scope)];
        const t: SType = a.t.base === "int" && b.t.base === "int" ? INT : a.t.base === "int" ? b.t : a.t;
        const r = { t, e: this.wrap(() => elementwise("ifElse", [test.e, a.e, b.e]), e.loc) };
        return this.batch && [test, a, b].some((x) => this.isBatched(x)) ? this.checkLanes(r, "?:") : r;
      }
      case "call":
        return this.call(e, scope, false)!;
      case "index":
        return this.index(e, scope);
      case "array": {
        const items = e.items.map((i) => this.eval(i, scope));
        if (this.batch && items.some((i) => this.isBatched(i))) throw new BatchAbort("an array expression");
        const first = items[0]!;
        const base = items.some((i) => i.t.base === "real") && first.t.base === "int" ? "real" : first.t.base;
        for (const it of items) {
          if (it.t.arr !== first.t.arr || (it.t.base !== first.t.base && !(base === "real" && (it.t.base === "int" || it.t.base === "real"))) || it.e.size !== first.e.size) {
            throw new StanError("type", `Array expression elements must have one type and size; found ${typeName(first.t)} and ${typeName(it.t)}.`, e.loc);
          }
        }
        return { t: { base, arr: first.t.arr + 1 }, e: this.wrap(() => stackExprs(items.map((i) => i.e)), e.loc) };
      }
      case "rowvector": {
        const items = e.items.map((i) => this.eval(i, scope));
        if (this.batch && items.some((i) => this.isBatched(i))) throw new BatchAbort("a row vector expression");
        if (items.every((i) => i.t.arr === 0 && (i.t.base === "int" || i.t.base === "real"))) {
          return { t: { base: "row_vector", arr: 0 }, e: this.wrap(() => stackExprs(items.map((i) => i.e)), e.loc) };
        }
        if (items.every((i) => i.t.arr === 0 && i.t.base === "row_vector")) {
          return { t: { base: "matrix", arr: 0 }, e: this.wrap(() => stackExprs(items.map((i) => i.e)), e.loc) };
        }
        throw new StanError("type", "Row vector expression elements must be all int/real (a row vector) or all row vectors (a matrix).", e.loc);
      }
    }
  }

  private index(e: Extract<Ast, { kind: "index" }>, scope: Scope): Val {
    // Index a variable directly (no copy of the whole); otherwise the evaluated value.
    const resolved = e.indices.map((ix) => this.resolveIndex(ix, scope));
    if (this.batch) return this.indexLanes(e, resolved, scope);
    if (e.target.kind === "var") {
      const found = scope.lookup(e.target.name);
      if (found) {
        const v = found.v;
        const layout = resolvedLayout(v.t, v.shape, resolved as ResolvedIndex[], v.name, e.loc);
        return { t: layout.t, e: this.wrap(() => v.readAt(layout.positions, layout.shape), e.loc) };
      }
    }
    const target = this.eval(e.target, scope);
    const layout = resolvedLayout(target.t, target.e.shape, resolved as ResolvedIndex[], "the expression", e.loc);
    const flat = target.e.shape.length === 1 ? target.e : reshape(target.e, [target.e.size]);
    return { t: layout.t, e: this.wrap(() => accessFlat(flat, layout.positions, layout.shape), e.loc) };
  }

  private call(e: Extract<Ast, { kind: "call" }>, scope: Scope, statement: boolean): Val | undefined {
    const name = e.name;
    if (ODE_FUNCTIONS.test(name)) return this.odeCall(e, scope);
    if (Object.hasOwn(INFINITIES, name) && e.args.length === 0) {
      // Finite stand-ins: IR constants are finite; comparisons with them behave as with infinity.
      return { t: REAL, e: constant(Math.sign(INFINITIES[name]!) * Number.MAX_VALUE) };
    }
    if (name === "target" || name === "get_lp") {
      if (this.block !== "model" && this.block !== "function") throw new StanError("type", "target() is available only in the model block and _lp functions.", e.loc);
      return { t: REAL, e: balancedSum(this.targetTerms) ?? constant(0) };
    }
    const only = e.args.length === 1 && e.args[0]!.kind === "var" ? scope.lookup(e.args[0]!.name)?.v : undefined;
    if (only instanceof LaneArrayVar) {
      const reduce = Object.hasOwn(LANE_REDUCTIONS, name) ? LANE_REDUCTIONS[name] : undefined;
      if (!reduce) throw new BatchAbort(`${name} of the local container ${only.name}`);
      return { t: only.elementType, e: this.wrap(() => reduce(only.rows()), e.loc) };
    }
    const args = e.args.map((a) => this.eval(a, scope));
    const batched = this.batch !== null && args.some((a) => this.isBatched(a));
    if (batched) return this.checkLanes(this.callLanes(e, args), e.name);
    const user = this.functions.get(name);
    if (user) {
      const r = this.callUser(user, args, e.loc);
      if (!statement && r === undefined) throw new StanError("type", `Function ${name} returns void and cannot be used as a value.`, e.loc);
      return r;
    }
    const split = splitSuffix(name);
    if (split) {
      const { family, suffix } = split;
      if (suffix === "rng") return this.rng(family, args, e.loc, e);
      const [y, ...rest] = args;
      if (!y) throw new StanError("type", `${name} needs a variate.`, e.loc);
      if ((suffix === "lpdf" || suffix === "lupdf" || suffix === "lpmf" || suffix === "lupmf" || suffix === "log") && !e.conditional && suffix !== "log") {
        throw new StanError("syntax", `Probability functions with suffixes _lpdf, _lupdf, _lpmf, _lupmf, _cdf, _lcdf and _lccdf, require a vertical bar (|) between the first two arguments.`, e.loc);
      }
      if (Object.hasOwn(SPECIAL_DENSITIES, family) && suffix !== "lcdf" && suffix !== "lccdf" && suffix !== "cdf") {
        return { t: REAL, e: this.wrap(() => SPECIAL_DENSITIES[family]!(y, rest, e.loc), e.loc) };
      }
      const d = this.distribution(family, rest, e.loc);
      switch (suffix) {
        case "lupdf":
        case "lupmf":
          return { t: REAL, e: this.wrap(() => withoutConstantTerms(d).logp(y.e), e.loc) };
        case "lpdf":
        case "lpmf":
        case "log":
          return { t: REAL, e: this.wrap(() => d.logp(y.e), e.loc) };
        case "lcdf":
        case "lccdf": {
          const f = suffix === "lcdf" ? d.lcdf : d.lccdf;
          if (!f) throw new StanError("unsupported", `${name} is not supported (${family} has no ${suffix} here).`, e.loc);
          return { t: REAL, e: this.wrap(() => sum(f.call(d, y.e)), e.loc) };
        }
        case "cdf": {
          if (!d.lcdf) throw new StanError("unsupported", `${name} is not supported.`, e.loc);
          return { t: REAL, e: this.wrap(() => elementwise("exp", [sum(d.lcdf!(y.e))]), e.loc) };
        }
      }
    }
    const f = FUNCTIONS[name];
    if (!f || !Object.hasOwn(FUNCTIONS, name)) throw new StanError("unsupported", `Function ${name} is not supported by this front end.`, e.loc);
    return this.wrap(() => f(args, e.loc), e.loc);
  }

  /**
   * An `if` whose condition depends on parameters: both branches run, and every variable they
   * assign becomes a select between the two results (so the branches may only assign).
   */
  private selectIf(s: Extract<Stmt, { kind: "if" }>, test: Val, scope: Scope) {
    const names = new Set<string>();
    const allowed = (st: Stmt): boolean => {
      switch (st.kind) {
        case "assign":
          names.add(st.name);
          return true;
        case "block":
          return st.body.every(allowed);
        case "if":
          return allowed(st.then) && (!st.else || allowed(st.else));
        case "decl":
        case "print":
        case "empty":
          return true;
        default:
          return false;
      }
    };
    if (!allowed(s.then) || (s.else && !allowed(s.else))) {
      throw new StanError("unsupported", "A condition that depends on parameters (if/while on a parameter) is supported only around assignments; use the conditional operator (c ? a : b), fmin or fmax.", s.test.loc);
    }
    const vars = [...names].map((n) => scope.lookup(n)).filter((f): f is { v: Var; block: BlockKind } => f !== undefined).map((f) => f.v);
    const before = vars.map((v) => v.snapshot());
    this.exec(s.then, new Scope(scope));
    const thenValues = vars.map((v) => v.read());
    vars.forEach((v, k) => v.restore(before[k]!));
    if (s.else) this.exec(s.else, new Scope(scope));
    const elseValues = vars.map((v) => v.read());
    vars.forEach((v, k) => {
      v.restore(before[k]!);
      const [a, b] = [thenValues[k]!, elseValues[k]!];
      if (a !== b) v.write(this.wrap(() => elementwise("ifElse", [test.e, a, b]), s.loc));
    });
  }

  /**
   * Stan's ODE solvers on the builder's `ode` node: `ode_rk45(f, y0, t0, ts, ...)`, the `_tol`
   * forms, and the old `integrate_ode_*(f, y0, t0, ts, theta, x_r, x_i)` (whose f returns an array).
   */
  private odeCall(e: Extract<Ast, { kind: "call" }>, scope: Scope): Val {
    const name = e.name;
    const fArg = e.args[0];
    if (!fArg || fArg.kind !== "var" || !this.functions.has(fArg.name)) throw new StanError("type", `${name} takes the name of a user-defined function first.`, e.loc);
    const f = this.functions.get(fArg.name)!;
    const legacy = name.startsWith("integrate_ode");
    const method = /bdf/.test(name) ? "bdf" : /adams/.test(name) ? "adams" : /ckrk/.test(name) ? "ckrk" : "rk45";
    if (/adjoint/.test(name)) throw new StanError("unsupported", `Function ${name} is not supported by this front end.`, e.loc);
    const rest = e.args.slice(1).map((a) => this.eval(a, scope));
    const [y0, t0, ts] = rest as [Val, Val, Val];
    if (!y0 || !t0 || !ts) throw new StanError("type", `${name} takes (f, y0, t0, ts, ...).`, e.loc);
    let tol: { rtol?: number; atol?: number; maxSteps?: number } = {};
    let args: Val[];
    if (legacy) {
      args = rest.slice(3, 6);
      const extra = rest.slice(6);
      if (extra.length === 3) tol = { rtol: numberOf(extra[0]!, "rtol", e.loc), atol: numberOf(extra[1]!, "atol", e.loc), maxSteps: numberOf(extra[2]!, "max_num_steps", e.loc) };
    } else if (name.endsWith("_tol")) {
      tol = { rtol: numberOf(rest[3]!, "rtol", e.loc), atol: numberOf(rest[4]!, "atol", e.loc), maxSteps: numberOf(rest[5]!, "max_num_steps", e.loc) };
      args = rest.slice(6);
    } else {
      args = rest.slice(3);
    }
    // A t0 of parameters is differentiated too (Stan's var t0); data is checked as a number.
    const t0Value = t0.e.isConst ? numberOf(t0, "t0", e.loc) : t0.e.size === 1 ? reshape(t0.e, []) : t0.e;
    const yType: SType = legacy ? { base: "real", arr: 1 } : { base: "vector", arr: 0 };
    const rhs = (t: Expr, y: Expr, argExprs: Expr[]): Expr => {
      const r = this.callUser(f, [{ t: REAL, e: t }, { t: yType, e: y }, ...argExprs.map((a, k) => ({ t: args[k]!.t, e: a }))], e.loc);
      if (!r) throw new StanError("type", `The ODE right-hand side ${f.name} returns nothing.`, e.loc);
      return r.e.shape.length === 1 ? r.e : reshape(r.e, [r.e.size]);
    };
    const solution = this.wrap(
      () =>
        ode(rhs, {
          y0: y0.e.shape.length === 1 ? y0.e : reshape(y0.e, [y0.e.size]),
          t0: t0Value,
          ts: ts.e.isConst ? ts.e.constValues : ts.e.shape.length === 1 ? ts.e : reshape(ts.e, [ts.e.size]),
          args: args.map((a) => a.e),
          method,
          ...(tol.rtol !== undefined ? tol : {}),
        }),
      e.loc,
    );
    return { t: legacy ? { base: "real", arr: 2 } : { base: "vector", arr: 1 }, e: solution };
  }

  // ---------------------------------------------------------------- vectorised loops

  private batch: Batch | null = null;
  /** Whether loops may run vectorised (off only to compare with the plain interpretation). */
  vectorise = true;

  /** A value with one entry per iteration of the vectorised loop (a scalar type of shape [lanes]). */
  private isBatched(v: Val): boolean {
    return this.batch !== null && v.t.arr === 0 && (v.t.base === "int" || v.t.base === "real") && v.e.shape.length === 1;
  }

  private checkLanes(r: Val, what: string): Val {
    if (!(r.t.arr === 0 && (r.t.base === "int" || r.t.base === "real") && r.e.shape.length === 1 && r.e.shape[0] === this.batch!.lanes)) {
      throw new BatchAbort(`${what} gives no per-iteration scalar`);
    }
    return r;
  }

  /**
   * Runs a for loop's body once with the loop variable as the vector lo..hi: every value that
   * depends on it holds one entry per iteration. Returns false (and leaves no trace) when the
   * body does something that needs iterations one by one: a write to a scalar declared outside,
   * a read of an element written by another iteration, a condition that differs between
   * iterations, a container local, a call of a user function.
   */
  private runVectorised(s: Extract<Stmt, { kind: "for" }>, lo: number, hi: number, scope: Scope): string | null {
    const lanes = hi - lo + 1;
    const batch: Batch = { lanes, overlay: new Map(), read: new Set() };
    const savedTerms = this.targetTerms.length;
    this.batch = batch;
    try {
      const inner = new Scope(scope);
      const lv = new LaneVar(s.variable, INT, [], true);
      lv.write(constant(Float64Array.from({ length: lanes }, (_, k) => lo + k), [lanes], s.variable, true));
      inner.define(s.variable, lv, this.block);
      this.exec(s.body, inner);
    } catch (e) {
      this.batch = null;
      this.targetTerms.length = savedTerms;
      if (e instanceof BatchAbort || e instanceof StanError || e instanceof ModelError || e instanceof BreakSignal || e instanceof ContinueSignal || e instanceof ReturnSignal) return abortReason(e);
      throw e;
    }
    this.batch = null;
    for (const [v, w] of batch.overlay) this.wrap(() => v.writeAt(w.positions, w.e), s.loc);
    return null;
  }

  /** Loop iterations unrolled so far, outside loops traced for a scan (MAX_UNROLLED_ITERATIONS). */
  private unrolled = 0;

  private refuseTooLarge(s: Extract<Stmt, { kind: "for" }>): never {
    throw new ModelError(
      "too-large",
      `${this.options.name}: line ${s.loc.line}: the loop over ${s.variable} takes the program past ${MAX_UNROLLED_ITERATIONS} unrolled loop iterations in the ${this.block} block; its code would be too large for JavaScript's stack (onDebug says why each loop is unrolled)`,
    );
  }

  /** Runs iteration `i` of a for loop as written. */
  private runIteration(s: Extract<Stmt, { kind: "for" }>, i: number, scope: Scope): "break" | "next" {
    const inner = new Scope(scope);
    const lv = new Var(s.variable, INT, [], true);
    lv.write(intVal(i).e);
    inner.define(s.variable, lv, this.block);
    try {
      this.exec(s.body, inner);
    } catch (e) {
      if (e instanceof BreakSignal) return "break";
      if (e instanceof ContinueSignal) return "next";
      throw e;
    }
    return "next";
  }

  // ---------------------------------------------------------------- recurrences lowered to scans

  /** Whether a loop is being traced iteration by iteration for a scan (no nested scans, no draws, no observe). */
  private scanning = false;

  private debug(loc: Location, message: string): void {
    // Inside a loop traced step by step for a scan, inner loops would say the same thing once per step.
    if (!this.scanning) this.options.onDebug?.(`line ${loc.line}: ${message}`);
  }

  /**
   * Lowers a for loop whose iterations depend on each other to a scan (D157). Iteration lo runs
   * as written; then each further iteration is traced with the values the previous one wrote
   * (and that are not known from the data) replaced by a carry placeholder, and matched against
   * the first such step (reroll.ts). The scan's rows are the values each iteration writes, and
   * what it adds to the target. Returns the iteration to go on from: hi + 1 when the loop is
   * done, lo + 1 (with every variable as the first iteration left it) when it could not be lowered.
   */
  private runScan(s: Extract<Stmt, { kind: "for" }>, lo: number, hi: number, scope: Scope): { next: number; why: string } {
    const isOuter = (v: Var) => scope.lookup(v.name)?.v === v;
    let writes = new Map<Var, Set<number>>();
    const record = (v: Var, positions: Int32Array | null) => {
      let set = writes.get(v);
      if (!set) writes.set(v, (set = new Set()));
      if (positions) for (const p of positions) set.add(p);
      else for (let p = 0; p < v.size; p++) set.add(p);
    };
    const termsBefore = this.targetTerms.length;
    const first = this.observing((v, positions) => isOuter(v) && record(v, positions), () => this.runIteration(s, lo, scope));
    if (first === "break") return { next: hi + 1, why: `the loop over ${s.variable} ends in its first iteration` };
    const hasTarget = this.targetTerms.length > termsBefore;
    const firstWrites = writes;
    // A loop reading further back than the previous iteration gets a scan carrying its whole series (D221).
    const orSeries = (why: string): { next: number; why: string } => {
      // Not in generated quantities: there a lowered loop only saves code, and D183's limits skip them instead.
      if (!SERIES_REASONS.some((r) => why.includes(r)) || this.block === "generated quantities") return { next: lo + 1, why };
      const series = this.runSeriesScan(s, lo, hi, scope, firstWrites, hasTarget);
      return series.next > hi ? series : { next: lo + 1, why: `${why}; carrying the whole series: ${series.why}` };
    };
    // The values an iteration passes on: what it wrote that is not known from the data.
    const carried = (): { cells: { v: Var; p: number }[]; values: Expr[] } => {
      const cells: { v: Var; p: number }[] = [];
      const values: Expr[] = [];
      for (const [v, set] of writes) {
        if (v.isWhole) throw new ScanAbort(`${v.name} ${WRITTEN_WHOLE}`);
        for (const p of [...set].sort((a, b) => a - b)) {
          const value = v.readAt(Int32Array.of(p), []);
          if (value.isConst) continue;
          cells.push({ v, p });
          values.push(value);
        }
      }
      return { cells, values };
    };
    let prev: ReturnType<typeof carried>;
    try {
      prev = carried();
    } catch (e) {
      if (e instanceof ScanAbort) return orSeries(e.reason);
      throw e;
    }
    const width = prev.cells.length + (hasTarget ? 1 : 0);
    if (width === 0) return { next: lo + 1, why: "its first iteration writes no value of the parameters and adds nothing to the target" };
    const init = stackIr([...prev.values, ...(hasTarget ? [constant(0)] : [])]);
    const steps = hi - lo;
    // Where each element written with a parameter value gets it from: row-major index into [init; scan rows].
    const source = new Map<Var, Map<number, number>>();
    const setSource = (v: Var, p: number, at: number) => {
      let m = source.get(v);
      if (!m) source.set(v, (m = new Map()));
      m.set(p, at);
    };
    prev.cells.forEach(({ v, p }, k) => setSource(v, p, k));
    const snapshots = new Map<Var, unknown>();
    let recording = false;
    const observer = (v: Var, positions: Int32Array | null) => {
      if (!isOuter(v)) return;
      if (!snapshots.has(v)) snapshots.set(v, v.snapshot());
      if (recording) record(v, positions);
    };
    const warningsBefore = this.warnings.length;
    const termsAfterFirst = this.targetTerms.length;
    // Iterations that pass on nothing but their target term may differ in structure (gpcm's
    // segments of each item's length): each structure is a class of steps with its own scan (D211).
    const independent = prev.cells.length === 0;
    const classes: StepMatcher[] = [];
    let why: string | null = null;
    this.scanning = true;
    const outerObserver = observeWrites(observer);
    try {
      for (let step = 0; step < steps && why === null; step++) {
        const carry = new Expr({ kind: "placeholder" }, [width], [], `carry of ${s.variable}`);
        recording = false;
        prev.cells.forEach(({ v, p }, k) => v.writeAt(Int32Array.of(p), accessNode(carry, Int32Array.of(k), [], `${v.name}[${p}]`)));
        writes = new Map();
        recording = true;
        if (this.runIteration(s, lo + 1 + step, scope) === "break") {
          why = "it may break";
          break;
        }
        const terms = this.targetTerms.splice(termsAfterFirst);
        if ((terms.length > 0) !== hasTarget) {
          why = "some iterations add to the target and others do not";
          break;
        }
        for (const [v, set] of writes) for (const p of set) source.get(v)?.delete(p);
        const next = carried();
        if (next.cells.length !== prev.cells.length) {
          why = DIFFERENT_CARRY_COUNTS;
          break;
        }
        next.cells.forEach(({ v, p }, k) => setSource(v, p, (step + 1) * width + k));
        const result = stackIr([...next.values, ...(hasTarget ? [balancedSum(terms)!] : [])]);
        const reasons: string[] = [];
        for (const m of classes) {
          const reason = m.add(result, carry);
          if (reason === null) break;
          reasons.push(reason);
        }
        if (reasons.length === classes.length) {
          if (classes.length === 0 || (independent && classes.length < MAX_STEP_CLASSES)) classes.push(new StepMatcher(result, carry));
          else why = independent ? `${reasons[0]!} (more than ${MAX_STEP_CLASSES} structures)` : reasons[0]!;
        }
        prev = next;
      }
    } catch (e) {
      why = scanFailure(e);
    } finally {
      this.scanning = false;
      observeWrites(outerObserver);
    }
    let lifted: Expr[] | string = why ?? "";
    if (why === null && classes.length > 0) {
      try {
        const built = classes.map((m) => m.build(init));
        lifted = built.find((b) => typeof b === "string") ?? (built as Expr[]);
      } catch (e) {
        if (!(e instanceof ModelError)) throw e;
        lifted = e.message;
      }
    }
    if (typeof lifted === "string") {
      for (const [v, state] of snapshots) v.restore(state);
      this.targetTerms.length = termsAfterFirst;
      this.warnings.length = warningsBefore;
      return orSeries(lifted);
    }
    if (lifted.length > 1) {
      // Only target terms: each class's scan rows summed (no element is written back).
      for (const rows of lifted) this.targetTerms.push(sum(rows));
      const added = this.warnings.splice(warningsBefore);
      this.warnings.push(...new Set(added));
      return { next: hi + 1, why: `the loop over ${s.variable} runs as ${lifted.length} scans, one per structure of its iterations: iteration ${lo} as written, then ${steps} steps adding to the target` };
    }
    const rows = lifted[0]!;
    const all = concat([init, reshape(rows, [rows.size])]);
    // One element at a time: the variables stay scalar cells (reads join runs of them into one access), and
    // no cell still holding a placeholder is kept inside a whole expression.
    for (const [v, at] of source) for (const [p, k] of at) v.writeAt(Int32Array.of(p), accessNode(all, Int32Array.of(k), [], `${v.name}[${p}]`));
    if (hasTarget) {
      const column = Int32Array.from({ length: steps }, (_, t) => t * width + width - 1);
      this.targetTerms.push(sum(accessNode(rows, column, [steps], `target of the loop over ${s.variable}`)));
    }
    const added = this.warnings.splice(warningsBefore);
    this.warnings.push(...new Set(added));
    return { next: hi + 1, why: `the loop over ${s.variable} runs as a scan: iteration ${lo} as written, then ${steps} steps carrying ${width} value(s)` };
  }

  /**
   * Lowers a loop whose iterations read what iterations before the previous one wrote (a renewal
   * equation's convolution over the series so far) to a scan whose carry is every element the loop
   * writes (D221). Iteration lo has run as written; the other iterations are traced once as written
   * to learn which elements they write, then again step by step with those elements read from the
   * carry. A step's result is the carry with the elements it wrote replaced (through 0/1 data rows),
   * its reads folded to the carry's elements or the step's own values (`foldAccesses`), and
   * matched as D157's steps are: reads at positions that change become masked sums, and
   * reductions against data of a prefix that grows become one padded reduction (reroll.ts).
   * Returns hi + 1 when lowered, lo + 1 (every variable as iteration lo left it) otherwise.
   */
  private runSeriesScan(s: Extract<Stmt, { kind: "for" }>, lo: number, hi: number, scope: Scope, firstWrites: ReadonlyMap<Var, ReadonlySet<number>>, hasTarget: boolean): { next: number; why: string } {
    const isOuter = (v: Var) => scope.lookup(v.name)?.v === v;
    const termsAfterFirst = this.targetTerms.length;
    const warningsBefore = this.warnings.length;
    // Each written variable as iteration lo left it, and every element the loop writes.
    const after = new Map<Var, unknown>();
    const written = new Map<Var, Set<number>>();
    const record = (target: Map<Var, Set<number>>, v: Var, positions: Int32Array | null) => {
      let set = target.get(v);
      if (!set) target.set(v, (set = new Set()));
      if (positions) for (const p of positions) set.add(p);
      else for (let p = 0; p < v.size; p++) set.add(p);
    };
    for (const [v, set] of firstWrites) {
      after.set(v, v.snapshot());
      written.set(v, new Set(set));
    }
    const restore = () => {
      for (const [v, state] of after) v.restore(state);
      this.targetTerms.length = termsAfterFirst;
      this.warnings.length = warningsBefore;
    };
    const failed = (e: unknown): { next: number; why: string } => {
      restore();
      return { next: lo + 1, why: scanFailure(e) };
    };
    const observer = (v: Var, positions: Int32Array | null) => {
      if (!isOuter(v)) return;
      if (!after.has(v)) after.set(v, v.snapshot());
      record(written, v, positions);
    };
    const traceAsWritten = (from: number, to: number) => {
      this.scanning = true;
      try {
        this.observing(observer, () => {
          for (let i = from; i <= to; i++) if (this.runIteration(s, i, scope) === "break") throw new ScanAbort("it may break");
        });
      } finally {
        this.scanning = false;
      }
    };
    // Iteration lo + 1 as written; when every variable's elements move by one stride from iteration
    // lo's, the rest are extrapolated (a superset is enough: a step writing elsewhere is refused).
    // Otherwise, or where an extrapolated element was never set, every iteration is traced as written.
    try {
      traceAsWritten(lo + 1, lo + 1);
      const strided = hi > lo + 1 ? this.extrapolateWrites(firstWrites, written, hi - lo) : true;
      restore();
      if (!strided || [...written].some(([v, set]) => [...set].some((p) => v.isUnset(p)))) {
        traceAsWritten(lo + 1, hi);
        restore();
      }
    } catch (e) {
      return failed(e);
    }
    // The carry: every written element, variable by variable in increasing position, then the target.
    const slotOf = new Map<Var, Map<number, number>>();
    let cells = 0;
    for (const [v, set] of written) slotOf.set(v, new Map([...set].sort((a, b) => a - b).map((p) => [p, cells++])));
    const width = cells + (hasTarget ? 1 : 0);
    if (width > MAX_SERIES_WIDTH) return { next: lo + 1, why: `it writes ${cells} elements, more than ${MAX_SERIES_WIDTH}` };
    // Each step copies the whole carry: a loop whose iterations write rows, not elements, unrolls for less.
    const iterations = hi - lo + 1;
    if (cells > MAX_SERIES_WRITES * iterations) return { next: lo + 1, why: `it writes ${cells} elements in ${iterations} iterations, more than ${MAX_SERIES_WRITES} an iteration` };
    const initial: Expr[] = [];
    for (const [v, at] of slotOf) {
      const positions = Int32Array.from(at.keys());
      // Never-set elements start at 0: the trace as written showed that no iteration reads them before writing.
      if (positions.some((p) => v.isUnset(p))) for (const p of positions) initial.push(v.isUnset(p) ? constant(0) : v.readAt(Int32Array.of(p), []));
      else initial.push(v.readAt(positions, [positions.length]));
    }
    const init = concat([...initial, ...(hasTarget ? [constant(0)] : [])]);
    const steps = hi - lo;
    // Each variable's carried positions and their slots in the carry, in increasing position.
    const carried = new Map([...slotOf].map(([v, at]) => [v, { positions: Int32Array.from(at.keys()), slots: Int32Array.from(at.values()) }]));
    let matcher: StepMatcher | null = null;
    let why: string | null = null;
    let readsCarry = false;
    let stepWrites = new Map<Var, Set<number>>();
    let recording = false;
    const outerObserver = observeWrites((v, positions) => {
      if (recording && isOuter(v)) record(stepWrites, v, positions);
    });
    this.scanning = true;
    try {
      for (let step = 0; step < steps && why === null; step++) {
        const carry = new Expr({ kind: "placeholder" }, [width], [], `series carried by the loop over ${s.variable}`);
        recording = false;
        for (const [v, { positions, slots }] of carried) {
          v.restore(after.get(v)!);
          v.writeAt(positions, accessNode(carry, slots, [slots.length], v.name));
        }
        stepWrites = new Map();
        recording = true;
        if (this.runIteration(s, lo + 1 + step, scope) === "break") throw new ScanAbort("it may break");
        recording = false;
        const terms = this.targetTerms.splice(termsAfterFirst);
        if ((terms.length > 0) !== hasTarget) throw new ScanAbort("some iterations add to the target and others do not");
        for (const v of stepWrites.keys()) if (!slotOf.has(v)) throw new ScanAbort(`${v.name} is written where its trace as written did not write`);
        // Each variable's elements: the carry's, with those the step wrote replaced.
        const parts: Expr[] = [];
        const writtenValues: Expr[] = [];
        for (const [v, at] of slotOf) {
          const { slots } = carried.get(v)!;
          let next = accessNode(carry, slots, [slots.length], v.name);
          for (const p of [...(stepWrites.get(v) ?? [])].sort((a, b) => a - b)) {
            const k = at.get(p);
            if (k === undefined) throw new ScanAbort(`${v.name} is written where its trace as written did not write`);
            const row = new Float64Array(slots.length);
            row[k - slots[0]!] = 1;
            const value = v.readAt(Int32Array.of(p), []);
            writtenValues.push(value);
            next = elementwise("ifElse", [constant(row, [slots.length], `${v.name}[${p}] written`, true), value, next]);
          }
          parts.push(next);
        }
        // Folded in one walk: the written values share most of their nodes.
        if (!readsCarry && writtenValues.length > 0) readsCarry = dependsOn(foldAccesses(concat(writtenValues), carry), new Set([carry]));
        if (hasTarget) {
          parts.push(balancedSum(terms)!);
          readsCarry ||= dependsOn(parts[parts.length - 1]!, new Set([carry]));
        }
        const result = foldAccesses(parts.length === 1 ? parts[0]! : concat(parts), carry);
        if (matcher === null) matcher = new StepMatcher(result, carry);
        else why = matcher.add(result, carry);
      }
    } catch (e) {
      why = scanFailure(e);
    } finally {
      this.scanning = false;
      observeWrites(outerObserver);
    }
    // Iterations that read nothing earlier ones wrote gain from a scan only while the carry they copy is short.
    if (why === null && !readsCarry && cells > MAX_INDEPENDENT_SERIES) why = `its iterations read nothing earlier ones wrote, and it writes ${cells} elements, more than ${MAX_INDEPENDENT_SERIES}`;
    let rows: Expr | string = why ?? "no steps";
    if (why === null && matcher !== null) {
      try {
        rows = matcher.build(init);
      } catch (e) {
        if (!(e instanceof ModelError)) throw e;
        rows = e.message;
      }
    }
    restore();
    if (typeof rows === "string") return { next: lo + 1, why: rows };
    // The last step's carry holds every written element's final value.
    const last = rows;
    for (const [v, at] of slotOf) {
      v.writeAt(Int32Array.from(at.keys()), accessNode(last, Int32Array.from(at.values(), (k) => (steps - 1) * width + k), [at.size], `${v.name} after the loop over ${s.variable}`));
    }
    if (hasTarget) {
      const column = Int32Array.from({ length: steps }, (_, t) => t * width + width - 1);
      this.targetTerms.push(sum(accessNode(last, column, [steps], `target of the loop over ${s.variable}`)));
    }
    return { next: hi + 1, why: `the loop over ${s.variable} runs as a scan carrying the ${cells} elements it writes: iteration ${lo} as written, then ${steps} steps` };
  }

  /**
   * Adds to `written` (iteration lo's elements and lo + 1's) the elements of iterations lo + 2 ..
   * lo + `steps` when each variable's elements in lo + 1 are its elements in lo moved by one
   * stride, or among them (stride 0: nothing to add); false (and `written` unchanged) when they are not, or would leave the variable.
   */
  private extrapolateWrites(firstWrites: ReadonlyMap<Var, ReadonlySet<number>>, written: Map<Var, Set<number>>, steps: number): boolean {
    const strides = new Map<Var, { first: number[]; stride: number }>();
    for (const [v, all] of written) {
      const first = [...(firstWrites.get(v) ?? [])].sort((a, b) => a - b);
      const second = [...all].filter((p) => !firstWrites.get(v)?.has(p)).sort((a, b) => a - b);
      // Nothing new: iteration lo + 1 wrote among lo's elements (a local array reused by every iteration), a stride of 0.
      if (first.length > 0 && second.length === 0) continue;
      if (first.length === 0 || second.length !== first.length) return false;
      const stride = second[0]! - first[0]!;
      if (stride <= 0 || second.some((p, k) => p - first[k]! !== stride)) return false;
      if (first[first.length - 1]! + steps * stride >= v.size) return false;
      strides.set(v, { first, stride });
    }
    for (const [v, { first, stride }] of strides) for (let t = 2; t <= steps; t++) for (const p of first) written.get(v)!.add(p + t * stride);
    return true;
  }

  /** Runs `f` with `observer` seeing every variable write. */
  private observing<T>(observer: WriteObserver, f: () => T): T {
    const previous = observeWrites(observer);
    try {
      return f();
    } finally {
      observeWrites(previous);
    }
  }

  private lanePositions(t: SType, shape: Shape, resolved: readonly (ResolvedIndex | LaneIndex)[], name: string, loc: Location): { positions: Int32Array; t: SType } {
    const lanes = this.batch!.lanes;
    const positions = new Int32Array(lanes);
    const rank = shape.length;
    if (resolved.length === rank && resolved.every((r) => r.kind === "single" || r.kind === "lanes")) {
      // One element per lane: its row-major offset directly (resolvedLayout's arithmetic), without an index list per lane.
      const laneAt = (l: number): ResolvedIndex[] => resolved.map((r) => (r.kind === "lanes" ? { kind: "single", value: r.values[l]! } : r));
      for (let l = 0; l < lanes; l++) {
        let offset = 0;
        for (let a = 0; a < rank; a++) {
          const r = resolved[a]!;
          const p = (r.kind === "lanes" ? r.values[l]! : (r as { value: number }).value) - 1;
          // Out of range: resolvedLayout throws Stan's error for this lane.
          if (!(p >= 0 && p < shape[a]!)) resolvedLayout(t, shape, laneAt(l), name, loc);
          offset = offset * shape[a]! + p;
        }
        positions[l] = offset;
      }
      return { positions, t: resolvedLayout(t, shape, laneAt(0), name, loc).t };
    }
    let type: SType = REAL;
    for (let l = 0; l < lanes; l++) {
      const at: ResolvedIndex[] = resolved.map((r) => (r.kind === "lanes" ? { kind: "single", value: r.values[l]! } : r));
      const layout = resolvedLayout(t, shape, at, name, loc);
      if (layout.positions.length !== 1 || layout.shape.length !== 0) throw new BatchAbort(`${name}[...] is not a scalar per iteration`);
      positions[l] = layout.positions[0]!;
      type = layout.t;
    }
    return { positions, t: type };
  }

  private indexLanes(e: Extract<Ast, { kind: "index" }>, resolved: readonly (ResolvedIndex | LaneIndex)[], scope: Scope): Val {
    const batch = this.batch!;
    const perLane = resolved.some((r) => r.kind === "lanes");
    const found = e.target.kind === "var" ? scope.lookup(e.target.name) : undefined;
    if (found?.v instanceof LaneArrayVar) {
      const v = found.v;
      return { t: v.elementType, e: v.element(this.laneArrayIndex(v, resolved, e.loc)) };
    }
    if (!found || found.v instanceof LaneVar) {
      if (perLane) throw new BatchAbort("indexing an expression per iteration");
      const target = this.eval(e.target, scope);
      if (this.isBatched(target)) throw new BatchAbort("indexing a per-iteration value");
      const layout = resolvedLayout(target.t, target.e.shape, resolved as ResolvedIndex[], "the expression", e.loc);
      const flat = target.e.shape.length === 1 ? target.e : reshape(target.e, [target.e.size]);
      return { t: layout.t, e: this.wrap(() => accessFlat(flat, layout.positions, layout.shape), e.loc) };
    }
    const v = found.v;
    const written = batch.overlay.get(v);
    if (!perLane) {
      if (written) throw new BatchAbort(`${v.name} read after an element write`);
      batch.read.add(v);
      const layout = resolvedLayout(v.t, v.shape, resolved as ResolvedIndex[], v.name, e.loc);
      return { t: layout.t, e: this.wrap(() => v.readAt(layout.positions, layout.shape), e.loc) };
    }
    const { positions, t } = this.lanePositions(v.t, v.shape, resolved, v.name, e.loc);
    if (written) {
      if (written.positions.length !== positions.length || written.positions.some((p, k) => p !== positions[k])) throw new BatchAbort(`${v.name} read at other elements than written`);
      return { t, e: written.e };
    }
    batch.read.add(v);
    return { t, e: this.wrap(() => v.readAt(positions, [batch.lanes]), e.loc) };
  }

  /** The 0-based element of a local container that `resolved` names: one single index, the same for every iteration. */
  private laneArrayIndex(v: LaneArrayVar, resolved: readonly (ResolvedIndex | LaneIndex)[], loc: Location): number {
    const [index] = resolved;
    if (resolved.length !== 1 || index!.kind !== "single") throw new BatchAbort(`${v.name} indexed otherwise than by one index the same for every iteration`);
    return resolvedLayout(v.t, v.shape, [index!], v.name, loc).positions[0]!;
  }

  private assignLanes(v: Var, resolved: readonly (ResolvedIndex | LaneIndex)[], s: Extract<Stmt, { kind: "assign" }>, value: Val) {
    const batch = this.batch!;
    if (v instanceof LaneArrayVar) {
      const k = this.laneArrayIndex(v, resolved, s.loc);
      if (s.op !== "=") value = this.wrap(() => binaryOp(s.op.slice(0, -1), { t: v.elementType, e: v.element(k) }, value, s.loc), s.loc);
      checkAssignable(v.elementType, value.t, v.name, s.loc);
      if (value.t.arr !== 0 || (value.e.shape.length !== 0 && !this.isBatched(value)) || (value.e.shape.length === 1 && value.e.shape[0] !== batch.lanes)) throw new BatchAbort("a value that is not one scalar per iteration");
      v.setElement(k, value.e.shape.length === 0 ? this.wrap(() => add(value.e, constant(new Float64Array(batch.lanes))), s.loc) : value.e);
      return;
    }
    if (v instanceof LaneVar || !resolved.some((r) => r.kind === "lanes")) throw new BatchAbort(`an element write to ${v.name} that is not one element per iteration`);
    if (batch.read.has(v)) throw new BatchAbort(`${v.name} is read and written in one loop`);
    const { positions, t } = this.lanePositions(v.t, v.shape, resolved, v.name, s.loc);
    if (new Set(positions).size !== positions.length) throw new BatchAbort(`iterations write one element of ${v.name}`);
    if (s.op !== "=") {
      const written = batch.overlay.get(v);
      if (!written || written.positions.some((p, k) => p !== positions[k])) throw new BatchAbort(`compound assignment to ${v.name}`);
      value = this.wrap(() => binaryOp(s.op.slice(0, -1), { t, e: written.e }, value, s.loc), s.loc);
    }
    checkAssignable(t, value.t, v.name, s.loc);
    if (value.t.arr !== 0 || value.e.size > batch.lanes || (value.e.shape.length === 1 && value.e.shape[0] !== batch.lanes)) throw new BatchAbort("a value that is not one scalar per iteration");
    const e = value.e.shape.length === 0 ? this.wrap(() => add(value.e, constant(new Float64Array(batch.lanes))), s.loc) : value.e;
    const earlier = batch.overlay.get(v);
    if (earlier && earlier.positions.some((p, k) => p !== positions[k])) throw new BatchAbort(`${v.name} written at two sets of elements`);
    batch.overlay.set(v, { positions, e });
  }

  /** A built-in call with per-iteration arguments: elementwise functions and densities per element. */
  private callLanes(e: Extract<Ast, { kind: "call" }>, args: Val[]): Val {
    const name = e.name;
    if (this.functions.has(name)) throw new BatchAbort("a user-defined function");
    const split = splitSuffix(name);
    if (split && split.suffix !== "rng") {
      const [y, ...rest] = args;
      if (!y || !e.conditional) throw new BatchAbort("a density call without |");
      const d = this.distribution(split.family, rest, e.loc);
      if (d.shape.length > 1 || split.family.startsWith("multi") || split.family === "dirichlet" || split.family.endsWith("_glm")) throw new BatchAbort("a multivariate density");
      switch (split.suffix) {
        case "lupdf":
        case "lupmf":
          return { t: REAL, e: this.wrap(() => logpdfWithoutConstantTerms(d, y.e), e.loc) };
        case "lpdf":
        case "lpmf":
          return { t: REAL, e: this.wrap(() => d.logpdf(y.e), e.loc) };
        case "lcdf":
          if (!d.lcdf) throw new BatchAbort("no lcdf");
          return { t: REAL, e: this.wrap(() => d.lcdf!(y.e), e.loc) };
        case "lccdf":
          if (!d.lccdf) throw new BatchAbort("no lccdf");
          return { t: REAL, e: this.wrap(() => d.lccdf!(y.e), e.loc) };
        default:
          throw new BatchAbort(`${name} per iteration`);
      }
    }
    if (split?.suffix === "rng") {
      if (split.family.startsWith("multi") || split.family === "dirichlet" || split.family.startsWith("categorical")) throw new BatchAbort("a multivariate draw");
      return this.rng(split.family, args, e.loc);
    }
    if (!ELEMENTWISE_FUNCTIONS.has(name)) throw new BatchAbort(`${name} is not elementwise`);
    const f = FUNCTIONS[name];
    if (!f) throw new BatchAbort(`unknown ${name}`);
    return this.wrap(() => f(args, e.loc), e.loc);
  }

  private rng(family: string, args: Val[], loc: Location, node?: Ast): Val {
    if (this.block !== "generated quantities" && this.block !== "function") {
      throw new StanError("type", `Random number generators (${family}_rng) are allowed only in generated quantities here.`, loc);
    }
    if (this.batch && !args.some((a) => this.isBatched(a))) throw new BatchAbort("a draw the same for every iteration");
    if (this.scanning) throw new ScanAbort("a random draw");
    const d = this.distribution(family, args, loc);
    const named = this.rngName !== null && this.rngName.node === node ? this.rngName.name : null;
    const value = this.wrap(() => this.builder.generated(named ?? `${family}_rng__${++this.rngCount}`, d), loc);
    if (named) this.namedDraws.add(named);
    this.rngMarks?.push(value);
    const base = d.discrete ? "int" : d.shape.length === 1 && family.startsWith("multi") ? "vector" : "real";
    // In a vectorised loop the draw is one scalar per iteration.
    return { t: { base, arr: base === "vector" || this.batch ? 0 : d.shape.length }, e: value };
  }

  private callUser(f: FunctionDef, args: Val[], loc: Location): Val | undefined {
    if (!f.body) throw new StanError("type", `Function ${f.name} is declared but never defined.`, loc);
    if (args.length !== f.args.length) throw new StanError("type", `Function ${f.name} takes ${f.args.length} argument(s), got ${args.length}.`, loc);
    if (++this.depth > MAX_CALL_DEPTH) throw new StanError("runtime", `Function calls nested deeper than ${MAX_CALL_DEPTH} (unbounded recursion?) at ${f.name}.`, loc);
    const saved = this.block;
    const isLp = f.name.endsWith("_lp");
    const isRng = f.name.endsWith("_rng");
    if (!isLp && !isRng) this.block = "function";
    if (isLp && saved !== "model" && saved !== "function") throw new StanError("type", `Function ${f.name} (suffix _lp) can be used only in the model block.`, loc);
    try {
      const scope = new Scope(this.globalFunctionScope);
      f.args.forEach((a, k) => {
        const v = new Var(a.name, { base: a.type.base === "void" ? "real" : a.type.base, arr: a.type.arrayDims }, args[k]!.e.shape, true);
        v.write(args[k]!.e);
        scope.define(a.name, v, "function");
      });
      try {
        this.exec(f.body, scope);
      } catch (e) {
        if (e instanceof ReturnSignal) {
          if (!e.value) return undefined;
          const rt = f.returnType;
          return { t: { base: rt.base === "void" ? "real" : rt.base, arr: rt.arrayDims }, e: e.value.e };
        }
        throw e;
      }
      if (f.returnType.base !== "void") throw new StanError("runtime", `Function ${f.name} ended without returning a value.`, f.loc);
      return undefined;
    } finally {
      this.block = saved;
      this.depth--;
    }
  }
  /** Functions see no block's variables. */
  private readonly globalFunctionScope = new Scope(null);
}

/** An index with one value per iteration of a vectorised loop. */
interface LaneIndex {
  readonly kind: "lanes";
  readonly values: Float64Array;
}

function describe(v: Val): string {
  if (!v.e.isConst) return v.e.label;
  const vals = Array.from(v.e.constValues);
  return vals.length === 1 && v.e.shape.length === 0 ? String(vals[0]) : `[${vals.join(",")}]`;
}

function checkAssignable(target: SType, value: SType, name: string, loc: Location) {
  const ok =
    target.arr === value.arr &&
    (target.base === value.base || (target.base === "real" && value.base === "int"));
  if (!ok) {
    throw new StanError("type", `Ill-typed arguments supplied to assignment operator =: lhs has type ${typeName(target)} and rhs has type ${typeName(value)} (in the assignment to ${name}).`, loc);
  }
}

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, k) => d === b[k]);

function accessFlat(flat: Expr, positions: Int32Array, shape: Shape): Expr {
  if (flat.isConst) {
    const src = flat.constValues;
    return constant(Float64Array.from(positions, (p) => src[p]!), shape);
  }
  return accessNode(flat, positions, shape, `${flat.label}[...]`);
}
import { access as accessNode } from "../model/expr.js";
import { stack as stackIr } from "../model/linalg.js";

function stackExprs(items: Expr[]): Expr {
  if (items.every((i) => i.isConst)) {
    const inner = items[0]!.shape;
    const out = new Float64Array(items.length * items[0]!.size);
    items.forEach((it, k) => out.set(it.constValues, k * it.size));
    return constant(out, [items.length, ...inner]);
  }
  if (items[0]!.shape.length <= 1) return stackIr(items);
  const inner = items[0]!.shape;
  return reshape(stackIr(items.map((i) => reshape(i, [i.size]))), [items.length, ...inner]);
}

/** Sum of terms as a balanced tree (a long chain would be deep). */
function balancedSum(terms: readonly Expr[]): Expr | undefined {
  if (terms.length === 0) return undefined;
  let level = [...terms];
  while (level.length > 1) {
    const next: Expr[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? add(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0];
}

/** Stan JSON (nested arrays, row-major) to flat values of `shape`, with Stan's size messages. */
function flattenData(raw: unknown, shape: Shape, name: string, loc: Location): Float64Array {
  const out: number[] = [];
  const walk = (x: unknown, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof x !== "number") throw new StanError("data", `${name}${path}: expected a number, got ${Array.isArray(x) ? "an array" : JSON.stringify(x)}.`, loc);
      out.push(x);
      return;
    }
    if (!Array.isArray(x) && !ArrayBuffer.isView(x)) {
      if (shape.slice(depth).every((d) => d === 1) && typeof x === "number") {
        out.push(x);
        return;
      }
      throw new StanError("data", `mismatch in number dimensions declared and found in context; processing stage=data initialization; variable name=${name}; dims declared=(${shape.join(",")}); dims found=(${dimsOf(raw).join(",")})`, loc);
    }
    const arr = Array.from(x as ArrayLike<unknown>);
    if (arr.length !== shape[depth]) {
      throw new StanError("data", `mismatch in dimension declared and found in context; processing stage=data initialization; variable name=${name}; position=${depth}; dims declared=(${shape.join(",")}); dims found=(${dimsOf(raw).join(",")})`, loc);
    }
    arr.forEach((y, i) => walk(y, depth + 1, `${path}[${i + 1}]`));
  };
  walk(raw, 0, "");
  return Float64Array.from(out);
}

function dimsOf(x: unknown): number[] {
  const dims: number[] = [];
  let cur = x;
  while (Array.isArray(cur)) {
    dims.push(cur.length);
    cur = cur[0];
  }
  return dims;
}

export { baseRank };

/** The non-constant nodes reachable from `roots`, counted up to just past `limit`. */
function countOperations(roots: readonly Expr[], limit: number): number {
  const seen = new Set<Expr>();
  const stack = [...roots];
  let count = 0;
  while (stack.length > 0 && count <= limit) {
    const e = stack.pop()!;
    if (seen.has(e) || e.isConst) continue;
    seen.add(e);
    count++;
    for (const i of e.inputs) stack.push(i);
  }
  return count;
}

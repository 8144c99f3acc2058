/**
 * JavaScript code generation with reverse-mode derivatives.
 *
 * The graph is cut into units. A *group* is a loop over one shape that computes a chain of
 * elementwise operations as loop-local temporaries and ends either in a stored (materialised)
 * array/scalar or in a sum. Elementwise nodes are fused into their consumer's loop when every
 * consumer is in that loop; anything read at other indices (custom operations, gathers, a
 * different loop shape) is materialised. Smaller-shaped operands (a scalar sigma inside a
 * loop over data) are their own earlier units, so loop-invariant work happens once per call.
 *
 * Reverse mode: each log-density term has adjoint 1, so a term's loop does its forward and
 * backward work in the same iteration and stores nothing. Other units run backward in
 * reverse order, recomputing their loop temporaries rather than storing them.
 */
import { ELEMENTWISE, type CustomCodeContext } from "../model/ops.js";
import type { Expr } from "../model/expr.js";
import { broadcastIndexCode, sameShape, type Shape } from "../model/shape.js";
import { ODE_METHODS } from "../ode/index.js";

interface Group {
  readonly root: Expr;
  readonly domain: Shape;
  /** Fused elementwise/access nodes, in topological order (root excluded). */
  readonly members: Expr[];
}

/** Loop-local accumulators for adjoints, flushed after the loop or after each iteration. */
interface AdjointLocals {
  readonly hoisted: Map<Expr, string>;
  readonly perElement: Map<Expr, string>;
}

type Unit = { kind: "group"; group: Group } | { kind: "custom"; node: Expr } | { kind: "scan"; node: Expr } | { kind: "ode"; node: Expr };

/** How a node outside this pass (a scan body's placeholders, a reported quantity read from a draw) is read. */
export interface LeafCode {
  value(idx: string): string;
  adjoint(idx: string): string | null;
}

/** Closure-level declarations shared by every generated function of one model. */
export class CodeModule {
  private readonly constNames = new Map<Float64Array | Int32Array, string>();
  readonly constants: (Float64Array | Int32Array)[] = [];
  private readonly declarations: string[] = [];
  private readonly declared = new Set<string>();
  private readonly helpers: string[] = [];
  private readonly named = new Map<object, string>();
  private counter = 0;

  constant(values: Float64Array | Int32Array): string {
    let name = this.constNames.get(values);
    if (!name) {
      name = `c${this.constants.length}`;
      this.constNames.set(values, name);
      this.constants.push(values);
      this.declarations.push(`const ${name} = C[${this.constants.length - 1}];`);
    }
    return name;
  }

  /** Position of `values` in `constants` (registered first if new), for layouts that point at data. */
  constantIndex(values: Float64Array | Int32Array): number {
    this.constant(values);
    return this.constants.indexOf(values);
  }

  array(name: string, size: number): string {
    if (!this.declared.has(name)) {
      this.declared.add(name);
      this.declarations.push(`const ${name} = new Float64Array(${size});`);
    }
    return name;
  }

  scratch(size: number): string {
    return this.array(`w${this.counter++}`, size);
  }

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /**
   * A closure-level object made once per `key` (an ode node's problem): `make(name)` returns
   * its declaration and the helper functions it needs.
   */
  once(key: object, prefix: string, make: (name: string) => { declaration: string; functions: string[] }): string {
    let name = this.named.get(key);
    if (name === undefined) {
      name = this.fresh(prefix);
      this.named.set(key, name);
      const { declaration, functions } = make(name);
      this.declarations.push(declaration);
      this.helpers.push(...functions);
    }
    return name;
  }

  source(functions: string[], exported: string[]): string {
    return `"use strict";\n${this.declarations.join("\n")}\n${[...this.helpers, ...functions].join("\n")}\nreturn { ${exported.join(", ")} };`;
  }
}

/** A number as source: only ever a number (constants are checked finite when their node is made). */
const literal = (v: number): string => {
  if (typeof v !== "number") throw new Error("internal error: a literal must be a number");
  return `(${Object.is(v, -0) ? "-0" : String(v)})`;
};

/**
 * Bounds on one generated function's size in registers: every local is a slot of its frame,
 * and a model built in a loop (a sum of 30,000 terms) would otherwise need more than the
 * stack holds. Scalars stored beyond MAX_SCALAR_LOCALS go to an array; a loop fuses at most
 * MAX_FUSED nodes (a longer chain stores an intermediate array).
 */
const MAX_SCALAR_LOCALS = 1000;
/** Arrays up to this length have their adjoints zeroed by a loop rather than `fill` (a call costs more than a few stores). */
const SMALL_ARRAY = 16;

/**
 * An ODE right-hand side with at most this many states gets its Jacobian's reverse sweeps
 * written out one per row (the row a constant), rather than looped over.
 */
const UNROLLED_JACOBIAN_ROWS = 4;
/** An ODE's coupled product J_y S + [0 | J_p] is written out term by term up to this many products. */
const UNROLLED_PRODUCT_TERMS = 128;
const MAX_FUSED = 250;
/**
 * A pass whose code is longer than this (characters) runs each loop of at least OUTLINE_ELEMENTS
 * elements as a closure of its own (DECISIONS.md D222): its one function would be too large for
 * V8 to optimise.
 */
const OUTLINE_SOURCE = 60_000;
const OUTLINE_ELEMENTS = 64;

interface PassOptions {
  /** Log-density terms (scalars) to add into `target`; empty for pure evaluation. */
  readonly terms: readonly Expr[];
  /** Nodes whose values must be stored (for constrain and context evaluation). */
  readonly outputs: readonly Expr[];
  readonly gradient: boolean;
  /** Nodes provided from outside (scan bodies): not computed, read through these accessors. */
  readonly leaves?: ReadonlyMap<Expr, LeafCode>;
}

/** One generated function's schedule and code. */
export class Pass {
  private readonly consumers = new Map<Expr, Expr[]>();
  private readonly groupOf = new Map<Expr, Group>();
  private readonly units: Unit[] = [];
  private readonly termSet: Set<Expr>;
  private readonly fusedTerms = new Set<Expr>();
  private readonly materialised = new Set<Expr>();
  private readonly scalarDecls: string[] = [];
  private readonly arrayAdjoints: string[] = [];
  /** Statements setting every scalar adjoint back to its initial value (`code().adjointReset`). */
  private readonly scalarAdjointResets: string[] = [];
  /** Stored scalars past MAX_SCALAR_LOCALS: their slot in the spill arrays. */
  private readonly spillSlot = new Map<Expr, number>();
  private spillValues = "";
  private spillAdjoints = "";

  constructor(
    private readonly mod: CodeModule,
    private readonly opts: PassOptions,
  ) {
    this.termSet = new Set(opts.terms);
    const nodes = this.collect([...opts.terms, ...opts.outputs]);
    this.schedule(nodes);
  }

  private collect(roots: readonly Expr[]): Expr[] {
    const seen = new Set<Expr>();
    const stack = [...roots];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      if (this.opts.leaves?.has(n)) continue;
      for (const i of n.inputs) {
        if (!this.consumers.has(i)) this.consumers.set(i, []);
        this.consumers.get(i)!.push(n);
        stack.push(i);
      }
    }
    return [...seen].sort((a, b) => a.id - b.id);
  }

  private schedule(nodes: Expr[]) {
    const outputs = new Set(this.opts.outputs);
    for (const t of this.opts.terms) {
      if (!this.consumers.has(t) && !outputs.has(t)) this.fusedTerms.add(t);
    }
    const forced = new Set<Expr>([...this.opts.terms, ...this.opts.outputs]);
    const rootsReverse: Unit[] = [];
    for (let k = nodes.length - 1; k >= 0; k--) {
      const n = nodes[k]!;
      const kind = n.node.kind;
      if (kind === "const" || kind === "param" || kind === "tunable" || this.opts.leaves?.has(n)) continue;
      if (kind === "placeholder") throw new Error(`placeholder ${n.label} used outside its scan`);
      if (kind === "custom" || kind === "scan" || kind === "ode") {
        n.inputs.forEach((i) => forced.add(i));
        this.materialised.add(n);
        rootsReverse.push({ kind, node: n });
        continue;
      }
      if (kind === "access") forced.add(n.inputs[0]!);
      const group = kind === "sum" ? undefined : this.fusionTarget(n, forced);
      if (group) {
        group.members.push(n);
        this.groupOf.set(n, group);
      } else {
        const g: Group = { root: n, domain: kind === "sum" ? n.inputs[0]!.shape : n.shape, members: [] };
        this.groupOf.set(n, g);
        this.materialised.add(n);
        rootsReverse.push({ kind: "group", group: g });
      }
    }
    for (const u of rootsReverse) if (u.kind === "group") u.group.members.reverse();
    // Not push(...): a program of a hundred thousand units would overflow the call's arguments.
    for (let k = rootsReverse.length - 1; k >= 0; k--) this.units.push(rootsReverse[k]!);
  }

  /** The group an elementwise/access node joins, or undefined when it must be stored. */
  private fusionTarget(n: Expr, forced: Set<Expr>): Group | undefined {
    if (forced.has(n)) return undefined;
    const cs = this.consumers.get(n) ?? [];
    let target: Group | undefined;
    for (const c of cs) {
      const k = c.node.kind;
      if (k !== "elementwise" && k !== "sum") return undefined;
      const g = this.groupOf.get(c);
      if (!g || (target && g !== target)) return undefined;
      target = g;
    }
    if (!target || !sameShape(target.domain, n.shape) || target.members.length >= MAX_FUSED) return undefined;
    // Scalars outside fused terms are stored (a local each), so reverse mode never recomputes them.
    if (target.domain.length === 0 && !this.fusedTerms.has(target.root)) return undefined;
    return target;
  }

  // ---- storage naming ----

  private isScalarStore(n: Expr): boolean {
    return n.shape.length === 0;
  }

  /** Code reading stored node `n` at flat index `idx`. */
  value(n: Expr, idx: string): string {
    const leaf = this.opts.leaves?.get(n);
    if (leaf) return leaf.value(idx);
    switch (n.node.kind) {
      case "const":
        return n.size === 1 ? literal(n.node.values[0]!) : `${this.mod.constant(n.node.values)}[${idx}]`;
      case "param":
        return `q[${n.node.block.offset}+${idx}]`;
      case "tunable":
        return `T[${n.node.slot.index}]`;
      default:
        if (this.isScalarStore(n)) {
          const slot = this.spillSlot.get(n);
          return slot === undefined ? `v${n.id}` : `${this.spillValues}[${slot}]`;
        }
        return `${this.mod.array(`v${n.id}`, n.size)}[${idx}]`;
    }
  }

  /** Lvalue of stored node `n`'s adjoint at `idx`, or null when it has none. */
  adjoint(n: Expr, idx: string): string | null {
    if (!this.opts.gradient) return null;
    const leaf = this.opts.leaves?.get(n);
    if (leaf) return leaf.adjoint(idx);
    switch (n.node.kind) {
      case "const":
      case "tunable":
        return null;
      case "param":
        return `grad[${n.node.block.offset}+${idx}]`;
      default:
        if (this.isScalarStore(n)) {
          const slot = this.spillSlot.get(n);
          return slot === undefined ? `g${n.id}` : `${this.spillAdjoints}[${slot}]`;
        }
        return `${this.mod.array(`g${n.id}`, n.size)}[${idx}]`;
    }
  }

  /** Statements copying the values of `exprs` (stored by this pass) one after another into `out`. */
  copyOut(exprs: readonly Expr[]): string {
    let offset = 0;
    return exprs
      .map((e) => {
        const line = e.size === 1 ? `out[${offset}] = ${this.value(e, "0")};` : `for (let k = 0; k < ${e.size}; k++) out[${offset}+k] = ${this.value(e, "k")};`;
        offset += e.size;
        return line;
      })
      .join("\n");
  }

  // ---- code ----

  /**
   * The pass's code: declarations, the forward sweep and the backward sweep. `adjointReset`
   * (gradient passes of elementwise and custom nodes only; null otherwise) sets every adjoint
   * back to its initial value, so that after one forward sweep the backward sweep can be run
   * again from other output adjoints. There the backward sweep leaves what the forward sweep
   * stored as it was: elementwise code writes only adjoints, and so does every custom op of
   * src/model besides scratch of its own backward code; a scan's or ode's backward code
   * recomputes into buffers the forward sweep wrote.
   */
  code(): { prologue: string; forward: string; backward: string; adjointReset: string | null } {
    const forward: string[] = [];
    const backward: string[] = [];
    const fusedTermGroups: Group[] = [];
    const spilled: Expr[] = [];
    let locals = 0;
    for (const n of this.materialised) {
      if (this.isScalarStore(n)) {
        if (locals >= MAX_SCALAR_LOCALS) {
          this.spillSlot.set(n, spilled.length);
          spilled.push(n);
          continue;
        }
        locals++;
        this.scalarDecls.push(`let v${n.id} = 0;`);
        if (this.opts.gradient) {
          this.scalarDecls.push(`let g${n.id} = ${this.termSet.has(n) ? 1 : 0};`);
          this.scalarAdjointResets.push(`g${n.id} = ${this.termSet.has(n) ? 1 : 0};`);
        }
      } else if (this.opts.gradient) {
        // A loop zeroes a small array faster than a call to fill (the ODE Jacobian's rows: D189).
        const adjoint = this.mod.array(`g${n.id}`, n.size);
        this.arrayAdjoints.push(n.size <= SMALL_ARRAY ? `for (let k = 0; k < ${n.size}; k++) ${adjoint}[k] = 0;` : `${adjoint}.fill(0);`);
      }
    }
    if (spilled.length > 0) {
      this.spillValues = this.mod.scratch(spilled.length);
      if (this.opts.gradient) {
        this.spillAdjoints = this.mod.scratch(spilled.length);
        const resets = [`${this.spillAdjoints}.fill(0);`, ...spilled.flatMap((n, k) => (this.termSet.has(n) ? [`${this.spillAdjoints}[${k}] = 1;`] : []))];
        this.scalarDecls.push(...resets);
        this.scalarAdjointResets.push(...resets);
      }
    }
    for (const t of this.opts.terms) {
      // A constant term (Stan's `target +=` of data only, kept in lp__): its value, no adjoint.
      if (t.node.kind === "const") {
        forward.push(`target += ${literal(t.constValues[0]!)};`);
        continue;
      }
      if (t.node.kind !== "param") continue;
      forward.push(`target += ${this.value(t, "0")};`);
      if (this.opts.gradient) forward.push(`${this.adjoint(t, "0")} += 1;`);
    }
    // Units that loop over many elements, whose code may go into a function of its own (outline).
    const heavy = new Set<string>();
    const loop = (code: string, elements: number): string => {
      if (elements >= OUTLINE_ELEMENTS) heavy.add(code);
      return code;
    };
    for (const u of this.units) {
      if (u.kind === "scan") {
        const elements = u.node.size;
        forward.push(loop(this.scanForward(u.node), elements));
        if (this.termSet.has(u.node)) forward.push(`target += ${this.value(u.node, "0")};`);
        if (this.opts.gradient) backward.push(loop(this.scanBackward(u.node), elements));
        continue;
      }
      if (u.kind === "ode") {
        forward.push(this.odeForward(u.node));
        if (this.opts.gradient) backward.push(this.odeBackward(u.node));
        continue;
      }
      if (u.kind === "custom") {
        const elements = u.node.inputs.reduce((n, i) => n + i.size, u.node.size);
        forward.push(loop(this.customCode(u.node, "fwd"), elements));
        if (this.termSet.has(u.node)) forward.push(`target += ${this.value(u.node, "0")};`);
        if (this.opts.gradient) backward.push(loop(this.customCode(u.node, "bwd"), elements));
        continue;
      }
      const root = u.group.root;
      if (this.fusedTerms.has(root)) {
        fusedTermGroups.push(u.group);
        continue;
      }
      const elements = u.group.domain.reduce((n, d) => n * d, 1);
      forward.push(loop(this.loopCode([u.group], true, false), elements));
      if (this.termSet.has(root)) forward.push(`target += ${this.value(root, "0")};`);
      if (this.opts.gradient) backward.push(loop(this.loopCode([u.group], false, true), elements));
    }
    // Terms depend on nothing after them, so they run last, one loop per shape (split where
    // one loop body would hold more than MAX_FUSED nodes).
    const byDomain = new Map<string, Group[][]>();
    for (const g of fusedTermGroups) {
      const key = g.domain.join(",");
      const batches = byDomain.get(key) ?? [];
      byDomain.set(key, batches);
      const last = batches[batches.length - 1];
      if (last === undefined || last.reduce((n, x) => n + x.members.length + 1, 0) + g.members.length + 1 > MAX_FUSED) batches.push([g]);
      else last.push(g);
    }
    for (const batches of byDomain.values()) {
      for (const groups of batches) forward.push(loop(this.loopCode(groups, true, this.opts.gradient), groups[0]!.domain.reduce((n, d) => n * d, 1)));
    }
    // V8 does not optimise a function past about 60 KB of bytecode: in a large log density every
    // loop would run in the interpreter. Each heavy loop then becomes a closure called where it
    // stands, optimised on its own; it reads and writes the enclosing function's values as before.
    if (forward.reduce((n, c) => n + c.length, 0) + backward.reduce((n, c) => n + c.length, 0) > OUTLINE_SOURCE) {
      const outline = (code: string) => (heavy.has(code) ? `(() => {\n${code}\n})();` : code);
      forward.splice(0, forward.length, ...forward.map(outline));
      backward.splice(0, backward.length, ...backward.map(outline));
    }
    const repeatable = this.opts.gradient && fusedTermGroups.length === 0 && this.units.every((u) => u.kind === "group" || u.kind === "custom");
    return {
      prologue: [...this.scalarDecls, ...this.arrayAdjoints].join("\n"),
      forward: forward.join("\n"),
      backward: backward.reverse().join("\n"),
      adjointReset: repeatable ? [...this.scalarAdjointResets, ...this.arrayAdjoints].join("\n") : null,
    };
  }

  private customCode(n: Expr, which: "fwd" | "bwd"): string {
    if (n.node.kind !== "custom") throw new Error("not a custom node");
    const ctx: CustomCodeContext = {
      inShapes: n.inputs.map((i) => i.shape),
      outShape: n.shape,
      x: (k, idx) => this.value(n.inputs[k]!, idx),
      gx: (k, idx) => this.adjoint(n.inputs[k]!, idx),
      y: (idx) => this.value(n, idx),
      gy: (idx) => this.adjoint(n, idx) ?? "0",
      scratch: (size) => this.mod.scratch(size),
      constant: (values) => this.mod.constant(values),
      fresh: (prefix) => this.mod.fresh(prefix),
    };
    return `{ ${n.node.op[which](ctx)} }`;
  }

  /** A scan body compiled as a nested pass whose carry and rows are read from buffers. */
  private scanBody(n: Expr, gradient: boolean, t: string, carryIn: string, carryAdj: string) {
    if (n.node.kind !== "scan") throw new Error("not a scan");
    const body = n.node.body;
    const leaves = new Map<Expr, LeafCode>();
    leaves.set(body.carry, { value: (i) => `${carryIn}[${i}]`, adjoint: (i) => `${carryAdj}[${i}]` });
    body.xs.forEach((x, k) => {
      const seq = n.inputs[1 + k]!;
      const row = x.size;
      leaves.set(x, {
        value: (i) => this.value(seq, `${t}*${row}+${i}`),
        adjoint: (i) => this.adjoint(seq, `${t}*${row}+${i}`),
      });
    });
    for (const f of body.free) {
      leaves.set(f, { value: (i) => this.value(f, i), adjoint: (i) => this.adjoint(f, i) });
    }
    const pass = new Pass(this.mod, { terms: [], outputs: [body.result], gradient, leaves });
    return { pass, code: pass.code(), result: body.result };
  }

  private scanForward(n: Expr): string {
    if (n.node.kind !== "scan") throw new Error("not a scan");
    const { length } = n.node.body;
    const init = n.inputs[0]!;
    const size = init.size;
    const carry = this.mod.scratch(size);
    const t = this.mod.fresh("t");
    const { pass, code, result } = this.scanBody(n, false, t, carry, "");
    return `{ for (let k = 0; k < ${size}; k++) ${carry}[k] = ${this.value(init, "k")};
      for (let ${t} = 0; ${t} < ${length}; ${t}++) {
        ${code.prologue}
        ${code.forward}
        for (let k = 0; k < ${size}; k++) { const r = ${pass.value(result, "k")}; ${this.value(n, `${t}*${size}+k`)} = r; ${carry}[k] = r; }
      } }`;
  }

  private scanBackward(n: Expr): string {
    if (n.node.kind !== "scan") throw new Error("not a scan");
    const { length } = n.node.body;
    const init = n.inputs[0]!;
    const size = init.size;
    const [carry, carryAdj, nextAdj] = [this.mod.scratch(size), this.mod.scratch(size), this.mod.scratch(size)];
    const t = this.mod.fresh("t");
    const { pass, code, result } = this.scanBody(n, true, t, carry, carryAdj);
    const initAdj = this.adjoint(init, "k");
    return `{ ${nextAdj}.fill(0);
      for (let ${t} = ${length - 1}; ${t} >= 0; ${t}--) {
        for (let k = 0; k < ${size}; k++) ${carry}[k] = ${t} === 0 ? ${this.value(init, "k")} : ${this.value(n, `(${t}-1)*${size}+k`)};
        ${carryAdj}.fill(0);
        ${code.prologue}
        ${code.forward}
        for (let k = 0; k < ${size}; k++) ${pass.adjoint(result, "k")} = ${this.adjoint(n, `${t}*${size}+k`)} + ${nextAdj}[k];
        ${code.backward}
        ${nextAdj}.set(${carryAdj});
      }
      ${initAdj === null ? "" : `for (let k = 0; k < ${size}; k++) ${initAdj} += ${nextAdj}[k];`} }`;
  }

  /**
   * An ode node's problem object, made once per module: its right-hand side and its Jacobian
   * compiled from the traced body, whose t, y and parameters (the non-data arguments, then the
   * free nodes, flattened) are the functions' arguments. The Jacobian is one function running
   * a reverse sweep per state, each writing its row of J_y and J_p in place (DECISIONS.md D189).
   */
  private odeProblem(n: Expr): string {
    if (n.node.kind !== "ode") throw new Error("not an ode");
    const body = n.node.body;
    return this.mod.once(n, "odp", (name) => {
      const size = body.state.size;
      const np = [...body.args, ...body.free].reduce((s, h) => s + h.size, 0);
      const row = this.mod.fresh("row");
      const leaves = (gradient: boolean) => {
        const map = new Map<Expr, LeafCode>();
        map.set(body.time, { value: () => "t", adjoint: () => null });
        map.set(body.state, { value: (i) => `y[${i}]`, adjoint: gradient ? (i) => `jy[${row}*${size}+(${i})]` : () => null });
        let offset = 0;
        for (const holder of [...body.args, ...body.free]) {
          const at = offset;
          map.set(holder, { value: (i) => `p[${at}+${i}]`, adjoint: gradient ? (i) => `jp[${row}*${np}+${at}+(${i})]` : () => null });
          offset += holder.size;
        }
        return map;
      };
      const fwd = new Pass(this.mod, { terms: [], outputs: [body.result], gradient: false, leaves: leaves(false) });
      const fwdCode = fwd.code();
      const rev = new Pass(this.mod, { terms: [], outputs: [body.result], gradient: true, leaves: leaves(true) });
      const revCode = rev.code();
      const seed = `for (let k = 0; k < ${size}; k++) ${rev.adjoint(body.result, "k")} = k === ${row} ? 1 : 0;`;
      // One forward sweep serves every row where the backward sweep leaves it intact; then, for
      // a few states, a block per row whose row number is a constant (D233).
      const jacobianRows =
        revCode.adjointReset === null
          ? `for (let ${row} = 0; ${row} < ${size}; ${row}++) {\n${revCode.prologue}\n${revCode.forward}\n${seed}\n${revCode.backward}\n}`
          : size <= UNROLLED_JACOBIAN_ROWS
            ? `${revCode.prologue}\n${revCode.forward}\n${Array.from({ length: size }, (_, r) => `{ const ${row} = ${r};\n${r > 0 ? revCode.adjointReset : ""}\n${seed}\n${revCode.backward}\n}`).join("\n")}`
            : `${revCode.prologue}\n${revCode.forward}\nfor (let ${row} = 0; ${row} < ${size}; ${row}++) {\nif (${row} > 0) {\n${revCode.adjointReset}\n}\n${seed}\n${revCode.backward}\n}`;
      const rhs = this.mod.fresh("odr");
      const jac = this.mod.fresh("odj");
      const n0 = this.odeInitialColumns(n);
      const coupled = revCode.adjointReset === null ? null : this.mod.fresh("odc");
      const method = ODE_METHODS.indexOf(body.method);
      // Times that depend on parameters live in a buffer each solve writes first (odeForward).
      const times = body.ts === null ? this.odeTimesBuffer(n) : this.mod.constant(body.ts);
      // A t0 that depends on parameters lives in a buffer each solve writes first, as varying times.
      const start = body.t0 === null ? this.odeStartBuffer(n) : this.mod.constant(Float64Array.of(body.t0));
      return {
        declaration: `const ${name} = rt.ode.problem(${size}, ${np}, ${rhs}, ${jac}, ${coupled ?? "null"}, ${method}, ${start}, ${times}, ${literal(body.rtol)}, ${literal(body.atol)}, ${literal(body.maxSteps)}, ${n0 > 0}, ${body.ts === null}, ${body.t0 === null});`,
        functions: [
          `function ${rhs}(t, y, p, dy) {\n${fwdCode.prologue}\n${fwdCode.forward}\nfor (let k = 0; k < ${size}; k++) dy[k] = ${fwd.value(body.result, "k")};\n}`,
          `function ${jac}(t, y, p, jy, jp) {\nfor (let k = 0; k < ${size * size}; k++) jy[k] = 0;\nfor (let k = 0; k < ${size * np}; k++) jp[k] = 0;\n${jacobianRows}\n}`,
          ...(coupled === null ? [] : [this.odeCoupled(coupled, size, np, n0, jacobianRows, rev.value(body.result, "k"))]),
        ],
      };
    });
  }

  /**
   * The coupled system's derivative in one function (an ode node whose Jacobian needs one
   * forward sweep): `name(t, y, p, dz, at)` reads z = (y, S) from `y` (the states first, so the
   * traced body reads them where it reads y) and writes (f, J_y S + [0 | J_p]) at dz[at ..),
   * as AugmentedSystem's evaluation with `rhs` and `jacobian` would, term for term: f from the
   * Jacobian's forward sweep, J into two buffers, the product in the same order of sums
   * (written out, its indices constants, for a small system). One call instead of three per
   * Runge-Kutta stage (DECISIONS.md D233).
   */
  private odeCoupled(name: string, n: number, np: number, n0: number, jacobianRows: string, result: string): string {
    const [jy, jp] = [this.mod.scratch(Math.max(n * n, 1)), this.mod.scratch(Math.max(n * np, 1))];
    const m = n0 + np;
    const lines = [
      `const jy = ${jy};`,
      `const jp = ${jp};`,
      `for (let k = 0; k < ${n * n}; k++) jy[k] = 0;`,
      `for (let k = 0; k < ${n * np}; k++) jp[k] = 0;`,
      jacobianRows,
      `for (let k = 0; k < ${n}; k++) dz[at+k] = ${result};`,
    ];
    if (n * n * m <= UNROLLED_PRODUCT_TERMS)
      for (let j = 0; j < m; j++) {
        const col = n + j * n;
        for (let r = 0; r < n; r++) {
          const base = j >= n0 ? `jp[${r * np + j - n0}]` : "0";
          const terms = Array.from({ length: n }, (_, k) => ` + jy[${r * n + k}] * y[${col + k}]`).join("");
          lines.push(`dz[at+${col + r}] = ${base}${terms};`);
        }
      }
    else
      lines.push(`for (let j = 0; j < ${m}; j++) { const col = ${n} + j * ${n};
        for (let r = 0; r < ${n}; r++) { let acc = j >= ${n0} ? jp[r * ${np} + j - ${n0}] : 0;
          for (let k = 0; k < ${n}; k++) acc += jy[r * ${n} + k] * y[col + k];
          dz[at + col + r] = acc; } }`);
    return `function ${name}(t, y, p, dz, at) {\n${lines.join("\n")}\n}`;
  }

  /** The parameter vector of an ode node's solve: its non-data arguments and free nodes, flattened. */
  private odeInputs(n: Expr): { input: Expr; offset: number }[] {
    if (n.node.kind !== "ode") throw new Error("not an ode");
    let offset = 0;
    return n.inputs.slice(1, 1 + n.node.body.args.length + n.node.body.free.length).map((input) => {
      const at = offset;
      offset += input.size;
      return { input, offset: at };
    });
  }

  /** An ode node's output times when they depend on parameters (its input after the free nodes), else null. */
  private odeTimes(n: Expr): Expr | null {
    return n.node.kind === "ode" && n.node.body.ts === null ? n.inputs[1 + n.node.body.args.length + n.node.body.free.length]! : null;
  }

  /** An ode node's initial time when it depends on parameters (its last input), else null. */
  private odeStart(n: Expr): Expr | null {
    return n.node.kind === "ode" && n.node.body.t0 === null ? n.inputs[n.inputs.length - 1]! : null;
  }

  /** The buffer of an ode node's initial time that depends on parameters (its problem's t0). */
  private odeStartBuffer(n: Expr): string {
    return this.mod.array(`oz${n.id}`, 1);
  }

  /**
   * Sensitivity columns for y0: n where y0 or t0 depends on parameters (t0's derivative is
   * read from y0's sensitivities: DECISIONS.md D208's formula), else 0.
   */
  private odeInitialColumns(n: Expr): number {
    const y0 = n.inputs[0]!;
    return y0.isConst && this.odeStart(n) === null ? 0 : y0.size;
  }

  /** The buffer of an ode node's initial state (written forward, read backward for t0's adjoint). */
  private odeInitialState(n: Expr): string {
    return this.mod.array(`oy${n.id}`, n.inputs[0]!.size);
  }

  /** The buffer of an ode node's output times that depend on parameters (its problem's ts). */
  private odeTimesBuffer(n: Expr): string {
    return this.mod.array(`ot${n.id}`, n.shape[0]!);
  }

  /** The buffer holding an ode node's flattened parameters (written forward, read backward). */
  private odeParameters(n: Expr, np: number): string {
    return this.mod.array(`op${n.id}`, Math.max(np, 1));
  }

  /**
   * Solves the ODE (with its sensitivities in a gradient pass). A failed solve rejects: the
   * density functions return -Infinity; elsewhere the solution reads NaN.
   */
  private odeForward(n: Expr): string {
    if (n.node.kind !== "ode") throw new Error("not an ode");
    const problem = this.odeProblem(n);
    const y0 = n.inputs[0]!;
    const inputs = this.odeInputs(n);
    const np = inputs.reduce((s, x) => s + x.input.size, 0);
    const y0Buffer = this.odeInitialState(n);
    const pBuffer = this.odeParameters(n, np);
    const values = this.mod.array(`v${n.id}`, n.size);
    const times = this.odeTimes(n);
    const start = this.odeStart(n);
    const fill = [
      `for (let k = 0; k < ${y0.size}; k++) ${y0Buffer}[k] = ${this.value(y0, "k")};`,
      ...inputs.map(({ input, offset }) => `for (let k = 0; k < ${input.size}; k++) ${pBuffer}[${offset}+k] = ${this.value(input, "k")};`),
      ...(times === null ? [] : [`for (let k = 0; k < ${times.size}; k++) ${this.odeTimesBuffer(n)}[k] = ${this.value(times, "k")};`]),
      ...(start === null ? [] : [`${this.odeStartBuffer(n)}[0] = ${this.value(start, "0")};`]),
    ].join("\n");
    const reject = this.opts.terms.length > 0 && this.opts.leaves === undefined ? "return -Infinity;" : "";
    // As Stan: the gradient pass integrates the sensitivities (whose error enters the step
    // control, as in Stan's var solve); the value passes (logDensity, constrain) solve the
    // states alone, as Stan's double solve does, so each takes the steps of its counterpart in
    // Stan (DECISIONS.md D225, amending D130).
    const call = this.opts.gradient
      ? `rt.ode.solveSens(${problem}, ${y0Buffer}, ${pBuffer}, ${values}, ${this.odeSensitivities(n, np)})`
      : `rt.ode.solve(${problem}, ${y0Buffer}, ${pBuffer}, ${values})`;
    return `{ ${fill}\nif (!${call}) { ${reject} } }`;
  }

  /** The buffer of an ode node's sensitivities (written by the forward solve, read backward). */
  private odeSensitivities(n: Expr, np: number): string {
    const m = this.odeInitialColumns(n) + np;
    return this.mod.array(`sv${n.id}`, Math.max(n.size * m, 1));
  }

  /**
   * Adjoints of y0 and the parameters: sum over times and states of the solution's adjoint
   * times its sensitivity; then those of varying output times and a varying initial time.
   */
  private odeBackward(n: Expr): string {
    if (n.node.kind !== "ode") throw new Error("not an ode");
    const y0 = n.inputs[0]!;
    const inputs = this.odeInputs(n);
    const np = inputs.reduce((s, x) => s + x.input.size, 0);
    const n0 = this.odeInitialColumns(n);
    const m = n0 + np;
    const states = y0.size;
    const times = n.shape[0]!;
    const sens = this.odeSensitivities(n, np);
    const total = this.mod.scratch(Math.max(m, 1));
    const adjoint = this.mod.array(`g${n.id}`, n.size);
    const lines = [
      `for (let j = 0; j < ${m}; j++) { let acc = 0; for (let i = 0; i < ${times}; i++) for (let s = 0; s < ${states}; s++) acc += ${adjoint}[i*${states}+s] * ${sens}[(i*${m}+j)*${states}+s]; ${total}[j] = acc; }`,
    ];
    const y0Adjoint = this.adjoint(y0, "k");
    if (n0 > 0 && y0Adjoint !== null) lines.push(`for (let k = 0; k < ${n0}; k++) ${y0Adjoint} += ${total}[k];`);
    for (const { input, offset } of inputs) {
      const lv = this.adjoint(input, "k");
      if (lv !== null) lines.push(`for (let k = 0; k < ${input.size}; k++) ${lv} += ${total}[${n0 + offset}+k];`);
    }
    const ts = this.odeTimes(n);
    const tsAdjoint = ts === null ? null : this.adjoint(ts, "k");
    if (ts !== null && tsAdjoint !== null) {
      // d y(ts[i]) / d ts[i] = f(ts[i], y(ts[i]), p): one right-hand side per output time.
      const out = this.mod.scratch(times);
      lines.push(
        `rt.ode.timeAdjoints(${this.odeProblem(n)}, ${this.mod.array(`v${n.id}`, n.size)}, ${this.odeParameters(n, np)}, ${adjoint}, ${out});`,
        `for (let k = 0; k < ${times}; k++) ${tsAdjoint} += ${out}[k];`,
      );
    }
    const start = this.odeStart(n);
    const startAdjoint = start === null ? null : this.adjoint(start, "0");
    if (startAdjoint !== null) {
      // d y(ts[i]) / d t0 = -S_y0(ts[i]) f(t0, y0): y0's share of the adjoint times -f at the start.
      lines.push(`${startAdjoint} += rt.ode.startAdjoint(${this.odeProblem(n)}, ${this.odeInitialState(n)}, ${this.odeParameters(n, np)}, ${total});`);
    }
    return `{ ${lines.join("\n")} }`;
  }

  /**
   * One loop over the groups' common shape. `fwd`: compute and store (a fused term adds to
   * target instead); `bwd`: propagate the root's adjoint (1 for a fused term) to the operands.
   */
  private loopCode(groups: readonly Group[], fwd: boolean, bwd: boolean): string {
    const domain = groups[0]!.domain;
    const vars = domain.map((_, k) => `i${k}`);
    const flat = broadcastIndexCode(domain, domain, vars);
    const pre: string[] = [];
    const post: string[] = [];
    const lines: string[] = [];
    // Adjoints of stored scalars that a loop accumulates into: a local inside, one store after.
    const hoisted = new Map<Expr, string>();
    // Array adjoints written at this loop's own index: summed in a local per iteration first.
    const perElement = new Map<Expr, string>();
    for (const g of groups) {
      const parts = this.groupLines(g, fwd, bwd, vars, flat, { hoisted, perElement });
      pre.push(...parts.pre);
      lines.push(...parts.body);
      post.push(...parts.post);
    }
    for (const [n, local] of hoisted) {
      pre.push(`let ${local} = 0;`);
      post.push(`${this.adjoint(n, "0")} += ${local};`);
    }
    for (const [n, local] of perElement) {
      lines.unshift(`let ${local} = 0;`);
      lines.push(`${this.adjoint(n, flat)} += ${local};`);
    }
    let code = lines.join("\n");
    for (let k = domain.length - 1; k >= 0; k--) {
      code = `for (let ${vars[k]} = 0; ${vars[k]} < ${domain[k]}; ${vars[k]}++) {\n${code}\n}`;
    }
    return `{ ${pre.join("\n")}\n{\n${code}\n}\n${post.join("\n")} }`;
  }

  private groupLines(g: Group, fwd: boolean, bwd: boolean, vars: string[], flat: string, locals: AdjointLocals) {
    const inGroup = new Set(g.members);
    const root = g.root;
    const isSum = root.node.kind === "sum";
    const body = isSum ? g.members : [...g.members, root];
    if (!isSum) inGroup.add(root);
    const temp = (n: Expr) => `t${n.id}`;
    const read = (n: Expr, at: string = broadcastIndexCode(n.shape, g.domain, vars)) => (inGroup.has(n) ? temp(n) : this.value(n, at));
    // A fused term adds to target (its adjoint is 1) instead of being stored.
    const fused = this.fusedTerms.has(root);
    const lines: string[] = [];
    const pre: string[] = [];
    const post: string[] = [];

    // Forward temporaries (recomputed for a backward-only loop, except the stored root).
    for (const n of body) {
      const expr = !fwd && n === root ? this.value(root, flat) : this.forwardExpr(n, read, flat);
      lines.push(`const ${temp(n)} = ${expr};`);
    }
    if (fwd) {
      if (isSum) {
        const acc = `s${root.id}`;
        pre.push(`let ${acc} = 0;`);
        lines.push(`${acc} += ${read(root.inputs[0]!)};`);
        post.push(fused ? `target += ${acc};` : `${this.value(root, "0")} = ${acc};`);
      } else if (fused) lines.push(`target += ${temp(root)};`);
      else lines.push(`${this.value(root, flat)} = ${temp(root)};`);
    }
    if (bwd) lines.push(...this.backwardLines(g, body, inGroup, read, vars, flat, fused, locals));
    return { pre, body: lines, post };
  }

  private forwardExpr(n: Expr, read: (n: Expr, at?: string) => string, flat: string): string {
    if (n.node.kind === "access") return read(n.inputs[0]!, this.mapIndex(n.node.map, flat));
    if (n.node.kind !== "elementwise") throw new Error(`cannot fuse ${n.node.kind}`);
    const op = ELEMENTWISE[n.node.op]!;
    return op.fwd(n.inputs.map((i) => `(${read(i)})`));
  }

  private mapIndex(map: Int32Array, flat: string): string {
    const start = map[0] ?? 0;
    if (map.every((m, k) => m === start + k)) return start === 0 ? flat : `${start}+${flat}`;
    return `${this.mod.constant(map)}[${flat}]`;
  }

  private backwardLines(
    g: Group,
    body: Expr[],
    inGroup: Set<Expr>,
    read: (n: Expr, at?: string) => string,
    vars: string[],
    flat: string,
    fused: boolean,
    { hoisted, perElement }: AdjointLocals,
  ): string[] {
    const lines: string[] = [];
    const adj = (n: Expr) => `a${n.id}`;
    const root = g.root;
    const seed = fused ? "1" : this.adjoint(root, root.node.kind === "sum" ? "0" : flat)!;
    const push = (target: Expr, at: string, contribution: string) => {
      if (inGroup.has(target)) {
        lines.push(`${adj(target)} += ${contribution};`);
        return;
      }
      const lv = this.adjoint(target, at);
      if (lv === null) return;
      if (g.domain.length > 0 && target.size === 1) {
        if (!hoisted.has(target)) hoisted.set(target, `h${target.id}`);
        lines.push(`${hoisted.get(target)} += ${contribution};`);
      } else if (at === flat && sameShape(target.shape, g.domain)) {
        if (!perElement.has(target)) perElement.set(target, `e${target.id}`);
        lines.push(`${perElement.get(target)} += ${contribution};`);
      } else lines.push(`${lv} += ${contribution};`);
    };
    for (const n of body) if (n !== root) lines.push(`let ${adj(n)} = 0;`);
    if (root.node.kind === "sum") {
      const input = root.inputs[0]!;
      push(input, broadcastIndexCode(input.shape, g.domain, vars), seed);
    } else {
      lines.push(`const ${adj(root)} = ${seed};`);
    }
    for (let k = body.length - 1; k >= 0; k--) {
      const n = body[k]!;
      if (n.node.kind === "access") {
        push(n.inputs[0]!, this.mapIndex(n.node.map, flat), adj(n));
        continue;
      }
      if (n.node.kind !== "elementwise") continue;
      const op = ELEMENTWISE[n.node.op]!;
      const args = n.inputs.map((i) => `(${read(i)})`);
      n.inputs.forEach((input, j) => {
        if (input.isConst) return;
        const d = op.der(j, args, `t${n.id}`);
        const contribution = d === "1" ? adj(n) : d === "-1" ? `-${adj(n)}` : `${adj(n)}*(${d})`;
        push(input, broadcastIndexCode(input.shape, g.domain, vars), contribution);
      });
    }
    return lines;
  }
}

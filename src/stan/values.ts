/**
 * Values of the tracing interpreter: every Stan value is an expression of the builder's IR
 * (constants for data, whose operations fold at once; nodes of parameters otherwise), with its
 * Stan type. Variables are mutable stores that keep constants as numbers, element writes of
 * parameters as scalar cells, and rebuild one expression when the whole is read; a variable
 * held as one expression keeps its later element writes aside until it is read whole or in
 * slices (D237).
 */
import { concat, constant, Expr, reshape } from "../model/index.js";
import { access } from "../model/expr.js";
import { sizeOf, type Shape } from "../model/shape.js";
import type { BaseType, Index } from "./ast.js";
import { StanError, type Location } from "./errors.js";

/** A Stan type: a base type inside `arr` array dimensions. */
export interface SType {
  readonly base: BaseType | "void";
  readonly arr: number;
}

/** A value: its type and its expression (shape: array dimensions then the base's). */
export interface Val {
  readonly t: SType;
  readonly e: Expr;
}

export const INT: SType = { base: "int", arr: 0 };
export const REAL: SType = { base: "real", arr: 0 };

/** Rank of the base type's own dimensions. */
export const baseRank = (b: SType["base"]): number => (b === "matrix" ? 2 : b === "vector" || b === "row_vector" ? 1 : 0);

export const isScalarType = (t: SType): boolean => t.arr === 0 && (t.base === "int" || t.base === "real");

export function typeName(t: SType): string {
  const base = t.base;
  return t.arr === 0 ? base : `array[${",".repeat(t.arr - 1)}] ${base}`;
}

export const intVal = (n: number): Val => ({ t: INT, e: constant(n, [], String(n), true) });
export const realVal = (n: number): Val => ({ t: REAL, e: constant(n, [], String(n)) });

/** The number a constant scalar stands for; `what` names it in the error otherwise. */
export function numberOf(v: Val, what: string, loc?: Location): number {
  if (!v.e.isConst || v.e.size !== 1) {
    throw new StanError("type", `${what} must be ${v.e.isConst ? "a single number" : "known from the data (it depends on parameters here)"}.`, loc);
  }
  return v.e.constValues[0]!;
}

/** Sees every write to a variable before it happens (`positions` null: the whole). */
export type WriteObserver = (v: Var, positions: Int32Array | null) => void;
let writeObserver: WriteObserver | null = null;

/** Sets the observer of variable writes (a loop lowered to a scan watches what its body writes); returns the previous one. */
export function observeWrites(observer: WriteObserver | null): WriteObserver | null {
  const previous = writeObserver;
  writeObserver = observer;
  return previous;
}

/** A variable's store. */
export class Var {
  /** Constant values (valid where `cells` has no entry and `whole` is null). */
  private vals: Float64Array;
  private cells: (Expr | undefined)[] | null = null;
  /** The whole value as one expression (a cache when `cells` is set; the value itself when `symbolic`). */
  private whole: Expr | null = null;
  private symbolic = false;
  /**
   * Scalar element writes not yet joined into `whole` (only when `symbolic`), in the order written.
   * Joining them on each write rebuilt the whole variable per element: O(size) a write.
   */
  private pending: Map<number, Expr> | null = null;
  private readonly elementCache = new Map<number, Expr>();
  /** Whether the variable was ever given a value (reads of unset variables give NaN in Stan). */
  assigned = false;

  constructor(
    readonly name: string,
    readonly t: SType,
    readonly shape: Shape,
    /** Declared bounds, checked on assignment where known (transformed data). */
    readonly readonly_: boolean = false,
  ) {
    this.vals = new Float64Array(sizeOf(shape));
    this.unset = new Uint8Array(this.vals.length).fill(1);
  }

  /** Elements never given a value (Stan's NaN): reading one is an error, writing clears it. */
  private unset: Uint8Array | null;

  private checkSet(positions?: ArrayLike<number>) {
    const u = this.unset;
    if (!u) return;
    const n = positions ? positions.length : u.length;
    for (let k = 0; k < n; k++) {
      const p = positions ? positions[k]! : k;
      if (u[p]) {
        throw new StanError("runtime", `${this.name}${this.shape.length ? ` (element ${p + 1} in row-major order)` : ""} is read before it is given a value (Stan would use NaN).`);
      }
    }
    if (!positions) this.unset = null;
  }

  private markSet(positions?: ArrayLike<number>) {
    if (!this.unset) return;
    if (!positions) {
      this.unset = null;
      return;
    }
    for (let k = 0; k < positions.length; k++) this.unset[positions[k]!] = 0;
  }

  get size(): number {
    return this.vals.length;
  }

  /** Whether the element at flat position `p` was never given a value. */
  isUnset(p: number): boolean {
    return this.unset !== null && this.unset[p] === 1;
  }

  get isConst(): boolean {
    return !this.symbolic && this.cells === null;
  }

  /** Whether the value is one expression of the whole (not constants and scalar cells). */
  get isWhole(): boolean {
    return this.symbolic;
  }

  /** The whole value. */
  read(): Expr {
    this.checkSet();
    return this.current();
  }

  private current(): Expr {
    if (this.pending) this.rebuild();
    if (this.whole) return this.whole;
    const integer = this.t.base === "int";
    if (this.cells === null) {
      this.whole = constant(this.vals, this.shape, this.name, integer);
      return this.whole;
    }
    this.whole = reshape(joinCells(this.cells, this.vals), this.shape);
    this.whole.label = this.name;
    return this.whole;
  }

  /** The elements at flat `positions`, in the shape `shape`. */
  readAt(positions: Int32Array, shape: Shape): Expr {
    this.checkSet(positions);
    if (this.cells === null && !this.symbolic) return constant(gather(this.vals, positions), shape, this.name, this.t.base === "int");
    if (this.cells !== null && !this.symbolic) {
      if (positions.length === 1) {
        const c = this.cells[positions[0]!];
        return c ? (shape.length === 0 ? c : reshape(c, shape)) : constant(this.vals[positions[0]!]!, shape, this.name, this.t.base === "int");
      }
      if (positions.every((p) => this.cells![p] === undefined)) return constant(gather(this.vals, positions), shape, this.name, this.t.base === "int");
      const parts = Array.from(positions, (p) => this.cells![p] ?? constant(this.vals[p]!));
      return reshape(joinCells(parts, new Float64Array(parts.length)), shape);
    }
    const pending = this.pending;
    if (pending && positions.some((p) => pending.has(p))) {
      if (positions.length === 1) {
        const c = pending.get(positions[0]!)!;
        return shape.length === 0 ? c : reshape(c, shape);
      }
      return this.withPending(positions, shape);
    }
    if (positions.length === 1 && shape.length === 0) {
      const p = positions[0]!;
      let c = this.elementCache.get(p);
      if (!c) {
        c = access(this.whole!, positions, [], `${this.name}[${p}]`);
        this.elementCache.set(p, c);
      }
      return c;
    }
    return access(this.whole!, positions, shape, `${this.name}[...]`);
  }

  /** The store's state, to put back with `restore` (both branches of a select run on one variable). */
  snapshot(): unknown {
    return {
      vals: Float64Array.from(this.vals),
      cells: this.cells ? [...this.cells] : null,
      whole: this.whole,
      symbolic: this.symbolic,
      pending: this.pending ? new Map(this.pending) : null,
      unset: this.unset ? Uint8Array.from(this.unset) : null,
    };
  }

  restore(state: unknown): void {
    const s = state as { vals: Float64Array; cells: (Expr | undefined)[] | null; whole: Expr | null; symbolic: boolean; pending: Map<number, Expr> | null; unset: Uint8Array | null };
    this.vals = Float64Array.from(s.vals);
    this.cells = s.cells ? [...s.cells] : null;
    this.whole = s.whole;
    this.symbolic = s.symbolic;
    this.pending = s.pending ? new Map(s.pending) : null;
    this.unset = s.unset ? Uint8Array.from(s.unset) : null;
    this.elementCache.clear();
  }

  /** Replaces the whole value. */
  write(e: Expr): void {
    writeObserver?.(this, null);
    this.assigned = true;
    this.markSet();
    this.elementCache.clear();
    this.pending = null;
    if (e.isConst) {
      this.vals = Float64Array.from(e.constValues);
      this.cells = null;
      this.whole = null;
      this.symbolic = false;
      return;
    }
    this.cells = null;
    this.whole = sameSize(e, this.shape) ? e : reshape(e, this.shape);
    this.symbolic = true;
  }

  /** Writes `e` (flattened) at flat `positions`. */
  writeAt(positions: Int32Array, e: Expr): void {
    writeObserver?.(this, positions);
    this.assigned = true;
    this.markSet(positions);
    if (this.symbolic && positions.length <= MAX_CELL_WRITE) {
      // Set aside until read: the whole expression, and reads of other elements, stay as they are.
      this.pending ??= new Map();
      if (positions.length === 1) {
        this.pending.delete(positions[0]!);
        this.pending.set(positions[0]!, e.shape.length === 0 ? e : reshape(e, []));
      } else {
        positions.forEach((p, k) => {
          this.pending!.delete(p);
          this.pending!.set(p, access(e, Int32Array.of(k), [], `${e.label}[${k}]`));
        });
      }
      return;
    }
    this.elementCache.clear();
    if (e.isConst && this.cells === null && !this.symbolic) {
      const v = e.constValues;
      positions.forEach((p, k) => (this.vals[p] = v[k]!));
      this.whole = null;
      return;
    }
    if (!this.symbolic) {
      if (positions.length <= MAX_CELL_WRITE || e.isConst) {
        this.cells ??= new Array<Expr | undefined>(this.vals.length);
        if (e.isConst) {
          const v = e.constValues;
          positions.forEach((p, k) => {
            this.vals[p] = v[k]!;
            this.cells![p] = undefined;
          });
          if (this.cells.every((c) => c === undefined)) this.cells = null;
        } else if (positions.length === 1) {
          this.cells[positions[0]!] = e.shape.length === 0 ? e : reshape(e, []);
        } else {
          positions.forEach((p, k) => (this.cells![p] = access(e, Int32Array.of(k), [], `${e.label}[${k}]`)));
        }
        this.whole = null;
        return;
      }
      if (positions.length === this.size && positions.every((p, k) => p === k)) return this.write(e);
      const current = this.current();
      this.cells = null;
      this.whole = current;
      this.symbolic = true;
    }
    if (positions.length === this.size && positions.every((p, k) => p === k)) return this.write(e);
    this.rebuild(positions, e);
  }

  /**
   * Joins the pending element writes, then `e` at `positions` when given, into `whole`: one read of
   * the whole and the written values (a pending value that `positions` overwrites is left out).
   */
  private rebuild(positions?: Int32Array, e?: Expr): void {
    const n = this.size;
    const map = new Int32Array(n);
    for (let k = 0; k < n; k++) map[k] = k;
    const parts = [flatWhole(this.whole!)];
    let k = n;
    if (this.pending) {
      const overwritten = new Uint8Array(n);
      if (positions) for (const p of positions) overwritten[p] = 1;
      for (const [p, value] of this.pending) {
        if (overwritten[p]) continue;
        map[p] = k++;
        parts.push(value);
      }
    }
    if (positions) {
      positions.forEach((p, j) => (map[p] = k + j));
      parts.push(flat(e!));
    }
    this.whole = access(concat(parts), map, this.shape, this.name);
    this.pending = null;
    this.elementCache.clear();
  }

  /**
   * The elements at `positions`, some of them pending: one read of the whole and every pending
   * value (every one, so that the read's structure depends on how many were written, not where).
   */
  private withPending(positions: Int32Array, shape: Shape): Expr {
    const pending = this.pending!;
    const slot = new Map<number, number>();
    let k = this.size;
    for (const p of pending.keys()) slot.set(p, k++);
    const map = Int32Array.from(positions, (p) => slot.get(p) ?? p);
    return access(concat([flatWhole(this.whole!), ...pending.values()]), map, shape, `${this.name}[...]`);
  }
}

/** Element writes of at most this many elements are kept element by element (a scalar cell each). */
const MAX_CELL_WRITE = 4;

/** `values` at `positions` (a loop: reads of data by a loop's index run over every iteration at once). */
function gather(values: Float64Array, positions: Int32Array): Float64Array {
  const out = new Float64Array(positions.length);
  for (let k = 0; k < positions.length; k++) out[k] = values[positions[k]!]!;
  return out;
}

const sameSize = (e: Expr, shape: Shape) => e.shape.length === shape.length && e.shape.every((d, k) => d === shape[k]);
const flat = (e: Expr): Expr => (e.shape.length === 1 ? e : reshape(e, [e.size]));
/** Flattened variables' whole values, kept: a scan's steps restore one whole and flatten it again each step. */
const flatWholes = new WeakMap<Expr, Expr>();
function flatWhole(whole: Expr): Expr {
  let f = flatWholes.get(whole);
  if (f === undefined) flatWholes.set(whole, (f = flat(whole)));
  return f;
}

/**
 * One vector from scalar cells (undefined: the constant in `vals`): runs of constants become
 * one constant, runs of reads of one expression one access node.
 */
function joinCells(cells: readonly (Expr | undefined)[], vals: Float64Array): Expr {
  const parts: Expr[] = [];
  let k = 0;
  const n = cells.length;
  while (k < n) {
    const c = cells[k];
    if (c === undefined || c.isConst) {
      const start = k;
      const run: number[] = [];
      while (k < n && (cells[k] === undefined || cells[k]!.isConst)) {
        run.push(cells[k] ? cells[k]!.constValues[0]! : vals[k]!);
        k++;
      }
      parts.push(constant(run, [k - start]));
      continue;
    }
    if (c.node.kind === "access" && c.size === 1) {
      const source = c.inputs[0]!;
      const map: number[] = [];
      while (k < n) {
        const d = cells[k];
        if (!d || d.node.kind !== "access" || d.size !== 1 || d.inputs[0] !== source) break;
        map.push(d.node.map[0]!);
        k++;
      }
      parts.push(access(source, Int32Array.from(map), [map.length], source.label));
      continue;
    }
    parts.push(c.shape.length === 0 ? c : reshape(c, []));
    k++;
  }
  return parts.length === 1 && parts[0]!.shape.length === 1 ? parts[0]! : concat(parts);
}

/** A resolved index: 0-based positions along one axis, and whether the axis is dropped. */
export interface AxisIndex {
  readonly positions: readonly number[];
  readonly drop: boolean;
}

/** Stan's indexing of a value of type `t` and shape `shape`: flat positions, result type and shape. */
export function indexLayout(t: SType, shape: Shape, axes: readonly AxisIndex[], what: string, loc?: Location): { positions: Int32Array; t: SType; shape: number[] } {
  const rank = shape.length;
  if (axes.length > rank) throw new StanError("type", `Too many indexes for ${what} (${typeName(t)}): ${axes.length} given, at most ${rank}.`, loc);
  const full: AxisIndex[] = [...axes];
  for (let a = axes.length; a < rank; a++) full.push({ positions: Array.from({ length: shape[a]! }, (_, k) => k), drop: false });
  full.forEach((ax, a) => {
    for (const p of ax.positions) {
      if (!(p >= 0 && p < shape[a]!)) {
        throw new StanError("runtime", `Index ${p + 1} out of range for ${what}: dimension ${a + 1} has size ${shape[a]} (indexes run from 1).`, loc);
      }
    }
  });
  const strides = new Array<number>(rank);
  let s = 1;
  for (let a = rank - 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a]!;
  }
  const outShape: number[] = [];
  full.forEach((ax) => {
    if (!ax.drop) outShape.push(ax.positions.length);
  });
  const total = full.reduce((n, ax) => n * ax.positions.length, 1);
  const positions = new Int32Array(total);
  let k = 0;
  const rec = (a: number, offset: number) => {
    if (a === rank) {
      positions[k++] = offset;
      return;
    }
    for (const p of full[a]!.positions) rec(a + 1, offset + p * strides[a]!);
  };
  rec(0, 0);
  return { positions, t: indexedType(t, (a) => full[a]!.drop), shape: outShape };
}

/** The type of a value of type `t` indexed with axis `a` dropped where `dropped(a)`: kept array dimensions, then what the base's kept dimensions make. */
function indexedType(t: SType, dropped: (axis: number) => boolean): SType {
  let arr = 0;
  for (let a = 0; a < t.arr; a++) if (!dropped(a)) arr++;
  let base: SType["base"] = t.base;
  if (t.base === "matrix") {
    const [r, c] = [!dropped(t.arr), !dropped(t.arr + 1)];
    base = r && c ? "matrix" : r ? "vector" : c ? "row_vector" : "real";
  } else if (t.base === "vector" || t.base === "row_vector") {
    base = dropped(t.arr) ? "real" : t.base;
  }
  return { base, arr };
}

/**
 * `indexLayout` of resolved syntax indexes. Single indexes into the leading axes (an element,
 * a row: most indexing in a traced loop) take a direct path: their elements are one contiguous
 * run, so no axis lists are built (the same positions, type and errors).
 */
export function resolvedLayout(t: SType, shape: Shape, indices: readonly ResolvedIndex[], what: string, loc?: Location): { positions: Int32Array; t: SType; shape: number[] } {
  const n = indices.length;
  if (n > shape.length || !indices.every((ix) => ix.kind === "single")) return indexLayout(t, shape, toAxes(indices, shape, what, loc), what, loc);
  let offset = 0;
  for (let a = 0; a < shape.length; a++) {
    const size = shape[a]!;
    const p = a < n ? (indices[a] as { value: number }).value - 1 : 0;
    if (a < n && !(p >= 0 && p < size)) throw new StanError("runtime", `Index ${p + 1} out of range for ${what}: dimension ${a + 1} has size ${size} (indexes run from 1).`, loc);
    offset = offset * size + p;
  }
  const outShape = shape.slice(n);
  const positions = new Int32Array(sizeOf(outShape));
  for (let k = 0; k < positions.length; k++) positions[k] = offset + k;
  return { positions, t: indexedType(t, (a) => a < n), shape: outShape };
}

/** Resolves syntax indexes whose values are known: `single` takes a number, multi/range positions. */
export type ResolvedIndex = { kind: "single"; value: number } | { kind: "multi"; values: readonly number[] } | { kind: "all" } | { kind: "range"; lower?: number; upper?: number };

export function toAxes(indices: readonly ResolvedIndex[], shape: Shape, what: string, loc?: Location): AxisIndex[] {
  return indices.map((ix, a) => {
    const n = shape[a];
    if (n === undefined) throw new StanError("type", `Too many indexes for ${what}.`, loc);
    switch (ix.kind) {
      case "single":
        return { positions: [ix.value - 1], drop: true };
      case "multi":
        return { positions: ix.values.map((v) => v - 1), drop: false };
      case "all":
        return { positions: Array.from({ length: n }, (_, k) => k), drop: false };
      case "range": {
        const lo = ix.lower ?? 1;
        const hi = ix.upper ?? n;
        const out: number[] = [];
        for (let v = lo; v <= hi; v++) out.push(v - 1);
        return { positions: out, drop: false };
      }
    }
  });
}

export type { Index };

/**
 * Rerolling a traced recurrence into a `scan` (DECISIONS.md D157). A loop whose iteration t
 * reads what iteration t-1 wrote is traced one iteration at a time, with the values carried in
 * from the previous iteration replaced by a placeholder. Each iteration then gives a step
 * graph: the carry placeholder in, the values it writes out. If every step graph has the
 * reference step's structure, differing only in constants (data read at t) and in the
 * positions of reads from one outer expression, one scan body computes every step: the
 * differing constants and reads become the scan's sequences, the rest is shared. So the scan
 * is the unrolled loop's function by construction; any other difference is a reason to unroll.
 */
import { access, constant, elementwise, Expr, reshape, sum } from "../model/expr.js";
import { concat } from "../model/linalg.js";
import { dependsOn, scan } from "../model/scan.js";
import { postOrder } from "../model/walk.js";

/** A constant or an access whose values or positions differ between steps: one scan sequence. */
interface Slot {
  readonly ref: Expr;
  /** Per step (0 is the reference): the constant values or access map where they differ from the reference's. */
  readonly perStep: Map<number, Float64Array | Int32Array>;
}

/** A step that reads the carry where the first step did not, or the other way round (D157). */
export const CARRY_READ_DIFFERENTLY = "the carried values are read differently";
/** A step that reads what an iteration before the previous one wrote: a scan carrying the whole series may lower it (D221). */
export const READS_FURTHER_BACK = "an iteration reads a value written two or more iterations before";

/**
 * The reference step graph and what the other steps differ in. `add` matches one step at a
 * time (nothing of a matched step is kept but its differing values), `build` makes the scan.
 */
export class StepMatcher {
  private readonly slots = new Map<Expr, Slot>();
  /** Data-weighted reductions of a gather (dot_product with data) per step, by reference node (see `weightedGather`). */
  private readonly gathers = new Map<Expr, Map<number, WeightedGather>>();
  /** The reductions whose gathers change length between steps: padded to every position any step reads. */
  private readonly ragged = new Set<Expr>();
  private steps = 1;

  constructor(
    private readonly result: Expr,
    private readonly carry: Expr,
  ) {}

  /**
   * Matches another step (`result` of the placeholder `carry`) against the reference; returns
   * why they differ, or null when they have one structure.
   */
  add(result: Expr, carry: Expr): string | null {
    const step = this.steps;
    // A step that does not match leaves the matcher as it was (another class may take it, D211).
    const differing: [Expr, Float64Array | Int32Array][] = [];
    const raggedNow: Expr[] = [];
    const gathered: [Expr, WeightedGather, WeightedGather][] = [];
    const seen = new Map<Expr, Expr>();
    // Pairs to compare, as two parallel stacks (no pair allocated per node: every step walks its whole graph).
    const refStack: Expr[] = [this.result];
    const stepStack: Expr[] = [result];
    while (refStack.length > 0) {
      const r = refStack.pop()!;
      const c = stepStack.pop()!;
      const known = seen.get(r);
      if (known !== undefined) {
        if (known !== c) return "a value shared in one iteration is two values in another";
        continue;
      }
      seen.set(r, c);
      if (r === c) continue;
      if (r === this.carry || c === carry) {
        if (r !== this.carry || c !== carry) return CARRY_READ_DIFFERENTLY;
        continue;
      }
      // A reduction of a gather against data (dot_product(x[1:i-1], w[...])) may read more positions in
      // later stepStack: it matches as one reduction over the positions any step reads (D221).
      const rg = weightedGather(r);
      const cg = rg && weightedGather(c);
      if (rg && cg) {
        gathered.push([r, rg, cg]);
        if (this.ragged.has(r) || rg.map.length !== cg.map.length) {
          raggedNow.push(r);
          refStack.push(rg.source);
          stepStack.push(cg.source);
          continue;
        }
      }
      if (r.shape.length !== c.shape.length || r.shape.some((d, k) => d !== c.shape[k])) return "a value changes shape between iterations";
      const rn = r.node;
      const cn = c.node;
      if (rn.kind !== cn.kind) return "iterations compute different things";
      switch (rn.kind) {
        case "const": {
          const cv = (cn as typeof rn).values;
          if (rn.integer !== (cn as typeof rn).integer) return "iterations compute different things";
          if (!sameValues(rn.values, cv)) differing.push([r, cv]);
          continue;
        }
        case "access": {
          const cm = (cn as typeof rn).map;
          if (!sameValues(rn.map, cm)) differing.push([r, cm]);
          break;
        }
        case "elementwise":
          if (rn.op !== (cn as typeof rn).op) return "iterations compute different things";
          break;
        case "custom":
          if (rn.op !== (cn as typeof rn).op) return "iterations compute different things";
          break;
        case "sum":
          break;
        default:
          // Parameters, other placeholders, nested scans and ODE solves must be the very same node.
          return rn.kind === "placeholder" ? READS_FURTHER_BACK : "iterations compute different things";
      }
      if (r.inputs.length !== c.inputs.length) return "iterations compute different things";
      for (let k = 0; k < r.inputs.length; k++) {
        refStack.push(r.inputs[k]!);
        stepStack.push(c.inputs[k]!);
      }
    }
    for (const [r, values] of differing) this.slot(r).perStep.set(step, values);
    for (const r of raggedNow) this.ragged.add(r);
    for (const [r, rg, cg] of gathered) {
      let perStep = this.gathers.get(r);
      if (!perStep) this.gathers.set(r, (perStep = new Map([[0, rg]])));
      perStep.set(step, cg);
    }
    this.steps++;
    return null;
  }

  private slot(r: Expr): Slot {
    let s = this.slots.get(r);
    if (!s) {
      s = { ref: r, perStep: new Map() };
      this.slots.set(r, s);
    }
    return s;
  }

  /** The scan of every matched step from `init`, or why it cannot be built. */
  build(init: Expr): Expr | string {
    const length = this.steps;
    const xs: Expr[] = [];
    const slotNodes: Expr[] = [];
    const selects = new Set<Expr>();
    const masked = new Map<Expr, Int32Array>();
    const varying = this.varyingNodes();
    const children = (e: Expr): readonly Expr[] => (this.ragged.has(e) ? [this.gathers.get(e)!.get(0)!.source] : e.inputs);
    const live = new Set(postOrder(this.result, (x) => !varying.has(x), children));
    for (const s of this.slots.values()) {
      const r = s.ref;
      // A slot inside a padded reduction is read through the reduction's own rows.
      if (!live.has(r)) continue;
      const n = r.size;
      if (r.node.kind === "const") {
        const values = new Float64Array(length * n);
        for (let t = 0; t < length; t++) values.set(s.perStep.get(t) ?? r.node.values, t * n);
        xs.push(constant(values, [length, ...r.shape], `${r.label} per step`, r.node.integer));
      } else if (r.node.kind === "access") {
        const source = r.inputs[0]!;
        const map = new Int32Array(length * n);
        for (let t = 0; t < length; t++) map.set(s.perStep.get(t) ?? r.node.map, t * n);
        if (!varying.has(source)) {
          xs.push(access(source, map, [length, ...r.shape], `${r.label} per step`));
        } else if (source.size <= MAX_SELECT) {
          // Positions that change in a value computed in the step (categorical_lpmf(y[n] | probs)): the
          // positions become a sequence, and the step selects among the few candidates.
          xs.push(constant(Float64Array.from(map), [length, n], `${r.label} positions per step`, true));
          selects.add(r);
        } else {
          // In a larger value (a carried series, D221): over the positions any step reads, one 0/1 row
          // per element read, and an exact masked sum.
          const positions = Int32Array.from(new Set(map)).sort();
          const size = positions.length;
          if (n * size > MAX_MASKED) return `an iteration reads ${n} element(s) of a computed value among ${size} positions that change`;
          const column = new Map<number, number>();
          positions.forEach((p, u) => column.set(p, u));
          const mask = new Float64Array(length * n * size);
          for (let t = 0; t < length; t++) for (let k = 0; k < n; k++) mask[(t * n + k) * size + column.get(map[t * n + k]!)!] = 1;
          xs.push(constant(mask, [length, n * size], `${r.label} one-hot per step`, true));
          masked.set(r, positions);
        }
      }
      slotNodes.push(r);
    }
    // Reductions whose gathers change length: one mask and one weight row over every position any step reads.
    const padded = new Map<Expr, { source: Expr; positions: Int32Array; mask: number; weights: number }>();
    for (const r of this.ragged) {
      const perStep = this.gathers.get(r)!;
      const ref = perStep.get(0)!;
      const union = new Set<number>();
      for (let t = 0; t < length; t++) for (const p of (perStep.get(t) ?? ref).map) union.add(p);
      const positions = Int32Array.from([...union].sort((a, b) => a - b));
      const column = new Map<number, number>();
      positions.forEach((p, u) => column.set(p, u));
      const width = positions.length;
      const mask = new Float64Array(length * width);
      const weights = new Float64Array(length * width);
      for (let t = 0; t < length; t++) {
        const g = perStep.get(t) ?? ref;
        g.map.forEach((p, k) => {
          const at = t * width + column.get(p)!;
          mask[at] = 1;
          weights[at] += g.weights[k]!;
        });
      }
      padded.set(r, { source: ref.source, positions, mask: xs.length, weights: xs.length + 1 });
      xs.push(constant(mask, [length, width], `${r.label} positions per step`, true), constant(weights, [length, width], `${r.label} weights per step`));
    }
    const result = this.result;
    const refCarry = this.carry;
    return scan(xs.length > 0 ? { init, xs } : { init, length }, (carry, rows) => {
      const memo = new Map<Expr, Expr>([[refCarry, carry]]);
      const rowOf = new Map<Expr, Expr>(slotNodes.map((r, k) => [r, rows[k]!]));
      for (const e of postOrder(result, (x) => memo.has(x) || !varying.has(x), children)) {
        const pad = padded.get(e);
        if (pad) {
          const source = memo.get(pad.source) ?? pad.source;
          const gathered = gatherSorted(source, pad.positions, `${source.label} at every position read`);
          // ifElse, not a product with zero weights: an infinite value at a position this step does not read stays out.
          memo.set(e, sum(elementwise("ifElse", [rows[pad.mask]!, elementwise("mul", [gathered, rows[pad.weights]!]), 0])));
          continue;
        }
        const row = rowOf.get(e);
        if (row !== undefined && !selects.has(e) && !masked.has(e)) {
          memo.set(e, row);
          continue;
        }
        const inputs = e.inputs.map((i) => memo.get(i) ?? i);
        if (row !== undefined) {
          const positions = masked.get(e);
          memo.set(e, positions === undefined ? select(inputs[0]!, row, e.shape) : maskedGather(gatherSorted(inputs[0]!, positions, `${e.label} at every position read`), row, e.shape));
        }
        else memo.set(e, inputs.some((i, k) => i !== e.inputs[k]) ? new Expr(e.node, e.shape, inputs, e.label) : e);
      }
      return memo.get(result) ?? result;
    });
  }

  /** The reference nodes that differ between steps: the carry, the slots, and what depends on them. */
  private varyingNodes(): Set<Expr> {
    const seeds = new Set<Expr>([this.carry, ...this.slots.keys(), ...this.ragged]);
    const depends = new Map<Expr, boolean>();
    dependsOn(this.result, seeds, depends);
    const varying = new Set(seeds);
    for (const [e, d] of depends) if (d) varying.add(e);
    return varying;
  }
}

/** Reads of a computed value at positions that change are selections among at most this many elements. */
const MAX_SELECT = 64;
/** Beyond MAX_SELECT, such reads are masked sums: at most this many mask entries per step. */
const MAX_MASKED = 65_536;

/** `sum(mul(access(source, map), weights))` with constant weights: dot_product of a gather with data. */
interface WeightedGather {
  readonly source: Expr;
  readonly map: Int32Array;
  readonly weights: Float64Array;
}

function weightedGather(e: Expr): WeightedGather | null {
  if (e.node.kind !== "sum") return null;
  const product = e.inputs[0]!;
  if (product.node.kind !== "elementwise" || product.node.op !== "mul") return null;
  const [a, b] = product.inputs as [Expr, Expr];
  const [gather, weights] = a.isConst ? [b, a] : [a, b];
  if (!weights.isConst || gather.node.kind !== "access" || gather.shape.length !== 1 || weights.shape.length !== 1 || weights.size !== gather.size) return null;
  return { source: gather.inputs[0]!, map: gather.node.map, weights: weights.constValues };
}

/** `source` (a vector) at the positions whose 0/1 rows (n of them, each source.size long) are `mask`, in `shape`. */
function maskedGather(source: Expr, mask: Expr, shape: readonly number[]): Expr {
  const size = source.size;
  const n = mask.size / size;
  const flat = source.shape.length === 1 ? source : reshape(source, [size]);
  const parts = Array.from({ length: n }, (_, k) =>
    sum(elementwise("ifElse", [n === 1 ? mask : access(mask, Int32Array.from({ length: size }, (_, j) => k * size + j), [size], `${mask.label}[${k}]`), flat, 0])),
  );
  const out = n === 1 ? parts[0]! : concat(parts);
  return out.shape.length === shape.length && out.shape.every((d, k) => d === shape[k]) ? out : reshape(out, [...shape]);
}

/**
 * The step graph `result` with chains of element reads folded (D221): a read of a read is one read
 * of the first source, and a read of one element of a concatenation reads it from its part.
 * Only nodes that read `carry` are rebuilt (creation order is topological). In a step
 * whose variables hold a carried series, this turns "element p of the variable as rewritten by
 * this step" into the very value the step wrote there, or the carry's element.
 */
export function foldAccesses(result: Expr, carry: Expr): Expr {
  const memo = new Map<Expr, Expr>();
  const reads = new Set<Expr>([carry]);
  for (const e of postOrder(result, (x) => memo.has(x) || x.id < carry.id)) {
    // Only what reads the carry: a value of the step's outside keeps one form whenever it was made.
    if (e !== carry && e.inputs.some((i) => reads.has(i))) reads.add(e);
    if (!reads.has(e)) continue;
    const inputs = e.inputs.map((i) => memo.get(i) ?? i);
    const rebuilt = inputs.some((i, k) => i !== e.inputs[k]) ? new Expr(e.node, e.shape, inputs, e.label) : e;
    memo.set(e, rebuilt.node.kind === "access" ? foldAccess(rebuilt) : rebuilt);
  }
  return memo.get(result) ?? result;
}

/**
 * `source` (flattened) at increasing `positions`. From a concatenation, each part's positions are
 * read from that part (folded): a part outside the scan's step is then read outside it, and a step
 * copies only what it reads, not the whole concatenation.
 */
function gatherSorted(source: Expr, positions: Int32Array, label: string): Expr {
  const read = (x: Expr, map: Int32Array) => {
    const e = access(x, map, [map.length], label);
    return e.node.kind === "access" ? foldAccess(e) : e;
  };
  if (source.node.kind !== "custom" || source.node.op.name !== "concat") return read(source, positions);
  const parts: Expr[] = [];
  let offset = 0;
  let k = 0;
  for (const part of source.inputs) {
    const start = k;
    while (k < positions.length && positions[k]! < offset + part.size) k++;
    const from = offset;
    if (k > start) parts.push(read(part, positions.slice(start, k).map((p) => p - from)));
    offset += part.size;
  }
  return parts.length === 1 ? parts[0]! : concat(parts);
}

function foldAccess(e: Expr): Expr {
  let source = e.inputs[0]!;
  let map = (e.node as { map: Int32Array }).map;
  for (;;) {
    if (source.node.kind === "access") {
      const inner = source.node.map;
      map = map.map((m) => inner[m]!);
      source = source.inputs[0]!;
      continue;
    }
    // One element only: a read of several (a prefix) keeps its concatenation whether or not it
    // crosses a part's end, so that it has one structure in every step.
    if (map.length === 1 && source.node.kind === "custom" && source.node.op.name === "concat") {
      let offset = 0;
      let part: Expr | undefined;
      for (const p of source.inputs) {
        if (map.every((m) => m >= offset && m < offset + p.size)) {
          part = p;
          break;
        }
        offset += p.size;
      }
      if (part) {
        const from = offset;
        map = map.map((m) => m - from);
        source = part;
        continue;
      }
    }
    break;
  }
  return source === e.inputs[0] ? e : access(source, map, e.shape, e.label);
}

/** `source` (flattened) at the 0-based `positions` (shape [n]), in `shape`: a chain of exact selections. */
function select(source: Expr, positions: Expr, shape: readonly number[]): Expr {
  const n = positions.size;
  const at = (j: number) => access(source, new Int32Array(n).fill(j), [n], `${source.label}[${j}]`);
  let out = at(0);
  for (let j = 1; j < source.size; j++) out = elementwise("ifElse", [elementwise("eq", [positions, j]), at(j), out]);
  return shape.length === 1 && shape[0] === n ? out : reshape(out, [...shape]);
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}


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
import { access, constant, elementwise, Expr, reshape } from "../model/expr.js";
import { dependsOn, scan } from "../model/scan.js";
import { postOrder } from "../model/walk.js";

/** A constant or an access whose values or positions differ between steps: one scan sequence. */
interface Slot {
  readonly ref: Expr;
  /** Per step (0 is the reference): the constant values or access map where they differ from the reference's. */
  readonly perStep: Map<number, Float64Array | Int32Array>;
}

/**
 * The reference step graph and what the other steps differ in. `add` matches one step at a
 * time (nothing of a matched step is kept but its differing values), `build` makes the scan.
 */
export class StepMatcher {
  private readonly slots = new Map<Expr, Slot>();
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
    const seen = new Map<Expr, Expr>();
    const stack: [Expr, Expr][] = [[this.result, result]];
    while (stack.length > 0) {
      const [r, c] = stack.pop()!;
      const known = seen.get(r);
      if (known !== undefined) {
        if (known !== c) return "a value shared in one iteration is two values in another";
        continue;
      }
      seen.set(r, c);
      if (r === c) continue;
      if (r === this.carry || c === carry) {
        if (r !== this.carry || c !== carry) return "the carried values are read differently";
        continue;
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
          return rn.kind === "placeholder" ? "an iteration reads a value written two or more iterations before" : "iterations compute different things";
      }
      if (r.inputs.length !== c.inputs.length) return "iterations compute different things";
      r.inputs.forEach((ri, k) => stack.push([ri, c.inputs[k]!]));
    }
    for (const [r, values] of differing) this.slot(r).perStep.set(step, values);
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
    const varying = this.varyingNodes();
    for (const s of this.slots.values()) {
      const r = s.ref;
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
        } else {
          // Positions that change in a value computed in the step (categorical_lpmf(y[n] | probs)): the
          // positions become a sequence, and the step selects among the few candidates.
          if (source.size > MAX_SELECT) return `an iteration reads a computed value of more than ${MAX_SELECT} elements at positions that change`;
          xs.push(constant(Float64Array.from(map), [length, n], `${r.label} positions per step`, true));
          selects.add(r);
        }
      }
      slotNodes.push(r);
    }
    const result = this.result;
    const refCarry = this.carry;
    return scan(xs.length > 0 ? { init, xs } : { init, length }, (carry, rows) => {
      const memo = new Map<Expr, Expr>([[refCarry, carry]]);
      const rowOf = new Map<Expr, Expr>(slotNodes.map((r, k) => [r, rows[k]!]));
      for (const e of postOrder(result, (x) => memo.has(x) || !varying.has(x))) {
        const row = rowOf.get(e);
        if (row !== undefined && !selects.has(e)) {
          memo.set(e, row);
          continue;
        }
        const inputs = e.inputs.map((i) => memo.get(i) ?? i);
        if (row !== undefined) memo.set(e, select(inputs[0]!, row, e.shape));
        else memo.set(e, inputs.some((i, k) => i !== e.inputs[k]) ? new Expr(e.node, e.shape, inputs, e.label) : e);
      }
      return memo.get(result) ?? result;
    });
  }

  /** The reference nodes that differ between steps: the carry, the slots, and what depends on them. */
  private varyingNodes(): Set<Expr> {
    const seeds = new Set<Expr>([this.carry, ...this.slots.keys()]);
    const depends = new Map<Expr, boolean>();
    dependsOn(this.result, seeds, depends);
    const varying = new Set(seeds);
    for (const [e, d] of depends) if (d) varying.add(e);
    return varying;
  }
}

/** Reads of a computed value at positions that change are selections among at most this many elements. */
const MAX_SELECT = 64;

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


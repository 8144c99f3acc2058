/**
 * Random draws wired into the compiled model: generated code evaluates the arguments of every
 * random quantity (observed nodes, generated draws, priors) at a point `q`, with the same code
 * generator as the log density; the distributions' own draw algorithms then turn those values
 * into draws. `src/api/predictive.ts` drives it (DECISIONS.md D39).
 *
 * Generated quantities may use earlier ones: a draw's value is read from its buffer (`R[j]`)
 * by the code of every later step, so step k's arguments are evaluated after draws 0..k-1.
 */
import { checkGeneratedSource } from "../model/source-check.js";
import type { GeneratedNode, Model, ObservedNode, ParamInfo } from "../model/builder.js";
import type { Distribution, RandomSource } from "../model/distributions.js";
import { ModelError } from "../model/errors.js";
import type { Expr } from "../model/expr.js";
import { broadcastMap, drawTruncated, scalarForms } from "../model/random.js";
import { sizeOf, type Shape } from "../model/shape.js";
import { runtime } from "../model/special.js";
import { CodeModule, Pass } from "./codegen.js";

/** One random or computed quantity of a predictive draw. */
export interface DrawStep {
  readonly name: string;
  readonly shape: Shape;
  readonly dims?: readonly string[];
  readonly group: "observed" | "generated";
  /** Present for a random draw; absent for a generated expression. */
  readonly dist?: Distribution;
}

type Evaluator = (q: Float64Array, R: readonly Float64Array[], out: Float64Array) => void;

export interface DrawProgram {
  readonly steps: readonly DrawStep[];
  /** Draws every step at unconstrained point `q`; returns one array per step (steps order). */
  draw(q: Float64Array, rng: RandomSource): Float64Array[];
  /**
   * A draw of the parameters from their priors, as unconstrained coordinates: each parameter in
   * declaration order, its prior's arguments and bounds evaluated at the parameters before it.
   */
  drawPrior(rng: RandomSource): Float64Array;
}

interface Layout {
  readonly exprs: readonly Expr[];
  readonly sizes: readonly number[];
}

/** Code writing `exprs` (flat, concatenated) into `out`, with generated draws read from `R`. */
function evaluatorSource(mod: CodeModule, fnName: string, exprs: readonly Expr[], draws: ReadonlyMap<Expr, number>): string {
  const leaves = new Map([...draws].map(([e, j]) => [e, { value: (i: string) => `R[${j}][${i}]`, adjoint: () => null }]));
  const pass = new Pass(mod, { terms: [], outputs: exprs, gradient: false, leaves });
  const code = pass.code();
  let offset = 0;
  const copy = exprs.map((e) => {
    const line = e.size === 1 ? `out[${offset}] = ${pass.value(e, "0")};` : `for (let k = 0; k < ${e.size}; k++) out[${offset}+k] = ${pass.value(e, "k")};`;
    offset += e.size;
    return line;
  });
  return `function ${fnName}(q, R, out) {\n${code.prologue}\n${code.forward}\n${copy.join("\n")}\n}`;
}

/** Splits a flat buffer back into arrays of the given sizes. */
function split(buffer: Float64Array, sizes: readonly number[]): Float64Array[] {
  let offset = 0;
  return sizes.map((n) => {
    const part = buffer.slice(offset, offset + n);
    offset += n;
    return part;
  });
}

export function compileDraws(model: Model): DrawProgram {
  const generated: readonly GeneratedNode[] = model.generated ?? [];
  const mod = new CodeModule();
  const functions: string[] = [];
  const names: string[] = [];
  const layouts: Layout[] = [];
  const drawIndex = new Map<Expr, number>();
  const steps: DrawStep[] = [];
  const add = (exprs: readonly Expr[]) => {
    const name = `f${names.length}`;
    functions.push(evaluatorSource(mod, name, exprs, drawIndex));
    names.push(name);
    layouts.push({ exprs, sizes: exprs.map((e) => e.size) });
  };
  model.observed.forEach((o: ObservedNode) => {
    if (!o.dist.drawWith) throw new ModelError("invalid-argument", `observed ${o.name}: ${o.dist.name} has no random draw`);
    steps.push({ name: o.name, shape: o.value.shape, group: "observed", dist: o.dist, ...(o.dims ? { dims: o.dims } : {}) });
    add(Object.values(o.args));
  });
  generated.forEach((g) => {
    steps.push({ name: g.name, shape: g.shape, group: "generated", ...(g.dist ? { dist: g.dist } : {}), ...(g.dims ? { dims: g.dims } : {}) });
    add(g.dist ? Object.values(g.args!) : [g.expr!]);
    // Later steps read this one from its buffer (observed draws are never read back).
    if (g.dist) drawIndex.set(g.value, steps.length - 1);
  });
  const firstPrior = names.length;
  model.params.forEach((p) => add([...Object.values(p.priorArgs ?? {}), ...p.context]));

  const source = mod.source(functions, names);
  checkGeneratedSource(source);
  const fns = new Function("rt", "C", source)(runtime, mod.constants) as Record<string, Evaluator>;
  const evaluators = names.map((n) => fns[n]!);
  const buffers = layouts.map((l) => new Float64Array(l.sizes.reduce((a, b) => a + b, 0)));
  const none: Float64Array[] = [];

  return {
    steps,
    draw(q, rng) {
      const results: Float64Array[] = [];
      steps.forEach((s, k) => {
        evaluators[k]!(q, results, buffers[k]!);
        const values = split(buffers[k]!, layouts[k]!.sizes);
        results.push(s.dist ? drawAtShape(s.dist, rng, values, s.shape) : values[0]!);
      });
      return results;
    },
    drawPrior(rng) {
      const q = new Float64Array(model.dim);
      model.params.forEach((p, k) => {
        const index = firstPrior + k;
        evaluators[index]!(q, none, buffers[index]!);
        const values = split(buffers[index]!, layouts[index]!.sizes);
        const nPrior = Object.keys(p.priorArgs ?? {}).length;
        const x = drawParameter(p, values.slice(0, nPrior), values.slice(nPrior), rng);
        q.set(p.invert(x, values.slice(nPrior)), p.block.offset);
      });
      return q;
    },
  };
}

/**
 * A draw of `dist` filling `shape` (an observed node may be larger than its distribution:
 * `normal(mu, sigma)` over N values): univariate elements one by one, each from its broadcast
 * element of the distribution; a multivariate distribution once per row.
 */
function drawAtShape(dist: Distribution, rng: RandomSource, values: readonly Float64Array[], shape: Shape): Float64Array {
  const n = sizeOf(shape);
  if (dist.drawElement) {
    const map = broadcastMap(dist.shape, shape);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = dist.drawElement(rng, values, map === null ? i : map[i]!);
    return out;
  }
  const row = sizeOf(dist.shape);
  const out = new Float64Array(n);
  for (let r = 0; r < n / row; r++) out.set(dist.drawWith!(rng, values), r * row);
  return out;
}

const REJECTION_LIMIT = 10000;

/** A draw of one parameter's constrained value from its prior, within its constraint. */
function drawParameter(p: ParamInfo, priorArgs: Float64Array[], context: Float64Array[], rng: RandomSource): Float64Array {
  const size = sizeOf(p.shape);
  const prior = p.prior;
  const bounded = p.transform === "lower" || p.transform === "upper" || p.transform === "interval";
  const [lo, hi] =
    p.transform === "lower" ? [context[0]!, null] : p.transform === "upper" ? [null, context[0]!] : p.transform === "interval" ? [context[0]!, context[1]!] : [null, null];
  const at = (v: Float64Array | null, i: number, fill: number) => (v === null ? fill : v[v.length === 1 ? 0 : i]!);
  if (!prior) {
    if (p.transform === "interval") return Float64Array.from({ length: size }, (_, i) => at(lo, i, 0) + rng.uniform() * (at(hi, i, 0) - at(lo, i, 0)));
    if (p.transform === "simplex") {
      const e = Float64Array.from({ length: size }, () => -Math.log(1 - rng.uniform()));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / total);
    }
    throw new ModelError("invalid-argument", `parameter ${p.name} has no prior: a prior predictive draw needs a proper prior for every parameter`);
  }
  if (!prior.drawWith) throw new ModelError("invalid-argument", `parameter ${p.name}: its prior ${prior.name} has no random draw`);
  // The prior may have fewer elements than the parameter (a scalar prior on a vector: i.i.d.).
  const drawAll = () => drawAtShape(prior, rng, priorArgs, p.shape);
  if (bounded) {
    if (!prior.drawElement || !prior.lcdf) {
      for (let t = 0; t < REJECTION_LIMIT; t++) {
        const x = drawAll();
        if (x.every((v, i) => v >= at(lo, i, -Infinity) && v <= at(hi, i, Infinity))) return x;
      }
      throw new ModelError("invalid-argument", `parameter ${p.name}: no draw of its prior ${prior.name} fell inside its bounds`);
    }
    const forms = scalarForms(prior);
    const keys = Object.keys(prior.args).length;
    return Float64Array.from({ length: size }, (_, i) => {
      const k = prior.shape.length === 0 ? 0 : i;
      const args = priorArgs.slice(0, keys).map((a) => a[a.length === 1 ? 0 : k]!);
      const one = args.map((v) => Float64Array.of(v));
      return drawTruncated(rng, forms, prior.discrete, args, at(lo, i, -Infinity), at(hi, i, Infinity), () => prior.drawElement!(rng, one, 0));
    });
  }
  if (p.transform === "ordered" || p.transform === "positiveOrdered") {
    // Restricted to the ordered cone: sorted i.i.d. draws when the prior is exchangeable.
    const exchangeable = priorArgs.every((a) => a.every((v) => v === a[0]));
    for (let t = 0; t < REJECTION_LIMIT; t++) {
      const x = drawAll();
      if (exchangeable) x.sort();
      const ok = x.every((v, i) => (i === 0 ? p.transform === "ordered" || v > 0 : v > x[i - 1]!));
      if (ok) return x;
    }
    throw new ModelError("invalid-argument", `parameter ${p.name}: no draw of its prior ${prior.name} was ${p.transform}`);
  }
  return drawAll();
}

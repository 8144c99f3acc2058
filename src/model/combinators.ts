/**
 * Distributions made from other distributions, in Stan's semantics (DECISIONS.md D38):
 *
 * - `censored(base, { lower, upper })`: an observation at or below `lower` contributes the log
 *   CDF at `lower`, one at or above `upper` the log of P(Y >= upper) (for a continuous base
 *   the log CCDF at `upper`, for counts the log CCDF at `upper - 1`); the others their log
 *   density. Bounds are data: a number, or one per observation (±Infinity: no bound there).
 * - `intervalCensored(base, { upper })`: observation i is the lower end of an interval
 *   [y_i, upper_i]: upper_i = y_i is an exact observation, +Infinity right-censored at y_i,
 *   anything else contributes log(F(upper_i) - F(y_i)).
 * - `truncated(base, { lower, upper })`: Stan's `T[lower, upper]`, the density renormalised on
 *   the interval; bounds may be parameters or expressions (data for counts, where the interval
 *   keeps both ends: P(L <= Y <= U) = F(U) - F(L - 1)).
 * - `mixture(weights, components)`: log sum_k w_k p_k(y), the discrete label marginalised out
 *   as Stan's `log_mix` does, elementwise over observations; `normalMixture(w, mu, sigma)` is
 *   the normal case (declare `mu` with `{ constraint: "ordered" }` to identify the components).
 *
 * Each is a `Distribution`: log density, pointwise log-likelihood, support checks, random
 * draws (the base's draw clamped to the bounds; by inversion or rejection when truncated; a
 * label, then the component), and `withArgs`. Their `args` are the base's arguments, prefixed
 * (`base.mu`, `c0.sigma`), then their own (`lower`, `upper`, `weights`).
 */
import { ModelError } from "./errors.js";
import { access, add, column, constant, gather, lift, log, logAddExp, mul, sub, sum, Expr, type ExprLike } from "./expr.js";
import { concat } from "./linalg.js";
import { logIntervalMass } from "./cdf.js";
import { argumentReader, broadcastMap, drawTruncated, scalarForms } from "./random.js";
import { broadcastShapes, formatShape, sameShape, sizeOf, type Shape } from "./shape.js";
import type { TransformSpec } from "./transforms.js";
import type { Distribution, RandomSource } from "./distribution-types.js";
import { normal } from "./distributions.js";

type Bound = number | ArrayLike<number> | Expr;

/** Checks that a base can be scored by its CDF and rebuilt with gathered arguments. */
function univariateBase(what: string, base: Distribution): Required<Pick<Distribution, "lcdf" | "lccdf" | "withArgs" | "drawElement">> & Distribution {
  if (!base.lcdf || !base.lccdf || !base.withArgs || !base.drawElement) {
    throw new ModelError("invalid-argument", `${what}: ${base.name} has no log CDF (only univariate distributions can be ${what === "mixture" ? "mixed" : what})`);
  }
  return base as Required<Pick<Distribution, "lcdf" | "lccdf" | "withArgs" | "drawElement">> & Distribution;
}

/**
 * A censoring bound as a constant. ±Infinity ("no bound" at that observation) is stored as
 * ±Number.MAX_VALUE, since model constants are finite (DECISIONS.md D25): no finite
 * observation lies beyond it, so the classification and the draws' clamping are unchanged.
 */
function dataBound(what: string, name: string, b: Bound | undefined, fill: number): Expr {
  const finite = (v: number, i: number, n: number) => {
    if (Number.isNaN(v)) throw new ModelError("non-finite-data", `${what}: bound ${name}${n > 1 ? `[${i}]` : ""} is NaN`);
    return v === Infinity ? Number.MAX_VALUE : v === -Infinity ? -Number.MAX_VALUE : v;
  };
  if (b === undefined) return constant(finite(fill, 0, 1));
  if (Expr.isExpr(b)) {
    if (!b.isConst) throw new ModelError("invalid-argument", `${what}: bound ${name} must be data (numbers), not ${b.label}`);
    return b;
  }
  if (typeof b === "number") return constant(finite(b, 0, 1));
  if (typeof b !== "object" || b === null || typeof (b as ArrayLike<number>).length !== "number") {
    throw new ModelError("invalid-argument", `${what}: bound ${name} must be data (numbers), got ${typeof b}`);
  }
  const values = Array.from(b as ArrayLike<unknown>, (v, i) => {
    if (typeof v !== "number") throw new ModelError("invalid-argument", `${what}: bound ${name}[${i}] must be a number, got ${typeof v}`);
    return finite(v, i, (b as ArrayLike<number>).length);
  });
  return constant(values);
}

const at = (v: Float64Array, i: number) => v[v.length === 1 ? 0 : i]!;

/** Values of a constant at each element of `shape` (broadcast). */
function valuesAt(e: Expr, shape: Shape): Float64Array {
  const v = e.constValues;
  const map = broadcastMap(e.shape, shape);
  return Float64Array.from({ length: sizeOf(shape) }, (_, i) => (v.length === 1 ? v[0]! : v[map === null ? i : map[i]!]!));
}

/** The base restricted to flat elements `idx` of `shape`: each argument gathered there (scalars kept). */
function subsetOf(base: Distribution & { withArgs: NonNullable<Distribution["withArgs"]> }, shape: Shape, idx: readonly number[]): Distribution {
  const args = Object.fromEntries(
    Object.entries(base.args).map(([k, e]) => {
      if (e.size === 1) return [k, e];
      const map = broadcastMap(e.shape, shape);
      return [k, access(e, Int32Array.from(idx, (i) => (map === null ? i : map[i]!)), [idx.length], `${e.label}[censored subset]`)];
    }),
  );
  return base.withArgs(args);
}

const prefixed = (prefix: string, args: Readonly<Record<string, Expr>>) =>
  Object.fromEntries(Object.entries(args).map(([k, e]) => [`${prefix}.${k}`, e]));
const unprefixed = (prefix: string, args: Readonly<Record<string, Expr>>) =>
  Object.fromEntries(Object.entries(args).filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, e]) => [k.slice(prefix.length + 1), e]));

/** Observed values as a constant of the distribution's shape, or a clear error. */
function observedValues(what: string, x: ExprLike, shape: Shape): Float64Array {
  const xs = lift(x);
  if (!xs.isConst) throw new ModelError("invalid-argument", `${what} is for observed data: it cannot score ${xs.label}`);
  const full = broadcastShapes(xs.shape, shape, () => `${what} of ${xs}`);
  if (!sameShape(full, xs.shape)) throw new ModelError("shape-mismatch", `${what}: observed ${xs} does not have the shape ${formatShape(full)}`);
  return xs.constValues;
}

/** Elementwise pieces over disjoint index sets, back in element order (a permutation of their concatenation). */
function assemble(shape: Shape, pieces: readonly { idx: number[]; value: Expr }[]): Expr {
  const used = pieces.filter((p) => p.idx.length > 0);
  if (used.length === 1 && used[0]!.idx.every((v, k) => v === k)) return used[0]!.value.reshape(shape);
  const joined = concat(used.map((p) => p.value));
  const where = new Int32Array(sizeOf(shape));
  let offset = 0;
  for (const p of used) {
    p.idx.forEach((i, k) => (where[i] = offset + k));
    offset += p.idx.length;
  }
  return access(joined, where, shape, `${joined.label}[reordered]`);
}

const sumAll = (pieces: readonly { value: Expr }[]) => pieces.map((p) => sum(p.value)).reduce((a, b) => add(a, b), constant(0));

interface Piece {
  idx: number[];
  /** The contribution of these elements, given the base restricted to them and their values. */
  term(sub: Distribution, values: Float64Array): Expr;
}

/** A distribution for observed data whose elements are scored by kind (exact / censored). */
function partitioned(
  name: string,
  base: ReturnType<typeof univariateBase>,
  shape: Shape,
  args: Record<string, Expr>,
  /** The pieces for observed values `x` of shape `full` (the distribution's shape broadcast to the data). */
  classify: (x: Float64Array, full: Shape) => Piece[],
  clamp: (x: number, i: number, full: Shape) => number,
  rebuild: (args: Readonly<Record<string, Expr>>) => Distribution,
): Distribution {
  const piecesFor = (x: ExprLike) => {
    const xs = lift(x);
    const full = broadcastShapes(xs.shape, shape, () => `${name} of ${xs}`);
    const values = observedValues(name, xs, full);
    const pieces = classify(values, full).map((p) => ({
      idx: p.idx,
      value: p.idx.length === 0 ? constant(0) : p.term(subsetOf(base, full, p.idx), Float64Array.from(p.idx, (i) => values[i]!)),
    }));
    return { full, pieces };
  };
  const baseKeys = Object.keys(base.args).length;
  const drawElement = (rng: RandomSource, values: readonly Float64Array[], i: number) => clamp(base.drawElement(rng, values.slice(0, baseKeys), i), i, shape);
  const drawWith = (rng: RandomSource, values: readonly Float64Array[]) => Float64Array.from({ length: sizeOf(shape) }, (_, i) => drawElement(rng, values, i));
  return {
    name,
    args,
    shape,
    support: base.support,
    discrete: base.discrete,
    logp: (x) => sumAll(piecesFor(x).pieces.filter((p) => p.idx.length > 0)),
    logpdf: (x) => {
      const { full, pieces } = piecesFor(x);
      return assemble(full, pieces);
    },
    defaultTransform: () => {
      throw new ModelError("invalid-argument", `${name} is for observed data, not a prior`);
    },
    checkValue: (values, label) => {
      const full = values.length === sizeOf(shape) ? shape : [values.length];
      const exact = classify(values, full)[0]!;
      if (exact.idx.length > 0) subsetOf(base, full, exact.idx).checkValue(Float64Array.from(exact.idx, (i) => values[i]!), `${label} (uncensored)`);
    },
    sample: (rng) => {
      const all = Object.values(args);
      if (!all.every((e) => e.isConst)) throw new ModelError("invalid-argument", `${name}: a random draw needs constant arguments`);
      return drawWith(rng, all.map((e) => e.constValues));
    },
    drawWith,
    drawElement,
    withArgs: rebuild,
  };
}

/** Left and right censoring at fixed (per-observation) bounds, in Stan's semantics. */
export function censored(base: Distribution, bounds: { lower?: Bound; upper?: Bound }): Distribution {
  const what = `censored(${base.name})`;
  const b = univariateBase(what, base);
  const lower = dataBound(what, "lower", bounds.lower, -Infinity);
  const upper = dataBound(what, "upper", bounds.upper, Infinity);
  if (bounds.lower === undefined && bounds.upper === undefined) throw new ModelError("invalid-argument", `${what}: give a lower or an upper bound`);
  const shape = [lower, upper].reduce<Shape>((s, e) => broadcastShapes(s, e.shape, () => `${what} bounds ${e.label}`), base.shape);
  const [lo0, hi0] = [valuesAt(lower, shape), valuesAt(upper, shape)];
  lo0.forEach((l, i) => {
    if (!(l < hi0[i]!)) throw new ModelError("invalid-constant", `${what}: lower bound ${l} is not below upper bound ${hi0[i]} at element ${i}`);
  });
  // P(Y >= U): the CCDF at U for a continuous base, at U - 1 for counts.
  const step = base.discrete ? 1 : 0;
  const classify = (x: Float64Array, full: Shape): Piece[] => {
    const [lo, hi] = [valuesAt(lower, full), valuesAt(upper, full)];
    const exact: number[] = [];
    const left: number[] = [];
    const right: number[] = [];
    x.forEach((v, i) => (v <= lo[i]! ? left : v >= hi[i]! ? right : exact).push(i));
    return [
      { idx: exact, term: (s, v) => s.logpdf(constant(v)) },
      { idx: left, term: (s) => s.lcdf!(constant(Float64Array.from(left, (i) => lo[i]!))) },
      { idx: right, term: (s) => s.lccdf!(constant(Float64Array.from(right, (i) => hi[i]! - step))) },
    ];
  };
  return partitioned(
    what,
    b,
    shape,
    { ...prefixed("base", base.args), lower, upper },
    classify,
    (y, i) => Math.min(Math.max(y, at(lo0, i)), at(hi0, i)),
    (args) => censored(b.withArgs(unprefixed("base", args)), { lower: args.lower ?? lower, upper: args.upper ?? upper }),
  );
}

/**
 * Interval censoring: observation i (the value passed to `observe`) is the lower end of an
 * interval whose upper end is `upper[i]`: equal for an exact observation, +Infinity for one
 * right-censored at y_i (R's `Surv(time, time2, type = "interval2")` without left censoring).
 */
export function intervalCensored(base: Distribution, bounds: { upper: Bound }): Distribution {
  const what = `intervalCensored(${base.name})`;
  const b = univariateBase(what, base);
  const upper = dataBound(what, "upper", bounds.upper, Infinity);
  const shape = broadcastShapes(base.shape, upper.shape, () => `${what} upper ${upper.label}`);
  const step = base.discrete ? 1 : 0;
  const classify = (x: Float64Array, full: Shape): Piece[] => {
    const hi = valuesAt(upper, full);
    const exact: number[] = [];
    const right: number[] = [];
    const interval: number[] = [];
    x.forEach((v, i) => {
      if (!(hi[i]! >= v)) throw new ModelError("invalid-constant", `${what}: interval ${i} has upper end ${hi[i]} below its lower end ${v}`);
      (hi[i] === v ? exact : hi[i]! >= Number.MAX_VALUE ? right : interval).push(i);
    });
    return [
      { idx: exact, term: (s, v) => s.logpdf(constant(v)) },
      { idx: right, term: (s, v) => s.lccdf!(constant(v.map((y) => y - step))) },
      {
        idx: interval,
        term: (s, v) => {
          const lo = constant(v.map((y) => y - step));
          const up = constant(Float64Array.from(interval, (i) => hi[i]!));
          return logIntervalMass(s.lcdf!(lo), s.lccdf!(lo), s.lcdf!(up), s.lccdf!(up));
        },
      },
    ];
  };
  return partitioned(
    what,
    b,
    shape,
    { ...prefixed("base", base.args), upper },
    classify,
    (y) => y,
    (args) => intervalCensored(b.withArgs(unprefixed("base", args)), { upper: args.upper ?? upper }),
  );
}

/** Stan's `T[lower, upper]`: the base density renormalised on the interval. */
export function truncated(base: Distribution, bounds: { lower?: ExprLike; upper?: ExprLike }): Distribution {
  const what = `truncated(${base.name})`;
  const b = univariateBase(what, base);
  if (bounds.lower === undefined && bounds.upper === undefined) throw new ModelError("invalid-argument", `${what}: give a lower or an upper bound`);
  const lower = bounds.lower === undefined ? null : lift(bounds.lower);
  const upper = bounds.upper === undefined ? null : lift(bounds.upper);
  for (const [n, e] of [["lower", lower], ["upper", upper]] as const) {
    if (e === null) continue;
    if (base.discrete && !e.isConst) throw new ModelError("invalid-argument", `${what}: bound ${n} of a count distribution must be data, not ${e.label}`);
    if (e.isConst) e.constValues.forEach((v) => {
      if (Number.isNaN(v)) throw new ModelError("non-finite-data", `${what}: bound ${n} is NaN`);
    });
  }
  const shape = [lower, upper].reduce<Shape>((s, e) => (e === null ? s : broadcastShapes(s, e.shape, () => `${what} bound ${e.label}`)), base.shape);
  if (lower?.isConst && upper?.isConst) {
    const [lo, hi] = [valuesAt(lower, shape), valuesAt(upper, shape)];
    lo.forEach((l, i) => {
      if (!(l < hi[i]!)) throw new ModelError("invalid-constant", `${what}: lower bound ${l} is not below upper bound ${hi[i]}`);
    });
  }
  const below = lower === null ? null : base.discrete ? sub(lower, 1) : lower;
  // log(F(U) - F(L)) with only the terms the bounds need.
  const logMass =
    below === null ? b.lcdf(upper!) : upper === null ? b.lccdf(below) : logIntervalMass(b.lcdf(below), b.lccdf(below), b.lcdf(upper), b.lccdf(upper));
  const args: Record<string, Expr> = { ...prefixed("base", base.args), ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) };
  const keys = Object.keys(args);
  const baseCount = Object.keys(base.args).length;
  const read = argumentReader(keys.map((k) => args[k]!.shape), shape);
  const drawElement = (rng: RandomSource, values: readonly Float64Array[], i: number) => {
    const baseValues = values.slice(0, baseCount).map((_, k) => read(values, k, i));
    const lo = lower ? read(values, keys.indexOf("lower"), i) : -Infinity;
    const hi = upper ? read(values, keys.indexOf("upper"), i) : Infinity;
    const one = baseValues.map((v) => Float64Array.of(v));
    return drawTruncated(rng, scalarForms(base), base.discrete, baseValues, lo, hi, () => b.drawElement(rng, one, 0));
  };
  const drawWith = (rng: RandomSource, values: readonly Float64Array[]) => Float64Array.from({ length: sizeOf(shape) }, (_, i) => drawElement(rng, values, i));
  const logpdf = (x: ExprLike) => sub(b.logpdf(x), logMass);
  return {
    name: what,
    args,
    shape,
    support: base.support,
    discrete: base.discrete,
    logp: (x) => {
      const xs = lift(x);
      const full = sizeOf(broadcastShapes(xs.shape, shape, () => `${what} log-density of ${xs}`));
      return sub(b.logp(xs), mul(sum(logMass), full / logMass.size));
    },
    logpdf,
    defaultTransform: () => truncatedTransform(what, base.defaultTransform(), lower, upper),
    checkValue: (values, label) => {
      base.checkValue(values, label);
      const lo = lower?.isConst ? valuesAt(lower, shape) : null;
      const hi = upper?.isConst ? valuesAt(upper, shape) : null;
      const at = (v: Float64Array, i: number) => v[v.length === 1 ? 0 : i]!;
      values.forEach((x, i) => {
        if ((lo && x < at(lo, i)) || (hi && x > at(hi, i))) {
          throw new ModelError("out-of-support", `observed ${label}${values.length > 1 ? `[${i}]` : ""} = ${x} is outside the truncation interval of ${what}`);
        }
      });
    },
    sample: (rng) => {
      const all = Object.values(args);
      if (!all.every((e) => e.isConst)) throw new ModelError("invalid-argument", `${what}: a random draw needs constant arguments`);
      return drawWith(rng, all.map((e) => e.constValues));
    },
    drawWith,
    drawElement,
    withArgs: (a) => truncated(b.withArgs(unprefixed("base", a)), { ...(lower ? { lower: a.lower ?? lower } : {}), ...(upper ? { upper: a.upper ?? upper } : {}) }),
  };
}

/** A parameter with a truncated prior: the base's own transform, with the truncation bounds in place of its ends. */
function truncatedTransform(what: string, t: TransformSpec, lower: Expr | null, upper: Expr | null): TransformSpec {
  if (t.kind !== "identity" && t.kind !== "lower" && t.kind !== "upper" && t.kind !== "interval") {
    throw new ModelError("invalid-argument", `${what}: a ${t.kind} parameter cannot be truncated`);
  }
  const lo = lower ?? ("lower" in t ? t.lower : null);
  const hi = upper ?? ("upper" in t ? t.upper : null);
  if (lo && hi) return { kind: "interval", lower: lo, upper: hi };
  if (lo) return { kind: "lower", lower: lo };
  if (hi) return { kind: "upper", upper: hi };
  return { kind: "identity" };
}

/**
 * A finite mixture: log sum_k weights[k] p_k(y), elementwise. `weights` is a simplex of K
 * entries (declare it with `{ constraint: "simplex" }`, or as data), or one simplex per
 * observation (shape [N, K]).
 */
export function mixture(weights: ExprLike, components: readonly Distribution[]): Distribution {
  const w = lift(weights);
  const k = components.length;
  if (k < 2) throw new ModelError("invalid-argument", `mixture needs at least 2 components, got ${k}`);
  if (w.shape.length < 1 || w.shape.length > 2 || w.shape[w.shape.length - 1] !== k) {
    throw new ModelError("shape-mismatch", `mixture: weights ${w} must have ${k} entries (shape [${k}] or [N, ${k}]) for ${k} components`);
  }
  const comps = components.map((c) => univariateBase("mixture", c));
  if (w.isConst) {
    const v = w.constValues;
    for (let r = 0; r < v.length / k; r++) {
      const row = v.subarray(r * k, (r + 1) * k);
      const total = row.reduce((a, b) => a + b, 0);
      if (!row.every((x) => x >= 0) || Math.abs(total - 1) > 1e-8) {
        throw new ModelError("invalid-constant", `mixture: weights${v.length > k ? ` row ${r}` : ""} [${Array.from(row).join(", ")}] are not a simplex (non-negative, summing to 1)`);
      }
    }
  }
  const leading: Shape = w.shape.slice(0, -1);
  const shape = comps.reduce<Shape>((s, c) => broadcastShapes(s, c.shape, () => `mixture component ${c.name}`), leading);
  const weightOf = (j: number) => (w.shape.length === 1 ? gather(w, j) : column(w, j));
  const combine = (f: (c: (typeof comps)[number]) => Expr) =>
    comps.map((c, j) => add(log(weightOf(j)), f(c))).reduce((a, b) => logAddExp(a, b));
  const args: Record<string, Expr> = { weights: w, ...Object.assign({}, ...comps.map((c, j) => prefixed(`c${j}`, c.args))) };
  const counts = comps.map((c) => Object.keys(c.args).length);
  const rowOf = w.shape.length === 2 ? broadcastMap(leading, shape) : null;
  const drawElement = (rng: RandomSource, values: readonly Float64Array[], i: number) => {
    const wv = values[0]!;
    const row = w.shape.length === 1 ? 0 : rowOf === null ? i : rowOf[i]!;
    let u = rng.uniform();
    let j = 0;
    for (; j < k - 1; j++) {
      u -= wv[row * k + j]!;
      if (u < 0) break;
    }
    const start = 1 + counts.slice(0, j).reduce((a, b) => a + b, 0);
    return comps[j]!.drawElement(rng, values.slice(start, start + counts[j]!), i);
  };
  const drawWith = (rng: RandomSource, values: readonly Float64Array[]) => Float64Array.from({ length: sizeOf(shape) }, (_, i) => drawElement(rng, values, i));
  return {
    name: "mixture",
    args,
    shape,
    support: comps[0]!.support,
    discrete: comps.every((c) => c.discrete),
    logp: (x) => sum(combine((c) => c.logpdf(x))),
    logpdf: (x) => combine((c) => c.logpdf(x)),
    lcdf: (x) => combine((c) => c.lcdf(x)),
    lccdf: (x) => combine((c) => c.lccdf(x)),
    defaultTransform: () => comps[0]!.defaultTransform(),
    checkValue: (values, label) => {
      const errors: unknown[] = [];
      for (const c of comps) {
        try {
          c.checkValue(values, label);
          return;
        } catch (e) {
          errors.push(e);
        }
      }
      throw errors[0];
    },
    sample: (rng) => {
      const all = Object.values(args);
      if (!all.every((e) => e.isConst)) throw new ModelError("invalid-argument", "mixture: a random draw needs constant arguments");
      return drawWith(rng, all.map((e) => e.constValues));
    },
    drawWith,
    drawElement,
    withArgs: (a) => mixture(a.weights ?? w, comps.map((c, j) => c.withArgs({ ...c.args, ...unprefixed(`c${j}`, a) }))),
  };
}

/** A mixture of normals: weights (K), means mu (K; declare them ordered), scales sigma (scalar or K). */
export function normalMixture(weights: ExprLike, mu: ExprLike, sigma: ExprLike): Distribution {
  const [m, s] = [lift(mu), lift(sigma)];
  const k = m.shape[0];
  if (m.shape.length !== 1 || k === undefined || k < 2) throw new ModelError("shape-mismatch", `normalMixture: mu ${m} must be a vector of at least 2 means`);
  if (!(s.shape.length === 0 || (s.shape.length === 1 && s.shape[0] === k))) {
    throw new ModelError("shape-mismatch", `normalMixture: sigma ${s} must be a scalar or have ${k} entries like mu`);
  }
  const scale = (j: number) => (s.shape.length === 0 ? s : gather(s, j));
  return { ...mixture(weights, Array.from({ length: k }, (_, j) => normal(gather(m, j), scale(j)))), name: "normalMixture" };
}


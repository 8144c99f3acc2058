/**
 * The model builder: named parameters, data, observed nodes, deterministics and potentials.
 * Produces a `Model`: everything the compiler needs, as data (no sampling here).
 */
import type { Distribution, NoncenteredForm } from "./distributions.js";
import { normal } from "./distributions.js";
import { ModelError } from "./errors.js";
import { constant, lift, paramLeaf, sum, type Expr, type ExprLike, type ParamBlock } from "./expr.js";
import { broadcastShapes, formatShape, sameShape, sizeOf, type Shape } from "./shape.js";
import { dependsOn, Substitution } from "./rewrite.js";
import { applyTransform, contextOf, inverseTransform, unconstrainedSize, type TransformSpec } from "./transforms.js";

/** Data as users hold it: numbers, (nested) arrays, typed arrays. */
export type DataValue = number | ArrayLike<number> | readonly (readonly number[])[];

export interface ParamOptions {
  /** Shape of the parameter; defaults to the prior's shape (a scalar without prior). */
  shape?: Shape;
  /** Names of the dimensions, like PyMC's dims (reported with the posterior). */
  dims?: readonly string[];
  lower?: ExprLike;
  upper?: ExprLike;
  /** A structural constraint instead of bounds. */
  constraint?: "ordered" | "positiveOrdered" | "simplex";
  /**
   * Parameterisation of a Normal parameter whose scale depends on a parameter: true samples
   * z ~ normal(0, 1) and reports loc + scale * z; false keeps Stan's centred form; absent
   * follows the model option ("auto" by default: see `ModelOptions.noncentered`).
   */
  noncentered?: boolean;
}

export interface ParamInfo {
  readonly name: string;
  readonly shape: Shape;
  readonly dims: readonly string[] | undefined;
  readonly block: ParamBlock;
  readonly size: number;
  /** Constrained value reported for this parameter. */
  readonly value: Expr;
  /** Expressions (bounds, location and scale) that `unconstrain` evaluates first. */
  readonly context: readonly Expr[];
  /** Constrained values (flat) and context values to unconstrained coordinates. */
  readonly invert: (x: Float64Array, context: Float64Array[]) => Float64Array;
  readonly unconstrainedLabel: string;
  /**
   * The prior as declared, with its arguments as final model expressions (absent: a flat
   * prior on the constrained space). For drawing from the prior (SMC's initial particles).
   */
  readonly prior?: { readonly dist: Distribution; readonly args: Readonly<Record<string, Expr>> };
  /** Sampled as z ~ normal(0, 1) with `value` a function of z (the non-centred form). */
  readonly noncentered?: boolean;
}

/**
 * An observed node as declared: what pointwise log-likelihoods and predictive draws need.
 * `logLik` and `args` are the model's final expressions (after the centring choice).
 */
export interface ObservedNode {
  readonly name: string;
  /** The likelihood as declared (its `args` may predate the centring choice: use `args` here). */
  readonly dist: Distribution;
  /** The observed values (a constant). */
  readonly value: Expr;
  /** The distribution's arguments, as final model expressions. */
  readonly args: Readonly<Record<string, Expr>>;
  /** Log density per observation (Stan's `log_lik`): one per element, or one per draw of a multivariate distribution. */
  readonly logLik: Expr;
}

export interface Model {
  readonly name: string;
  readonly params: readonly ParamInfo[];
  readonly dim: number;
  /** Scalar terms whose sum is the log-density (priors, likelihoods, Jacobians, potentials). */
  readonly terms: readonly Expr[];
  /** Reported quantities: parameters first, then deterministics. */
  readonly outputs: readonly { readonly name: string; readonly expr: Expr; readonly dims: readonly string[] | undefined }[];
  readonly data: ReadonlyMap<string, Expr>;
  /** Observed nodes in declaration order. */
  readonly observed: readonly ObservedNode[];
  /** Potentials (`m.potential`) in declaration order, as final model expressions (summed to scalars). */
  readonly potentials: readonly { readonly name: string; readonly expr: Expr }[];
}

export interface ModelOptions {
  /**
   * Non-centring of Normal parameters with a parameter-dependent scale. "auto" (default):
   * non-centred unless the data are informative, i.e. at least `CENTRED_OBSERVATIONS_PER_ELEMENT`
   * observed values per element depend on the parameter (then the centred form mixes better);
   * true: always non-centred; false: never.
   */
  noncentered?: boolean | "auto";
}

/** "auto" keeps a parameter centred from this many observations per element (DECISIONS.md D10). */
export const CENTRED_OBSERVATIONS_PER_ELEMENT = 5;

/** A Normal parameter whose form (centred or not) is chosen once the whole model is known. */
interface Candidate {
  readonly info: ParamInfo;
  /** The free coordinates: z when non-centred, the parameter itself when centred. */
  readonly leaf: Expr;
  readonly prior: Distribution;
  readonly forced: boolean | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Flattens numbers, arrays, typed arrays and arrays of rows; infers the shape. */
export function toArray(name: string, value: DataValue): { values: Float64Array; shape: Shape } {
  if (typeof value === "number") return { values: Float64Array.of(value), shape: [] };
  const first = (value as ArrayLike<unknown>)[0];
  if (value.length > 0 && typeof first === "object" && first !== null) {
    const rows = value as readonly (readonly number[])[];
    const cols = rows[0]!.length;
    rows.forEach((r, i) => {
      if (r.length !== cols) {
        throw new ModelError("shape-mismatch", `data ${name}: row ${i} has ${r.length} entries, row 0 has ${cols}`);
      }
    });
    return { values: Float64Array.from(rows.flat()), shape: [rows.length, cols] };
  }
  return { values: Float64Array.from(value as ArrayLike<number>), shape: [value.length] };
}

export class ModelBuilder {
  private readonly names = new Set<string>();
  private readonly params: ParamInfo[] = [];
  private readonly terms: Expr[] = [];
  private readonly deterministics: { name: string; expr: Expr; dims: readonly string[] | undefined }[] = [];
  private readonly dataNodes = new Map<string, Expr>();
  private readonly candidates: Candidate[] = [];
  /** Observed terms and their number of data values (for the "auto" parameterisation). */
  private readonly observed: { term: Expr; size: number }[] = [];
  private readonly observedNodes: ObservedNode[] = [];
  private readonly potentials: { name: string; expr: Expr }[] = [];
  private offset = 0;

  constructor(private readonly options: ModelOptions = {}) {}

  /** Adds a log-density term, split at scalar additions so each part's loop fuses on its own. */
  private addTerm(term: Expr) {
    if (term.shape.length === 0 && term.node.kind === "elementwise" && term.node.op === "add") {
      term.inputs.forEach((t) => this.addTerm(t));
    } else if (!term.isConst) {
      this.terms.push(term);
    }
  }

  private claim(name: string, what: string) {
    if (!NAME.test(name)) throw new ModelError("invalid-argument", `${what} name "${name}" is not an identifier`);
    if (this.names.has(name)) throw new ModelError("duplicate-name", `${what} "${name}" is already defined in this model`);
    this.names.add(name);
  }

  /** Declares data. Values must be finite; `integer` also requires whole numbers. */
  data(name: string, value: DataValue, opts: { shape?: Shape; integer?: boolean } = {}): Expr {
    this.claim(name, "data");
    const { values, shape } = toArray(name, value);
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new ModelError("non-finite-data", `data ${name}${values.length > 1 ? `[${i}]` : ""} is ${v}`);
      if (opts.integer && !Number.isInteger(v)) {
        throw new ModelError("invalid-argument", `data ${name}[${i}] = ${v} must be an integer`);
      }
    });
    const node = constant(values, opts.shape ?? shape, name, opts.integer ?? false);
    this.dataNodes.set(name, node);
    return node;
  }

  /**
   * Declares a parameter: `param("mu", normal(0, 5))`, `param("sigma", halfCauchy(2.5))`,
   * `param("beta1", { lower: 0, upper: sub(1, alpha1) })`, `param("theta", dirichlet(a))`.
   * Returns its value in constrained space.
   */
  param(name: string, prior: Distribution, opts?: ParamOptions): Expr;
  param(name: string, opts?: ParamOptions): Expr;
  param(name: string, priorOrOpts?: Distribution | ParamOptions, maybeOpts?: ParamOptions): Expr {
    this.claim(name, "parameter");
    const prior = priorOrOpts && "logp" in priorOrOpts ? priorOrOpts : undefined;
    const opts: ParamOptions = (prior ? maybeOpts : (priorOrOpts as ParamOptions | undefined)) ?? {};
    if (prior?.discrete) throw new ModelError("invalid-argument", `parameter ${name}: ${prior.name} is discrete; parameters must be continuous`);
    const shape = opts.shape ?? prior?.shape ?? [];
    if (prior && !sameShape(broadcastShapes(shape, prior.shape, () => `parameter ${name}`), shape)) {
      throw new ModelError(
        "shape-mismatch",
        `parameter ${name} has shape ${formatShape(shape)} but its prior ${prior.name} has shape ${formatShape(prior.shape)}`,
      );
    }
    if (opts.dims && opts.dims.length !== shape.length) {
      throw new ModelError("shape-mismatch", `parameter ${name}: ${opts.dims.length} dims for shape ${formatShape(shape)}`);
    }
    const transform = this.transformFor(name, prior, opts, shape);
    const block: ParamBlock = { name, offset: this.offset };

    if (prior?.noncentered && transform.kind === "identity" && this.shouldNoncenter(opts)) {
      return this.noncenteredParam(name, prior, prior.noncentered, shape, opts, block);
    }

    const usize = unconstrainedSize(transform, shape);
    const u = paramLeaf(block, transform.kind === "simplex" ? [usize] : shape);
    const { value: raw, logJacobian } = applyTransform(transform, u, shape);
    const value = sameShape(raw.shape, shape) ? raw : raw.reshape(shape);
    value.label = name;
    if (logJacobian) this.addTerm(logJacobian);
    if (prior) this.addTerm(prior.logp(value));
    const context = contextOf(transform);
    this.params.push({
      name,
      shape,
      dims: opts.dims,
      block,
      size: usize,
      value,
      context,
      invert: (x, ctx) => inverseTransform(transform, x, ctx, name),
      unconstrainedLabel: transform.kind === "identity" ? name : `${name}__${transform.kind}`,
      ...(prior ? { prior: { dist: prior, args: prior.args } } : {}),
    });
    this.offset += usize;
    return value;
  }

  private shouldNoncenter(opts: ParamOptions): boolean {
    if (opts.noncentered === false) return false;
    return opts.noncentered === true || this.options.noncentered !== false;
  }

  /**
   * A parameter whose prior has a non-centred form (normal with a parameter scale, Gaussian
   * random walk): declared non-centred, z ~ normal(0, 1); `build` may switch it back.
   */
  private noncenteredParam(name: string, prior: Distribution, form: NoncenteredForm, shape: Shape, opts: ParamOptions, block: ParamBlock): Expr {
    const size = sizeOf(shape);
    const z = paramLeaf(block, shape);
    const value = form.value(z);
    value.label = name;
    const info: ParamInfo = {
      name,
      shape,
      dims: opts.dims,
      block,
      size,
      value,
      context: form.context,
      invert: (x, ctx) => form.invert(x, ctx),
      unconstrainedLabel: `${name}__noncentered`,
      prior: { dist: prior, args: prior.args },
      noncentered: true,
    };
    this.params.push(info);
    const forced = opts.noncentered ?? (this.options.noncentered === true ? true : undefined);
    this.candidates.push({ info, leaf: z, prior, forced });
    this.offset += size;
    return value;
  }

  /** Observed values per element of `value` that depend on it. */
  private observationsPerElement(value: Expr): number {
    const memo = new Map<Expr, boolean>();
    const count = this.observed.filter((o) => dependsOn(o.term, value, memo)).reduce((s, o) => s + o.size, 0);
    return count / value.size;
  }

  /**
   * Settles each candidate's form. A centred candidate's leaf becomes the parameter itself:
   * its reported value and every expression that used loc + scale * z are rebuilt on it.
   */
  private settleParameterisations(): { terms: Expr[]; subst: Substitution | null } {
    const replacements = new Map<Expr, Expr>();
    const priorTerms: Expr[] = [];
    for (const c of this.candidates) {
      const centred = c.forced === undefined ? this.observationsPerElement(c.info.value) >= CENTRED_OBSERVATIONS_PER_ELEMENT : !c.forced;
      if (!centred) {
        priorTerms.push(normal(0, 1).logp(c.leaf));
        continue;
      }
      c.leaf.label = c.info.name;
      replacements.set(c.info.value, c.leaf);
      priorTerms.push(c.prior.logp(c.leaf));
      const k = this.params.indexOf(c.info);
      this.params[k] = { ...c.info, value: c.leaf, context: [], invert: (x) => Float64Array.from(x), unconstrainedLabel: c.info.name, noncentered: false };
    }
    if (replacements.size === 0) return { terms: priorTerms, subst: null };
    const subst = new Substitution(replacements);
    return { terms: priorTerms.map((t) => subst.apply(t)), subst };
  }

  private transformFor(name: string, prior: Distribution | undefined, opts: ParamOptions, shape: Shape): TransformSpec {
    const bounded = opts.lower !== undefined || opts.upper !== undefined;
    if (opts.constraint && bounded) throw new ModelError("invalid-argument", `parameter ${name}: give bounds or a constraint, not both`);
    if (opts.constraint) {
      if (shape.length !== 1) throw new ModelError("shape-mismatch", `parameter ${name}: ${opts.constraint} needs a vector, got ${formatShape(shape)}`);
      if (opts.constraint === "simplex" && shape[0]! < 2) throw new ModelError("shape-mismatch", `parameter ${name}: a simplex needs at least 2 entries`);
      return { kind: opts.constraint };
    }
    const bound = (b: ExprLike, which: string) => {
      const e = lift(b);
      broadcastShapes(e.shape, shape, () => `${which} bound of parameter ${name}`);
      return e;
    };
    if (opts.lower !== undefined && opts.upper !== undefined) {
      const [lo, hi] = [bound(opts.lower, "lower"), bound(opts.upper, "upper")];
      if (lo.isConst && hi.isConst) {
        lo.constValues.forEach((l, i) => {
          const h = hi.constValues[hi.size === 1 ? 0 : i]!;
          if (!(l < h)) throw new ModelError("invalid-constant", `parameter ${name}: lower bound ${l} is not below upper bound ${h}`);
        });
      }
      return { kind: "interval", lower: lo, upper: hi };
    }
    if (opts.lower !== undefined) return { kind: "lower", lower: bound(opts.lower, "lower") };
    if (opts.upper !== undefined) return { kind: "upper", upper: bound(opts.upper, "upper") };
    return prior?.defaultTransform() ?? { kind: "identity" };
  }

  /** Observed data: adds the log-likelihood of `value` under `dist`. */
  observe(name: string, dist: Distribution, value: DataValue | Expr): void {
    this.claim(name, "observed node");
    const v = value instanceof Object && "node" in value ? (value as Expr) : this.dataValue(name, value as DataValue);
    if (!v.isConst) throw new ModelError("invalid-argument", `observed ${name} must be data, not an expression of parameters (${v.label})`);
    const shape = broadcastShapes(v.shape, dist.shape, () => `observed ${name} under ${dist.name}`);
    if (!sameShape(shape, v.shape)) {
      throw new ModelError(
        "shape-mismatch",
        `observed ${name} has shape ${formatShape(v.shape)} but ${dist.name}(${Object.values(dist.args).map((a) => a.label).join(", ")}) has shape ${formatShape(dist.shape)}`,
      );
    }
    dist.checkValue(v.constValues, name);
    const term = dist.logp(v);
    this.observed.push({ term, size: v.size });
    this.observedNodes.push({ name, dist, value: v, args: dist.args, logLik: dist.logpdf(v) });
    this.addTerm(term);
  }

  private dataValue(name: string, value: DataValue): Expr {
    const { values, shape } = toArray(name, value);
    values.forEach((x, i) => {
      if (!Number.isFinite(x)) throw new ModelError("non-finite-data", `observed ${name}${values.length > 1 ? `[${i}]` : ""} is ${x}`);
    });
    return constant(values, shape, name);
  }

  /** A named quantity computed from parameters, reported with every draw. */
  deterministic(name: string, expr: Expr, dims?: readonly string[]): Expr {
    this.claim(name, "deterministic");
    this.deterministics.push({ name, expr, dims });
    return expr;
  }

  /** An extra log-density term (summed if not scalar), like Stan's `target +=`. */
  potential(name: string, expr: ExprLike): void {
    this.claim(name, "potential");
    const term = sum(expr);
    this.potentials.push({ name, expr: term });
    this.addTerm(term);
  }

  build(name: string): Model {
    if (this.params.length === 0) throw new ModelError("invalid-argument", `model ${name} has no parameters`);
    const { terms: priorTerms, subst } = this.settleParameterisations();
    priorTerms.forEach((t) => this.addTerm(t));
    const re = (e: Expr) => (subst ? subst.apply(e) : e);
    const reArgs = (args: Readonly<Record<string, Expr>>) => Object.fromEntries(Object.entries(args).map(([k, e]) => [k, re(e)]));
    const params = this.params.map((p) => ({
      ...p,
      value: re(p.value),
      context: p.context.map(re),
      ...(p.prior ? { prior: { dist: p.prior.dist, args: reArgs(p.prior.args) } } : {}),
    }));
    return {
      name,
      params,
      dim: this.offset,
      terms: this.terms.map(re),
      outputs: [
        ...params.map((p) => ({ name: p.name, expr: p.value, dims: p.dims })),
        ...this.deterministics.map((d) => ({ ...d, expr: re(d.expr) })),
      ],
      data: new Map(this.dataNodes),
      observed: this.observedNodes.map((o) => ({
        ...o,
        args: reArgs(o.args),
        logLik: re(o.logLik),
      })),
      potentials: this.potentials.map((p) => ({ name: p.name, expr: re(p.expr) })),
    };
  }
}

/** Declares a model: `model("eight_schools", (m) => { ... })`. */
export function model(name: string, define: (m: ModelBuilder) => void, options?: ModelOptions): Model {
  const builder = new ModelBuilder(options);
  define(builder);
  return builder.build(name);
}

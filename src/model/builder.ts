/**
 * The model builder: named parameters, data, observed nodes, deterministics and potentials.
 * Produces a `Model`: everything the compiler needs, as data (no sampling here).
 */
import type { Distribution, NoncenteredForm } from "./distributions.js";
import { normal } from "./distributions.js";
import { ModelError } from "./errors.js";
import { addends } from "./propto.js";
import { access, add, constant, exp, Expr, findNode, lift, log, mul, neg, paramLeaf, square, sub, sum, tunableLeaf, type ExprLike, type ParamBlock } from "./expr.js";
import { broadcastShapes, formatShape, sameShape, sizeOf, type Shape } from "./shape.js";
import { dependsOn, Substitution } from "./rewrite.js";
import { signOf, type Sign } from "./sign.js";
import { applyTransform, contextOf, inverseTransform, unconstrainedSize, type TransformSpec } from "./transforms.js";
import { checkName, checkOptions, checkShape, checkText, describeValue, MAX_DIMENSION, toNumbers } from "./values.js";

/** Data as users hold it: numbers, (nested) arrays, typed arrays. */
export type DataValue = number | ArrayLike<number> | readonly (readonly number[])[];

export interface ParamOptions {
  /** Shape of the parameter; defaults to the prior's shape (a scalar without prior). */
  shape?: Shape;
  /** Names of the dimensions, like PyMC's dims (reported with the posterior). */
  dims?: readonly string[];
  lower?: ExprLike;
  upper?: ExprLike;
  /**
   * A structural constraint instead of bounds, with Stan's transform: vectors (the last axis)
   * for `ordered`, `positiveOrdered`, `simplex` and `unitVector`; square matrices (the last two
   * axes) for `choleskyFactorCorr`, `corrMatrix` and `covMatrix`, and M x N with M >= N for
   * `choleskyFactorCov`.
   */
  constraint?: "ordered" | "positiveOrdered" | "simplex" | "unitVector" | "choleskyFactorCorr" | "choleskyFactorCov" | "corrMatrix" | "covMatrix";
  /** Stan's `offset`: the parameter is offset + multiplier * u for an unconstrained u (no bounds or constraint with it). */
  offset?: ExprLike;
  /** Stan's `multiplier` (positive), with `offset` or alone. */
  multiplier?: ExprLike;
  /**
   * The order of the unconstrained coordinates of a matrix parameter (the last two axes):
   * "rowMajor" (the default) or "columnMajor" (Stan's order for `matrix` parameters). Only for
   * elementwise transforms (no constraint).
   */
  order?: "rowMajor" | "columnMajor";
  /**
   * Parameterisation of a Normal parameter whose scale depends on a parameter: true samples
   * z ~ normal(0, 1) and reports loc + scale * z; false keeps Stan's centred form; absent
   * follows the model option ("auto" by default: see `ModelOptions.noncentered`); "learn"
   * makes it partially non-centred with a lambda the sampler learns during warmup.
   */
  noncentered?: boolean | "learn";
}

export interface ObserveOptions {
  /** Names of the dimensions of the observed values, like PyMC's dims (reported with exports). */
  dims?: readonly string[];
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
  /** The prior as declared (prior predictive draws); its arguments as final model expressions in `priorArgs`. */
  readonly prior?: Distribution;
  readonly priorArgs?: Readonly<Record<string, Expr>>;
  /** The constraint transform's kind; bounds (when it has them) are `context`, lower first. */
  readonly transform: TransformSpec["kind"];
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
  /** Names of the dimensions of `value` (like a parameter's dims), for exports such as InferenceData. */
  readonly dims: readonly string[] | undefined;
  /** The distribution's arguments, as final model expressions. */
  readonly args: Readonly<Record<string, Expr>>;
  /** Log density per observation (Stan's `log_lik`): one per element, or one per draw of a multivariate distribution. */
  readonly logLik: Expr;
}

/**
 * A generated quantity (Stan's generated quantities block), computed by `priorPredictive` and
 * `posteriorPredictive` only, never while sampling: a random draw from `dist` (Stan's `_rng`),
 * with `args` as final model expressions, or an expression `expr` of parameters and earlier
 * generated quantities. `value` stands for it in later generated quantities.
 */
export interface GeneratedNode {
  readonly name: string;
  readonly shape: Shape;
  readonly dims?: readonly string[];
  readonly dist?: Distribution;
  readonly args?: Readonly<Record<string, Expr>>;
  readonly expr?: Expr;
  readonly value: Expr;
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
  /** Generated quantities in declaration order (may be absent in models made elsewhere). */
  readonly generated?: readonly GeneratedNode[];
  /** Names of the potentials that depend on parameters (a prior predictive draw cannot honour them). */
  readonly potentials?: readonly string[];
  /** Those potentials' terms (summed to scalars), as final model expressions: the likelihood part with the observed nodes (SMC). */
  readonly potentialTerms?: readonly { readonly name: string; readonly expr: Expr }[];
  /**
   * Build-time warnings (also emitted as process warnings of type `BayestsModelWarning`):
   * e.g. a distribution argument that must be positive but that nothing keeps positive.
   */
  readonly warnings: readonly string[];
  /**
   * Learned parameterisations (`noncentered: "learn"`): per node, the run-time lambda of
   * x = loc + scale^(1 - lambda) (z - lambda loc), z ~ normal(lambda loc, scale^lambda)
   * (Gorinova, Moore and Hoffman 2020): lambda 0 is non-centred, 1 centred.
   */
  readonly tunables?: readonly LearnedParameterisation[];
}

export interface LearnedParameterisation {
  /** The parameter. */
  readonly param: string;
  /** Its lambda's index in the tunable vector. */
  readonly index: number;
  /** Lambda before any learning (D10's count: 1 with 5 or more observations per element, else 0). */
  readonly initial: number;
  /** The parameter's unconstrained coordinates: q[offset .. offset + size). */
  readonly offset: number;
  readonly size: number;
}

export interface ModelOptions {
  /**
   * Non-centring of Normal parameters with a parameter-dependent scale. "auto" (default):
   * non-centred unless the data are informative, i.e. at least `CENTRED_OBSERVATIONS_PER_ELEMENT`
   * observed values per element depend on the parameter (then the centred form mixes better);
   * true: always non-centred; false: never; "learn": partially non-centred, the degree learned
   * during warmup (DECISIONS.md D70), starting from what "auto" would choose.
   */
  noncentered?: boolean | "auto" | "learn";
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
  readonly learn: boolean;
}

const PARAM_OPTIONS = ["shape", "dims", "lower", "upper", "constraint", "offset", "multiplier", "order", "noncentered"] as const;
const CONSTRAINTS = ["ordered", "positiveOrdered", "simplex", "unitVector", "choleskyFactorCorr", "choleskyFactorCov", "corrMatrix", "covMatrix"];
const MATRIX_CONSTRAINTS = ["choleskyFactorCorr", "choleskyFactorCov", "corrMatrix", "covMatrix"];

/** Whether `x` is a distribution (from `dist.*`), as opposed to an options object. */
function isDistribution(x: unknown): x is Distribution {
  if (typeof x !== "object" || x === null) return false;
  const d = x as Partial<Distribution>;
  return typeof d.logp === "function" && typeof d.defaultTransform === "function" && typeof d.checkValue === "function" && Array.isArray(d.shape);
}

/** Dimension names: one identifier per axis. */
function checkDims(dims: unknown, shape: Shape, what: string): readonly string[] | undefined {
  if (dims === undefined) return undefined;
  if (!Array.isArray(dims)) throw new ModelError("invalid-argument", `${what}: dims must be an array of names, got ${describeValue(dims)}`);
  if (dims.length !== shape.length) throw new ModelError("shape-mismatch", `${what}: ${dims.length} dims for shape ${formatShape(shape)}`);
  return Object.freeze(dims.map((d, k) => checkName(d, `${what}: dim ${k}`)));
}

/** The word for each kind of named node, in messages about clashing names. */
type NodeKindWord = "parameter" | "data" | "observed node" | "deterministic" | "potential" | "generated quantity";

export class ModelBuilder {
  /** Every name declared so far, with the kind of node it names. */
  private readonly names = new Map<string, NodeKindWord>();
  private readonly params: ParamInfo[] = [];
  private readonly terms: Expr[] = [];
  private readonly deterministics: { name: string; expr: Expr; dims: readonly string[] | undefined }[] = [];
  private readonly dataNodes = new Map<string, Expr>();
  private readonly candidates: Candidate[] = [];
  /** Observed terms and their number of data values (for the "auto" parameterisation). */
  private readonly observed: { term: Expr; size: number }[] = [];
  private readonly observedNodes: ObservedNode[] = [];
  private readonly generatedNodes: GeneratedNode[] = [];
  private readonly potentialTerms: { name: string; expr: Expr }[] = [];
  private readonly warnings: string[] = [];
  private readonly signs = new Map<Expr, Sign>();
  private offset = 0;
  private readonly options: ModelOptions;
  private readonly tunables: LearnedParameterisation[] = [];

  constructor(options: ModelOptions = {}) {
    const o = checkOptions(options, ["noncentered"], "model options");
    if (o.noncentered !== undefined && typeof o.noncentered !== "boolean" && o.noncentered !== "auto" && o.noncentered !== "learn") {
      throw new ModelError("invalid-argument", `model options: noncentered must be true, false, "auto" or "learn", got ${describeValue(o.noncentered)}`);
    }
    this.options = { ...(o.noncentered !== undefined ? { noncentered: o.noncentered as boolean | "auto" | "learn" } : {}) };
  }

  /**
   * Adds a log-density term, split at scalar additions so each part's loop fuses on its own
   * (iteratively: a sum built in a loop may be tens of thousands deep). A constant part only
   * shifts the density and is left out (constants are finite: see `Expr`), or with
   * `keepConstants` summed into one constant term (Stan's `target +=` keeps them in lp__).
   */
  private addTerm(term: Expr, keepConstants = false) {
    let constantPart = 0;
    for (const t of addends(term)) {
      if (!t.isConst) this.terms.push(t);
      else if (keepConstants) constantPart += t.constValues[0]!;
    }
    if (constantPart !== 0) this.terms.push(constant(constantPart));
  }

  private claim(name: unknown, kind: NodeKindWord): string {
    const n = checkName(name, kind);
    const earlier = this.names.get(n);
    if (earlier !== undefined) {
      throw new ModelError("duplicate-name", `${kind} "${n}" is already defined in this model (as ${earlier === "data" ? "data" : `a ${earlier}`})`);
    }
    this.names.set(n, kind);
    return n;
  }

  /** Warns where a distribution argument that must be positive may be negative (D27). */
  private checkArgumentSigns(dist: Distribution, where: string) {
    for (const [arg, check] of Object.entries(dist.argChecks ?? {})) {
      if (check !== "positive" && check !== "nonNegative") continue;
      const e = dist.args[arg];
      if (e === undefined || e.isConst || signOf(e, this.signs) !== "unknown") continue;
      this.warnings.push(
        `${where}: argument ${arg} of ${dist.name} (${e.label}) must be ${check === "positive" ? "> 0" : ">= 0"}, but nothing keeps it so; ` +
          "where it is negative the log density is not finite and the sampler rejects the point. " +
          "Give the parameter a lower bound ({ lower: 0 }), a positive prior, or pass it through exp" +
          (dist.name === "poisson" ? " (or use poissonLog)" : ""),
      );
    }
  }

  /** Declares data. Values must be finite numbers; `integer` also requires whole numbers. */
  data(name: string, value: DataValue, opts: { shape?: Shape; integer?: boolean } = {}): Expr {
    name = this.claim(name, "data");
    const o = checkOptions(opts, ["shape", "integer"], `data ${name}`);
    if (o.integer !== undefined && typeof o.integer !== "boolean") throw new ModelError("invalid-argument", `data ${name}: integer must be true or false, got ${describeValue(o.integer)}`);
    const { values, shape } = toNumbers(value, `data ${name}`);
    if (o.integer) {
      values.forEach((v, i) => {
        if (!Number.isInteger(v)) throw new ModelError("invalid-argument", `data ${name}[${i}] = ${v} must be an integer`);
      });
    }
    const declared = o.shape === undefined ? shape : checkShape(o.shape, `data ${name}`);
    const node = constant(values, declared, name, o.integer === true);
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
    name = this.claim(name, "parameter");
    let prior: Distribution | undefined;
    let given: unknown;
    if (isDistribution(priorOrOpts)) {
      prior = priorOrOpts;
      given = maybeOpts;
    } else {
      if (priorOrOpts !== undefined && (typeof priorOrOpts !== "object" || priorOrOpts === null || Array.isArray(priorOrOpts))) {
        throw new ModelError("invalid-argument", `parameter ${name}: the second argument must be a distribution (dist.normal(0, 1), ...) or an options object, got ${describeValue(priorOrOpts)}`);
      }
      if (maybeOpts !== undefined) throw new ModelError("invalid-argument", `parameter ${name}: options given twice (the second argument is not a distribution)`);
      given = priorOrOpts;
    }
    const o = checkOptions(given, PARAM_OPTIONS, `parameter ${name}`);
    if (o.constraint !== undefined && !CONSTRAINTS.includes(o.constraint as string)) {
      throw new ModelError("invalid-argument", `parameter ${name}: constraint must be one of ${CONSTRAINTS.join(", ")}, got ${describeValue(o.constraint)}`);
    }
    if (o.noncentered !== undefined && typeof o.noncentered !== "boolean" && o.noncentered !== "learn") {
      throw new ModelError("invalid-argument", `parameter ${name}: noncentered must be true, false or "learn", got ${describeValue(o.noncentered)}`);
    }
    if (prior?.discrete) throw new ModelError("invalid-argument", `parameter ${name}: ${prior.name} is discrete; parameters must be continuous`);
    const shape = checkShape(o.shape ?? prior?.shape ?? [], `parameter ${name}`);
    if (sizeOf(shape) === 0) {
      throw new ModelError("shape-mismatch", `parameter ${name} has shape ${formatShape(shape)}: no values to sample (leave it out of the model)`);
    }
    if (prior && !sameShape(broadcastShapes(shape, prior.shape, () => `parameter ${name}`), shape)) {
      throw new ModelError(
        "shape-mismatch",
        `parameter ${name} has shape ${formatShape(shape)} but its prior ${prior.name} has shape ${formatShape(prior.shape)}`,
      );
    }
    const opts: ParamOptions = { ...o, shape, dims: checkDims(o.dims, shape, `parameter ${name}`) } as ParamOptions;
    if (prior) this.checkArgumentSigns(prior, `the prior of parameter ${name}`);
    const transform = this.transformFor(name, prior, opts, shape);
    const usize = unconstrainedSize(transform, shape);
    if (this.offset + usize > MAX_DIMENSION) {
      throw new ModelError(
        "too-large",
        `parameter ${name} has ${usize} unconstrained coordinates, making the model's ${this.offset + usize}; the limit is 2^22 (${MAX_DIMENSION})`,
      );
    }
    const block: ParamBlock = { name, offset: this.offset };

    if (prior?.noncentered && transform.kind === "identity" && this.shouldNoncenter(opts)) {
      return this.noncenteredParam(name, prior, prior.noncentered, shape, opts, block);
    }

    const leaf = paramLeaf(block, transform.kind === "simplex" || usize !== sizeOf(shape) ? [usize] : shape);
    const columnMajor = this.columnMajorOrder(name, opts, shape, transform);
    const u = columnMajor ? access(leaf, columnMajor, shape, name) : leaf;
    const { value: raw, logJacobian } = applyTransform(transform, u, shape);
    const value = sameShape(raw.shape, shape) ? raw : raw.reshape(shape);
    value.label = name;
    if (logJacobian) this.addTerm(logJacobian);
    if (prior) this.addTerm(prior.logp(value));
    const context = contextOf(transform);
    this.params.push({
      ...(prior ? { prior, priorArgs: prior.args } : {}),
      transform: transform.kind,
      name,
      shape,
      dims: opts.dims,
      block: (leaf.node as { block: ParamBlock }).block,
      size: usize,
      value,
      context,
      invert: (x, ctx) => {
        const rowMajor = inverseTransform(transform, x, ctx, name, shape);
        if (!columnMajor) return rowMajor;
        const out = new Float64Array(rowMajor.length);
        columnMajor.forEach((from, k) => (out[from] = rowMajor[k]!));
        return out;
      },
      unconstrainedLabel: transform.kind === "identity" ? name : `${name}__${transform.kind}`,
    });
    this.offset += usize;
    return value;
  }

  /**
   * For `order: "columnMajor"`, where each row-major element of the value reads its coordinate:
   * element (a, r, c) of [..., R, C] is coordinate a R C + c R + r. Null for the default order.
   */
  private columnMajorOrder(name: string, opts: ParamOptions, shape: Shape, transform: TransformSpec): Int32Array | null {
    if (opts.order === undefined || opts.order === "rowMajor") return null;
    if (opts.order !== "columnMajor") throw new ModelError("invalid-argument", `parameter ${name}: order must be "rowMajor" or "columnMajor", got ${describeValue(opts.order)}`);
    if (!["identity", "lower", "upper", "interval", "affine"].includes(transform.kind)) {
      throw new ModelError("invalid-argument", `parameter ${name}: order "columnMajor" is for parameters without a ${transform.kind} constraint`);
    }
    if (shape.length < 2) return null;
    const [r, c] = shape.slice(-2) as [number, number];
    return Int32Array.from({ length: sizeOf(shape) }, (_, k) => {
      const [a, within] = [Math.floor(k / (r * c)), k % (r * c)];
      return a * r * c + (within % c) * r + Math.floor(within / c);
    });
  }

  private shouldNoncenter(opts: ParamOptions): boolean {
    if (opts.noncentered === false) return false;
    return opts.noncentered === true || opts.noncentered === "learn" || this.options.noncentered !== false;
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
      prior,
      priorArgs: prior.args,
      transform: "identity",
      name,
      shape,
      dims: opts.dims,
      block: (z.node as { block: ParamBlock }).block,
      size,
      value,
      context: form.context,
      invert: (x, ctx) => form.invert(x, ctx),
      unconstrainedLabel: `${name}__noncentered`,
    };
    this.params.push(info);
    const learn = (opts.noncentered === "learn" || (opts.noncentered === undefined && this.options.noncentered === "learn")) && form.context.length === 2;
    const forced = learn || opts.noncentered === "learn" ? undefined : (opts.noncentered ?? (this.options.noncentered === true ? true : undefined));
    this.candidates.push({ info, leaf: z, prior, forced, learn });
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
      if (c.learn) {
        priorTerms.push(this.learnedParameterisation(c, centred ? 1 : 0, replacements));
        continue;
      }
      if (!centred) {
        priorTerms.push(normal(0, 1).logp(c.leaf));
        continue;
      }
      c.leaf.label = c.info.name;
      replacements.set(c.info.value, c.leaf);
      priorTerms.push(c.prior.logp(c.leaf));
      const k = this.params.indexOf(c.info);
      this.params[k] = { ...c.info, value: c.leaf, context: [], invert: (x) => Float64Array.from(x), unconstrainedLabel: c.info.name };
    }
    if (replacements.size === 0) return { terms: priorTerms, subst: null };
    const subst = new Substitution(replacements);
    return { terms: priorTerms.map((t) => subst.apply(t)), subst };
  }

  /**
   * A learned candidate: x = loc + scale^(1 - lambda) (z - lambda loc) with z ~ normal(lambda loc,
   * scale^lambda), lambda a run-time tunable starting at `initial`. Returns z's prior term.
   */
  private learnedParameterisation(c: Candidate, initial: number, replacements: Map<Expr, Expr>): Expr {
    const [loc, scale] = c.info.context as [Expr, Expr];
    const index = this.tunables.length;
    const lambda = tunableLeaf({ name: `${c.info.name}__lambda`, index });
    const logScale = log(scale);
    const value = add(loc, mul(exp(mul(sub(1, lambda), logScale)), sub(c.leaf, mul(lambda, loc))));
    value.label = c.info.name;
    replacements.set(c.info.value, value);
    this.tunables.push({ param: c.info.name, index, initial, offset: c.info.block.offset, size: c.info.size });
    const k = this.params.indexOf(c.info);
    this.params[k] = {
      ...c.info,
      value,
      invert: (x, [l, s]) => x.map((v, i) => {
        const li = l![l!.length === 1 ? 0 : i]!;
        const si = s![s!.length === 1 ? 0 : i]!;
        return initial * li + Math.pow(si, initial - 1) * (v - li);
      }),
      unconstrainedLabel: `${c.info.name}__partial`,
    };
    // log normal(z | lambda loc, scale^lambda) up to a constant, per element.
    const zc = mul(sub(c.leaf, mul(lambda, loc)), exp(neg(mul(lambda, logScale))));
    return sum(sub(mul(-0.5, square(zc)), mul(lambda, logScale)));
  }

  private transformFor(name: string, prior: Distribution | undefined, opts: ParamOptions, shape: Shape): TransformSpec {
    const bounded = opts.lower !== undefined || opts.upper !== undefined;
    const affine = opts.offset !== undefined || opts.multiplier !== undefined;
    if (opts.constraint && bounded) throw new ModelError("invalid-argument", `parameter ${name}: give bounds or a constraint, not both`);
    if (affine && (bounded || opts.constraint)) throw new ModelError("invalid-argument", `parameter ${name}: give an offset/multiplier or bounds or a constraint, not two of them`);
    if (opts.constraint && MATRIX_CONSTRAINTS.includes(opts.constraint)) {
      const [m, n] = shape.slice(-2) as [number | undefined, number | undefined];
      const square = opts.constraint !== "choleskyFactorCov";
      if (shape.length < 2 || (square ? m !== n : m! < n!)) {
        throw new ModelError("shape-mismatch", `parameter ${name}: ${opts.constraint} needs ${square ? "a square matrix" : "an M x N matrix with M >= N"} (the last two axes), got ${formatShape(shape)}`);
      }
      if ((opts.constraint === "choleskyFactorCorr" || opts.constraint === "corrMatrix") && m! < 2) {
        throw new ModelError("shape-mismatch", `parameter ${name}: ${opts.constraint} needs at least 2 x 2 (a 1 x 1 one is the constant 1)`);
      }
      return { kind: opts.constraint };
    }
    if (affine) {
      const offset = opts.offset === undefined ? constant(0) : lift(opts.offset, `the offset of parameter ${name}`);
      const multiplier = opts.multiplier === undefined ? constant(1) : lift(opts.multiplier, `the multiplier of parameter ${name}`);
      broadcastShapes(offset.shape, shape, () => `offset of parameter ${name}`);
      broadcastShapes(multiplier.shape, shape, () => `multiplier of parameter ${name}`);
      if (multiplier.isConst && multiplier.constValues.some((v) => !(v > 0))) {
        throw new ModelError("invalid-constant", `parameter ${name}: the multiplier must be positive, got ${multiplier.constValues.find((v) => !(v > 0))}`);
      }
      return { kind: "affine", offset, multiplier };
    }
    if (opts.constraint) {
      // A vector, or an array of vectors (shape [..., K]: the constraint holds for each last-axis row).
      if (shape.length < 1) throw new ModelError("shape-mismatch", `parameter ${name}: ${opts.constraint} needs a vector, got ${formatShape(shape)}`);
      if (opts.constraint === "simplex" && shape[shape.length - 1]! < 2) throw new ModelError("shape-mismatch", `parameter ${name}: a simplex needs at least 2 entries`);
      return { kind: opts.constraint };
    }
    const bound = (b: ExprLike, which: string) => {
      const e = lift(b, `the ${which} bound of parameter ${name}`);
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

  /**
   * Observed data: adds the log-likelihood of `value` under `dist`. `dims` names the
   * dimensions of `value` (`{ dims: ["school"] }`), as a parameter's dims do.
   */
  observe(name: string, dist: Distribution, value: DataValue | Expr, opts: ObserveOptions = {}): void {
    name = this.claim(name, "observed node");
    const o = checkOptions(opts, ["dims"], `observed ${name}`);
    if (!isDistribution(dist)) throw new ModelError("invalid-argument", `observed ${name}: the second argument must be a distribution (dist.normal(mu, sigma), ...), got ${describeValue(dist)}`);
    const v = Expr.isExpr(value) ? value : this.dataValue(name, value);
    if (!v.isConst) throw new ModelError("invalid-argument", `observed ${name} must be data, not an expression of parameters (${v.label})`);
    const shape = broadcastShapes(v.shape, dist.shape, () => `observed ${name} under ${dist.name}`);
    if (!sameShape(shape, v.shape)) {
      throw new ModelError(
        "shape-mismatch",
        `observed ${name} has shape ${formatShape(v.shape)} but ${dist.name}(${Object.values(dist.args).map((a) => a.label).join(", ")}) has shape ${formatShape(dist.shape)}`,
      );
    }
    if (opts.dims && opts.dims.length !== v.shape.length) {
      throw new ModelError("shape-mismatch", `observed ${name}: ${opts.dims.length} dims (${opts.dims.join(", ")}) for shape ${formatShape(v.shape)}`);
    }
    dist.checkValue(v.constValues, name);
    this.checkArgumentSigns(dist, `observed ${name}`);
    let term: Expr;
    let logLik: Expr;
    try {
      logLik = dist.logpdf(v);
      term = dist.logp(v);
    } catch (e) {
      // Constant arguments fold the log-likelihood to numbers at build time: an observation
      // of probability zero (bernoulli(0) observing a 1) is not finite there.
      if (e instanceof ModelError && e.code === "invalid-constant") {
        throw new ModelError("out-of-support", `observed ${name}: its log-likelihood under ${dist.name} is not finite (${e.message}); an observation must have a probability above zero`);
      }
      throw e;
    }
    this.observed.push({ term, size: v.size });
    this.observedNodes.push({ name, dist, value: v, args: dist.args, logLik, dims: checkDims(o.dims, v.shape, `observed ${name}`) });
    this.addTerm(term);
  }

  private dataValue(name: string, value: unknown): Expr {
    const { values, shape } = toNumbers(value, `observed ${name}`);
    return constant(values, shape, name);
  }

  /** A named quantity computed from parameters, reported with every draw. */
  deterministic(name: string, expr: ExprLike, dims?: readonly string[]): Expr {
    name = this.claim(name, "deterministic");
    const e = lift(expr, `deterministic ${name}`);
    this.deterministics.push({ name, expr: e, dims: checkDims(dims, e.shape, `deterministic ${name}`) });
    return e;
  }

  /**
   * An extra log-density term (summed if not scalar), like Stan's `target +=`. Its parts that
   * are constants are left out of the log density (they change no draw) unless
   * `keepConstants`, as Stan's `target +=` keeps them in lp__ (the Stan front end's).
   */
  potential(name: string, expr: ExprLike, opts: { readonly keepConstants?: boolean } = {}): void {
    name = this.claim(name, "potential");
    const o = checkOptions(opts, ["keepConstants"], `potential ${name}`);
    const term = sum(lift(expr, `potential ${name}`));
    if (!term.isConst) this.potentialTerms.push({ name, expr: term });
    this.addTerm(term, o.keepConstants === true);
  }

  /**
   * A generated quantity, computed by `priorPredictive` / `posteriorPredictive` for every draw
   * (Stan's generated quantities): a draw from `dist` (Stan's `_rng`; its arguments may use
   * parameters and earlier generated quantities) or an expression of those. Returns its value,
   * for later generated quantities only: the log density cannot depend on it.
   */
  generated(name: string, what: Distribution | Expr, opts: { dims?: readonly string[] } = {}): Expr {
    name = this.claim(name, "generated quantity");
    const o = checkOptions(opts, ["dims"], `generated quantity ${name}`);
    const isDist = !Expr.isExpr(what);
    if (isDist && !isDistribution(what)) {
      throw new ModelError("invalid-argument", `generated quantity ${name}: give a distribution (dist.normal(mu, sigma), ...) or an expression, got ${describeValue(what)}`);
    }
    const shape = what.shape;
    const dims = checkDims(o.dims, shape, `generated quantity ${name}`);
    if (isDist && !what.drawWith) throw new ModelError("invalid-argument", `generated quantity ${name}: ${what.name} has no random draw`);
    const value = isDist ? new Expr({ kind: "placeholder" }, shape, [], name) : what;
    this.generatedNodes.push({ name, shape, value, ...(isDist ? { dist: what, args: what.args } : { expr: what }), ...(dims ? { dims } : {}) });
    return value;
  }


  /** Generated draws must stay out of the log density and the reported quantities. */
  private checkGeneratedUnused(roots: readonly Expr[]) {
    const draws = new Set(this.generatedNodes.filter((g) => g.dist).map((g) => g.value));
    if (draws.size === 0) return;
    const used = findNode(roots, (e) => draws.has(e));
    if (used !== undefined) {
      throw new ModelError("invalid-argument", `generated quantity ${used.label} is a random draw: only later generated quantities may use it, not the model's density, parameters or deterministics`);
    }
  }

  build(name: string): Model {
    name = checkText(name, "the model name");
    if (this.params.length === 0) throw new ModelError("invalid-argument", `model ${name} has no parameters`);
    const { terms: priorTerms, subst } = this.settleParameterisations();
    priorTerms.forEach((t) => this.addTerm(t));
    const re = (e: Expr) => (subst ? subst.apply(e) : e);
    const reArgs = (args: Readonly<Record<string, Expr>>) => Object.fromEntries(Object.entries(args).map(([k, e]) => [k, re(e)]));
    const params = this.params.map((p) => ({ ...p, value: re(p.value), context: p.context.map(re), ...(p.priorArgs ? { priorArgs: reArgs(p.priorArgs) } : {}) }));
    this.checkGeneratedUnused([
      ...this.terms,
      ...params.flatMap((p) => [p.value, ...p.context]),
      ...this.deterministics.map((d) => d.expr),
      ...this.observedNodes.flatMap((o) => Object.values(o.args)),
    ]);
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
        args: Object.fromEntries(Object.entries(o.args).map(([k, e]) => [k, re(e)])),
        logLik: re(o.logLik),
      })),
      generated: this.generatedNodes.map((g) => ({
        ...g,
        ...(g.args ? { args: reArgs(g.args) } : {}),
        ...(g.expr ? { expr: re(g.expr), value: re(g.expr) } : {}),
      })),
      potentials: this.potentialTerms.map((p) => p.name),
      potentialTerms: this.potentialTerms.map((p) => ({ name: p.name, expr: re(p.expr) })),
      warnings: [...new Set(this.warnings)],
      tunables: [...this.tunables],
    };
  }
}

/**
 * Declares a model: `model("eight_schools", (m) => { ... })`. Build-time warnings are on
 * `model.warnings` and emitted once each as process warnings (type `BayestsModelWarning`).
 */
export function model(name: string, define: (m: ModelBuilder) => void, options?: ModelOptions): Model {
  checkText(name, "the model name");
  if (typeof define !== "function") throw new ModelError("invalid-argument", `model ${name}: the second argument must be a function (m) => { ... }, got ${describeValue(define)}`);
  const builder = new ModelBuilder(options);
  define(builder);
  const built = builder.build(name);
  for (const w of built.warnings) process.emitWarning(`model ${name}: ${w}`, "BayestsModelWarning");
  return built;
}

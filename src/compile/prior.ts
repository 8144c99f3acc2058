/**
 * The model split into prior and likelihood, for likelihood tempering (SMC):
 * - `compileLikelihood`: a log density of the observed nodes and potentials only (a
 *   potential counts as likelihood, as PyMC's `datalogp` has it); the prior with Jacobians
 *   is then the full density minus this one;
 * - `priorSampler`: independent draws from the prior, ancestrally in declaration order (a
 *   prior's arguments are expressions of earlier parameters, evaluated by compiled code at
 *   the draws made so far), returned on the unconstrained scale. A parameter sampled
 *   non-centred draws its z from normal(0, 1); bounds are honoured by rejection; ordered
 *   vectors are sorted iid draws (the same density up to a constant); a flat prior is
 *   uniform between two finite bounds, or uniform on a simplex. Anything else flat (an
 *   improper prior) cannot be drawn: a `ModelError` names the parameter.
 */
import type { Model, ParamInfo } from "../model/builder.js";
import * as distributions from "../model/distributions.js";
import type { Distribution, RandomSource } from "../model/distributions.js";
import { ModelError } from "../model/errors.js";
import { constant, sum, type Expr } from "../model/expr.js";
import { sizeOf } from "../model/shape.js";
import { compile, compileModel, type CompileOptions, type CompiledModel } from "./compile.js";

/** The log-likelihood part of `model` (observed nodes and potentials) as a compiled model with the same parameters. */
export function compileLikelihood(model: Model, options?: CompileOptions): CompiledModel {
  const terms: Expr[] = [...model.observed.map((o) => sum(o.logLik)), ...model.potentials.map((p) => p.expr)];
  return compileModel({ ...model, name: `${model.name}__likelihood`, terms, outputs: [] }, options);
}

/** Draws whole parameter vectors from the prior, on the unconstrained scale. */
export interface PriorSampler {
  readonly dim: number;
  /** Writes one prior draw (unconstrained) into `out`; throws a ModelError when rejection keeps failing. */
  draw(rng: RandomSource, out: Float64Array): void;
}

const MAX_REJECTIONS = 10_000;

type Constraint = "identity" | "lower" | "upper" | "interval" | "ordered" | "positiveOrdered" | "simplex" | "noncentered";

function constraintOf(p: ParamInfo): Constraint {
  if (p.noncentered === true) return "noncentered";
  const m = /__([A-Za-z]+)$/.exec(p.unconstrainedLabel);
  const kind = m === null || !p.unconstrainedLabel.startsWith(`${p.name}__`) ? "identity" : m[1]!;
  if (["lower", "upper", "interval", "ordered", "positiveOrdered", "simplex"].includes(kind)) return kind as Constraint;
  return "identity";
}

type Factory = (...args: unknown[]) => Distribution;

/** A distribution like `dist` with constant arguments (values by argument, each of its shape). */
function withConstantArgs(dist: Distribution, args: readonly Expr[], values: readonly Float64Array[]): Distribution {
  const consts = values.map((v, i) => constant(v, args[i]!.shape));
  if (dist.name === "gaussianRandomWalk") return distributions.gaussianRandomWalk(consts[0]!, dist.shape[0]!);
  const factory = (distributions as unknown as Record<string, Factory | undefined>)[dist.name];
  if (typeof factory !== "function" || factory.length !== consts.length) {
    throw new ModelError("invalid-argument", `cannot draw from ${dist.name} with parameter-dependent arguments`);
  }
  return factory(...consts);
}

interface ParamPlan {
  readonly info: ParamInfo;
  readonly size: number;
  readonly constraint: Constraint;
  /** Offsets into the evaluated outputs of each prior argument and each context value. */
  readonly argOffsets: readonly number[];
  readonly contextOffsets: readonly number[];
}

/**
 * A sampler of the prior of `model`. Throws a `ModelError` naming the first parameter whose
 * prior cannot be drawn from (a flat prior without two finite bounds, a prior that does not
 * fit its constraint).
 */
export function priorSampler(model: Model): PriorSampler {
  const outputs: { name: string; expr: Expr; dims: undefined }[] = [];
  const add = (expr: Expr): number => {
    const offset = outputs.reduce((s, o) => s + o.expr.size, 0);
    outputs.push({ name: `v${outputs.length}`, expr, dims: undefined });
    return offset;
  };
  const plans: ParamPlan[] = model.params.map((info) => {
    const constraint = constraintOf(info);
    const size = sizeOf(info.shape);
    const problem = (why: string) => new ModelError("invalid-argument", `cannot draw parameter ${info.name} from its prior: ${why}`);
    if (info.prior === undefined) {
      const flatOk = constraint === "interval" || constraint === "simplex";
      if (!flatOk) {
        throw problem(
          `it has no prior (a flat prior${constraint === "identity" ? "" : ` on its ${constraint} constraint`}, which is improper). Give it a proper prior`,
        );
      }
    } else if (constraint === "simplex" && info.prior.dist.name !== "dirichlet") {
      throw problem(`a simplex needs a dirichlet prior (or none), it has ${info.prior.dist.name}`);
    } else if (info.prior.dist.discrete) {
      throw problem(`${info.prior.dist.name} is discrete`);
    }
    const args = info.prior === undefined || constraint === "noncentered" ? [] : Object.values(info.prior.args);
    const argOffsets = args.map(add);
    const contextOffsets = constraint === "noncentered" ? [] : info.context.map(add);
    return { info, size, constraint, argOffsets, contextOffsets };
  });
  // Output 0 keeps the compiled model non-empty when nothing needs evaluating.
  if (outputs.length === 0) add(constant(0));
  const evaluator = compile({ ...model, name: `${model.name}__prior_args`, terms: [], outputs }, { sharedData: false });
  const values = new Float64Array(evaluator.names.length);
  const dim = model.dim;

  const drawParam = (plan: ParamPlan, rng: RandomSource, q: Float64Array): void => {
    const { info, size, constraint } = plan;
    const block = info.block.offset;
    if (constraint === "noncentered") {
      for (let i = 0; i < info.size; i++) q[block + i] = rng.normal();
      return;
    }
    evaluator.constrainFlat(q, values);
    const ctx = plan.contextOffsets.map((o, k) => values.slice(o, o + info.context[k]!.size));
    const bound = (k: number, i: number) => (ctx[k]!.length === 1 ? ctx[k]![0]! : ctx[k]![i]!);
    const lower = (i: number) => (constraint === "lower" || constraint === "interval" ? bound(0, i) : -Infinity);
    const upper = (i: number) => (constraint === "upper" ? bound(0, i) : constraint === "interval" ? bound(1, i) : Infinity);
    let x: Float64Array;
    if (info.prior === undefined) {
      if (constraint === "simplex") {
        x = Float64Array.from({ length: size }, () => -Math.log(1 - rng.uniform()));
        const total = x.reduce((s, v) => s + v, 0);
        for (let i = 0; i < size; i++) x[i] = x[i]! / total;
      } else {
        x = Float64Array.from({ length: size }, (_, i) => lower(i) + (upper(i) - lower(i)) * rng.uniform());
      }
    } else {
      x = drawFromPrior(info, plan, rng, values, lower, upper);
    }
    q.set(info.invert(x, ctx), block);
  };

  return {
    dim,
    draw(rng, out) {
      if (out.length !== dim) throw new RangeError(`priorSampler: out has length ${out.length}, the model has dimension ${dim}`);
      out.fill(0);
      for (const plan of plans) drawParam(plan, rng, out);
    },
  };
}

/** Draws the parameter's constrained value from its prior, by rejection into its bounds. */
function drawFromPrior(
  info: ParamInfo,
  plan: ParamPlan,
  rng: RandomSource,
  values: Float64Array,
  lower: (i: number) => number,
  upper: (i: number) => number,
): Float64Array {
  const prior = info.prior!;
  const args = Object.values(prior.args);
  const constantArgs = args.every((a) => a.isConst);
  const dist = constantArgs ? prior.dist : withConstantArgs(prior.dist, args, plan.argOffsets.map((o, k) => values.slice(o, o + args[k]!.size)));
  const size = plan.size;
  const distSize = sizeOf(dist.shape);
  const positive = plan.constraint === "positiveOrdered";
  const ordered = positive || plan.constraint === "ordered";
  const inside = (v: number, i: number) => v > lower(i) && v < upper(i) && (!positive || v > 0);
  const x = new Float64Array(size);
  if (distSize === size) {
    // A joint draw: kept when inside the bounds (and increasing, for an ordered vector).
    for (let attempt = 0; ; attempt++) {
      const d = dist.sample(rng);
      let ok = true;
      for (let i = 0; i < size && ok; i++) ok = inside(d[i]!, i) && (!ordered || i === 0 || d[i]! > d[i - 1]!);
      if (ok) {
        x.set(d);
        return x;
      }
      if (attempt >= MAX_REJECTIONS) throw rejectionError(info);
    }
  }
  if (distSize !== 1) {
    throw new ModelError("invalid-argument", `cannot draw parameter ${info.name} from its prior: ${prior.dist.name} of shape [${dist.shape.join(", ")}] broadcast to [${info.shape.join(", ")}]`);
  }
  for (let i = 0; i < size; i++) {
    for (let attempt = 0; ; attempt++) {
      const v = dist.sample(rng)[0]!;
      if (inside(v, i)) {
        x[i] = v;
        break;
      }
      if (attempt >= MAX_REJECTIONS) throw rejectionError(info);
    }
  }
  // iid draws, sorted: the ordered vector's density up to the constant K!.
  if (ordered) x.sort();
  return x;
}

function rejectionError(info: ParamInfo): ModelError {
  return new ModelError(
    "invalid-argument",
    `cannot draw parameter ${info.name} from its prior: ${MAX_REJECTIONS} draws in a row fell outside its bounds (the bounds keep almost none of the prior's mass)`,
  );
}

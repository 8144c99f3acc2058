/**
 * The model split into prior and likelihood, for likelihood tempering (SMC):
 * - `compileLikelihood`: a log density of the observed nodes and potentials only (a
 *   potential counts as likelihood, as PyMC's `datalogp` has it); the prior with Jacobians
 *   is then the full density minus this one;
 * - `priorSampler`: independent draws from the prior on the unconstrained scale, by the
 *   prior-draw program of the predictive checks (`compileDraws(...).drawPrior`: ancestral, in
 *   declaration order, bounds honoured). A flat prior can be drawn only between two finite
 *   bounds or on a simplex; any other flat (improper) prior is refused up front with a
 *   `ModelError` that names the parameter.
 */
import type { Model, ParamInfo } from "../model/builder.js";
import type { RandomSource } from "../model/distributions.js";
import { ModelError } from "../model/errors.js";
import { sum, type Expr } from "../model/expr.js";
import { compileModel, type CompileOptions } from "./compile-js.js";
import type { CompiledModel } from "./layouts.js";
import { compileDraws } from "./draws.js";

/** The log-likelihood part of `model` (observed nodes and potentials) as a compiled model with the same parameters. */
export function compileLikelihood(model: Model, options?: CompileOptions): CompiledModel {
  const terms: Expr[] = [...model.observed.map((o) => sum(o.logLik)), ...(model.potentialTerms ?? []).map((p) => p.expr)];
  return compileModel({ ...model, name: `${model.name}__likelihood`, terms, outputs: [] }, options);
}

/** Draws whole parameter vectors from the prior, on the unconstrained scale. */
export interface PriorSampler {
  readonly dim: number;
  /** Writes one prior draw (unconstrained) into `out`; throws a ModelError when rejection keeps failing. */
  draw(rng: RandomSource, out: Float64Array): void;
}

function checkDrawable(p: ParamInfo): void {
  const problem = (why: string) => new ModelError("invalid-argument", `cannot draw parameter ${p.name} from its prior: ${why}`);
  if (p.prior === undefined && p.transform !== "interval" && p.transform !== "simplex") {
    throw problem(`it has no prior (a flat prior${p.transform === "identity" ? "" : ` on its ${p.transform} constraint`}, which is improper). Give it a proper prior`);
  }
  if (p.prior !== undefined && p.prior.drawWith === undefined) throw problem(`${p.prior.name} has no random draw`);
}

/**
 * A sampler of the prior of `model`. Throws a `ModelError` naming the first parameter whose
 * prior cannot be drawn from.
 */
export function priorSampler(model: Model): PriorSampler {
  model.params.forEach(checkDrawable);
  // Only the priors are drawn: the observed and generated nodes stay out of the program.
  const program = compileDraws({ ...model, observed: [], generated: [] });
  const dim = model.dim;
  return {
    dim,
    draw(rng, out) {
      if (out.length !== dim) throw new RangeError(`priorSampler: out has length ${out.length}, the model has dimension ${dim}`);
      out.set(program.drawPrior(rng));
    },
  };
}

/**
 * Prior and posterior predictive draws (and Stan-style generated quantities with random
 * numbers): `priorPredictive(model, { draws, seed })` and
 * `posteriorPredictive(model, posterior, { seed })`.
 *
 * Determinism (DECISIONS.md D39): the random numbers depend only on the seed and on where a
 * draw sits, never on threads or timing. Posterior predictive: chain c uses stream c of the
 * seed, its draws in order; prior predictive: draws are taken in blocks of `PRIOR_BLOCK`, block
 * b using stream b. The posterior itself is the same whatever the thread count (`sample`).
 */
import { compile, flatNames } from "../compile/compile.js";
import { compileDraws, type DrawStep } from "../compile/draws.js";
import type { Model } from "../model/builder.js";
import { ModelError } from "../model/errors.js";
import { sizeOf } from "../model/shape.js";
import { Rng } from "../rng/index.js";
import { InvalidOptionError } from "./errors.js";
import type { Posterior } from "./posterior.js";

/** Prior predictive draws per RNG stream. */
export const PRIOR_BLOCK = 256;

export interface PredictiveVariable {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dims?: readonly string[];
  /** "parameter" (prior predictive only), "observed" (replicated data) or "generated". */
  readonly group: "parameter" | "observed" | "generated";
  /** All draws, row-major over [chain, draw, ...shape]. */
  readonly values: Float64Array;
}

/** Draws of every predictive variable, laid out like a posterior: chains x draws. */
export class PredictiveDraws {
  readonly variables: readonly PredictiveVariable[];
  /** Flattened names in Stan's form (`y[1]`), variable by variable. */
  readonly names: readonly string[];
  private readonly byName: Map<string, PredictiveVariable>;
  private readonly flat: Map<string, [PredictiveVariable, number]>;

  constructor(
    readonly kind: "prior" | "posterior",
    readonly numChains: number,
    readonly numDraws: number,
    readonly seed: number,
    variables: readonly PredictiveVariable[],
  ) {
    this.variables = variables;
    this.byName = new Map(variables.map((v) => [v.name, v]));
    this.flat = new Map(variables.flatMap((v) => flatNames(v.name, v.shape).map((n, k) => [n, [v, k] as [PredictiveVariable, number]])));
    this.names = [...this.flat.keys()];
  }

  /** A variable by name (`y_rep`), with its shape, dims and all its draws. */
  variable(name: string): PredictiveVariable {
    const v = this.byName.get(name);
    if (!v) throw new Error(`unknown predictive variable "${name}"; known: ${[...this.byName.keys()].join(", ")}`);
    return v;
  }

  /** Draws of one flattened element (`y[3]`, or a scalar's name), one array per chain. */
  draws(name: string): Float64Array[] {
    const hit = this.flat.get(name);
    if (!hit) throw new Error(`unknown predictive quantity "${name}"`);
    const [v, k] = hit;
    const size = sizeOf(v.shape);
    return Array.from({ length: this.numChains }, (_, c) =>
      Float64Array.from({ length: this.numDraws }, (_, i) => v.values[(c * this.numDraws + i) * size + k]!),
    );
  }
}

export interface PriorPredictiveOptions {
  /** Number of draws (default 1000). */
  draws?: number;
  /** Seed (default: random). */
  seed?: number;
  /**
   * A prior predictive draw uses the parameters' priors and the observed nodes; potentials that
   * depend on parameters cannot be drawn from. Set true to ignore them (default: an error).
   */
  ignorePotentials?: boolean;
}

export interface PosteriorPredictiveOptions {
  /** Seed (default: random). */
  seed?: number;
}

function checkSeed(seed: unknown): number {
  if (seed === undefined) return Math.floor(Math.random() * 2 ** 32);
  if (typeof seed !== "number" || !Number.isInteger(seed)) {
    throw new InvalidOptionError({ option: "seed", value: seed, message: `seed must be an integer, got ${String(seed)}` });
  }
  return seed;
}

function checkModel(model: Model, what: string): void {
  if (!model || !Array.isArray((model as Model).params) || !Array.isArray((model as Model).observed)) {
    throw new InvalidOptionError({ option: "model", value: model, message: `${what} needs a model made with model(...)` });
  }
}

const stepVariable = (s: DrawStep, values: Float64Array): PredictiveVariable => ({
  name: s.name,
  shape: s.shape,
  group: s.group,
  values,
  ...(s.dims ? { dims: s.dims } : {}),
});

/**
 * Draws from the prior predictive distribution: parameters from their priors (within their
 * bounds and constraints), then every observed node and generated quantity given them.
 */
export function priorPredictive(model: Model, options: PriorPredictiveOptions = {}): PredictiveDraws {
  checkModel(model, "priorPredictive");
  const draws = options.draws ?? 1000;
  if (!Number.isInteger(draws) || draws < 1) {
    throw new InvalidOptionError({ option: "draws", value: draws, message: `draws must be a positive integer, got ${String(draws)}` });
  }
  const seed = checkSeed(options.seed);
  if (model.potentials?.length && !options.ignorePotentials) {
    throw new ModelError(
      "invalid-argument",
      `priorPredictive: model ${model.name} has potentials (${model.potentials.join(", ")}) that a draw from the priors cannot honour; pass { ignorePotentials: true } to draw without them`,
    );
  }
  const program = compileDraws(model);
  const density = compile(model, { sharedData: false });
  const paramSizes = model.params.map((p) => sizeOf(p.shape));
  const paramValues = paramSizes.map((n) => new Float64Array(draws * n));
  const stepValues = program.steps.map((s) => new Float64Array(draws * sizeOf(s.shape)));
  for (let block = 0; block * PRIOR_BLOCK < draws; block++) {
    const rng = Rng.fromSeed(seed, block);
    for (let i = block * PRIOR_BLOCK; i < Math.min(draws, (block + 1) * PRIOR_BLOCK); i++) {
      const q = program.drawPrior(rng);
      const constrained = density.constrain(q);
      model.params.forEach((p, k) => paramValues[k]!.set(constrained[p.name]!.values, i * paramSizes[k]!));
      program.draw(q, rng).forEach((v, k) => stepValues[k]!.set(v, i * v.length));
    }
  }
  return new PredictiveDraws("prior", 1, draws, seed, [
    ...model.params.map((p, k) => ({ name: p.name, shape: p.shape, group: "parameter" as const, values: paramValues[k]!, ...(p.dims ? { dims: p.dims } : {}) })),
    ...program.steps.map((s, k) => stepVariable(s, stepValues[k]!)),
  ]);
}

/**
 * Replicated observations (same shapes and dims as the observed nodes) and the model's
 * generated quantities, one per posterior draw, laid out chains x draws like the posterior.
 */
export function posteriorPredictive(model: Model, posterior: Posterior, options: PosteriorPredictiveOptions = {}): PredictiveDraws {
  checkModel(model, "posteriorPredictive");
  if (!posterior || typeof posterior.draws !== "function" || !Array.isArray(posterior.chains)) {
    throw new InvalidOptionError({ option: "posterior", value: posterior, message: "posteriorPredictive needs a Posterior (the result of sample or sampleSync)" });
  }
  const seed = checkSeed(options.seed);
  const index = new Map(posterior.names.map((n, k) => [n, k]));
  const columns = model.params.map((p) =>
    flatNames(p.name, p.shape).map((n) => {
      const k = index.get(n);
      if (k === undefined) {
        throw new InvalidOptionError({ option: "posterior", value: n, message: `the posterior has no draws of ${n}: was it sampled from model ${model.name}?` });
      }
      return k;
    }),
  );
  const program = compileDraws(model);
  const density = compile(model, { sharedData: false });
  const { numDraws, numChains } = posterior;
  const stepValues = program.steps.map((s) => new Float64Array(numChains * numDraws * sizeOf(s.shape)));
  posterior.chains.forEach((chain, c) => {
    const rng = Rng.fromSeed(seed, c);
    for (let i = 0; i < numDraws; i++) {
      const row = c * numDraws + i;
      const values: Record<string, Float64Array> = {};
      let missing = false;
      model.params.forEach((p, k) => {
        const v = Float64Array.from(columns[k]!, (col) => chain.values[col * numDraws + i]!);
        if (v.some((x) => Number.isNaN(x))) missing = true;
        values[p.name] = v;
      });
      // A placeholder draw (a chain given up): no replicate, NaN like the draw itself.
      if (missing) {
        program.steps.forEach((s, k) => stepValues[k]!.fill(NaN, row * sizeOf(s.shape), (row + 1) * sizeOf(s.shape)));
        continue;
      }
      const q = density.unconstrain(values);
      program.draw(q, rng).forEach((v, k) => stepValues[k]!.set(v, row * v.length));
    }
  });
  return new PredictiveDraws(
    "posterior",
    numChains,
    numDraws,
    seed,
    program.steps.map((s, k) => stepVariable(s, stepValues[k]!)),
  );
}

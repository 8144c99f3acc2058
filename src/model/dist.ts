/**
 * The `dist` namespace users see: the distributions (distributions.ts) and the combinators over
 * them (censoring, truncation, mixtures: combinators.ts). Above both, so neither imports the other
 * back.
 *
 * Each constructor here refuses extra arguments with a `ModelError` naming the distribution and
 * the counts: TypeScript catches `dist.normal(0, 1, 5)`, plain JavaScript would drop the 5
 * without a word (a misplaced argument, such as a shape meant for `param`).
 */
import * as combinators from "./combinators.js";
import type { Distribution } from "./distribution-types.js";
import * as distributions from "./distributions.js";
import { ModelError } from "./errors.js";

export * from "./distributions.js";

/** `f` that throws a typed error when called with more arguments than it declares. */
function strict<F extends (...args: never[]) => Distribution>(name: string, f: F): F {
  const arity = f.length;
  const checked = (...args: never[]): Distribution => {
    if (args.length > arity) {
      throw new ModelError("invalid-argument", `dist.${name} takes ${arity} argument${arity === 1 ? "" : "s"}, got ${args.length}`);
    }
    return f(...args);
  };
  // The wrapper reads as the function it wraps (`length`, `name`).
  Object.defineProperty(checked, "length", { value: arity });
  Object.defineProperty(checked, "name", { value: name });
  return checked as F;
}

export const normal = strict("normal", distributions.normal);
export const gaussianRandomWalk = strict("gaussianRandomWalk", distributions.gaussianRandomWalk);
export const halfNormal = strict("halfNormal", distributions.halfNormal);
export const cauchy = strict("cauchy", distributions.cauchy);
export const halfCauchy = strict("halfCauchy", distributions.halfCauchy);
export const studentT = strict("studentT", distributions.studentT);
export const halfStudentT = strict("halfStudentT", distributions.halfStudentT);
export const exponential = strict("exponential", distributions.exponential);
export const gamma = strict("gamma", distributions.gamma);
export const inverseGamma = strict("inverseGamma", distributions.inverseGamma);
export const beta = strict("beta", distributions.beta);
export const uniform = strict("uniform", distributions.uniform);
export const logNormal = strict("logNormal", distributions.logNormal);
export const laplace = strict("laplace", distributions.laplace);
export const weibull = strict("weibull", distributions.weibull);
export const logistic = strict("logistic", distributions.logistic);
export const bernoulli = strict("bernoulli", distributions.bernoulli);
export const bernoulliLogit = strict("bernoulliLogit", distributions.bernoulliLogit);
export const binomial = strict("binomial", distributions.binomial);
export const binomialLogit = strict("binomialLogit", distributions.binomialLogit);
export const poisson = strict("poisson", distributions.poisson);
export const poissonLog = strict("poissonLog", distributions.poissonLog);
export const negativeBinomial = strict("negativeBinomial", distributions.negativeBinomial);
export const normalIdGlm = strict("normalIdGlm", distributions.normalIdGlm);
export const mvNormalCholesky = strict("mvNormalCholesky", distributions.mvNormalCholesky);
export const dirichlet = strict("dirichlet", distributions.dirichlet);
export const censored = strict("censored", combinators.censored);
export const intervalCensored = strict("intervalCensored", combinators.intervalCensored);
export const truncated = strict("truncated", combinators.truncated);
export const mixture = strict("mixture", combinators.mixture);
export const normalMixture = strict("normalMixture", combinators.normalMixture);

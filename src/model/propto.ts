/**
 * Stan's `~` and `_lupdf` leave out the terms of a density that are free of parameters (its
 * densities' `include_summand`), where `target += *_lpdf` keeps them: the Stan front end's
 * lp__ is then Stan's to the digit (DECISIONS.md D244). Univariate distributions give their
 * terms as Stan's densities group them (`Distribution.logpTerms`).
 */
import type { Distribution } from "./distribution-types.js";
import { add, constant, type Expr, type ExprLike } from "./expr.js";

/**
 * `d` with the terms of its log-density that are free of parameters left out of `logp`, as
 * Stan's `~` and `_lupdf` leave them out (its densities' `include_summand`): for
 * normal(y | mu, sigma) with data sigma, -log(sigma) and -log(2 pi) / 2. `logpdf` keeps them
 * (pointwise log-likelihoods for loo, like Stan's `_lpdf` in generated quantities). A
 * distribution without separable terms (multivariate, mixtures, truncated, censored) loses
 * only the constant addends of its whole log-density.
 */
export function withoutConstantTerms(d: Distribution): Distribution {
  const terms = d.logpTerms;
  return { ...d, logp: (x) => (terms ? nonConstantSum(terms.call(d, x, false)) : withoutConstantAddends(d.logp(x))) };
}

/**
 * A scalar expression without the addends of its top-level sum that are constants: what is
 * left of a log-density that has no separable terms (multivariate, mixtures) once its
 * constants are dropped, as the builder has always dropped them.
 */
export function withoutConstantAddends(e: Expr): Expr {
  return e.shape.length === 0 ? nonConstantSum(addends(e)) : e;
}

/** The addends of a scalar expression's top-level sum, left to right (the expression itself when it is not a sum). */
export function addends(e: Expr): Expr[] {
  const out: Expr[] = [];
  const stack = [e];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (t.shape.length === 0 && t.node.kind === "elementwise" && t.node.op === "add") stack.push(t.inputs[1]!, t.inputs[0]!);
    else out.push(t);
  }
  return out;
}

/** `d.logpdf(x)` without the terms free of parameters (Stan's `_lupdf` per element); `d.logpdf(x)` where `d` has no separable terms. */
export function logpdfWithoutConstantTerms(d: Distribution, x: ExprLike): Expr {
  return d.logpTerms ? nonConstantSum(d.logpTerms(x, true)) : d.logpdf(x);
}

function nonConstantSum(terms: readonly Expr[]): Expr {
  const kept = terms.filter((t) => !t.isConst);
  return kept.length === 0 ? constant(0) : kept.reduce((a, b) => add(a, b));
}

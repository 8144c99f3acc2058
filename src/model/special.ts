/**
 * Numeric helpers available to generated code as `rt.*` (and to the constant evaluator).
 * Special functions come from stdlib-js (see DECISIONS.md); the rest are the numerically
 * stable forms of elementary functions that JavaScript's Math lacks.
 *
 * The stdlib packages are loaded on first use, not at import: loading them takes ~40 ms
 * (hundreds of small CommonJS files), which every worker thread of a run would otherwise
 * pay at start-up whether or not its model needs them (DECISIONS.md D21). On first call a
 * stub loads the package and puts the stdlib function itself in its place (`lgamma`,
 * `digamma` and `runtime.lgamma` / `runtime.digamma`, which generated code reads at every
 * call), so the hot path is the stdlib function as before.
 */
import { odeRuntime } from "../ode/runtime.js";
import { createRequire } from "node:module";

type Special = (x: number) => number;
const requireCjs = createRequire(import.meta.url);

/**
 * Loads a stdlib package on first call and hands its function to `install` (which puts it in
 * place of the stub, in the exports and in `runtime`); a stub kept by someone before that
 * still works (and costs one check).
 */
function lazySpecial(pkg: string, install: (f: Special) => void): Special {
  let loaded: Special | null = null;
  return (x) => {
    if (loaded === null) {
      loaded = requireCjs(pkg) as Special;
      install(loaded);
    }
    return loaded(x);
  };
}

/** log|Gamma(x)| (stdlib's gammaln, loaded on first use). */
export let lgamma: Special = lazySpecial("@stdlib/math-base-special-gammaln", (f) => {
  lgamma = f;
  runtime.lgamma = f;
});
/** The digamma function (stdlib's, loaded on first use). */
export let digamma: Special = lazySpecial("@stdlib/math-base-special-digamma", (f) => {
  digamma = f;
  runtime.digamma = f;
});

// The last argument of log1pExp and its exp(-|x|). Reverse mode differentiates log1pExp by
// calling logistic on the same argument right after it (bernoulli_logit, log1p_exp, ...): the
// exp is then taken once instead of twice, with the same bits either way. V8's Math.exp costs
// about 18 ns, a quarter of a logistic regression's gradient.
// (A Float64Array, so that storing them allocates no heap number.)
const lastLog1pExp = Float64Array.of(NaN, 0);

/** 1 / (1 + exp(-x)) without overflow. */
export function logistic(x: number): number {
  const e = x === lastLog1pExp[0] ? lastLog1pExp[1]! : Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** log(1 + exp(x)) without overflow or loss of precision in either tail. */
export function log1pExp(x: number): number {
  const e = Math.exp(-Math.abs(x));
  lastLog1pExp[0] = x;
  lastLog1pExp[1] = e;
  return x > 0 ? x + Math.log1p(e) : Math.log1p(e);
}

/** log(1 - exp(x)) for x < 0 (Mächler's switch at -log 2). */
export function log1mExp(x: number): number {
  if (x > -Math.LN2) return Math.log(-Math.expm1(x));
  return Math.log1p(-Math.exp(x));
}

/** log(exp(a) + exp(b)). */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** The Stirling-series remainder lgamma(x) - [(x - 1/2) log x - x + log(2 pi) / 2], for x >= 10. */
export function stirlingRemainder(x: number): number {
  const r = 1 / (x * x);
  return (1 / x) * (1 / 12 - r * (1 / 360 - r * (1 / 1260 - r * (1 / 1680 - r / 1188))));
}

/**
 * lgamma(x + y) - lgamma(x) for x > 0, y >= 0, without the cancellation of two huge lgammas
 * when x is large (negative binomial with large dispersion: phi = 1e8).
 */
export function lgammaDiff(x: number, y: number): number {
  if (x < 10) return lgamma(x + y) - lgamma(x);
  if (y === 0) return 0;
  const u = y / x;
  // (x - 1/2) log1p(u) - y, written so that nothing of size y cancels.
  const l = Math.log1p(u);
  return y * Math.log(x + y) + y * (l / u - 1) - 0.5 * l + stirlingRemainder(x + y) - stirlingRemainder(x);
}

export const runtime = { lgamma, digamma, logistic, log1pExp, log1mExp, logAddExp, lgammaDiff, ode: odeRuntime };
export type Runtime = typeof runtime;

/**
 * Stan's `~` and `_lupdf` leave out the terms of a density that are free of parameters (its
 * `include_summand`); `target += *_lpdf` keeps every term; a truncation's normaliser is added
 * whole after the `~` term (as stanc3's code adds it). Checked on small programs against the
 * densities written out by hand.
 */
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { stanModel } from "../../src/stan/index.js";

const quiet = { onWarning: () => {} };
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const data = { y: 1.3, s: 2.5 };
const mu = -0.4;
const z = (data.y - mu) / data.s;

/** The program's log density at parameter vector q (unconstrained). */
const at = (program: string, q: number[], d: Record<string, unknown> = data) => compile(stanModel(program, d, quiet)).logDensity(Float64Array.from(q));

const header = "data { real y; real<lower=0> s; }\nparameters { real mu; }\n";

describe("constants of a density", () => {
  test("~ with a data scale: only the term of the parameter", () => {
    expect(at(`${header}model { y ~ normal(mu, s); }`, [mu])).toBeCloseTo(-0.5 * z * z, 14);
  });

  test("target += normal_lpdf keeps -log(s) and -log(2 pi) / 2; normal_lupdf drops them", () => {
    expect(at(`${header}model { target += normal_lpdf(y | mu, s); }`, [mu])).toBeCloseTo(-0.5 * z * z - Math.log(data.s) - LOG_SQRT_2PI, 14);
    expect(at(`${header}model { target += normal_lupdf(y | mu, s); }`, [mu])).toBeCloseTo(-0.5 * z * z, 14);
  });

  test("~ with a parameter scale keeps -log(sigma) (and the Jacobian of its lower bound)", () => {
    const u = 0.3;
    const sigma = Math.exp(u);
    const zz = (data.y - mu) / sigma;
    const program = "data { real y; }\nparameters { real mu; real<lower=0> sigma; }\nmodel { y ~ normal(mu, sigma); }";
    expect(at(program, [mu, u], { y: data.y })).toBeCloseTo(-0.5 * zz * zz - Math.log(sigma) + u, 14);
  });

  test("~ on data only adds nothing; target += of the same keeps its value", () => {
    const program = (stmt: string) => `data { real y; real<lower=0> s; }\nparameters { real mu; }\nmodel { mu ~ normal(0, 1); ${stmt} }`;
    const base = at(program(""), [mu]);
    expect(at(program("y ~ normal(0, s);"), [mu])).toBe(base);
    expect(at(program("target += normal_lpdf(y | 0, s);"), [mu]) - base).toBeCloseTo(-0.5 * (data.y / data.s) ** 2 - Math.log(data.s) - LOG_SQRT_2PI, 12);
  });

  test("a truncated ~ keeps its whole normaliser", () => {
    const truncated = at(`${header}model { y ~ normal(mu, s) T[0, ]; }`, [mu]);
    expect(truncated).toBeCloseTo(at(`${header}model { target += normal_lupdf(y | mu, s) - normal_lccdf(0 | mu, s); }`, [mu]), 13);
    // The normaliser is not zero here, so the check above sees it.
    expect(truncated - at(`${header}model { y ~ normal(mu, s); }`, [mu])).toBeGreaterThan(0.1);
  });
});

/**
 * An initial time that depends on parameters (Stan's var t0): dy(ts[i])/dt0 = -S_y0(ts[i])
 * f(t0, y0), so t0's adjoint is minus y0's share of the solution's adjoint times f at the start
 * (DECISIONS.md D208's formula), with y0's sensitivities integrated even where y0 is data.
 * Checked against central differences of the log density for rk45, ckrk and bdf at tight
 * tolerances, through the builder and through a Stan program; a t0 not before ts[0] at a point
 * makes the density -Infinity there, counted as an "invalid-times" failed solve.
 */
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import type { LogDensity } from "../../src/compile/types.js";
import { dist, model, neg, ode, stack } from "../../src/model/index.js";
import { odeFailureTally } from "../../src/ode/runtime.js";
import { stanModel } from "../../src/stan/index.js";
import { gradientError } from "../helpers/finite-diff.js";
import { forcedOscillator, TIME_GRADIENT_POINTS } from "./problems.js";

const METHODS = ["rk45", "ckrk", "bdf"] as const;

/** Observations of both states at 0.5, 1.2 and 2, from a start t0 = -s (s > 0 a parameter); y0 data or a parameter. */
function shiftedStart(method: (typeof METHODS)[number], y0IsParameter: boolean) {
  return model(`start-${method}-${y0IsParameter ? "y0" : "data"}`, (b) => {
    const a = b.param("a", dist.logNormal(0, 0.3));
    const s = b.param("s", dist.logNormal(-1, 0.5));
    const y0 = y0IsParameter ? stack([b.param("y0", dist.normal(1, 0.2)), 0]) : [1, 0];
    const y = ode(forcedOscillator, { y0, t0: neg(s), ts: [0.5, 1.2, 2], args: [a], method, rtol: 1e-12, atol: 1e-12, maxSteps: 1e8 });
    b.observe("obs", dist.normal(y.reshape([6]), 0.1), [0.8, -0.4, 0.3, -0.6, -0.2, 0.1]);
  });
}

/** The worst relative difference between the gradient and central differences (steps of about 1e-5), at a point of finite density. */
function odeGradientError(ld: LogDensity, q: Float64Array): number {
  expect(Number.isFinite(ld.logDensity(q))).toBe(true);
  return gradientError(ld, q, 1e-5).worst;
}

describe("gradients with respect to an initial time that depends on parameters", () => {
  test.each(METHODS.flatMap((m) => [[m, false] as const, [m, true] as const]))("%s through the builder (y0 a parameter: %s): the gradient equals central differences", (method, y0IsParameter) => {
    const ld = compile(shiftedStart(method, y0IsParameter));
    const errors = TIME_GRADIENT_POINTS.map((q) => odeGradientError(ld, q.subarray(0, ld.dim)));
    console.log(`${method} (builder, y0 ${y0IsParameter ? "parameter" : "data"}): worst gradient error ${Math.max(...errors).toExponential(2)}`);
    for (const e of errors) expect(e).toBeLessThan(1e-6);
  });

  test("t0's share of the gradient is what it should be: leaving it out misses by far", () => {
    // s enters only through t0, so its derivative is the prior's plus t0's adjoint, which is not small here.
    const ld = compile(shiftedStart("rk45", false));
    const g = new Float64Array(ld.dim);
    const q = TIME_GRADIENT_POINTS[0]!.subarray(0, 2);
    ld.logDensityGradient(q, g);
    // d/dlog(s) of the lognormal(-1, 0.5) log density plus the log transform's Jacobian.
    const prior = -(q[1]! + 1) / 0.25;
    expect(Math.abs(g[1]! - prior)).toBeGreaterThan(1);
  });

  test.each(METHODS)("%s through a Stan program: the gradient equals central differences", (method) => {
    const solver = method === "rk45" ? "ode_rk45_tol" : method === "ckrk" ? "ode_ckrk_tol" : "ode_bdf_tol";
    const source = `
functions {
  vector osc(real t, vector y, real a) {
    vector[2] dydt;
    dydt[1] = y[2];
    dydt[2] = -a * y[1] - 0.3 * y[2] + 0.5 * exp(-t);
    return dydt;
  }
}
data { array[3] real obs; }
parameters { real<lower=0> a; real<lower=0> s; }
model {
  array[3] vector[2] y = ${solver}(osc, [1, 0]', -s, { 0.5, 1.2, 2.0 }, 1e-12, 1e-12, 100000000, a);
  a ~ lognormal(0, 0.3);
  s ~ lognormal(-1, 0.5);
  for (i in 1:3) obs[i] ~ normal(y[i][1], 0.1);
}`;
    const ld = compile(stanModel(source, { obs: [0.8, 0.3, -0.2] }, { onWarning: () => undefined }));
    const errors = TIME_GRADIENT_POINTS.map((q) => odeGradientError(ld, q.subarray(0, 2)));
    console.log(`${method} (Stan): worst gradient error ${Math.max(...errors).toExponential(2)}`);
    for (const e of errors) expect(e).toBeLessThan(1e-6);
  });

  test.each(METHODS)("%s: t0 at or after ts[0] makes the density -Infinity, counted as invalid-times", (method) => {
    // t0 = u, ts = [0.5, 1]: only u < 0.5 can be solved.
    const ld = compile(
      model(`late-start-${method}`, (b) => {
        const a = b.param("a", dist.logNormal(0, 0.3));
        const u = b.param("u", dist.normal(0, 1));
        const y = ode(forcedOscillator, { y0: [1, 0], t0: u, ts: [0.5, 1], args: [a], method });
        b.observe("obs", dist.normal(y.reshape([4]).at(2), 0.1), 0.3);
      }),
    );
    const g = new Float64Array(2);
    const before = odeFailureTally()["invalid-times"];
    expect(Number.isFinite(ld.logDensityGradient(Float64Array.of(0, 0.2), g))).toBe(true);
    expect(ld.logDensity(Float64Array.of(0, 0.5))).toBe(-Infinity);
    expect(ld.logDensityGradient(Float64Array.of(0, 0.7), g)).toBe(-Infinity);
    expect(ld.logDensity(Float64Array.of(0, Number.NaN))).toBe(-Infinity);
    expect(odeFailureTally()["invalid-times"] - before).toBe(3);
  });
});

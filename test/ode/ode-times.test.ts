/**
 * Output times that depend on parameters (Stan's var ts): the gradient of y(ts[i]) with respect
 * to ts[i] is f(ts[i], y(ts[i])), added to ts's adjoint beside the forward sensitivities of y0
 * and the parameters. Checked against central differences of the log density for rk45, ckrk and
 * bdf at tight tolerances, through the builder and through a Stan program; times out of order at
 * a point make the density -Infinity there, counted as an "invalid-times" failed solve.
 */
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { add, dist, model, mul, neg, ode, stack } from "../../src/model/index.js";
import { odeFailureTally } from "../../src/ode/runtime.js";
import { stanModel } from "../../src/stan/index.js";
import { gradientError } from "../helpers/finite-diff.js";
import { forcedOscillator, TIME_GRADIENT_POINTS } from "./problems.js";
import { sample } from "../../src/api/sample.js";
import type { LogDensity } from "../../src/compile/types.js";

const METHODS = ["rk45", "ckrk", "bdf"] as const;

/** Observations of both states at times tau, tau + 0.7 and 2 tau + 1, with tau a parameter. */
function shiftedTimes(method: (typeof METHODS)[number]) {
  return model(`times-${method}`, (b) => {
    const a = b.param("a", dist.logNormal(0, 0.3));
    const tau = b.param("tau", dist.logNormal(0, 0.5));
    const y0 = b.param("y0", dist.normal(1, 0.2));
    const ts = stack([tau, add(tau, 0.7), add(mul(tau, 2), 1)]);
    const y = ode(forcedOscillator, { y0: stack([y0, 0]), ts, args: [a], method, rtol: 1e-12, atol: 1e-12, maxSteps: 1e8 });
    b.observe("obs", dist.normal(y.reshape([6]), 0.1), [0.8, -0.4, 0.3, -0.6, -0.2, 0.1]);
  });
}

/** The worst relative difference between the gradient and central differences (steps of about 1e-5), at a point of finite density. */
function odeGradientError(ld: LogDensity, q: Float64Array): number {
  expect(Number.isFinite(ld.logDensity(q))).toBe(true);
  return gradientError(ld, q, 1e-5).worst;
}

describe("gradients with respect to output times that depend on parameters", () => {
  test.each(METHODS)("%s through the builder: the gradient equals central differences", (method) => {
    const ld = compile(shiftedTimes(method));
    const errors = TIME_GRADIENT_POINTS.map((q) => odeGradientError(ld, q));
    console.log(`${method} (builder): worst gradient error ${Math.max(...errors).toExponential(2)}`);
    for (const e of errors) expect(e).toBeLessThan(1e-6);
  });

  test("the times' share of the gradient is what it should be: leaving it out misses by far", () => {
    // tau's derivative through the times alone: y(ts) moves with ts at the rate f, which is not small here.
    const ld = compile(shiftedTimes("rk45"));
    const g = new Float64Array(ld.dim);
    ld.logDensityGradient(TIME_GRADIENT_POINTS[0]!, g);
    const tauIndex = ld.unconstrainedNames.findIndex((n) => n.startsWith("tau"));
    expect(Math.abs(g[tauIndex]!)).toBeGreaterThan(1);
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
parameters { real<lower=0> a; real<lower=0> tau; }
model {
  array[3] real ts = { tau, tau + 0.7, 2 * tau + 1 };
  array[3] vector[2] y = ${solver}(osc, [1, 0]', 0, ts, 1e-12, 1e-12, 100000000, a);
  a ~ lognormal(0, 0.3);
  tau ~ lognormal(0, 0.5);
  for (i in 1:3) obs[i] ~ normal(y[i][1], 0.1);
}`;
    const ld = compile(stanModel(source, { obs: [0.8, 0.3, -0.2] }, { onWarning: () => undefined }));
    const errors = TIME_GRADIENT_POINTS.map((q) => odeGradientError(ld, q.subarray(0, 2)));
    console.log(`${method} (Stan): worst gradient error ${Math.max(...errors).toExponential(2)}`);
    for (const e of errors) expect(e).toBeLessThan(1e-6);
  });

  test.each(METHODS)("%s: times out of order make the density -Infinity, counted as invalid-times", (method) => {
    // ts = [1, tau]: sorted only where tau >= 1; and ts[0] = tau must be after t0 = 0.5.
    const ld = compile(
      model(`unsorted-${method}`, (b) => {
        const a = b.param("a", dist.logNormal(0, 0.3));
        const tau = b.param("tau", dist.normal(1, 1));
        const y = ode(forcedOscillator, { y0: [1, 0], t0: 0.5, ts: stack([1, tau]), args: [a], method });
        b.observe("obs", dist.normal(y.reshape([4]).at(2), 0.1), 0.3);
      }),
    );
    const g = new Float64Array(2);
    const before = odeFailureTally()["invalid-times"];
    expect(Number.isFinite(ld.logDensityGradient(Float64Array.of(0, 1.5), g))).toBe(true);
    expect(ld.logDensity(Float64Array.of(0, 0.9))).toBe(-Infinity);
    expect(ld.logDensityGradient(Float64Array.of(0, 0.9), g)).toBe(-Infinity);
    expect(ld.logDensity(Float64Array.of(0, Number.NaN))).toBe(-Infinity);
    expect(odeFailureTally()["invalid-times"] - before).toBe(3);
    // Equal times are allowed, as in Stan (sorted, not strictly).
    expect(Number.isFinite(ld.logDensity(Float64Array.of(0, 1)))).toBe(true);
  });

  test("ts[0] at or before t0 rejects too", () => {
    const ld = compile(
      model("early", (b) => {
        const tau = b.param("tau", dist.normal(1, 1));
        const y = ode((_t, y) => neg(y), { y0: [1], t0: 0.5, ts: stack([tau]) });
        b.observe("obs", dist.normal(y.reshape([1]).at(0), 0.1), 0.3);
      }),
    );
    expect(ld.logDensity(Float64Array.of(0.5))).toBe(-Infinity);
    expect(ld.logDensity(Float64Array.of(0.2))).toBe(-Infinity);
    const g = new Float64Array(1);
    const lp = ld.logDensityGradient(Float64Array.of(0.8), g);
    // y = exp(-(tau - 0.5)): d/dtau of -(y - 0.3)^2 / (2 0.01) - (tau - 1)^2 / 2, with y' = -y.
    const y = Math.exp(-0.3);
    expect(Number.isFinite(lp)).toBe(true);
    expect(g[0]).toBeCloseTo(-((y - 0.3) / 0.01) * -y - (0.8 - 1), 4);
  });

  test("sampling on threads: no draw has its times out of order; the rejected points are counted as invalid-times", async () => {
    // ts = [0.5, tau]: tau's prior puts a sixth of its mass below 0.5, where the times are out of order.
    const m = model("times-threads", (b) => {
      const a = b.param("a", dist.logNormal(0, 0.3));
      const tau = b.param("tau", dist.normal(1, 0.5));
      const y = ode(forcedOscillator, { y0: [1, 0], ts: stack([0.5, tau]), args: [a] });
      b.observe("obs", dist.normal(y.reshape([4]).at(2), 1), 0.3);
    });
    const posterior = await sample(compile(m), { chains: 2, warmup: 300, draws: 300, seed: 5, threads: 2 }).result;
    for (const chain of posterior.draws("tau")) expect(Math.min(...chain)).toBeGreaterThanOrEqual(0.5);
    const invalid = posterior.odeFailures().reduce((n, f) => n + f.warmup["invalid-times"] + f.sampling["invalid-times"], 0);
    expect(invalid).toBeGreaterThan(0);
    const finding = posterior.diagnose().findings.find((f) => f.check === "ode-failures");
    expect(finding?.message).toMatch(/with output times out of order/);
    // Failed solves after warmup: a warning whose advice names the times.
    expect(finding?.level).toBe("warn");
    expect(finding?.advice).toMatch(/stay in order/);
  });
});

/**
 * Learned partial non-centring (`noncentered: "learn"`): one density whatever lambda is (up to
 * the Jacobian), exact gradients, lambda learned from warmup near the closed-form weight of
 * normal-normal models, and the same posterior as the fixed forms.
 */
import { describe, expect, it } from "vitest";
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/compile.js";
import { mcseMean, mean } from "../../src/diagnostics/index.js";
import { dist, gather, model } from "../../src/model/index.js";
import { GROUP_MODELS } from "../../bench/group-models.js";
import { gradientError } from "../helpers/finite-diff.js";

const groups = 6;
const group = Array.from({ length: 18 }, (_, i) => i % groups);
const y = group.map((g, i) => 0.4 * g - 1 + Math.sin(3 * i));
const hierarchical = (noncentered: boolean | "learn") =>
  model(
    "hier",
    (m) => {
      const mu = m.param("mu", dist.normal(0, 5));
      const tau = m.param("tau", dist.halfNormal(2));
      const th = m.param("theta", dist.normal(mu, tau), { shape: [groups] });
      m.observe("y", dist.normal(gather(th, group), 1.5), y);
    },
    { noncentered },
  );

describe("learned parameterisation: the density", () => {
  const d = compile(hierarchical("learn"));
  const rp = d.reparam!;
  const x = { mu: 0.3, tau: 0.8, theta: [0.1, -0.4, 1.2, 0.5, -0.9, 0.2] };

  it("has one lambda for the hierarchical node, starting where D10's count puts it (3 observations: non-centred)", () => {
    expect(rp.nodes.map((n) => [n.param, n.initial, n.size])).toEqual([["theta", 0, groups]]);
    expect(d.unconstrainedNames.some((n) => n.startsWith("theta__partial"))).toBe(true);
  });

  it("is one density for every lambda: log p_lambda(z) - sum (1 - lambda) log scale is constant, draws reported as x", () => {
    const base = d.unconstrain(x);
    const values: number[] = [];
    for (const lam of [0, 0.25, 0.7, 1]) {
      rp.lambda[0] = 0;
      const { loc, scale } = rp.locScale(base)[0]!;
      const q = Float64Array.from(base);
      for (let i = 0; i < groups; i++) q[rp.nodes[0]!.offset + i] = lam * loc[i]! + Math.pow(scale[i]!, lam - 1) * (x.theta[i]! - loc[i]!);
      rp.lambda[0] = lam;
      let jac = 0;
      for (let i = 0; i < groups; i++) jac += (1 - lam) * Math.log(scale[i]!);
      values.push(d.logDensity(q) - jac);
      const out = d.constrain(q);
      for (let i = 0; i < groups; i++) expect(out.theta!.values[i]).toBeCloseTo(x.theta[i]!, 12);
      // Exact gradients at this lambda.
      expect(gradientError(d, q).worst).toBeLessThan(1e-6);
    }
    for (const v of values) expect(v).toBeCloseTo(values[0]!, 10);
    rp.lambda[0] = 0;
  });
});

describe("learned parameterisation: lambda from warmup", () => {
  // Closed form (normal-normal): lambda = tau^2 / (tau^2 + v), v the data variance per group.
  it("weakly informed groups (weight ~0.03) end near non-centred, strongly informed ones (~0.997) near centred", () => {
    const lambdaOf = (name: string) => {
      const m = GROUP_MODELS.find((g) => g.name === name)!;
      const density = compile(m.build({ noncentered: "learn" }));
      sampleSync(density, { chains: 1, warmup: 300, draws: 0, seed: 3, metric: "diag-fisher", schedule: "nutpie" });
      return density.reparam!.lambda[0]!;
    };
    expect(lambdaOf("normal3Weak")).toBeLessThan(0.2);
    expect(lambdaOf("normal20Strong")).toBeGreaterThan(0.9);
  });

  it("samples the same posterior as the non-centred form (means within 4 combined MCSE)", () => {
    const learn = sampleSync(compile(hierarchical("learn")), { seed: 5, metric: "diag-fisher", schedule: "nutpie" });
    const fixed = sampleSync(compile(hierarchical(true)), { seed: 6, metric: "diag-fisher", schedule: "nutpie" });
    for (const name of ["mu", "tau", "theta[1]", "theta[4]"]) {
      const a = learn.draws(name);
      const b = fixed.draws(name);
      const z = (mean(a) - mean(b)) / Math.hypot(mcseMean(a), mcseMean(b));
      expect(Math.abs(z), name).toBeLessThan(4);
    }
    // Few divergences (at most 1 in 1000 draws): the learned form is no worse a geometry.
    expect(learn.divergences().reduce((s, v) => s + v)).toBeLessThanOrEqual(4);
  });
});

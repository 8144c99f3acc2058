import { describe, expect, it } from "vitest";
import { sampleSync } from "../../src/api/sample-sync.js";
import { Posterior } from "../../src/api/posterior.js";
import { betaBinomialModel, gammaPoissonModel, standardNormal } from "./models.js";
import { compile } from "../../src/compile/compile.js";
import { dist, model } from "../../src/model/index.js";

describe("sampleSync and Posterior", () => {
  it("returns constrained draws per chain in names order, stats, and a summary table", () => {
    const { model } = betaBinomialModel(2, 3, 20, 7);
    const post = sampleSync(model, { chains: 3, warmup: 200, draws: 300, seed: 4 });
    expect(post).toBeInstanceOf(Posterior);
    expect(post.numChains).toBe(3);
    expect(post.names).toEqual(["theta"]);
    const th = post.draws("theta");
    expect(th.length).toBe(3);
    for (const c of th) {
      expect(c).toBeInstanceOf(Float64Array);
      expect(c.length).toBe(300);
      for (const v of c) expect(v > 0 && v < 1).toBe(true);
    }
    for (const chain of post.chains) {
      expect(chain.stats.lp.length).toBe(300);
      expect(chain.warmupStats.lp.length).toBe(200);
      expect(chain.warmupValues).toBeNull();
      expect(chain.stepSize).toBeGreaterThan(0);
      expect(new Set(chain.stats.stepSize).size).toBe(1);
      expect(chain.gradientEvaluations).toBeGreaterThan(500);
    }
    expect(post.warmupDraws("theta")).toBeNull();
    const rows = post.summary();
    expect(rows.map((r) => r.name)).toEqual(["theta"]);
    expect(post.summary(["theta"], { includeLp: true }).map((r) => r.name)).toEqual(["lp__", "theta"]);
    expect(rows[0]!.mean).toBeGreaterThan(0.2);
    expect(rows[0]!.rhat).toBeLessThan(1.05);
    const table = post.formatSummary();
    expect(table).toMatch(/theta/);
    expect(table).toMatch(/ess_bulk/);
    expect(table).toMatch(/divergent transitions: 0 of 900/);
    expect(() => post.draws("nope")).toThrow(/unknown quantity "nope"/);
  });

  it("is reproducible from a seed, keeps warmup draws on request, takes per-chain inits", () => {
    const { model } = gammaPoissonModel(3, 0.5, [4, 7, 3]);
    const opts = { chains: 2, warmup: 100, draws: 100, seed: 99, saveWarmup: true, inits: [{ lambda: 1 }, { lambda: 10 }] };
    const a = sampleSync(model, opts);
    const b = sampleSync(model, opts);
    expect(a.draws("lambda")).toEqual(b.draws("lambda"));
    const w = a.warmupDraws("lambda")!;
    expect(w.length).toBe(2);
    expect(w[0]!.length).toBe(100);
    const c = sampleSync(model, { ...opts, seed: 100 });
    expect(c.draws("lambda")).not.toEqual(a.draws("lambda"));
    expect(() => sampleSync(model, { ...opts, inits: [{ lambda: 1 }] })).toThrow(/inits has 1 entries for 2 chains/);
  });

  it("chains run in sequence equal the same chains run alone (chain c is stream c)", () => {
    const model = standardNormal(3);
    const all = sampleSync(model, { chains: 3, warmup: 100, draws: 50, seed: 8 });
    const one = sampleSync(model, { chains: 1, warmup: 100, draws: 50, seed: 8 });
    expect(one.draws("x[2]")[0]).toEqual(all.draws("x[2]")[0]);
    expect(all.ebfmi().every((e) => e > 0.3)).toBe(true);
  });
});

describe("Posterior summaries by variable name", () => {
  const m = model("eight_schools", (b) => {
    const sigma = b.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
    const mu = b.param("mu", dist.normal(0, 5));
    const tau = b.param("tau", dist.halfCauchy(5));
    const theta = b.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
    b.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12]);
  });
  const post = sampleSync(compile(m), { chains: 2, warmup: 200, draws: 200, seed: 5 });

  it("a variable name selects all its elements; flat names still work", () => {
    expect(post.summary(["theta"], false).map((r) => r.name)).toEqual(Array.from({ length: 8 }, (_, i) => `theta[${i + 1}]`));
    expect(post.summary(["mu", "theta[2]"]).map((r) => r.name)).toEqual(["mu", "theta[2]"]);
    expect(post.summary(["mu", "theta[2]"], { includeLp: true }).map((r) => r.name)).toEqual(["lp__", "mu", "theta[2]"]);
    expect(post.formatSummary(["mu"])).toMatch(/^mu\s/m);
    expect(() => post.summary(["nope"])).toThrow(/unknown variable "nope"; variables: mu, tau, theta/);
    expect(post.variables.map((v) => [v.name, v.shape, v.dims])).toEqual([
      ["mu", [], undefined],
      ["tau", [], undefined],
      ["theta", [8], ["school"]],
    ]);
  });

  it("rows carry HDI (94% or as asked), median and MAD", () => {
    const [row] = post.summary(["tau"], false);
    expect(row!.hdiLower).toBeGreaterThanOrEqual(0);
    expect(row!.hdiLower).toBeLessThan(row!.median);
    expect(row!.hdiUpper).toBeGreaterThan(row!.median);
    expect(row!.mad).toBeGreaterThan(0);
    const narrow = post.summary(["tau"], { includeLp: false, hdiProb: 0.5 })[0]!;
    expect(narrow.hdiUpper - narrow.hdiLower).toBeLessThan(row!.hdiUpper - row!.hdiLower);
    expect(post.formatSummary(["tau"], { hdiProb: 0.5 })).toMatch(/hdi_25%\s+hdi_75%/);
  });
});

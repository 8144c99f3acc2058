import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { abc, abcSmc, ApproxFailedError, abcSmcEffect, dist, InvalidOptionError, InvalidModelError, model, simulator } from "../../src/index.js";
import { Effect, Exit } from "effect";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

// Twenty observations of normal(mu, 1); prior mu ~ normal(0, 5): the exact posterior is normal.
const observed = [1.42, 0.31, 2.12, 1.05, 0.66, 1.9, 1.28, 0.04, 1.73, 1.15, 0.88, 2.4, 0.52, 1.61, 0.97, 1.33, 0.12, 1.84, 1.07, 0.76];
const n = observed.length;
const ybar = observed.reduce((a, b) => a + b, 0) / n;
const precision = n + 1 / 25;
const exactMean = (n * ybar) / precision;
const exactSd = 1 / Math.sqrt(precision);
const normalPrior = model("mu_prior", (b) => {
  b.param("mu", dist.normal(0, 5));
});

describe("abc options and inputs", () => {
  it("rejects bad options and priors before any simulation, naming them", () => {
    const sim = simulator(fixture("normal-mean.mjs"));
    expect(() => abc(sim, { prior: normalPrior, observed, tolerance: -1 })).toThrow(InvalidOptionError);
    expect(() => abc(sim, { prior: normalPrior, observed, tolerance: 0.1, quantile: 0.1 })).toThrow(/quantile/);
    expect(() => abcSmc(sim, { prior: normalPrior, observed, alpha: 1.5 })).toThrow(/alpha/);
    expect(() => abcSmc(sim, { prior: normalPrior, observed, kappa: 2 } as never)).toThrow(/kappa/);
    const withData = model("m", (b) => {
      const mu = b.param("mu", dist.normal(0, 1));
      b.observe("y", dist.normal(mu, 1), [1, 2]);
    });
    expect(() => abc(sim, { prior: withData, observed })).toThrow(InvalidModelError);
    expect(() => simulator("relative/path.mjs")).toThrow(/absolute/);
  });

  it("fails in the error channel when the simulator module cannot load", async () => {
    const exit = await Effect.runPromiseExit(abcSmcEffect(simulator("/nowhere/sim.mjs"), { prior: normalPrior, observed, particles: 50, seed: 1 }));
    expect(Exit.isFailure(exit)).toBe(true);
    if (Exit.isFailure(exit)) expect(String(exit.cause)).toMatch(/could not be loaded/);
  });
});

describe("ABC against known posteriors", () => {
  it("ABC-SMC on a normal mean approaches the exact posterior as the tolerance falls", async () => {
    const post = await abcSmc(simulator(fixture("normal-mean.mjs")), { prior: normalPrior, observed, particles: 1000, seed: 11, minAcceptanceRate: 0.03, threads: 2 }).result;
    const [row] = post.weightedSummary(["mu"]);
    const last = post.generations.at(-1)!;
    const ess = last.ess;
    // The ABC posterior is the exact one smoothed by the tolerance (a uniform window of half-width
    // tolerance x scale in ybar): its variance grows by at most (tolerance x scale)^2 / 3.
    const widen = (post.tolerance * post.scales[0]!) ** 2 / 3;
    expect(post.generations.length).toBeGreaterThan(3);
    expect(post.tolerance).toBeLessThan(post.generations[1]!.tolerance / 4);
    expect(Math.abs(row!.mean - exactMean)).toBeLessThan(4 * exactSd / Math.sqrt(ess));
    expect(row!.sd).toBeGreaterThan(exactSd * (1 - 4 / Math.sqrt(2 * ess)));
    expect(row!.sd).toBeLessThan(Math.sqrt(exactSd ** 2 + widen) * (1 + 4 / Math.sqrt(2 * ess)));
  });

  it("rejection ABC on a Poisson rate with an exact match of the sufficient sum is the gamma posterior", async () => {
    const counts = [3, 1, 4, 2, 2, 5, 0, 3, 2, 3];
    const prior = model("rate", (b) => {
      b.param("lambda", dist.gamma(2, 1), { lower: 0 });
    });
    const post = await abc(simulator(fixture("poisson.mjs")), { prior, observed: counts, particles: 2000, tolerance: 0.5, distance: "euclidean", seed: 5 }).result;
    const a = 2 + counts.reduce((x, y) => x + y, 0);
    const b = 1 + counts.length;
    const [row] = post.weightedSummary(["lambda"]);
    const sd = Math.sqrt(a) / b;
    expect(post.abcMethod).toBe("rejection");
    expect(post.weights.length).toBe(2000);
    expect(Math.abs(row!.mean - a / b)).toBeLessThan(4 * sd / Math.sqrt(2000));
    expect(Math.abs(row!.sd - sd)).toBeLessThan(4 * sd / Math.sqrt(2 * 2000));
    // Accepted draws match the sum exactly.
    expect(Math.max(...post.distances)).toBe(0);
  });
});

describe("a distance of the user's own", () => {
  it("is used instead of the scaled one, and a bad one fails the run typed", async () => {
    const sim = simulator(fixture("normal-mean.mjs"), { distance: "absDistance" });
    const post = await abc(sim, { prior: normalPrior, observed, particles: 200, tolerance: 0.05, seed: 4 }).result;
    expect(Math.max(...post.distances)).toBeLessThanOrEqual(0.05);
    const [row] = post.weightedSummary(["mu"]);
    expect(Math.abs(row!.mean - exactMean)).toBeLessThan(4 * exactSd / Math.sqrt(200));
    const broken = abc(simulator(fixture("normal-mean.mjs"), { distance: "brokenDistance" }), { prior: normalPrior, observed, particles: 50, tolerance: 0.05, seed: 4 }).result;
    await expect(broken).rejects.toMatchObject({ _tag: "ApproxFailedError", message: expect.stringMatching(/brokenDistance.*a distance is a number >= 0/) });
  });
});

describe("ABC on the runtime", () => {
  it("gives the same population for the same seed on 1 and 2 threads", async () => {
    const opts = { prior: normalPrior, observed, particles: 300, seed: 3, maxGenerations: 3 };
    const one = await abcSmc(simulator(fixture("normal-mean.mjs")), { ...opts, threads: 1 }).result;
    const two = await abcSmc(simulator(fixture("normal-mean.mjs")), { ...opts, threads: 2 }).result;
    expect(Array.from(two.particles)).toEqual(Array.from(one.particles));
    expect(Array.from(two.weights)).toEqual(Array.from(one.weights));
    expect(two.simulations).toBe(one.simulations);
  });

  it("a simulator that exits its thread on 1% of calls, hangs on 0.1% and throws on 1% gives the clean run's population", async () => {
    const opts = { prior: normalPrior, observed, particles: 200, seed: 8, maxGenerations: 3, simulationTimeout: "1 second", threads: 2 } as const;
    const events: string[] = [];
    const run = abcSmc(simulator(fixture("faulty-normal.mjs")), opts);
    run.events$.subscribe((e) => events.push(e.type));
    const faulty = await run.result;
    const clean = await abcSmc(simulator(fixture("faulty-normal.mjs"), { simulate: "clean" }), opts).result;
    const count = (k: "crashed" | "timedOut" | "failed") => faulty.generations.reduce((s, g) => s + g[k], 0);
    console.log(`faulty simulator: ${faulty.simulations} simulations, ${count("crashed")} crashed, ${count("timedOut")} timed out, ${count("failed")} threw`);
    expect(count("crashed")).toBeGreaterThan(0);
    expect(count("timedOut")).toBeGreaterThan(0);
    expect(count("failed")).toBeGreaterThan(0);
    expect(events).toContain("task-failed");
    expect(Array.from(faulty.particles)).toEqual(Array.from(clean.particles));
    expect(Array.from(faulty.weights)).toEqual(Array.from(clean.weights));
    expect(faulty.generations.map((g) => g.tolerance)).toEqual(clean.generations.map((g) => g.tolerance));
  });

  it("a thread that outlives the simulation timeout while loading the simulator drops no simulation: the batch runs again", async () => {
    const opts = { prior: normalPrior, observed, particles: 200, seed: 8, maxGenerations: 2, simulationTimeout: "1 second", threads: 2 } as const;
    const marker = join(mkdtempSync(join(tmpdir(), "abc-slow-load-")), "loaded");
    process.env.BAYESTS_SLOW_LOAD_MARKER = marker;
    try {
      const slow = await abcSmc(simulator(fixture("slow-load.mjs")), opts).result;
      expect(existsSync(marker)).toBe(true);
      const plain = await abcSmc(simulator(fixture("normal-mean.mjs")), opts).result;
      expect(slow.generations.reduce((s, g) => s + g.timedOut + g.crashed + g.failed, 0)).toBe(0);
      expect(Array.from(slow.particles)).toEqual(Array.from(plain.particles));
      expect(slow.generations.map((g) => g.tolerance)).toEqual(plain.generations.map((g) => g.tolerance));
    } finally {
      delete process.env.BAYESTS_SLOW_LOAD_MARKER;
    }
  });

  it("a simulator whose every load outlives the simulation timeout fails the run typed after three tries, naming the load", async () => {
    process.env.BAYESTS_SLOW_LOAD_MARKER = "always";
    try {
      const opts = { prior: normalPrior, observed, particles: 50, seed: 8, maxGenerations: 1, simulationTimeout: "1 second", threads: 1 } as const;
      const failure = await abcSmc(simulator(fixture("slow-load.mjs")), opts).result.catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ApproxFailedError);
      expect((failure as Error).message).toMatch(/loading the model and simulator on a worker thread failed 3 times/);
    } finally {
      delete process.env.BAYESTS_SLOW_LOAD_MARKER;
    }
  });
});

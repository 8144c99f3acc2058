/**
 * Pathfinder, ADVI and SMC on the runtime (worker threads, supervision): SMC's evidence
 * against analytic values and its mode weights, the same result on 1 and 2 threads for all
 * three, restarts from checkpoints, streams, typed errors, and the posteriordb pass rule.
 */
import { firstValueFrom, lastValueFrom, map, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { advi, ApproxFailedError, pathfinder, smc } from "../../src/api/approx.js";
import { InvalidModelError, InvalidOptionError } from "../../src/api/errors.js";
import { PATHFINDER_WARMUP } from "../../src/api/pathfinder-init.js";
import { sample } from "../../src/api/sample.js";
import { compile } from "../../src/compile/compile.js";
import { moduleModel } from "../../src/compile/index.js";
import { dist, log, model, mul, square } from "../../src/model/index.js";
import { loadPosterior } from "../posteriordb/models.js";
import { checkAgainstReference } from "../validate/pass-rule.js";
import { conjugateNormal, nigRegression, twoModes } from "../validate/smc-targets.js";
import { expectSameDraws } from "./helpers.js";

const fixture = new URL("./fixtures/faulty-normal.mjs", import.meta.url).pathname;

const conjugate = conjugateNormal().model;

function expectEvidence(estimate: number, se: number, exact: number): void {
  expect(Number.isFinite(se) && se > 0).toBe(true);
  const msg = `estimate ${estimate.toFixed(4)} exact ${exact.toFixed(4)} se ${se.toFixed(4)}`;
  expect(Math.abs(estimate - exact), msg).toBeLessThan(3 * se);
  expect(Math.abs(estimate - exact), msg).toBeLessThan(0.1);
}

describe("SMC", () => {
  it("log marginal likelihood of a conjugate normal model: within 3 SE and 0.1 of the exact value", async () => {
    const p = await smc(conjugate, { seed: 1 }).result;
    expectEvidence(p.logMarginalLikelihood, p.logMarginalLikelihoodSe, conjugateNormal().evidence);
  });

  it("log marginal likelihood of a Bayesian linear regression (normal-inverse-gamma): within 3 SE and 0.1", async () => {
    const { model: m, evidence } = nigRegression();
    const p = await smc(m, { seed: 2 }).result;
    expectEvidence(p.logMarginalLikelihood, p.logMarginalLikelihoodSe, evidence);
  });

  it("recovers both modes of a two-mode target with their weights (0.3 / 0.7) within 0.05", async () => {
    const p = await smc(twoModes().model, { seed: 3 }).result;
    for (const c of p.draws("x")) {
      const left = c.filter((v) => v < 0).length / c.length;
      expect(Math.abs(left - 0.3)).toBeLessThan(0.05);
    }
  });

  it("passes posteriordb's rule on eight_schools_noncentered", async () => {
    const { model: m, reference } = loadPosterior("eight_schools-eight_schools_noncentered");
    const p = await smc(m, { seed: 1 }).result;
    const check = checkAgainstReference(p, reference.parameters);
    expect(check.failures).toEqual([]);
  });
});

describe("the same result on 1 and 2 threads", () => {
  const { model: es } = loadPosterior("eight_schools-eight_schools_noncentered");
  it("pathfinder", async () => {
    const a = await pathfinder(es, { seed: 5, threads: 1 }).result;
    const b = await pathfinder(es, { seed: 5, threads: 2 }).result;
    expect(b.threads).toBe(2);
    expectSameDraws(a, b);
    expect(b.paretoK).toBe(a.paretoK);
  });
  it("advi (the eta trials run side by side)", async () => {
    const a = await advi(es, { seed: 5, threads: 1 }).result;
    const b = await advi(es, { seed: 5, threads: 2 }).result;
    expect(b.threads).toBe(2);
    expectSameDraws(a, b);
    expect(b.eta).toBe(a.eta);
  });
  it("smc", async () => {
    const a = await smc(conjugate, { seed: 5, threads: 1, particles: 500 }).result;
    const b = await smc(conjugate, { seed: 5, threads: 2, particles: 500 }).result;
    expectSameDraws(a, b);
    expect(b.logMarginalLikelihood).toBe(a.logMarginalLikelihood);
  });
});

describe("supervision, streams and errors", () => {
  it("a task whose thread dies is re-run from its checkpoint: the same result", async () => {
    const clean = await advi(moduleModel(fixture, "default", { dim: 3 }), { seed: 8, threads: 1 }).result;
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const run = advi(moduleModel(fixture, "default", { dim: 3, mode: "exit-once", every: 3000, flag }), { seed: 8, threads: 1 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const crashed = await run.result;
    expect(Atomics.load(flag, 0)).toBe(1);
    expect((await events).some((e) => e.type === "task-restarted")).toBe(true);
    expectSameDraws(clean, crashed);
  });

  it("streams progress and events; the result is a Posterior with summaries", async () => {
    const run = pathfinder(conjugate, { seed: 4 });
    const first = firstValueFrom(run.progress$);
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const p = await run.result;
    expect((await first).method).toBe("pathfinder");
    const types = (await events).map((e) => e.type);
    expect(types).toContain("run-started");
    expect(types.filter((t) => t === "path-done")).toHaveLength(4);
    expect(types).toContain("psis");
    expect(p.summary(["mu"])[0]!.name).toBe("mu");
    expect(p.formatSummary()).toMatch(/Pareto k/);
  });

  it("a subscriber that throws (on progress$ or events$, directly or in a pipe) is dropped and reported; the result is the same", async () => {
    const reference = await pathfinder(conjugate, { seed: 4 }).result;
    const run = pathfinder(conjugate, { seed: 4 });
    let calls = 0;
    run.progress$.subscribe(() => {
      calls++;
      throw new Error("progress consumer broke");
    });
    run.events$.pipe(map((e) => e.type)).subscribe(() => {
      calls++;
      throw new Error("events consumer broke");
    });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const p = await run.result;
    expect(calls).toBe(2);
    const reported = (await events).flatMap((e) => (e.type === "subscriber-error" ? [`${e.stream}: ${e.message}`] : []));
    expect(reported.sort()).toEqual(["events$: events consumer broke", "progress$: progress consumer broke"]);
    expect(p.draws("mu")).toEqual(reference.draws("mu"));
  });

  it("typed errors before any worker starts", () => {
    expect(() => pathfinder(conjugate, { paths: 0 })).toThrow(InvalidOptionError);
    expect(() => advi(conjugate, { family: "dense" as never })).toThrow(/option family/);
    expect(() => smc(conjugate, { kernel: "hmc" as never })).toThrow(InvalidOptionError);
    expect(() => smc(conjugate, { particelz: 10 } as never)).toThrow(/particelz/);
    // SMC needs the prior and likelihood apart, and a proper prior.
    expect(() => smc(compile(conjugate))).toThrow(InvalidModelError);
    const flat = model("flat", (b) => {
      const m = b.param("m");
      b.observe("y", dist.normal(m, 1), [1]);
    });
    expect(() => smc(flat)).toThrow(/parameter m/);
  });

  it("a model ADVI cannot fit fails with ApproxFailedError", async () => {
    const broken = model("broken", (b) => {
      const x = b.param("x", dist.normal(0, 1));
      // log(0): -Infinity everywhere.
      b.potential("never", log(mul(0, square(x))));
    });
    await expect(advi(broken, { seed: 1 }).result).rejects.toBeInstanceOf(ApproxFailedError);
  });
});

describe('sample(model, { init: "pathfinder" })', () => {
  const { model: kid } = loadPosterior("kidiq-kidscore_momiq");

  it("on Stan's windows: Pathfinder's draws and diagonal metric, the short warmup; the same run on 1 and 2 threads", async () => {
    const opts = { seed: 3, init: "pathfinder" as const, metric: "diag" as const, draws: 200, warmupExtension: false };
    const run = sample(kid, { ...opts, threads: 1 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const a = await run.result;
    const b = await sample(kid, { ...opts, threads: 2 }).result;
    expectSameDraws(a, b);
    const init = (await events).find((e) => e.type === "pathfinder-init");
    expect(init).toMatchObject({ fallback: null });
    expect(a.numWarmup).toBe(PATHFINDER_WARMUP);
    // Warmup adapted the metric from Pathfinder's (the beta of mom_iq has sd ~ 0.06, the intercept ~ 9).
    const inv = a.chains[0]!.metric.inverse;
    expect(inv[0]! / inv[1]!).toBeGreaterThan(1000);
  });

  it('with metric "low-rank": a low-rank initial metric from Pathfinder, nutpie\'s schedule on from there; the same run on 1 and 2 threads, and the posterior passes', async () => {
    const { model: m, reference } = loadPosterior("kidiq-kidscore_momhsiq");
    const opts = { seed: 5, init: "pathfinder" as const, draws: 500, metric: "low-rank" as const };
    const run = sample(m, { ...opts, threads: 1 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const a = await run.result;
    const b = await sample(m, { ...opts, threads: 2 }).result;
    expectSameDraws(a, b);
    expect((await events).find((e) => e.type === "pathfinder-init")).toMatchObject({ fallback: null });
    expect(a.metricKind).toBe("low-rank");
    expect(a.chains[0]!.metric.kind).toBe("low-rank");
    expect(checkAgainstReference(a, reference.parameters).passed).toBe(true);
  });

  it("falls back to random inits (with Stan's warmup) when no path can start", async () => {
    const { model: earn } = loadPosterior("earnings-earn_height");
    const run = sample(earn, { seed: 1, init: "pathfinder", chains: 2, warmup: 100, draws: 20 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const p = await run.result;
    expect(p.numDraws).toBe(20);
    const init = (await events).find((e) => e.type === "pathfinder-init") as { fallback: string | null } | undefined;
    expect(init?.fallback).toMatch(/L-BFGS could not start/);
  });

  it("is not the default: sample() starts from random inits", async () => {
    const run = sample(kid, { seed: 4, chains: 2, draws: 50 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    await run.result;
    expect((await events).some((e) => e.type === "pathfinder-init")).toBe(false);
  });

  it("refuses a module model up front", () => {
    expect(() => sample(moduleModel(fixture, "default", { dim: 3 }), { init: "pathfinder" })).toThrow(/option init: a module model/);
  });

  it("checks the option first", () => {
    expect(() => sample(kid, { init: "laplace" as never })).toThrow(InvalidOptionError);
    expect(() => sample(kid, { init: "pathfinder", inits: { beta: [1, 1], sigma: 1 } })).toThrow(/option init/);
    expect(() => sample(kid, { init: { pathfinder: { paths: 0 } } })).toThrow(/option paths/);
  });
});

/**
 * Failed ODE solves counted per chain and phase (ChainResult.odeFailures), reported as
 * `ode-failures` run events and by `diagnose` (DECISIONS.md D132, D163), on a model whose
 * solves fail in part of its parameter space: dy/dt = r y^2 from y(0) = 1 blows up at
 * t = 1/r, so every solve to t = 1 with r >= 1 fails, and a quarter of the prior's mass
 * (r ~ normal(0.6, 0.6)) is there. With dy/dt = r y only the first step-size search's far
 * throw fails (warmup: a note); a model without ODEs counts nothing.
 */
import { lastValueFrom, toArray } from "rxjs";
import { describe, expect, test } from "vitest";
import { sample } from "../../src/api/sample.js";
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/compile.js";
import { dist, log, model, mul, ode, stack } from "../../src/model/index.js";
import type { OdeFailureCounts } from "../../src/ode/index.js";
import { ODE_FAILURE_REASONS, totalOdeFailures } from "../../src/ode/index.js";

/**
 * `blowUp`: dy/dt = r y^2, whose solution 1 / (1 - r t) has its pole before t = 1 where r > 1,
 * and r's prior reaches there; otherwise dy/dt = r y, whose solves all succeed.
 */
function growth(blowUp: boolean) {
  return model(blowUp ? "blow-up" : "decay", (b) => {
    const r = b.param("r", blowUp ? dist.normal(0.6, 0.6) : dist.normal(-1, 0.3));
    const y = ode((_t, y, [rate]) => mul(rate!, blowUp ? mul(y, y) : y), { y0: [1], ts: [0.5, 1], args: [stack([r]).reshape([])], maxSteps: blowUp ? 200 : 1e6 });
    // A weak observation of log y(1), so that the density reads the solution.
    b.observe("obs", dist.normal(log(y.reshape([2]).at(1)), 10), 0.5);
  });
}

const sum = (counts: readonly OdeFailureCounts[]) => counts.reduce((a, c) => a + totalOdeFailures(c), 0);

describe("failed ODE solves in the sampler's statistics, the run's events and diagnose", () => {
  test("sampleSync: counted per chain and phase; no accepted draw lies where the solve fails", () => {
    const posterior = sampleSync(compile(growth(true)), { chains: 2, warmup: 300, draws: 300, seed: 11 });
    const failures = posterior.odeFailures();
    expect(sum(failures.map((f) => f.sampling))).toBeGreaterThan(0);
    expect(sum(failures.map((f) => f.warmup))).toBeGreaterThan(0);
    // Every accepted draw had a successful solve: r < 1 (y = 1 / (1 - r) at t = 1 is finite).
    for (const chain of posterior.draws("r")) expect(Math.max(...chain)).toBeLessThan(1);
    // Failed solves in a trajectory end it as divergent: there are some after warmup.
    expect(posterior.divergences().reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const finding = posterior.diagnose().findings.find((f) => f.check === "ode-failures");
    expect(finding?.level).toBe("warn");
    expect(finding?.message).toMatch(/ODE solves failed: \d+ in sampling \(.*per chain \d+, \d+\), \d+ in warmup/);
    expect(posterior.formatSummary()).toMatch(/ODE solves failed/);
  });

  test("sample on threads: the events add up to the chains' counts", async () => {
    const run = sample(compile(growth(true)), { chains: 2, warmup: 300, draws: 300, seed: 11, threads: 2 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const posterior = await run.result;
    const odeEvents = (await events).flatMap((e) => (e.type === "ode-failures" ? [e] : []));
    expect(odeEvents.length).toBeGreaterThan(0);
    const failures = posterior.odeFailures();
    for (const [c, f] of failures.entries()) {
      for (const phase of ["warmup", "sampling"] as const) {
        for (const r of ODE_FAILURE_REASONS) {
          const fromEvents = odeEvents.filter((e) => e.chain === c && e.phase === phase).reduce((a, e) => a + e.failures[r], 0);
          expect(f[phase][r], `chain ${c} ${phase} ${r}`).toBe(fromEvents);
        }
      }
    }
    expect(sum(failures.map((f) => f.sampling))).toBeGreaterThan(0);
    for (const e of odeEvents) expect(totalOdeFailures(e.failures)).toBeGreaterThan(0);
    expect(posterior.diagnose().findings.find((f) => f.check === "ode-failures")?.level).toBe("warn");
  });

  test("failures in warmup only are a note, not a warning; a model without failed solves gets no finding", async () => {
    // dy/dt = r y: only the first step-size search, which throws r far out, overflows a solve.
    const sync = sampleSync(compile(growth(false)), { chains: 2, warmup: 200, draws: 200, seed: 3 });
    expect(sum(sync.odeFailures().map((f) => f.sampling))).toBe(0);
    expect(sum(sync.odeFailures().map((f) => f.warmup))).toBeGreaterThan(0);
    expect(sync.diagnose().findings.find((f) => f.check === "ode-failures")?.level).toBe("info");
    const plain = model("plain", (b) => {
      const mu = b.param("mu", dist.normal(0, 1));
      b.observe("y", dist.normal(mu, 1), [0.3, -0.2]);
    });
    const run = sample(compile(plain), { chains: 2, warmup: 200, draws: 200, seed: 3, threads: 2 });
    const events = lastValueFrom(run.events$.pipe(toArray()));
    const posterior = await run.result;
    expect((await events).some((e) => e.type === "ode-failures")).toBe(false);
    expect(posterior.chains.every((c) => c.odeFailures === undefined)).toBe(true);
    expect(posterior.diagnose().findings.some((f) => f.check === "ode-failures")).toBe(false);
  });
});

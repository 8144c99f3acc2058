/**
 * Issue 26's reproductions ("where the default path breaks"), each through the public API where
 * the user met it, plus the kernel-level checks of the guards that fixed them (D94-D97).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import {
  compile,
  dist,
  InvalidModelError,
  log,
  model,
  moduleModel,
  pathfinder,
  pathfinderEffect,
  RunFailedError,
  sample,
  sampleSync,
  sub,
  type RunEvent,
} from "../../src/index.js";
import {
  applyWindowUpdate,
  compactEstimator,
  initChainState,
  mergeEstimators,
  poolableChains,
  poolingGap,
  runIterations,
  setMetricAtWindowEnd,
  type ChainState,
} from "../../src/inference/index.js";
import { processHeapLimitMb, threadFlags } from "../../supervisors/worker-pool.js";
import { armaData, ma1, twoCompartmentOde } from "./corpus.js";

describe("1. moving-average models under the default (and the Fisher adaptations)", () => {
  it("the issue's MA(1) reproduction: every chain completes with the default and with metric low-rank; the default is right", async () => {
    const m = ma1(armaData());
    const ref = sampleSync(compile(m), { chains: 4, warmup: 500, draws: 1000, seed: 101 }).summary(["theta"], false)[0]!;
    for (const options of [{}, { metric: "low-rank" as const }]) {
      const events: RunEvent[] = [];
      const run = sample(m, { chains: 4, warmup: 500, draws: 500, seed: 1, progress: false, ...options });
      run.events$.subscribe((e) => events.push(e));
      const p = await run.result;
      expect(p.chainStatus.every((s) => s.status === "completed"), JSON.stringify(options)).toBe(true);
      expect(events.filter((e) => e.type === "chunk-failed")).toEqual([]);
      const theta = p.summary(["theta"], false)[0]!;
      if (options.metric === undefined) {
        expect(Math.abs(theta.mean - ref.mean) / Math.hypot(theta.mcseMean, ref.mcseMean)).toBeLessThan(4);
        expect(theta.rhat).toBeLessThan(1.01);
      } else {
        // With metric low-rank one chain settles by the non-invertible ridge (theta near 1.47,
        // see the next test): never silently, R-hat says the chains disagree.
        const chainMeans = p.draws("theta").map((c) => c.reduce((a, x) => a + x, 0) / c.length);
        if (chainMeans.some((m) => m > 1)) expect(theta.rhat).toBeGreaterThan(1.1);
      }
    }
  }, 300_000);

  it("theta 1.47 is the unbounded model's other mode: a ridge 1e-10 wide holding most of the mass, so only the invertible form is compared with Stan (D142)", () => {
    // The residuals are affine in mu (err = a - b mu), so for each theta the density is Gaussian
    // in mu and integrates exactly; sigma by quadrature. float64 holds b up to theta ~ 1.8.
    const y = armaData();
    const n = y.length;
    const ridge = (theta: number) => {
      const a = [y[0]!];
      const b = [1];
      for (let t = 1; t < n; t++) {
        a.push(y[t]! - theta * a[t - 1]!);
        b.push(1 - theta * b[t - 1]!);
      }
      const sbb = b.reduce((s, v) => s + v * v, 0);
      const mu = a.reduce((s, v, t) => s + v * b[t]!, 0) / sbb;
      return { mu, sse: a.reduce((s, v, t) => s + (v - b[t]! * mu) ** 2, 0), sbb };
    };
    const lnorm = (x: number, m: number, sd: number) => -0.5 * ((x - m) / sd) ** 2 - Math.log(sd);
    // The joint log density at (mu, theta, log sigma), as the model writes it (up to a constant).
    const joint = (mu: number, theta: number, sse: number, ls: number) =>
      -n * ls - sse / (2 * Math.exp(2 * ls)) + lnorm(mu, 0, 10) + lnorm(theta, 0, 2) - Math.log1p((Math.exp(ls) / 2.5) ** 2) + ls;
    const logMarginal = (theta: number) => {
      const { mu, sse, sbb } = ridge(theta);
      const terms: number[] = [];
      for (let ls = -3; ls <= 3; ls += 0.005) terms.push(joint(mu, theta, sse, ls) + ls - 0.5 * Math.log(sbb));
      const m = Math.max(...terms);
      return m + Math.log(terms.reduce((s, v) => s + Math.exp(v - m), 0));
    };
    // The closed form is the compiled model's density along the ridge (differences cancel constants).
    const ld = compile(ma1(y));
    const at = (theta: number) => {
      const r = ridge(theta);
      return { compiled: ld.logDensity(Float64Array.of(r.mu, theta, -0.3)), closed: joint(r.mu, theta, r.sse, -0.3) };
    };
    const [p, q] = [at(0.69), at(1.47)];
    expect(q.compiled - p.compiled).toBeCloseTo(q.closed - p.closed, 4);
    // The ridge at 1.47 is about 1e-10 wide in mu (1 / sqrt(sum b^2) at sigma 1) ...
    expect(1 / Math.sqrt(ridge(1.47).sbb)).toBeLessThan(1e-8);
    // ... yet the marginal density of theta peaks there, above the invertible mode (0.69), and
    // theta in (1, 1.8) alone outweighs |theta| < 1 (D142's 100-digit integral: P(theta > 1) = 0.87).
    expect(logMarginal(1.42)).toBeGreaterThan(logMarginal(0.69));
    let inside = 0;
    let outside = 0;
    for (let th = -0.995; th < 1.8; th += 0.005) (th < 1 ? (inside += Math.exp(logMarginal(th) + 30)) : (outside += Math.exp(logMarginal(th) + 30)));
    expect(outside).toBeGreaterThan(2 * inside);
  });

  it("the cause: chains started outside the invertible region have gradients near 1e30; their windows no longer make the pooled metric", async () => {
    const ld = compile(ma1(armaData()));
    const settings = { numWarmup: 500, metric: "low-rank" as const, schedule: "nutpie" as const, metricUpdate: "external" as const };
    let states: ChainState[] = [0, 1, 2, 3].map((c) => initChainState(ld, settings, { seed: 1, chain: c }));
    states = states.map((s) => runIterations(ld, s, 1000, settings).state);
    expect(states.every((s) => s.awaitingMetric)).toBe(true);
    // Each chain's gradient scale in its window: max over coordinates of |mean| and sd (the
    // estimator keeps co-moments at this dimension, D235).
    const maxGrad = states.map((s) => {
      const e = compactEstimator(s.fisher!.background, ld.dim);
      if (e.kind !== "low-rank" || e.moments === undefined) throw new Error("a low-rank estimator of co-moments expected");
      const { meanG, comG } = e.moments;
      return Math.max(...Array.from(meanG, (m, i) => Math.max(Math.abs(m), Math.sqrt(comG[i * ld.dim + i]! / e.n))));
    });
    // Some chains sit where the error recursion explodes (the "poisoned" windows)...
    expect(maxGrad.filter((g) => g > 1e15).length).toBeGreaterThan(0);
    expect(maxGrad.filter((g) => g < 1e3).length).toBeGreaterThan(0);
    // ...and their log densities are far below the best chain's: they are left out of the pool.
    const poolable = poolableChains(states.map((s) => s.logDensity), ld.dim);
    maxGrad.forEach((g, k) => expect(poolable[k], `chain ${k}, max |grad| ${g}`).toBe(g < 1e3));
    // Pooled over all four, as before: applying it failed ("Posterior is improper") or crashed
    // the eigendecomposition; now every chain takes it or keeps its metric, and none throws.
    const all = mergeEstimators(states.map((s) => compactEstimator(s.fisher!.background, ld.dim)), ld.dim);
    for (const s of states) {
      const next = applyWindowUpdate(ld, s, { kind: "fisher", foreground: all }, settings);
      expect(next.awaitingMetric).toBe(false);
      expect(Number.isFinite(next.stepSize) && next.stepSize > 0).toBe(true);
    }
  });
});

describe("metrics that cannot be used are not applied", () => {
  const ld = compile(
    model("normal2", (b) => {
      b.param("a", dist.normal(0, 1));
      b.param("b", dist.normal(0, 10));
    }),
  );
  const atWindowEnd = (): ChainState => {
    const settings = { numWarmup: 200, metricUpdate: "external" as const };
    let s = initChainState(ld, settings, { seed: 3 });
    while (!s.awaitingMetric) s = runIterations(ld, s, 500, settings).state;
    return s;
  };

  it("a non-finite or non-positive metric keeps the previous one, and the state says why", () => {
    const s = atWindowEnd();
    for (const inverse of [Float64Array.of(NaN, 1), Float64Array.of(1, 0), Float64Array.of(Infinity, 1)]) {
      const next = setMetricAtWindowEnd(ld, s, { kind: "diag", inverse });
      expect(Array.from(next.metric.inverse)).toEqual(Array.from(s.metric.inverse));
      expect(next.keptMetrics?.count).toBe(1);
      expect(next.keptMetrics?.reason).toMatch(/not finite|not positive|non-finite/);
      expect(next.awaitingMetric).toBe(false);
    }
  });

  it("a metric with which no step size can be found (1e-300) keeps the previous one instead of failing the chain", () => {
    const s = atWindowEnd();
    const next = setMetricAtWindowEnd(ld, s, { kind: "diag", inverse: Float64Array.of(1e-300, 1e-300) });
    expect(Array.from(next.metric.inverse)).toEqual(Array.from(s.metric.inverse));
    expect(next.keptMetrics?.reason).toMatch(/no step size found with the new metric/);
  });

  it("a dense metric that is not positive definite is refused", () => {
    const settings = { numWarmup: 200, metric: "dense" as const, metricUpdate: "external" as const };
    let s = initChainState(ld, settings, { seed: 3 });
    while (!s.awaitingMetric) s = runIterations(ld, s, 500, settings).state;
    const next = setMetricAtWindowEnd(ld, s, { kind: "dense", inverse: Float64Array.of(1, 2, 2, 1) });
    expect(Array.from(next.metric.inverse)).toEqual(Array.from(s.metric.inverse));
    expect(next.keptMetrics?.reason).toMatch(/positive definite/);
  });

  it("pooling: chains far below the best log density are left out, at least the best is in", () => {
    expect(poolingGap(4)).toBe(50);
    expect(poolingGap(100)).toBe(100);
    expect(poolableChains([-30, -35, -1e20, -90], 3)).toEqual([true, true, false, false]);
    expect(poolableChains([-Infinity, -5], 3)).toEqual([false, true]);
    expect(poolableChains([NaN, NaN], 3)).toEqual([true, true]);
  });
});

describe("2. Node flags the threads cannot take", () => {
  it("threadFlags keeps what a thread accepts; the heap limit is read for resourceLimits", () => {
    expect(threadFlags(["--max-old-space-size=4096", "--expose-gc", "--enable-source-maps", "--stack-size=2000"])).toEqual(["--enable-source-maps"]);
    expect(threadFlags([])).toEqual([]);
    expect(processHeapLimitMb(["--expose-gc", "--max-old-space-size=4096"])).toBe(4096);
    expect(processHeapLimitMb(["--max_old_space_size", "512"])).toBe(512);
    expect(processHeapLimitMb(["--expose-gc"])).toBeNull();
  });

  it("a child `node --max-old-space-size=512 --expose-gc --stack-size=2000` samples on worker threads", async () => {
    const index = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "bayests-flags-"));
    const script = join(dir, "flags.mjs");
    writeFileSync(
      script,
      `import { model, dist, sample, createWorkerPool } from ${JSON.stringify(index)};
const m = model("n", (b) => { b.param("mu", dist.normal(1, 2)); });
const p = await sample(m, { chains: 2, warmup: 100, draws: 100, seed: 1, progress: false }).result;
const pool = createWorkerPool({ threads: 1 });
await pool.close();
console.log(JSON.stringify({ status: p.status, draws: p.numDraws, gc: typeof globalThis.gc }));`,
    );
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ["--max-old-space-size=512", "--expose-gc", "--stack-size=2000", script], { timeout: 170_000 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, stderr }),
      );
    });
    expect(out.stderr).not.toMatch(/invalid execArgv|PoolStartError/);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout.trim().split("\n").at(-1)!)).toEqual({ status: "completed", draws: 100, gc: "function" });
  }, 180_000);
});

describe("4. Pathfinder with draws of log density -Infinity", () => {
  const edge = model("edge", (b) => {
    const x = b.param("x", dist.normal(0.5, 1));
    b.potential("edge", log(sub(1.2, x)));
  });

  it("draws beyond the edge get importance weight zero: the run resolves, every resampled draw is below 1.2", async () => {
    const p = await pathfinder(edge, { seed: 1 }).result;
    const xs = p.draws("x").flatMap((c) => Array.from(c));
    expect(xs.length).toBe(1000);
    expect(xs.every((x) => x < 1.2)).toBe(true);
    expect(Number.isFinite(p.paretoK)).toBe(true);
  });

  it("pathfinderEffect succeeds, or fails in its error channel: never a defect", async () => {
    const exit = await Effect.runPromiseExit(Effect.either(pathfinderEffect(edge, { seed: 2 })));
    expect(exit._tag).toBe("Success");
    if (exit._tag === "Success") expect(exit.value._tag).toBe("Right");
  });
});

describe("5. a four-parameter ODE posterior with two unknown initial states (fixed-step RK4, targetAccept 0.99)", () => {
  it("metric low-rank at seed 2 (the issue's seed) agrees with Stan's diagonal, every chain at the same scale", async () => {
    const m = twoCompartmentOde();
    const names = ["k1", "k2", "a1", "a2"];
    const ref = sampleSync(compile(m), { chains: 4, warmup: 1000, draws: 1000, seed: 101, targetAccept: 0.99 }).summary(names, false);
    const p = await sample(m, { chains: 4, warmup: 1000, draws: 1000, seed: 2, targetAccept: 0.99, metric: "low-rank", progress: false }).result;
    const got = p.summary(names, false);
    got.forEach((g, i) => {
      const r = ref[i]!;
      expect(Math.abs(g.mean - r.mean) / Math.hypot(g.mcseMean, r.mcseMean), g.name).toBeLessThan(4);
      expect(Math.abs(g.sd - r.sd) / Math.hypot(g.mcseSd, r.mcseSd), g.name).toBeLessThan(4);
      // The issue's stranded chain gave R-hat 1.02 (sd 2.5x); k1's long tail gives 1.011-1.013
      // at seeds 1-2 with every chain right (bulk ESS about 300).
      expect(g.rhat, g.name).toBeLessThan(1.02);
    });
    // No chain at another scale: each chain's sd of k1 (the long-tailed parameter) within a factor 1.5 of the whole run's.
    const sd = (xs: Float64Array) => {
      const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
    };
    for (const c of p.draws("k1")) {
      expect(sd(c) / got[0]!.sd).toBeLessThan(1.5);
      expect(sd(c) / got[0]!.sd).toBeGreaterThan(1 / 1.5);
    }
  }, 300_000);
});

describe("6. smaller: the failed run's message and summary, a module model's message", () => {
  it("every chain failing during warmup: the message says that there are no sampling draws", async () => {
    const m = model("n", (b) => void b.param("mu", dist.normal(0, 1)));
    const run = sample(m, {
      chains: 2,
      warmup: 100,
      draws: 50,
      seed: 1,
      progress: false,
      restart: { maxRestarts: 0 },
      faults: [0, 1].map((chain) => ({ chain, atIteration: 30, kind: "throw" as const, attempts: Infinity })),
    });
    const e = await run.result.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(RunFailedError);
    const err = e as RunFailedError;
    expect(err.message).toMatch(/every chain failed during warmup: error\.posterior holds each chain's status and warmup trace, and no sampling draw/);
    expect(err.posterior.realDraws()).toEqual([0, 0]);
    expect(err.posterior.summary()).toEqual([]);
  });

  it("a module model with a syntax error: 'could not be loaded' once, naming the module", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bayests-syntax-"));
    const file = join(dir, "broken.mjs");
    writeFileSync(file, "export default {{ dim: 1 \n");
    const e = await sample(moduleModel(file), { chains: 1, warmup: 10, draws: 10, seed: 1, progress: false }).result.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(InvalidModelError);
    const message = (e as Error).message;
    expect(message.match(/could not be loaded/g)?.length, message).toBe(1);
    expect(message).toContain(`module model ${file} could not be loaded: `);
  });
});


/**
 * Issue 9's reproductions for the model and option side (findings 1, 5, 6, 7, 10), written
 * against the API that main had, so that each fails there and passes here. Finding 11's
 * reproduction is in test/diagnostics.test.ts ("folded ranks"); the fuller injection tests
 * are in injection.test.ts, the fuzz suite in fuzz.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  InvalidOptionError,
  ModelError,
  add,
  compile,
  constant,
  dist,
  liveWorkerThreads,
  model,
  sample,
  sampleSync,
  type Model,
  type SampleOptions,
} from "../../src/index.js";
import { guardProcessExit, thrown } from "./helpers.js";

guardProcessExit();

/** `sample` must throw before any work starts; a run it started anyway is aborted first. */
async function sampleError(m: Model, options: SampleOptions): Promise<unknown> {
  let run: ReturnType<typeof sample> | undefined;
  try {
    run = sample(m, options);
  } catch (e) {
    expect(liveWorkerThreads()).toBe(0);
    return e;
  }
  await run.abort().catch(() => undefined);
  throw new Error("sample started a run instead of throwing");
}

function expectModelError(f: () => unknown, message: RegExp): ModelError {
  const e = thrown(f);
  expect(e).toBeInstanceOf(ModelError);
  expect((e as ModelError).message).toMatch(message);
  return e as ModelError;
}

const withParam = (define: (m: Parameters<Parameters<typeof model>[1]>[0]) => void) =>
  model("m", (m) => {
    m.param("mu", dist.normal(0, 1));
    define(m);
  });

describe("finding 1: a shape is never pasted into generated code", () => {
  it("the issue's reproduction is a ModelError before any work starts; exit is never called", async () => {
    const e = "2; i0++) { process.exit(42) } for (let i0 = 0; i0 < 0";
    expectModelError(() => model("m", (m) => void m.param("x", dist.normal(0, 1), { shape: [e as unknown as number] })), /parameter x: shape entry 0/);
  });
});

describe("finding 5: empty data are the empty sum; zero-length parameters are a ModelError", () => {
  const emptyData = () =>
    model("m", (m) => {
      const mu = m.param("mu", dist.normal(0, 1));
      m.observe("y", dist.normal(mu, 1), []);
    });

  it("an empty observation adds 0: the log density is the prior's (sampleSync and sample)", async () => {
    const d = compile(emptyData());
    const prior = compile(model("p", (m) => void m.param("mu", dist.normal(0, 1))));
    const q = Float64Array.of(0.7);
    expect(d.logDensityGradient(q, new Float64Array(1))).toBe(prior.logDensityGradient(q, new Float64Array(1)));
    const post = sampleSync(d, { chains: 2, warmup: 200, draws: 400, seed: 5 });
    const mean = post.draws("mu").flat().reduce((s, c) => s + c.reduce((a, v) => a + v, 0), 0) / 800;
    expect(Math.abs(mean)).toBeLessThan(4 * (1 / Math.sqrt(200))); // the prior N(0, 1), within 4 MCSE (ESS >= 200)
    const run = await sample(emptyData(), { chains: 2, threads: 1, warmup: 200, draws: 200, seed: 5 }).result;
    expect(run.chainStatus.map((c) => c.status)).toEqual(["completed", "completed"]);
    expect(run.draws("mu").every((c) => c.every(Number.isFinite))).toBe(true);
  });

  it("a parameter of shape [0] is a ModelError when the model is built", () => {
    expectModelError(() => model("m", (m) => void m.param("x", dist.normal(0, 1), { shape: [0] })), /parameter x has shape \[0\]/);
    expectModelError(() => withParam((m) => void m.param("x", { shape: [3, 0] })), /parameter x has shape \[3, 0\]/);
  });
});

describe("finding 6: absurd sizes are typed errors before any work starts, naming the node or option and the limit", () => {
  it("shapes", () => {
    expectModelError(() => model("m", (m) => void m.param("x", dist.normal(0, 1), { shape: [Infinity] })), /parameter x: shape entry 0 is Infinity/);
    expectModelError(() => model("m", (m) => void m.param("x", dist.normal(0, 1), { shape: [1e9] })), /parameter x .*1000000000 elements.*2\^28/);
    expectModelError(() => model("m", (m) => void m.param("x", dist.normal(0, 1), { shape: [2 ** 31] })), /parameter x .*2\^28/);
    expectModelError(() => model("m", (m) => void m.param("x", dist.gaussianRandomWalk(1, 1e7))), /parameter x has 10000000 unconstrained coordinates.*2\^22/);
  });

  it("draws and warmup times quantities past 2^29, draws: 1e15 (sample and sampleSync)", async () => {
    const m = withParam((b) => void b.deterministic("d", b.param("v", { shape: [63] })));
    for (const options of [{ draws: 2 ** 22, chains: 1 }, { warmup: 2 ** 22, chains: 1 }, { draws: 1e15 }]) {
      const e = await sampleError(m, { ...options, threads: 1 });
      expect(e, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError);
      expect((e as Error).message).toMatch(/2\^29/);
      const s = thrown(() => sampleSync(compile(m), options));
      expect(s).toBeInstanceOf(InvalidOptionError);
      expect((s as Error).message).toMatch(/2\^29/);
    }
  });

  it("workerResourceLimits: { stackSizeMb: 0.01 } (which killed the process)", async () => {
    const e = await sampleError(withParam(() => undefined), { workerResourceLimits: { stackSizeMb: 0.01 } });
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect((e as InvalidOptionError).option).toBe("workerResourceLimits.stackSizeMb");
    expect((e as Error).message).toMatch(/\[1, 1024\]/);
  });
});

describe("finding 7: a sum built in a JavaScript loop is linear in its depth", () => {
  for (const depth of [20_000, 30_000]) {
    it(`e = add(e, c) ${depth} times builds, compiles and evaluates exactly`, () => {
      const c = 1e-3;
      const m = model("deep", (b) => {
        const x = b.param("x", dist.normal(0, 1));
        let e = x;
        for (let i = 0; i < depth; i++) e = add(e, c);
        expect(e.label.length).toBeLessThan(100);
        b.observe("y", dist.normal(e, 1), [0.5]);
      });
      const d = compile(m);
      const x = 0.25;
      let e = x;
      for (let i = 0; i < depth; i++) e += c;
      const g = new Float64Array(1);
      const lp = d.logDensityGradient(Float64Array.of(x), g);
      // prior N(0, 1) at x and likelihood N(0.5 | e, 1), up to their constants (the compiled density leaves them out).
      const expected = -0.5 * x * x - 0.5 * (0.5 - e) ** 2;
      expect(lp).toBeCloseTo(expected, 9);
      expect(g[0]).toBeCloseTo(-x + (0.5 - e), 9);
      expect(sampleSync(d, { chains: 1, warmup: 10, draws: 10, seed: 1 }).numDraws).toBe(10);
    });
  }
});

describe("finding 10: no silent conversions", () => {
  it("data must be numbers: null, '', true, [2], '0x10' are ModelErrors naming the node, index and value", () => {
    const bad: [unknown, RegExp][] = [
      [[1, null, 3], /data x\[1\] is null/],
      [[1, "", 3], /data x\[1\] is "" \(a string\)/],
      [[true, 2], /data x\[0\] is true/],
      [[1, [2], 3], /data x\[1\] is an array/],
      [["0x10"], /data x\[0\] is "0x10"/],
      ["123", /data x is "123"/],
      [[[1, 2], [3]], /data x\[1\] has 1 entries/],
    ];
    for (const [value, message] of bad) {
      expectModelError(() => withParam((m) => void m.data("x", value as number[])), message);
    }
    expectModelError(() => withParam((m) => m.observe("y", dist.normal(0, 1), "123" as unknown as number[])), /observed y is "123"/);
    expectModelError(() => withParam((m) => m.observe("y", dist.normal(0, 1), [1, null as unknown as number])), /observed y\[1\] is null/);
  });

  it("an impossible observation is an error when the model is built, not a dropped -Infinity", () => {
    expectModelError(() => withParam((m) => m.observe("y", dist.bernoulli(0), [0, 1])), /observed y: its log-likelihood under bernoulli is not finite/);
  });

  it("names that every object has (__proto__, constructor) are ModelErrors", () => {
    for (const name of ["__proto__", "constructor", "hasOwnProperty"]) {
      expectModelError(() => withParam((m) => void m.param(name, dist.normal(0, 1))), /reserved/);
    }
  });

  it("misspelt option keys are errors from JavaScript too: parameter, data, model and sampleSync options", () => {
    expectModelError(() => withParam((m) => void m.param("x", dist.normal(0, 1), { shpae: [3] } as never)), /parameter x: unknown option "shpae"/);
    expectModelError(() => withParam((m) => void m.param("x", { lowr: 0 } as never)), /unknown option "lowr"/);
    expectModelError(() => withParam((m) => void m.data("x", [1], { integr: true } as never)), /unknown option "integr"/);
    expectModelError(() => model("m", (m) => void m.param("x"), { noncentred: false } as never), /unknown option "noncentred"/);
    const e = thrown(() => sampleSync(compile(withParam(() => undefined)), { draw: 10 } as never));
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect((e as InvalidOptionError).option).toBe("draw");
  });

  it("a rate that can be negative gives a build-time warning; a bounded one does not", () => {
    const warned = model("m", (m) => m.observe("k", dist.poisson(m.param("a")), [1, 2]));
    expect(warned.warnings).toHaveLength(1);
    expect(warned.warnings[0]).toMatch(/observed k: argument lambda of poisson \(a\) must be > 0.*poissonLog/);
    const fine = model("m", (m) => m.observe("k", dist.poisson(m.param("a", { lower: 0 })), [1, 2]));
    expect(fine.warnings).toEqual([]);
  });

  it("a duplicate name names the kinds of both nodes", () => {
    expectModelError(
      () => withParam((m) => { m.data("t_cens", [1, 2]); m.potential("t_cens", m.param("x")); }),
      /potential "t_cens" is already defined in this model \(as data\)/,
    );
  });

  it("plain arrays as distribution arguments are constants, as in observe", () => {
    const arrays = compile(model("a", (m) => {
      m.param("theta", dist.dirichlet([4, 2]));
      m.observe("y", dist.normal([0, 3], m.param("s", { lower: 0 })), [0.5, 2.5]);
    }));
    const constants = compile(model("c", (m) => {
      m.param("theta", dist.dirichlet(constant([4, 2])));
      m.observe("y", dist.normal(constant([0, 3]), m.param("s", { lower: 0 })), [0.5, 2.5]);
    }));
    const q = Float64Array.of(0.3, -0.2);
    expect(arrays.logDensityGradient(q, new Float64Array(2))).toBe(constants.logDensityGradient(q, new Float64Array(2)));
    expect(thrown(() => dist.normal("0" as unknown as number, 1))).toBeInstanceOf(ModelError);
    expect(thrown(() => dist.normal(null as unknown as number, 1))).toBeInstanceOf(ModelError);
  });

  it("inits must be numbers too", async () => {
    const m = withParam(() => undefined);
    const e = await sampleError(m, { chains: 1, threads: 1, inits: { mu: "3" as unknown as number } });
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect((e as Error).message).toMatch(/mu is "3"/);
    expect(thrown(() => sampleSync(compile(m), { chains: 1, inits: { mu: [true] as unknown as number[] } }))).toBeInstanceOf(InvalidOptionError);
  });
});

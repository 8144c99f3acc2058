/**
 * What a newcomer hit (issue 25): unknown options that name the nearest known one, durations
 * whose bare numbers are milliseconds, `sample(model, null)`, one error class for unknown
 * quantities, `summary()` without lp__, and `diagnose` with its thresholds.
 */
import { describe, expect, it } from "vitest";
import { compile, diagnose, dist, InvalidOptionError, model, ModelError, sample, sampleSync, UnknownQuantityError } from "../src/index.js";
import { diagnose as diagnoseInput, type DiagnoseInput } from "../src/diagnostics/diagnose.js";
import { validateOptions } from "../src/api/sample-options.js";
import { summary } from "../src/diagnostics/index.js";
import { mulberry32 } from "./helpers/random.js";

const eightSchools = model("eight_schools", (m) => {
  const sigma = m.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8] });
  m.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12]);
});

const optionError = (f: () => unknown): InvalidOptionError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidOptionError);
    return e as InvalidOptionError;
  }
  throw new Error("no error");
};

describe("options", () => {
  it("an unknown option names the nearest known one: Stan's and PyMC's names, and typos", () => {
    expect(optionError(() => validateOptions({ adapt_delta: 0.9 } as never)).message).toMatch(/^unknown option adapt_delta: did you mean targetAccept\?/);
    expect(optionError(() => validateOptions({ num_warmup: 10 } as never)).message).toMatch(/did you mean warmup\?/);
    expect(optionError(() => validateOptions({ tune: 10 } as never)).message).toMatch(/did you mean warmup\?/);
    expect(optionError(() => validateOptions({ max_treedepth: 12 } as never)).message).toMatch(/did you mean maxTreeDepth\?/);
    expect(optionError(() => validateOptions({ chians: 2 } as never)).message).toMatch(/did you mean chains\?/);
    // Nested options too.
    const nested = optionError(() => validateOptions({ sampler: { kapa: 0.7 } } as never));
    expect(nested.option).toBe("sampler.kapa");
    expect(nested.message).toMatch(/did you mean kappa\?/);
    expect(optionError(() => validateOptions({ earlyStop: { rhatt: 1.01 } } as never)).message).toMatch(/earlyStop\.rhatt: did you mean rhat\?/);
    // Nothing close: the list of known options.
    expect(optionError(() => validateOptions({ zzzzzzzz: 1 } as never)).message).toMatch(/must be a known option \(chains, warmup/);
  });

  it("durations: Effect's strings, bare numbers in milliseconds; a timeout of a few ms is refused as seconds without their unit", () => {
    expect(optionError(() => validateOptions({ chunkTimeout: 5 })).message).toMatch(/a bare number is milliseconds, so 5 is 5 ms \(for seconds write "5 seconds"\)/);
    expect(optionError(() => validateOptions({ cluster: { connectTimeout: 5 } })).option).toBe("cluster.connectTimeout");
    expect(validateOptions({ chunkTimeout: "5 seconds" }).policy.chunkTimeout).toEqual(validateOptions({ chunkTimeout: 5000 }).policy.chunkTimeout);
  });

  it("sample(model, null) is a typed error", () => {
    expect(() => sample(eightSchools, null as never)).toThrow(InvalidOptionError);
    expect(() => sample(eightSchools, null as never)).toThrow(/options of sample must be an object/);
  });

  it("`warmup: N` is N warmup iterations; the adaptive length only without `warmup` or when asked for", () => {
    expect(validateOptions({ warmup: 1000 }).adaptiveWarmup).toBeNull();
    expect(validateOptions({ warmup: 1000, adaptiveWarmup: true }).adaptiveWarmup).not.toBeNull();
  });
});

describe("posterior", () => {
  const post = sampleSync(compile(eightSchools), { chains: 2, warmup: 200, draws: 200, seed: 5 });

  it("one error class for unknown names; a vector's name lists its elements", () => {
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return null;
    };
    for (const f of [() => post.draws("nope"), () => post.summary(["nope"]), () => post.warmupDraws("nope"), () => post.draws("theta")]) {
      expect(thrown(f)).toBeInstanceOf(UnknownQuantityError);
    }
    const vector = thrown(() => post.draws("theta")) as UnknownQuantityError;
    expect(vector.known).toEqual(Array.from({ length: 8 }, (_, i) => `theta[${i + 1}]`));
    expect(vector.message).toMatch(/"theta" is a variable of 8 elements, not one quantity: ask for one of theta\[1\], theta\[2\]/);
    // summary takes the variable (as an array or a string).
    expect(post.summary("theta").map((r) => r.name)).toEqual(vector.known);
  });

  it("summary() leaves lp__ out unless asked; formatSummary prints it, as Stan does", () => {
    expect(post.summary().map((r) => r.name)).toEqual(post.names);
    expect(post.summary(undefined, { includeLp: true })[0]!.name).toBe("lp__");
    expect(post.formatSummary()).toMatch(/^lp__\s/m);
  });

  it("diagnose: one finding per check with its threshold; formatSummary and diagnose(posterior) agree", () => {
    const d = diagnose(post);
    expect(d.findings.map((f) => f.check)).toEqual(["divergences", "tree-depth", "ebfmi", "rhat", "ess-bulk", "ess-tail"]);
    for (const f of d.findings) {
      expect(f.threshold.length).toBeGreaterThan(0);
      expect(post.formatSummary()).toContain(f.message);
    }
    const div = post.divergences().reduce((a, b) => a + b, 0);
    expect(d.findings[0]!.level).toBe(div > 0 ? "bad" : "ok");
    expect(d.findings[0]!.message).toMatch(new RegExp(`^divergent transitions: ${div} of 400`));
  });
});

describe("diagnose's checks on known inputs", () => {
  const rand = mulberry32(3);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const chain = (mean: number, n = 500) => Float64Array.from({ length: n }, () => mean + 0.1 * normal());
  const base = (rows: DiagnoseInput["rows"], extra: Partial<DiagnoseInput> = {}): DiagnoseInput => ({
    chains: 2,
    drawsPerChain: 500,
    rows,
    nuts: { divergences: [0, 3], treeDepthHits: [0, 0], maxTreeDepth: 10, ebfmi: [0.9, 0.2] },
    ...extra,
  });

  it("divergences, E-BFMI: flagged with advice", () => {
    const rows = summary([{ name: "x", chains: [chain(0), chain(0)] }]);
    const d = diagnoseInput(base(rows));
    expect(d.ok).toBe(false);
    const by = Object.fromEntries(d.findings.map((f) => [f.check, f]));
    expect(by["divergences"]!.level).toBe("bad");
    expect(by["divergences"]!.advice).toMatch(/targetAccept/);
    expect(by["ebfmi"]!.level).toBe("warn");
    expect(by["ebfmi"]!.message).toMatch(/chain 1: 0\.20/);
    expect(by["rhat"]!.level).toBe("ok");
  });

  it("tree depth hit under a diagonal metric: the advice names the low-rank metric; under another metric it does not", () => {
    const rows = summary([{ name: "x", chains: [chain(0), chain(0)] }]);
    const hits = (metric?: string) =>
      diagnoseInput(base(rows, { nuts: { divergences: [0, 0], treeDepthHits: [4, 0], maxTreeDepth: 10, ebfmi: [0.9, 0.9], ...(metric !== undefined ? { metric } : {}) } })).findings.find((f) => f.check === "tree-depth")!;
    for (const metric of ["diag", "diag_e", "diag-fisher"]) {
      expect(hits(metric).level).toBe("warn");
      expect(hits(metric).advice).toMatch(/raise maxTreeDepth.*metric "low-rank".*--metric low-rank/);
    }
    for (const metric of [undefined, "dense", "low-rank", "dense_e"]) expect(hits(metric).advice).not.toMatch(/low-rank/);
  });

  it("label switching: two components swapped between chains", () => {
    // Chain 0 has (mu[1], mu[2]) near (-2, 2); chain 1 near (2, -2).
    const rows = summary([
      { name: "mu[1]", chains: [chain(-2), chain(2)] },
      { name: "mu[2]", chains: [chain(2), chain(-2)] },
    ]);
    const vectorMeans = new Map([["mu", { elements: ["mu[1]", "mu[2]"], means: [[-2, 2], [2, -2]] }]]);
    const d = diagnoseInput(base(rows, { vectorMeans }));
    const f = d.findings.find((x) => x.check === "label-switching");
    expect(f?.level).toBe("bad");
    expect(f?.message).toMatch(/label switching in mu/);
    // Chains that disagree without a permutation are not called label switching.
    const other = new Map([["mu", { elements: ["mu[1]", "mu[2]"], means: [[-2, 2], [0, 5]] }]]);
    expect(diagnoseInput(base(rows, { vectorMeans: other })).findings.some((x) => x.check === "label-switching")).toBe(false);
  });

  it("resampled draws: R-hat and ESS not applicable; Pareto k graded", () => {
    const rows = summary([{ name: "x", chains: [chain(0), chain(0)] }]);
    const d = diagnoseInput(base(rows, { nuts: null, resampled: { distinct: 490 }, paretoK: 0.93 }));
    expect(d.findings.map((f) => f.check)).toEqual(["resampled", "pareto-k"]);
    expect(d.findings[0]!.message).toMatch(/R-hat and ESS do not apply/);
    expect(d.findings[1]!.level).toBe("bad");
  });
});

describe("data", () => {
  it("an object with numeric keys is not an array", () => {
    expect(() => model("m", (m) => m.data("x", { "0": 1, "1": 2 } as never))).toThrow(/data must be numbers, arrays of numbers or typed arrays/);
  });
});

describe("distributions from plain JavaScript", () => {
  it("an extra argument is a typed error naming the distribution and the counts; the right count still works", () => {
    const call = (f: unknown, ...args: unknown[]) => () => (f as (...a: unknown[]) => unknown)(...args);
    expect(call(dist.normal, 0, 1, 5)).toThrow(ModelError);
    expect(call(dist.normal, 0, 1, 5)).toThrow("dist.normal takes 2 arguments, got 3");
    expect(call(dist.exponential, 1, 2)).toThrow("dist.exponential takes 1 argument, got 2");
    expect(call(dist.truncated, dist.normal(0, 1), { lower: 0 }, 3)).toThrow("dist.truncated takes 2 arguments, got 3");
    // Every distribution and combinator of the namespace checks its count.
    for (const [name, f] of Object.entries(dist)) {
      if (typeof f !== "function" || name.endsWith("Draw")) continue;
      expect(call(f, ...Array.from({ length: f.length + 1 }, () => 1)), name).toThrow(`dist.${name} takes`);
    }
    expect(dist.normal(0, 1).name).toBe("normal");
  });
});

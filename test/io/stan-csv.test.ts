import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { allocateStats, Posterior, type ChainResult } from "../../src/api/posterior.js";
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/compile.js";
import {
  formatStanCsv,
  formatStanNumber,
  parseStanCsv,
  parseStanNumber,
  stanCsvColumns,
  stanFlatName,
  writeStanCsv,
} from "../../src/io/index.js";
import { dist, model } from "../../src/model/index.js";

const SAMPLER_HEADER = "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,";

/** A small model with a scalar, a 2 x 3 matrix parameter (row-major in our names) and a constrained scalar. */
function smallModel() {
  return compile(
    model("csvtest", (m) => {
      m.param("mu", dist.normal(0, 1));
      m.param("L", dist.normal(0, 1), { shape: [2, 3] });
      m.param("sigma", dist.exponential(1));
    }),
  );
}

/** A hand-made posterior with awkward numbers (non-finite, tiny, huge). */
function handMade(): Posterior {
  const names = ["a", "b[1]", "b[2]"];
  const n = 3;
  const chain = (c: number): ChainResult => {
    const stats = allocateStats(n);
    stats.lp.set([-1.5, -2.25, NaN]);
    stats.acceptStat.set([0.9, 1, 0.123456789012345]);
    stats.stepSize.fill(0.5);
    stats.treeDepth.set([1, 2, 3]);
    stats.nLeapfrog.set([1, 3, 7]);
    stats.divergent.set([0, 0, 1]);
    stats.energy.set([2, 3, 4]);
    return {
      chain: c,
      // quantity-major: a then b[1] then b[2]
      values: Float64Array.from([1e-300, 0.1 + 0.2, -Infinity, 1e21, Infinity, NaN, c, -0, 5e-324]),
      stats,
      warmupValues: null,
      warmupStats: allocateStats(2),
      stepSize: 0.5,
      metric: { kind: "diag", inverse: Float64Array.from([1, 2, 3]) },
      gradientEvaluations: 11,
      warmupSeconds: 0.25,
      samplingSeconds: 0.125,
    };
  };
  return new Posterior({ names, paramCount: 3, numWarmup: 2, numDraws: n, seed: 7, metric: "diag", chains: [chain(0), chain(1)] });
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("Stan CSV writer", () => {
  it("names columns as Stan does: dots, and column-major order within a variable", () => {
    expect(stanFlatName("mu")).toBe("mu");
    expect(stanFlatName("theta[3]")).toBe("theta.3");
    expect(stanFlatName("L[2,1]")).toBe("L.2.1");
    const names = ["mu", "L[1,1]", "L[1,2]", "L[1,3]", "L[2,1]", "L[2,2]", "L[2,3]", "sigma", "z[1]", "z[2]"];
    const { columns, source } = stanCsvColumns(names);
    expect(columns).toEqual(["mu", "L.1.1", "L.2.1", "L.1.2", "L.2.2", "L.1.3", "L.2.3", "sigma", "z.1", "z.2"]);
    expect(source.map((k) => names[k])).toEqual(["mu", "L[1,1]", "L[2,1]", "L[1,2]", "L[2,2]", "L[1,3]", "L[2,3]", "sigma", "z[1]", "z[2]"]);
    expect(() => stanCsvColumns(["a,b"])).toThrow(/cannot be a CSV column/);
  });

  it("writes numbers that read back exactly, non-finite ones as CmdStan does", () => {
    for (const x of [0, 1, -2.5, 0.1 + 0.2, 1e-300, 5e-324, 1e21, -1.7976931348623157e308, Math.PI]) {
      expect(parseStanNumber(formatStanNumber(x))).toBe(x);
    }
    expect(formatStanNumber(NaN)).toBe("nan");
    expect(formatStanNumber(Infinity)).toBe("inf");
    expect(formatStanNumber(-Infinity)).toBe("-inf");
    expect(parseStanNumber("nan")).toBeNaN();
    expect(parseStanNumber("-inf")).toBe(-Infinity);
    expect(() => parseStanNumber("x")).toThrow(/not a number/);
  });

  it("has CmdStan's layout: config comments, column header, adaptation comment, draws, timing", () => {
    const post = handMade();
    const text = formatStanCsv(post, 1, { model: "hand", startTime: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });
    expect(text.endsWith("# \n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    const h = lines.findIndex((l) => !l.startsWith("#"));
    // config block
    expect(lines.slice(0, h).every((l) => l.startsWith("#"))).toBe(true);
    expect(lines).toContain("# model = hand_model");
    expect(lines).toContain("# start_datetime = 2024-01-02 03:04:05 UTC");
    expect(lines).toContain("# method = sample (Default)");
    expect(lines).toContain("#     num_samples = 3");
    expect(lines).toContain("#     num_warmup = 2");
    expect(lines).toContain("#     save_warmup = 0 (Default)");
    expect(lines).toContain("#       delta = 0.8 (Default)");
    expect(lines).toContain("#             max_depth = 10 (Default)");
    expect(lines).toContain("#         metric = diag_e (Default)");
    expect(lines).toContain("# id = 2");
    expect(lines).toContain("#   seed = 7");
    // column header
    expect(lines[h]).toBe(SAMPLER_HEADER + "a,b.1,b.2");
    // adaptation comment right after the header (no warmup draws saved)
    expect(lines.slice(h + 1, h + 5)).toEqual([
      "# Adaptation terminated",
      "# Step size = 0.5",
      "# Diagonal elements of inverse mass matrix:",
      "# 1, 2, 3",
    ]);
    // draws
    expect(lines.slice(h + 5, h + 8)).toEqual([
      "-1.5,0.9,0.5,1,1,0,2,1e-300,1e+21,1",
      "-2.25,1,0.5,2,3,0,3,0.30000000000000004,inf,0",
      "nan,0.123456789012345,0.5,3,7,1,4,-inf,nan,5e-324",
    ]);
    // timing, as rstan::read_stan_csv expects it
    expect(lines.slice(h + 8)).toEqual([
      "# ",
      "#  Elapsed Time: 0.250000 seconds (Warm-up)",
      "#                0.125000 seconds (Sampling)",
      "#                0.375000 seconds (Total)",
      "# ",
    ]);
  });

  it("writes one file per chain that round-trips through the parser (values, stats, adaptation, timing)", () => {
    const density = smallModel();
    const post = sampleSync(density, { chains: 2, warmup: 150, draws: 120, seed: 3, saveWarmup: true });
    const dir = mkdtempSync(join(tmpdir(), "stan-csv-"));
    dirs.push(dir);
    const files = writeStanCsv(post, join(dir, "out", "csvtest"), { model: "csvtest", saveWarmup: true });
    expect(files).toEqual([join(dir, "out", "csvtest_1.csv"), join(dir, "out", "csvtest_2.csv")]);
    const { columns, source } = stanCsvColumns(post.names);
    expect(columns).toEqual(["mu", "L.1.1", "L.2.1", "L.1.2", "L.2.2", "L.1.3", "L.2.3", "sigma"]);
    files.forEach((file, c) => {
      const csv = parseStanCsv(readFileSync(file, "utf8"));
      const chain = post.chains[c]!;
      expect(csv.columns).toEqual([...SAMPLER_HEADER.slice(0, -1).split(","), ...columns]);
      expect(csv.config["num_samples"]).toBe("120");
      expect(csv.config["save_warmup"]).toBe("1");
      expect(csv.config["id"]).toBe(String(c + 1));
      expect(csv.warmup.length).toBe(150);
      expect(csv.draws.length).toBe(120);
      for (let i = 0; i < 120; i++) {
        const row = csv.draws[i]!;
        expect(row[0]).toBe(chain.stats.lp[i]);
        expect(row[1]).toBe(chain.stats.acceptStat[i]);
        expect(row[2]).toBe(chain.stats.stepSize[i]);
        expect(row[3]).toBe(chain.stats.treeDepth[i]);
        expect(row[4]).toBe(chain.stats.nLeapfrog[i]);
        expect(row[5]).toBe(chain.stats.divergent[i]);
        expect(row[6]).toBe(chain.stats.energy[i]);
        source.forEach((k, j) => expect(row[7 + j]).toBe(chain.values[k * 120 + i]));
      }
      for (let i = 0; i < 150; i++) {
        source.forEach((k, j) => expect(csv.warmup[i]![7 + j]).toBe(chain.warmupValues![k * 150 + i]));
        expect(csv.warmup[i]![4]).toBe(chain.warmupStats.nLeapfrog[i]);
      }
      expect(csv.stepSize).toBe(chain.stepSize);
      expect(csv.metricKind).toBe("diag");
      expect(Array.from(csv.inverseMetric!)).toEqual(Array.from(chain.metric.inverse));
      expect(csv.warmupSeconds).toBeCloseTo(chain.warmupSeconds, 5);
      expect(csv.samplingSeconds).toBeCloseTo(chain.samplingSeconds, 5);
      // means per column equal the posterior's
      const sigma = csv.columns.indexOf("sigma");
      const mean = csv.draws.reduce((s, r) => s + r[sigma]!, 0) / 120;
      const want = post.draws("sigma")[c]!.reduce((s, x) => s + x, 0) / 120;
      expect(mean).toBe(want);
    });
  });

  it("writes a dense metric as rows and refuses saveWarmup without warmup draws", () => {
    const density = smallModel();
    const post = sampleSync(density, { chains: 1, warmup: 150, draws: 10, seed: 5, metric: "dense" });
    const text = formatStanCsv(post, 0);
    expect(text).toMatch(/# {9}metric = dense_e\n/);
    const csv = parseStanCsv(text);
    expect(csv.metricKind).toBe("dense");
    expect(Array.from(csv.inverseMetric!)).toEqual(Array.from(post.chains[0]!.metric.inverse));
    expect(text.split("\n").filter((l) => /^# [-0-9.e]+(, [-0-9.e+]+){7}$/.test(l)).length).toBe(8);
    expect(() => formatStanCsv(post, 0, { saveWarmup: true })).toThrow(/needs the warmup draws/);
    expect(() => formatStanCsv(post, 1)).toThrow(/out of range/);
  });

  it("keeps log_lik and generated quantities after the reported quantities, and names the model", () => {
    const m = model("schools_csv", (b) => {
      const mu = b.param("mu", dist.normal(0, 5));
      const sigma = b.param("sigma", dist.halfNormal(5));
      b.deterministic("mu2", mu.mul(2));
      b.observe("y", dist.normal(mu, sigma), [1, 2.5, -0.5]);
    });
    const post = sampleSync(compile(m), { chains: 2, warmup: 60, draws: 20, seed: 3, saveWarmup: true });
    const yRep = post.logLikelihood("y").map((chain) => chain.map((draw) => [draw[0]! + 1, draw[1]! + 2, draw[2]! + 3, 0]));
    const text = formatStanCsv(post, 1, { saveWarmup: true, generatedQuantities: { y_rep: { draws: yRep, shape: [2, 2] } } });
    expect(text).toMatch(/^# model = schools_csv_model$/m);
    const csv = parseStanCsv(text);
    expect(csv.columns.slice(7)).toEqual(["mu", "sigma", "mu2", "log_lik.1", "log_lik.2", "log_lik.3", "y_rep.1.1", "y_rep.2.1", "y_rep.1.2", "y_rep.2.2"]);
    const ll = post.logLikelihood();
    const col = (name: string) => csv.columns.indexOf(name);
    expect(csv.draws.map((r) => r[col("log_lik.2")])).toEqual(ll[1]!.map((d) => d[1]));
    // y_rep[2,1] is element 2 of the row-major draw.
    expect(csv.draws.map((r) => r[col("y_rep.2.1")])).toEqual(yRep[1]!.map((d) => d[2]));
    const warm = post.warmupLogLikelihood()!;
    expect(csv.warmup.map((r) => r[col("log_lik.3")])).toEqual(warm[1]!.map((d) => d[2]));
    expect(csv.warmup.every((r) => Number.isNaN(r[col("y_rep.1.1")]!))).toBe(true);
    expect(parseStanCsv(formatStanCsv(post, 0, { logLik: false })).columns).not.toContain("log_lik.1");
    expect(() => formatStanCsv(post, 0, { generatedQuantities: { z: [[1]] } })).toThrow(/generated quantity z has 1 chains, the posterior 2/);
    expect(() => formatStanCsv(sampleSync(smallModel(), { chains: 1, warmup: 10, draws: 5, seed: 1 }), 0, { logLik: true })).toThrow(/logLik needs observed nodes/);
  });
});

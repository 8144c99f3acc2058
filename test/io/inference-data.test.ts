/**
 * InferenceData groups and the netCDF-4 file: names, dims, coordinates and values as ArviZ
 * expects them, read back here with h5wasm. (scripts/arviz-roundtrip.py opens the file with
 * ArviZ itself and compares az.summary and az.loo with ours: `npm run check:arviz`.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/compile.js";
import { inferenceData, writeInferenceData, type IdGroup } from "../../src/io/index.js";
import { dist, model } from "../../src/model/index.js";

const SCHOOLS = ["Choate", "Deerfield", "Phillips Andover", "Phillips Exeter", "Hotchkiss", "Lawrenceville", "St. Paul's", "Mt. Hermon"];
const eightSchools = model("eight_schools", (m) => {
  const sigma = m.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
  m.deterministic("theta_mean", theta.sum().div(8));
  m.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12], { dims: ["school"] });
});
const post = sampleSync(compile(eightSchools), { chains: 2, warmup: 100, draws: 50, seed: 11, saveWarmup: true });

const byName = (groups: IdGroup[]) => new Map(groups.map((g) => [g.name, g]));

describe("inferenceData groups", () => {
  const groups = inferenceData(post, {
    coords: { school: SCHOOLS },
    posteriorPredictive: { y: post.logLikelihood("y").map((chain) => chain.map((draw) => draw.map((v) => v * 2))) },
    prior: { mu: [[0.1, 0.2, 0.3]], tau: { draws: [[[1], [2], [3]]], shape: [] } },
  });
  const g = byName(groups);

  test("ArviZ's groups, in its order, warmup groups when warmup draws were kept", () => {
    expect(groups.map((x) => x.name)).toEqual([
      "posterior",
      "posterior_predictive",
      "log_likelihood",
      "sample_stats",
      "prior",
      "observed_data",
      "constant_data",
      "warmup_posterior",
      "warmup_log_likelihood",
      "warmup_sample_stats",
    ]);
    expect(inferenceData(post, { warmup: false }).map((x) => x.name)).not.toContain("warmup_posterior");
  });

  test("posterior: chain, draw, then the model's dims with their coordinates", () => {
    const p = g.get("posterior")!;
    expect(p.variables.map((v) => [v.name, v.dims, v.shape])).toEqual([
      ["mu", ["chain", "draw"], [2, 50]],
      ["tau", ["chain", "draw"], [2, 50]],
      ["theta", ["chain", "draw", "school"], [2, 50, 8]],
      ["theta_mean", ["chain", "draw"], [2, 50]],
    ]);
    expect(p.coords.get("school")).toEqual(SCHOOLS);
    expect(p.coords.get("chain")).toEqual([0, 1]);
    expect(p.coords.get("draw")).toHaveLength(50);
    const theta = p.variables[2]!.data;
    // Row-major: chain 1, draw 7, school 3 is theta[3] of that draw.
    expect(theta[(1 * 50 + 7) * 8 + 2]).toBe(post.draws("theta[3]")[1]![7]);
    expect(p.attrs["inference_library"]).toBe("@bayests/runtime");
    expect(p.attrs["model_name"]).toBe("eight_schools");
  });

  test("sample_stats in ArviZ's names and types", () => {
    const s = g.get("sample_stats")!;
    expect(s.variables.map((v) => [v.name, v.data.constructor.name])).toEqual([
      ["lp", "Float64Array"],
      ["acceptance_rate", "Float64Array"],
      ["step_size", "Float64Array"],
      ["tree_depth", "BigInt64Array"],
      ["n_steps", "BigInt64Array"],
      ["diverging", "Int8Array"],
      ["energy", "Float64Array"],
    ]);
    expect(s.variables[0]!.data[50 + 3]).toBe(post.chains[1]!.stats.lp[3]);
  });

  test("log_likelihood, observed and constant data with the observed node's dims", () => {
    const ll = g.get("log_likelihood")!.variables[0]!;
    expect([ll.name, ll.dims, ll.shape]).toEqual(["y", ["chain", "draw", "school"], [2, 50, 8]]);
    expect(ll.data[(1 * 50 + 9) * 8 + 4]).toBe(post.logLikelihood("y")[1]![9]![4]);
    const y = g.get("observed_data")!.variables[0]!;
    expect([y.name, y.dims, Array.from(y.data as Float64Array)]).toEqual(["y", ["school"], [28, 8, -3, 7, -1, 1, 18, 12]]);
    expect(g.get("observed_data")!.coords.get("school")).toEqual(SCHOOLS);
    const sigma = g.get("constant_data")!.variables[0]!;
    expect([sigma.name, sigma.dims]).toEqual(["sigma", ["sigma_dim_0"]]);
  });

  test("extra groups from plain arrays take known shapes and dims", () => {
    const pp = g.get("posterior_predictive")!.variables[0]!;
    expect([pp.dims, pp.shape]).toEqual([["chain", "draw", "school"], [2, 50, 8]]);
    const prior = g.get("prior")!;
    expect(prior.variables.map((v) => [v.name, v.shape])).toEqual([
      ["mu", [1, 3]],
      ["tau", [1, 3]],
    ]);
    expect(Array.from(prior.variables[1]!.data as Float64Array)).toEqual([1, 2, 3]);
  });

  test("mistakes are named", () => {
    expect(() => inferenceData(post, { coords: { school: ["a", "b"] } })).toThrow(/coords.school has 2 values, dimension school of posterior\/theta has length 8/);
    expect(() => inferenceData(post, { posteriorPredictive: { y: [[[1, 2]], [[1, 2], [3, 4]]] } })).toThrow(/chain 1 has 2 draws, chain 0 has 1/);
    expect(() => inferenceData(post, { prior: { mu: { draws: [[[1, 2, 3]]], shape: [2] } } })).toThrow(/shape \[2\] does not hold 3 values/);
  });
});

describe("writeInferenceData: a netCDF-4 file", () => {
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bayests-idata-"));
    await h5wasm.ready;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("groups, dimension scales and values read back", async () => {
    const path = await writeInferenceData(join(dir, "eight_schools.nc"), post, { coords: { school: SCHOOLS } });
    const f = new h5wasm.File(path, "r");
    try {
      expect(f.keys()).toEqual(expect.arrayContaining(["posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data", "warmup_posterior"]));
      const theta = f.get("posterior/theta") as InstanceType<typeof h5wasm.Dataset>;
      expect(theta.shape).toEqual([2, 50, 8]);
      expect(theta.get_attached_scales(2)).toEqual(["/posterior/school"]);
      expect(theta.get_attached_scales(0)).toEqual(["/posterior/chain"]);
      expect((f.get("posterior/school") as InstanceType<typeof h5wasm.Dataset>).value).toEqual(SCHOOLS);
      const values = theta.value as Float64Array;
      expect(values[(0 * 50 + 5) * 8 + 1]).toBe(post.draws("theta[2]")[0]![5]);
      const diverging = f.get("sample_stats/diverging") as InstanceType<typeof h5wasm.Dataset>;
      expect(diverging.attrs["dtype"]!.value).toBe("bool");
      expect((f.get("posterior") as InstanceType<typeof h5wasm.Group>).attrs["model_name"]!.value).toBe("eight_schools");
    } finally {
      f.close();
    }
  });
});

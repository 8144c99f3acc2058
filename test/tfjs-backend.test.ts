/**
 * The tfjs backend (src/compile/tfjs): the same log-density and gradient as the js backend on
 * every posteriordb posterior it supports, on every tfjs device available here; typed errors
 * and the js fallback for what it does not support; validation of a received tensor program;
 * no tensor left behind per gradient.
 *
 * Float32 tolerance. The tfjs backend computes in float32 (unit roundoff 2^-24 = 6e-8). Part
 * of its error is irreducible: the data and the position rounded to float32 already move the
 * log-density and gradient. The test measures that part with the js backend itself (its
 * constants and q rounded to float32, evaluated in float64) and allows 20 times it, plus a
 * floor for float32 arithmetic where rounding the inputs happens to cost little:
 *   |Δlp_tfjs - Δlp_js| <= 20 |Δlp_rounded - Δlp_js| + 2e-6 max(1, |lp_js|)   (differences between points)
 *   |g_tfjs - g_js|_inf <= 20 |g_rounded - g_js|_inf + 2e-4 max(1, |g_js|_inf)
 * (measured here: lp differences within 7e-6 of |lp|, gradients within 2.3e-4 of |g|_inf.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { compile, instantiate } from "../src/compile/compile.js";
import {
  availableDevices,
  compileTfjsModel,
  instantiateTfjs,
  tfjsReady,
  TfjsUnsupportedError,
  AUTO_THRESHOLD,
  type TfjsCompiledModel,
  type TfjsDevice,
  type TfjsLogDensity,
} from "../src/compile/index.js";
import { logisticData, logisticModel, poissonGlmData, poissonGlmModel } from "../bench/models/large.js";
import { tfjs } from "../src/compile/tfjs/backend.js";
import { ModelError } from "../src/model/errors.js";
import { add, dist, model, mul, scan } from "../src/model/index.js";
import { sampleSync } from "../src/api/sample-sync.js";
import { loadPosterior, posteriordbDir, posteriordbModels } from "./posteriordb/models.js";

const devices: TfjsDevice[] = availableDevices();
/** Posteriors the tensor program cannot express, and the node kind it names. */
const UNSUPPORTED: Record<string, string> = {
  "garch-garch11": "scan",
  "gp_pois_regr-gp_pois_regr": "cholesky",
  "hmm_example-hmm_example": "scan",
  "one_comp_mm_elim_abs-one_comp_mm_elim_abs": "scan",
};
/**
 * Posteriors whose log-density cancels large numbers, so that float32 cannot hold it: checked
 * with the default split, which keeps such a term in float64 js (its computed nodes are small).
 * diamonds: normalIdGlm's sufficient statistics, y'y - 2 b'X'y + b'X'X b, cancel terms of
 * ~3e5 to a residual sum of squares of ~10; in float32, log-density differences err by 0.5.
 */
const CANCELS_IN_FLOAT32 = new Set(["diamonds-diamonds"]);
const names = Object.keys(posteriordbModels);
const supported = names.filter((n) => !(n in UNSUPPORTED));

function stanPoints(name: string): Float64Array[] {
  const file = join(posteriordbDir, name, "stan-logprob.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { points: { upars: number[] }[] }).points.map((p) => Float64Array.from(p.upars));
}
const maxAbs = (g: ArrayLike<number>) => Array.from(g).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

beforeAll(async () => {
  for (const d of devices) await tfjsReady(d);
});

test("every tfjs device detected here initialises (cpu always; wasm from its npm package)", () => {
  expect(devices).toContain("cpu");
  expect(devices).toContain("wasm");
});

test.each(Object.entries(UNSUPPORTED))("%s: compile with the tfjs backend names the node it cannot compute", (name, kind) => {
  const { model: m } = loadPosterior(name);
  let error: unknown;
  try {
    compileTfjsModel(m, { tensorTermMin: 0 });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TfjsUnsupportedError);
  expect((error as TfjsUnsupportedError).kind).toBe(kind);
  expect((error as TfjsUnsupportedError).message).toContain((error as TfjsUnsupportedError).node);
});

describe.each(devices)("tfjs-%s", (device) => {
  test.each(supported)("%s: log-density differences and gradients equal js's within the float32 tolerance", (name) => {
    const { model: m } = loadPosterior(name);
    const js = compile(m);
    // Every term as tensors (by default small terms run as js): the whole translation is checked.
    const tensorTermMin = CANCELS_IN_FLOAT32.has(name) ? undefined : 0;
    const tf = instantiateTfjs(compileTfjsModel(m, { device, ...(tensorTermMin === undefined ? {} : { tensorTermMin }) }), undefined, device);
    const rounded = instantiate({ ...js.compiled, constants: js.compiled.constants.map((c) => (c instanceof Float64Array ? c.map(Math.fround) : c)) });
    const points = stanPoints(name);
    const [gj, gt, gr] = [new Float64Array(js.dim), new Float64Array(js.dim), new Float64Array(js.dim)];
    const base = points[0]!;
    const [lj0, lt0, lr0] = [js.logDensity(base), tf.logDensity(base), rounded.logDensity(base.map(Math.fround))];
    for (const q of points) {
      const lj = js.logDensityGradient(q, gj);
      const lt = tf.logDensityGradient(q, gt);
      const lr = rounded.logDensityGradient(q.map(Math.fround), gr);
      expect(lt).toBe(tf.logDensity(q));
      const lpErr = Math.abs(lt - lt0 - (lj - lj0));
      const lpTol = 20 * Math.abs(lr - lr0 - (lj - lj0)) + 2e-6 * Math.max(1, Math.abs(lj));
      expect(lpErr, `lp difference at ${name}`).toBeLessThanOrEqual(lpTol);
      const gTol = 20 * maxDiff(gr, gj) + 2e-4 * Math.max(1, maxAbs(gj));
      expect(maxDiff(gt, gj), `gradient at ${name}`).toBeLessThanOrEqual(gTol);
    }
    tf.dispose();
  });

  test("no tensor is left behind per gradient; dispose frees the data tensors", () => {
    const tf = tfjs();
    const { model: m } = loadPosterior("nes1992-nes");
    const before = tf.memory().numTensors;
    const ld = instantiateTfjs(compileTfjsModel(m, { device }), undefined, device);
    const q = stanPoints("nes1992-nes")[0]!;
    const g = new Float64Array(ld.dim);
    ld.logDensityGradient(q, g);
    const { numTensors, numBytes } = tf.memory();
    expect(numTensors).toBeGreaterThan(before);
    for (let k = 0; k < 25; k++) {
      ld.logDensityGradient(q, g);
      ld.logDensity(q);
    }
    expect(tf.memory().numTensors).toBe(numTensors);
    expect(tf.memory().numBytes).toBe(numBytes);
    ld.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("backend choice", () => {
  const garch = loadPosterior("garch-garch11").model;

  test("'tfjs' throws the typed error for a data-sized scan; 'auto' falls back to js and says why", () => {
    // A scan over 400 steps reading 400 data values: a term that belongs to the tensor part.
    const ys = Array.from({ length: 400 }, (_, t) => Math.sin(t / 7));
    const m = model("ar_scan", (b) => {
      const rho = b.param("rho", dist.normal(0, 1));
      const sigma = b.param("sigma", dist.halfNormal(1));
      const y = b.data("y", ys);
      const path = scan({ init: 0, xs: [y] }, (carry, [yt]) => add(mul(rho, carry), yt!));
      b.observe("obs", dist.normal(path, sigma), ys);
    });
    expect(() => compile(m, { backend: "tfjs" })).toThrow(TfjsUnsupportedError);
    const auto = compile(m, { backend: "auto" });
    expect(auto.backend?.backend).toBe("js");
    expect(auto.backend?.reason).toMatch(/scan node/);
  });

  test("a model whose terms are all small runs them as js: 'tfjs' gives the js density exactly", () => {
    const tf = compile(garch, { backend: "tfjs" });
    const js = compile(garch);
    const q = stanPoints("garch-garch11")[1]!;
    expect(tf.logDensity(q)).toBe(js.logDensity(q));
  });

  test("'auto' picks tfjs for a dense model above the threshold, js below it, for a gather-heavy model, or on the cpu device", () => {
    // The measured thresholds (5.1e6 elements) made small, so that the test data stay small.
    const autoThreshold = 5e4;
    const dense = logisticModel(logisticData(1000, 50));
    const d = compile(dense, { backend: "auto", device: "wasm", autoThreshold });
    expect(d.backend).toMatchObject({ backend: "tfjs", requested: "auto", device: "wasm" });
    expect(d.backend!.dataSize).toBeGreaterThanOrEqual(autoThreshold);
    expect(compile(dense, { backend: "auto", device: "wasm", autoThreshold: 1e6 }).backend).toMatchObject({ backend: "js", requested: "auto" });
    expect(AUTO_THRESHOLD.cpu).toBe(Infinity);
    expect(compile(dense, { backend: "auto", device: "cpu" }).backend).toMatchObject({ backend: "js", requested: "auto" });
    (d as Partial<TfjsLogDensity>).dispose?.();
    const glm = compile(poissonGlmModel(poissonGlmData(10000)), { backend: "auto", device: "wasm", autoThreshold });
    expect(glm.backend).toMatchObject({ backend: "js", requested: "auto" });
    expect(glm.backend!.reason).toMatch(/dense/);
  });

  test("'auto' below the measured threshold is js, recorded with its reason in the posterior", () => {
    const { model: m } = loadPosterior("kidiq-kidscore_momiq");
    const d = compile(m, { backend: "auto" });
    expect(d.backend).toMatchObject({ backend: "js", requested: "auto" });
    expect(d.backend?.reason).toMatch(/threshold/);
    const post = sampleSync(d, { chains: 1, warmup: 20, draws: 5, seed: 1 });
    expect(post.backend).toEqual(d.backend);
    const tf = compile(m, { backend: "tfjs" });
    expect(sampleSync(tf, { chains: 1, warmup: 20, draws: 5, seed: 1 }).backend).toMatchObject({ backend: "tfjs", requested: "tfjs" });
  });
});

describe("a received tfjs form is validated before any tensor is made", () => {
  const { model: m } = loadPosterior("kidiq-kidscore_momiq");
  const good = compileTfjsModel(m, { tensorTermMin: 0 });
  const tamper = (f: (c: TfjsCompiledModel) => TfjsCompiledModel["program"]): TfjsCompiledModel => ({ ...good, program: f(structuredClone(good)) });
  const nodes = (c: TfjsCompiledModel) => c.program.nodes as unknown as Record<string, unknown>[];
  const elementwise = good.program.nodes.findIndex((n) => n.op === "elementwise");
  const access = good.program.nodes.findIndex((n) => n.op === "access" && n.ref !== null);

  test.each([
    ["an operation outside the table", (c: TfjsCompiledModel) => (nodes(c)[elementwise]!.fn = "constructor", c.program)],
    ["an input that is not an earlier node", (c: TfjsCompiledModel) => (nodes(c)[elementwise]!.inputs = [elementwise], c.program)],
    ["a shape its inputs do not broadcast to", (c: TfjsCompiledModel) => (nodes(c)[elementwise]!.shape = [3, 7], c.program)],
    ["a missing constant", (c: TfjsCompiledModel) => (nodes(c)[access]!.ref = { source: "own", index: 99 }, c.program)],
    ["a term that is not a node", (c: TfjsCompiledModel) => ({ ...c.program, terms: [...c.program.terms, 10 ** 6] })],
  ])("%s", (_what, f) => {
    const before = tfjs().memory().numTensors;
    expect(() => instantiateTfjs(tamper(f), undefined, "cpu")).toThrow(ModelError);
    expect(tfjs().memory().numTensors).toBe(before);
  });

  test("an index map pointing outside its input", () => {
    const bad = structuredClone(good);
    const ref = (bad.program.nodes[access] as { ref: { source: "js" | "own"; index: number } }).ref;
    const map = (ref.source === "own" ? bad.constants : bad.js.constants)[ref.index] as Int32Array;
    map[0] = 1 << 20;
    expect(() => instantiateTfjs(bad, undefined, "cpu")).toThrow(/out of range/);
  });
});

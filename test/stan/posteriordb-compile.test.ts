/**
 * Every posteriordb program through the whole front end (stanModel + compile, with its first
 * vendored data set): all compile but two, covid19imperial_v2 and _v3, which are refused before any
 * code is generated with a typed "too-large" ModelError (D183), and nn_rbm1bJ100, whose data
 * (mnist) is not vendored. gpcm_latent_reg_irt, refused until its loop became a scan per
 * structure of its iterations (D211), compiles.
 * covid19imperial_v2 once spent more than 13 minutes in the front end: the vitest timeout is the
 * guard (the 120 programs take about 15 s on a loaded machine; no timed assertion).
 */
import { expect, test } from "vitest";
import { compile, ModelError, stanModel } from "../../src/index.js";
import { dataText, loadManifest, programPath, programs, programSource } from "./corpus.js";

const REFUSED = ["covid19imperial_v2", "covid19imperial_v3"];

function outcome(model: string, data: string): string {
  try {
    const ld = compile(stanModel(programSource(model), dataText(data)!, { file: programPath(model), name: model, onWarning: () => undefined }));
    return ld.dim > 0 ? "compiles" : "no parameters";
  } catch (e) {
    return e instanceof ModelError ? `ModelError ${e.code}` : `${(e as Error).constructor.name}: ${(e as Error).message.split("\n")[0]}`;
  }
}

test("covid19imperial_v2 is refused as too large while tracing, naming the limit", () => {
  const model = "covid19imperial_v2";
  expect(() => stanModel(programSource(model), dataText("ecdc0401")!, { name: model, onWarning: () => undefined })).toThrow(
    expect.objectContaining({ code: "too-large", message: expect.stringMatching(/covid19imperial_v2: its log density and transformed parameters take more than 25000 operations/) }),
  );
}, 30_000);

test("every program compiles with its first data set, but two refused as too large and one without data", () => {
  const outcomes = new Map<string, string>();
  for (const [model, posteriors] of programs(loadManifest())) {
    const vendored = posteriors.find((p) => p.data_vendored);
    outcomes.set(model, vendored ? outcome(model, vendored.data) : "no data");
  }
  expect(outcomes.size).toBe(120);
  const expected = new Map([...outcomes.keys()].map((m) => [m, REFUSED.includes(m) ? "ModelError too-large" : m === "nn_rbm1bJ100" ? "no data" : "compiles"]));
  expect(Object.fromEntries(outcomes)).toEqual(Object.fromEntries(expected));
}, 240_000);

/**
 * Every posteriordb program through the whole front end (stanModel + compile, with its first
 * vendored data set): all compile but nn_rbm1bJ100, whose data (mnist) is not vendored.
 * gpcm_latent_reg_irt, refused until its loop became a scan per structure of its iterations
 * (D211), compiles; so do covid19imperial_v2 and _v3, refused as too large (D183) until their
 * renewal loop became a scan carrying its whole series and their expected-deaths convolution a
 * padded reduction (D221). The refusal itself is tested on a synthetic program past D183's limit.
 * covid19imperial_v2 once spent more than 13 minutes in the front end: the vitest timeout is the
 * guard (the 120 programs take about 15 s on a loaded machine; no timed assertion).
 */
import { expect, test } from "vitest";
import { compile, ModelError, stanModel } from "../../src/index.js";
import { dataText, loadManifest, programPath, programs, programSource } from "./corpus.js";

const REFUSED: string[] = [];

function outcome(model: string, data: string): string {
  try {
    const ld = compile(stanModel(programSource(model), dataText(data)!, { file: programPath(model), name: model, onWarning: () => undefined }));
    return ld.dim > 0 ? "compiles" : "no parameters";
  } catch (e) {
    return e instanceof ModelError ? `ModelError ${e.code}` : `${(e as Error).constructor.name}: ${(e as Error).message.split("\n")[0]}`;
  }
}

/**
 * A loop of 4,000 iterations in 9 structures (a different function in each, chosen by a condition
 * on the loop variable): neither vectorised, nor a scan (more than 8 structures), nor a scan
 * carrying its series (it writes nothing), so it unrolls into more than D183's 25,000 operations.
 */
const NINE_STRUCTURES = ["exp", "log1p_exp", "log1m_exp", "expm1", "inv_logit", "log1p", "square", "log_inv_logit", "Phi"];
const tooLarge = `data { int N; }
parameters { vector[N] x; }
model {
  x ~ normal(0, 1);
  for (i in 1:N) {
${NINE_STRUCTURES.map((f, k) => `    ${k > 0 ? "else " : ""}if (i % ${NINE_STRUCTURES.length} == ${k}) target += normal_lpdf(${f}(-square(x[i]) - 1) | 0, 1);`).join("\n")}
  }
}`;

test("a program past the operations limit is refused as too large while tracing, naming the limit", () => {
  expect(() => stanModel(tooLarge, JSON.stringify({ N: 4000 }), { name: "nine_structures", onWarning: () => undefined })).toThrow(
    expect.objectContaining({ code: "too-large", message: expect.stringMatching(/nine_structures: its log density and transformed parameters take more than 25000 operations/) }),
  );
  // The same program at 2,000 iterations is under the limit and compiles.
  expect(compile(stanModel(tooLarge, JSON.stringify({ N: 2000 }), { name: "nine_structures", onWarning: () => undefined })).dim).toBe(2000);
}, 30_000);

test("every program compiles with its first data set, but one without data", () => {
  const outcomes = new Map<string, string>();
  for (const [model, posteriors] of programs(loadManifest())) {
    const vendored = posteriors.find((p) => p.data_vendored);
    outcomes.set(model, vendored ? outcome(model, vendored.data) : "no data");
  }
  expect(outcomes.size).toBe(120);
  const expected = new Map([...outcomes.keys()].map((m) => [m, REFUSED.includes(m) ? "ModelError too-large" : m === "nn_rbm1bJ100" ? "no data" : "compiles"]));
  expect(Object.fromEntries(outcomes)).toEqual(Object.fromEntries(expected));
}, 240_000);

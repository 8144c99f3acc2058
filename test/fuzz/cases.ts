/**
 * The fuzz suite's cases: bad (and some good) models, data, options, names and serialised
 * models, as plain JSON that a child process (`child.ts`) turns into calls of the public API.
 * Every case says whether its input is valid ("accept": it must run and give sane results)
 * or not ("reject": it must be a typed error before any work starts).
 *
 * Values JSON cannot hold are tagged objects `{ $: tag }` (see `decode` in child.ts).
 * Hostile strings carry a canary: run as code anywhere (main thread or a worker), they write
 * the file named by $FUZZ_CANARY and exit with code 86.
 */
import { mulberry32 } from "../helpers/random.js";

/** A JSON value, possibly with `{ $: tag }` objects standing for values JSON cannot hold. */
export type V = null | boolean | number | string | V[] | { [key: string]: V };

export type Entry = "model" | "compile" | "sampleSync" | "sample";

/** A distribution call: `dist[name](...args)`; `{ $: "ref", v: "mu" | "sigma" | "theta" }` args are the template's nodes. */
export interface DistCall {
  readonly name: string;
  readonly args: readonly V[];
}

/**
 * The template model of the "model" cases (child.ts builds it):
 *   mu ~ normal(0, 1); sigma ~ halfNormal(1); theta ~ prior (default normal(mu, sigma)), options;
 *   data x; y ~ likelihood(value) (default normal(mu + 0.1 sum(theta), sigma));
 *   deterministic d = theta, dims; potential p.
 * Each field replaces one slot of the template.
 */
export interface ModelSpec {
  readonly kind: "model";
  readonly entry: Entry;
  readonly modelName?: V;
  readonly modelOptions?: V;
  readonly paramName?: V;
  readonly prior?: DistCall;
  readonly paramOptions?: V;
  readonly dataName?: V;
  readonly dataValue?: V;
  readonly dataOptions?: V;
  readonly observeName?: V;
  readonly likelihood?: DistCall;
  readonly observeValue?: V;
  readonly deterministicName?: V;
  readonly deterministicDims?: V;
  readonly potentialName?: V;
  readonly potentialValue?: V;
  /** Build theta + c + c + ... this deep into the likelihood's location. */
  readonly depth?: number;
  /** A potential `sum(api[name](...args))`; `{ $: "ref", v: "theta" | "mu" | "x" }` args are the template's nodes. */
  readonly potentialOp?: DistCall;
  readonly sampleOptions?: V;
}

/** A hand-made expression node (`new Expr(node, shape, inputs, label)`) used as a potential. */
export interface ExprSpec {
  readonly kind: "expr";
  readonly node: V;
  readonly shape: V;
  /** "const": two constants of shape [2]; "fake": an object made to look like an Expr; "none". */
  readonly inputs: "const" | "fake" | "none";
}

/** A compiled model with one field replaced, through one entry point. */
export interface CompiledSpec {
  readonly kind: "compiled";
  readonly entry: "instantiate" | "sampleSync" | "sample" | "carrier";
  /** A path into the compiled model (e.g. ["outputs", 0, "name"]) and its new value; "source" may be code. */
  readonly path: readonly (string | number)[];
  readonly value: V;
  /** Re-sign with an attacker's own HMAC key (the signature is then well-formed but wrong). */
  readonly forgeSignature?: boolean;
}

/** A `LogDensity` object given to `sampleSync`, with fields replaced. */
export interface DensitySpec {
  readonly kind: "density";
  readonly fields: { readonly [k: string]: V };
}

/** A module model: `moduleModel(path, export, options)` through `sample`. */
export interface ModuleSpec {
  readonly kind: "module";
  readonly path: V;
  readonly exportName: V;
  readonly options: V;
}

/** `createWorkerPool(options)`. */
export interface PoolSpec {
  readonly kind: "pool";
  readonly options: V;
}

export type Spec = ModelSpec | ExprSpec | CompiledSpec | DensitySpec | ModuleSpec | PoolSpec;

export interface FuzzCase {
  readonly id: number;
  readonly family: string;
  readonly expect: "accept" | "reject";
  readonly spec: Spec;
}

// ---- hostile values -------------------------------------------------------------------

/** The canary in each quoting style, and without quotes at all (for contexts outside strings). */
const CANARY = {
  dq: 'process.getBuiltinModule("fs").writeFileSync(process.env.FUZZ_CANARY, "x"); process.exit(86)',
  sq: "process.getBuiltinModule('fs').writeFileSync(process.env.FUZZ_CANARY, 'x'); process.exit(86)",
  bt: "process.getBuiltinModule(`fs`).writeFileSync(process.env.FUZZ_CANARY, `x`); process.exit(86)",
  bare: "process.getBuiltinModule(String.fromCharCode(102, 115)).writeFileSync(process.env.FUZZ_CANARY, String.fromCharCode(120)); process.exit(86)",
};

/** Strings that are code wherever they are pasted into source (loops, strings, templates, comments). */
export const HOSTILE_STRINGS: readonly string[] = [
  `2; i0++) { ${CANARY.bare} } for (let i0 = 0; i0 < 0`,
  `0]; ${CANARY.bare}; q[0`,
  `"); ${CANARY.dq}; ("`,
  `'); ${CANARY.sq}; ('`,
  `\`; ${CANARY.bt}; \``,
  `\${${CANARY.bt}}`,
  "`${" + CANARY.bt + "}`",
  `*/ ${CANARY.dq} /*`,
  `x\n${CANARY.dq}\n`,
  `x\u2028${CANARY.dq}`,
  `x\\"); ${CANARY.dq}; //`,
  `}); ${CANARY.dq}; ({`,
  `"]; ${CANARY.dq}; this["`,
  `a = 1; ${CANARY.bare}`,
];

/** Names that are not identifiers, or that every object has. */
const BAD_NAMES: readonly V[] = [
  ...HOSTILE_STRINGS,
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "",
  " ",
  "a b",
  "1abc",
  "a-b",
  "é",
  "x".repeat(300),
  "theta[1]",
  "a.b",
  "a\u0000",
  3,
  null,
  true,
  ["mu"],
  { $: "undefined" },
  { $: "symbol" },
  { $: "valueOfObject" },
];
const GOOD_NAMES: readonly V[] = ["theta2", "_x", "Beta_1", "a".repeat(200), "prototype", "eval", "process"];

/** Shape entries and shapes that are not shapes (or are absurd). */
const BAD_SHAPES: readonly V[] = [
  [0],
  [3, 0],
  [-1],
  [1.5],
  [{ $: "NaN" }],
  [{ $: "Infinity" }],
  [1e9],
  [2 ** 31],
  [2 ** 53],
  [1e5, 1e5],
  ["3"],
  [null],
  [true],
  [[2]],
  [{}],
  [{ $: "valueOfObject" }],
  ...HOSTILE_STRINGS.map((s) => [s]),
  [2, HOSTILE_STRINGS[0]!],
  "3",
  3,
  { length: 1, "0": 3 },
  Array.from({ length: 33 }, () => 1),
];
const GOOD_SHAPES: readonly V[] = [[], [3], [2, 2], [1], [1, 3]];

/** Data that are not numbers of one shape. */
const BAD_DATA: readonly V[] = [
  [1, null, 3],
  [1, "", 3],
  [true, 2],
  [false],
  [1, [2], 3],
  ["0x10"],
  "123",
  "0x10",
  "",
  null,
  { $: "undefined" },
  true,
  { "0": 1, length: 1 },
  [{ $: "NaN" }],
  [1, { $: "Infinity" }],
  { $: "NaN" },
  [[1, 2], [3]],
  [[1, 2], 3],
  [{ $: "hole" }, 1],
  [{ $: "bigint" }],
  { $: "bigint64" },
  [{ $: "symbol" }],
  [{ $: "valueOfObject" }],
  [{}],
  ...HOSTILE_STRINGS.map((s) => [s]),
];
const GOOD_DATA: readonly V[] = [[1, 2, 3], [[1, 2], [3, 4]], { $: "f32", v: [1, 2] }, { $: "i32", v: [3, 4] }, 2.5, [0.5], [-1e6, 1e6]];

const BAD_OPTIONS: readonly V[] = [
  { shpae: [3] },
  { shape: [3], lowr: 0 },
  JSON.parse('{"__proto__": 1}') as V,
  { constructor: 1 },
  { lower: "0" },
  { lower: null },
  { lower: { $: "NaN" } },
  { lower: { $: "-Infinity" } },
  { lower: 1, upper: 0 },
  { lower: 0, upper: 0 },
  { constraint: "simplx", shape: [3] },
  { constraint: HOSTILE_STRINGS[2]!, shape: [3] },
  { constraint: "simplex", shape: [1] },
  { constraint: "ordered", shape: [2, 2] },
  { constraint: "simplex", lower: 0, shape: [3] },
  { noncentered: "yes" },
  { noncentered: 1 },
  { dims: ["a"] },
  { shape: [2], dims: ["a", "b"] },
  { shape: [2], dims: [HOSTILE_STRINGS[1]!] },
  { shape: [2], dims: ["__proto__"] },
  { shape: [2], dims: "a" },
  "options",
  [3],
  3,
];
const GOOD_OPTIONS: readonly V[] = [
  { shape: [3] },
  { shape: [2], dims: ["school"] },
  { lower: 0 },
  { lower: -1, upper: 2 },
  { lower: [0, 1], upper: 5, shape: [2] },
  { noncentered: false },
  { noncentered: true },
  {},
];

const BAD_MODEL_OPTIONS: readonly V[] = [{ noncentred: false }, { noncentered: "auto " }, { noncentered: 1 }, "auto", [false], JSON.parse('{"__proto__": null}') as V];
const GOOD_MODEL_OPTIONS: readonly V[] = [{ noncentered: "auto" }, { noncentered: false }, { noncentered: true }, {}];

/** Sample options: [key, value, valid]. Accepted runs stay tiny: the base options are small. */
const OPTION_VALUES: readonly [string, V, boolean][] = [
  ["chains", 0, false],
  ["chains", 1.5, false],
  ["chains", "2", false],
  ["chains", 1e6, false],
  ["chains", 2, true],
  ["warmup", -1, false],
  ["warmup", { $: "NaN" }, false],
  ["warmup", 1e15, false],
  ["warmup", 2 ** 29, false],
  ["warmup", 0, true],
  ["warmup", 25, true],
  ["draws", 1e15, false],
  ["draws", 2 ** 28, false],
  ["draws", { $: "Infinity" }, false],
  ["draws", "10", false],
  ["draws", null, false],
  ["draws", 0, true],
  ["draws", 10, true],
  ["seed", -1, false],
  ["seed", 1.5, false],
  ["seed", "1", false],
  ["seed", 2 ** 40, true],
  ["metric", "full", false],
  ["metric", HOSTILE_STRINGS[2]!, false],
  ["metric", "dense", true],
  ["targetAccept", 1, false],
  ["targetAccept", "0.8", false],
  ["targetAccept", 0.9, true],
  ["maxTreeDepth", 0, false],
  ["maxTreeDepth", 1e9, false],
  ["maxTreeDepth", 5, true],
  ["initRadius", -1, false],
  ["initRadius", { $: "Infinity" }, false],
  ["initRadius", 0.5, true],
  ["stepSize", 0, false],
  ["stepSize", "1", false],
  ["saveWarmup", "yes", false],
  ["saveWarmup", true, true],
  ["sampler", { gamma: "0.05" }, false],
  ["sampler", { gama: 0.05 }, false],
  ["sampler", { windows: { initBuffer: -1 } }, false],
  ["sampler", { windows: { initBufer: 5 } }, false],
  ["sampler", { maxDeltaH: 500 }, true],
  ["inits", { mu: "3" }, false],
  ["inits", { mu: [true] }, false],
  ["inits", { mu: null }, false],
  ["inits", { mu: 0, sigma: -1, theta: 0 }, false],
  ["inits", { nu: 1 }, false],
  ["inits", [{ mu: 0 }], false],
  ["inits", "mu=0", false],
  ["inits", { mu: 0.5, sigma: 1, theta: [0.2, 0.1, 0] }, true],
  ["drasw", 10, false],
  ["__proto__", 10, false],
  [HOSTILE_STRINGS[2]!, 10, false],
];
/** Options only `sample` takes: [key, value, valid]. */
const RUN_OPTION_VALUES: readonly [string, V, boolean][] = [
  ["threads", 0, false],
  ["threads", 1e6, false],
  ["threads", "1", false],
  ["threads", 1, true],
  ["chunkTimeout", "soon", false],
  ["chunkTimeout", HOSTILE_STRINGS[0]!, false],
  ["chunkTimeout", -5, false],
  ["chunkTimeout", "30 seconds", true],
  ["restart", { maxRestarts: -1 }, false],
  ["restart", { maxRestarts: 1e9 }, false],
  ["restart", { backoff: "later" }, false],
  ["restart", { maxRestarts: 1, backoff: "10 millis" }, true],
  ["stream", { ack: "later" }, false],
  ["stream", { maxPendingBatches: 0 }, false],
  ["stream", { maxPendingBatches: 4 }, true],
  ["chunk", { initial: 0 }, false],
  ["chunk", { targetMs: { $: "NaN" } }, false],
  ["chunk", { max: 5 }, true],
  ["checkEvery", 2, false],
  ["checkEvery", 20, true],
  ["earlyStop", { rhat: 0.9 }, false],
  ["earlyStop", { esss: 400 }, false],
  ["warmupExtension", { rhat: 1 }, false],
  ["warmupExtension", { length: 1e15 }, false],
  ["warmupExtension", false, true],
  ["pooledWarmup", "no", false],
  ["pooledWarmup", false, true],
  ["workerResourceLimits", { stackSizeMb: 0.01 }, false],
  ["workerResourceLimits", { stackSizeMb: 1e6 }, false],
  ["workerResourceLimits", { maxOldGenerationSizeMb: 1 }, false],
  ["workerResourceLimits", { maxOldGenerationSizeMb: "64" }, false],
  ["workerResourceLimits", { heap: 64 }, false],
  ["workerResourceLimits", { maxOldGenerationSizeMb: 256 }, true],
  ["faults", [{ chain: 0, atIteration: 1, kind: "eval", attempts: 1 }], false],
  ["faults", "none", false],
  ["pool", { threads: 2 }, false],
];

// ---- distributions --------------------------------------------------------------------

type ArgKind = "real" | "positive" | "unit" | "int2";
const ref = (v: "mu" | "sigma" | "theta" | "x"): V => ({ $: "ref", v });
/** Argument values with the kinds they satisfy. */
const ARG_VALUES: readonly [V, readonly ArgKind[]][] = [
  [0, ["real", "unit"]],
  [0.5, ["real", "positive", "unit"]],
  [2, ["real", "positive", "int2"]],
  [-1, ["real"]],
  [[0.5, 1.5], ["real", "positive"]],
  // A parameter that may be negative as a scale: accepted with a build-time warning (D27).
  [ref("mu"), ["real", "positive"]],
  [ref("sigma"), ["real", "positive"]],
  [{ $: "NaN" }, []],
  [{ $: "Infinity" }, []],
  ["1", []],
  [null, []],
  [true, []],
  [[1, "2"], []],
  [[[1]], []],
  [{}, []],
  [{ $: "valueOfObject" }, []],
  [HOSTILE_STRINGS[3]!, []],
];
/** Likelihoods for y = [1, 2] (counts, so every family applies) and their argument kinds. */
const LIKELIHOODS: readonly [string, readonly ArgKind[]][] = [
  ["normal", ["real", "positive"]],
  ["studentT", ["positive", "real", "positive"]],
  ["poisson", ["positive"]],
  ["exponential", ["positive"]],
  ["gamma", ["positive", "positive"]],
  ["logNormal", ["real", "positive"]],
  ["cauchy", ["real", "positive"]],
];

// ---- the generator --------------------------------------------------------------------

const BASE_RUN: { [k: string]: V } = { chains: 1, warmup: 20, draws: 10, seed: 1 };
const ENTRIES: readonly Entry[] = ["model", "compile", "sampleSync", "sample"];

type Make = (r: () => number) => { family: string; expect: "accept" | "reject"; spec: Spec };

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
/** A bad value most of the time, a good one sometimes (so acceptance is exercised too). */
const badOrGood = (r: () => number, bad: readonly V[], good: readonly V[]): [V, boolean] =>
  r() < 0.85 ? [pick(r, bad), false] : [pick(r, good), true];
const entry = (r: () => number): Entry => pick(r, ENTRIES);
/** Only what entry runs sampling gets the small sampling options. */
const withRun = (e: Entry): Partial<ModelSpec> => (e === "sampleSync" || e === "sample" ? { sampleOptions: { ...BASE_RUN } } : {});

const FAMILIES: readonly [number, Make][] = [
  [3, (r) => {
    const slot = pick(r, ["paramName", "dataName", "observeName", "deterministicName", "potentialName"] as const);
    const [v, ok] = badOrGood(r, BAD_NAMES, GOOD_NAMES);
    const e = entry(r);
    return { family: `name:${slot}`, expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, [slot]: v, ...withRun(e) } };
  }],
  [1, (r) => {
    const [v, ok] = badOrGood(r, [...HOSTILE_STRINGS.filter((s) => s.includes("\n")), "", "x".repeat(201), 3, null, ["m"], "a\u0007"], [...HOSTILE_STRINGS.filter((s) => !s.includes("\n")), "eight-schools", "é"]);
    const e = entry(r);
    return { family: "name:model", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, modelName: v, ...withRun(e) } };
  }],
  [3, (r) => {
    const [shape, ok] = badOrGood(r, BAD_SHAPES, GOOD_SHAPES);
    const e = entry(r);
    return { family: "shape:param", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, paramOptions: { shape }, ...withRun(e) } };
  }],
  [1, (r) => {
    const [shape, ok] = badOrGood(r, BAD_SHAPES.filter((s) => JSON.stringify(s) !== "[0]" && JSON.stringify(s) !== "[3,0]"), [[3], [1, 3], [3, 1]]);
    return { family: "shape:data", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: "compile", dataValue: [1, 2, 3], dataOptions: { shape } } };
  }],
  [2, (r) => {
    const dims = pick(r, [["a"], ["a", "b"], [], [...HOSTILE_STRINGS.slice(0, 1)], ["__proto__"], ["constructor"], [3], [null], "a", ["a", "a b"]]);
    const shape = pick(r, [[2], [2, 2]]);
    const ok = Array.isArray(dims) && dims.length === shape.length && dims.every((d) => typeof d === "string" && /^[A-Za-z_]\w*$/.test(d) && !(d in Object.prototype));
    const slot = pick(r, ["param", "deterministic"] as const);
    const spec: ModelSpec = slot === "param" ? { kind: "model", entry: "compile", paramOptions: { shape, dims } } : { kind: "model", entry: "compile", paramOptions: { shape }, deterministicDims: dims };
    return { family: `dims:${slot}`, expect: ok ? "accept" : "reject", spec };
  }],
  [3, (r) => {
    const [v, ok] = badOrGood(r, BAD_DATA, GOOD_DATA);
    const e = entry(r);
    return { family: "data:data", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, dataValue: v, ...withRun(e) } };
  }],
  [3, (r) => {
    const [v, ok] = badOrGood(r, BAD_DATA, [...GOOD_DATA, []]);
    const e = entry(r);
    return { family: "data:observe", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, observeValue: v, ...withRun(e) } };
  }],
  [3, (r) => {
    const [name, kinds] = pick(r, LIKELIHOODS);
    const args = kinds.map(() => pick(r, ARG_VALUES));
    const ok = args.every(([, sat], k) => sat.includes(kinds[k]!));
    // Arrays must broadcast with y = [1, 2]: [0.5, 1.5] does.
    const e = entry(r);
    return { family: `dist:${name}`, expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, likelihood: { name, args: args.map(([v]) => v) }, observeValue: [1, 2], ...withRun(e) } };
  }],
  [1, (r) => {
    const p = pick(r, [0, 1, 0.3, -0.1, 1.5, [0.2, 0.7], "0.5", null]);
    const y = pick(r, [[0, 1], [1, 1], [0, 0], [0, 2], [0.5]]);
    const pOk = (x: V) => typeof x === "number" && x >= 0 && x <= 1;
    const ps = Array.isArray(p) ? p : [p];
    const validP = ps.every(pOk);
    const validY = y.every((v) => v === 0 || v === 1);
    // Probability zero: y = 1 under p = 0, y = 0 under p = 1 (and 0 * log 0 at the edges, also rejected).
    const edge = ps.some((x) => x === 0 || x === 1);
    const e = entry(r);
    return {
      family: "dist:bernoulli",
      expect: validP && validY && !edge ? "accept" : "reject",
      spec: { kind: "model", entry: e, likelihood: { name: "bernoulli", args: [p] }, observeValue: y, ...withRun(e) },
    };
  }],
  [1, (r) => {
    const a = pick(r, [[4, 2], [1, 1, 1], [4], [-1, 2], [0, 2], "4,2", [[4, 2]], 3, [null, 2]]);
    const ok = Array.isArray(a) && a.length >= 2 && a.every((x) => typeof x === "number" && x > 0);
    const e = entry(r);
    return { family: "dist:dirichlet", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, prior: { name: "dirichlet", args: [a] }, paramOptions: {}, ...withRun(e) } };
  }],
  [1, (r) => {
    const length = pick(r, [5, 2, 1, 0, 1e7, 2 ** 31, 3.5, "5", { $: "Infinity" }]);
    const sigma = pick(r, [1, 0.5, -1, ref("sigma"), "1"]);
    const ok = typeof length === "number" && Number.isInteger(length) && length >= 2 && length <= 1000 && (typeof sigma !== "number" ? typeof sigma === "object" : sigma > 0);
    const e = entry(r);
    return { family: "dist:gaussianRandomWalk", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, prior: { name: "gaussianRandomWalk", args: [sigma, length] }, paramOptions: {}, ...withRun(e) } };
  }],
  [3, (r) => {
    const [v, ok] = badOrGood(r, BAD_OPTIONS, GOOD_OPTIONS);
    const e = entry(r);
    return { family: "options:param", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, paramOptions: v, ...withRun(e) } };
  }],
  [1, (r) => {
    const [v, ok] = badOrGood(r, BAD_MODEL_OPTIONS, GOOD_MODEL_OPTIONS);
    return { family: "options:model", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: "compile", modelOptions: v } };
  }],
  [1, (r) => {
    const v = pick<V>(r, [{ shape: [3] }, { integer: true }, { integr: true }, { integer: "yes" }, { shape: [4] }, { shape: "3" }, "int"]);
    const ok = JSON.stringify(v) === '{"shape":[3]}' || JSON.stringify(v) === '{"integer":true}';
    return { family: "options:data", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: "compile", dataValue: [1, 2, 3], dataOptions: v } };
  }],
  [4, (r) => {
    const e = pick(r, ["sampleSync", "sample"] as const);
    const pool = e === "sample" ? [...OPTION_VALUES, ...RUN_OPTION_VALUES] : OPTION_VALUES;
    const [key, value, ok] = pick(r, pool);
    return { family: `options:${e}`, expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, sampleOptions: { ...BASE_RUN, [key]: value } } };
  }],
  [1, (r) => {
    const [v, ok] = pick(r, [
      [{ threads: 0 }, false],
      [{ threads: "2" }, false],
      [{ thread: 2 }, false],
      [{ workerResourceLimits: { stackSizeMb: 0.01 } }, false],
      [{ threads: 1 }, true],
    ] as [V, boolean][]);
    return { family: "options:pool", expect: ok ? "accept" : "reject", spec: { kind: "pool", options: v } };
  }],
  [2, (r) => {
    const [v, ok] = badOrGood(r, [...HOSTILE_STRINGS.map((s) => [s]), "1", null, [true], [{ $: "NaN" }], { $: "valueOfObject" }], [[1, 2], 0.5, [[0.1]]]);
    return { family: "potential", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: "compile", potentialValue: v } };
  }],
  [1, (r) => {
    const depth = pick(r, [1000, 5000, 10000]);
    const e = pick(r, ["compile", "sampleSync"] as const);
    return { family: "deep", expect: "accept", spec: { kind: "model", entry: e, depth, ...withRun(e) } };
  }],
  [3, (r) => {
    const node = pick<V>(r, [
      { kind: "elementwise", op: "constructor" },
      { kind: "elementwise", op: "__proto__" },
      { kind: "elementwise", op: HOSTILE_STRINGS[2]! },
      { kind: "elementwise", op: "exp" },
      { kind: "access", map: [0, 1] },
      { kind: "access", map: { $: "i32", v: [0, 5] } },
      { kind: "custom", op: { name: "x" } },
      { kind: "param", block: { name: "x", offset: HOSTILE_STRINGS[1]! } },
      { kind: "param", block: { name: "x", offset: -1 } },
      { kind: "const", values: [1, 2] },
      { kind: "const", values: { $: "f64", v: [{ $: "NaN" }, 1] } },
      { kind: "sum" },
      { kind: "scan", body: { length: HOSTILE_STRINGS[0]! } },
      { kind: HOSTILE_STRINGS[2]! },
      null,
    ]);
    const shape = pick<V>(r, [[2], [], [HOSTILE_STRINGS[0]!], [1.5], "2"]);
    const inputs = pick(r, ["const", "fake", "none"] as const);
    // The well-formed combinations: exp of the constant [1, 2], and its sum.
    const made = `${JSON.stringify(node)} ${JSON.stringify(shape)} ${inputs}`;
    const ok = made === '{"kind":"elementwise","op":"exp"} [2] const' || made === '{"kind":"sum"} [] const';
    return { family: "expr", expect: ok ? "accept" : "reject", spec: { kind: "expr", node, shape, inputs } };
  }],
  [4, (r) => {
    const e = pick(r, ["instantiate", "sampleSync", "sample", "carrier"] as const);
    const [path, value, forge]: [(string | number)[], V, boolean] = pick(r, [
      [["source"], `"use strict"; ${CANARY.dq}; return {};`, false],
      [["source"], `"use strict"; ${CANARY.dq}; return {};`, true],
      [["source"], { $: "appendCanary" }, false],
      [["source"], { $: "appendCanary" }, true],
      [["signature"], { $: "undefined" }, false],
      [["signature"], "0".repeat(64), false],
      [["signature"], HOSTILE_STRINGS[2]!, false],
      [["name"], HOSTILE_STRINGS[8]!, false],
      [["outputs", 0, "name"], HOSTILE_STRINGS[3]!, false],
      [["outputs", 0, "name"], "__proto__", false],
      [["outputs", 0, "shape"], [HOSTILE_STRINGS[0]!], false],
      [["params", 0, "offset"], HOSTILE_STRINGS[1]!, false],
      [["params", 0, "unconstrainedLabel"], HOSTILE_STRINGS[2]!, false],
      [["dim"], HOSTILE_STRINGS[0]!, false],
      [["dim"], 1e9, false],
      [["constants"], [{ $: "valueOfObject" }], false],
      [["backend"], "eval", false],
      [["outputs"], HOSTILE_STRINGS[4]!, false],
      [[], null, false],
      [[], HOSTILE_STRINGS[2]!, false],
      [["contextSizes"], [[HOSTILE_STRINGS[0]!]], false],
      [["name"], "renamed", false],
      [[], { $: "keep" }, false],
    ]);
    const ok = JSON.stringify(value) === '{"$":"keep"}';
    return { family: `compiled:${e}`, expect: ok ? "accept" : "reject", spec: { kind: "compiled", entry: e, path, value, forgeSignature: forge } };
  }],
  [2, (r) => {
    const fields = pick<{ [k: string]: V }>(r, [
      { dim: 0 },
      { dim: -1 },
      { dim: "2" },
      { dim: 1e9 },
      { dim: { $: "NaN" } },
      { names: ["__proto__", "b"] },
      { names: [HOSTILE_STRINGS[2]!, "b"] },
      { names: ["a", "a"] },
      { names: "ab" },
      { names: ["a"] },
      { paramCount: 5 },
      { paramCount: -1 },
      { logDensityGradient: null },
      { constrainFlat: "x" },
      {},
    ] as { [k: string]: V }[]);
    const ok = Object.keys(fields).length === 0;
    return { family: "density", expect: ok ? "accept" : "reject", spec: { kind: "density", fields } };
  }],
  [2, (r) => {
    const [path, exportName, options, ok]: [V, V, V, boolean] = pick(r, [
      ["relative/model.mjs", "default", null, false],
      [`data:text/javascript,${CANARY.bare}`, "default", null, false],
      [`/nonexistent/${HOSTILE_STRINGS[3]!}`, "default", null, false],
      [{ $: "fixture" }, HOSTILE_STRINGS[2]!, null, false],
      [{ $: "fixture" }, "constructor", null, false],
      [{ $: "fixture" }, 3, null, false],
      [{ $: "fixture" }, "default", { names: ["__proto__", "b"] }, false],
      [{ $: "fixture" }, "default", { names: [HOSTILE_STRINGS[2]!, "b"] }, false],
      [{ $: "fixture" }, "default", { names: ["a", "a"] }, false],
      [{ $: "fixture" }, "default", { dim: 0 }, false],
      [{ $: "fixture" }, "default", { dim: 1e9, names: ["a"] }, false],
      [{ $: "fixture" }, "default", { $: "function" }, false],
      [{ $: "fixture" }, "default", { names: ["a", "b"] }, true],
      [3, "default", null, false],
    ]);
    return { family: "module", expect: ok ? "accept" : "reject", spec: { kind: "module", path, exportName, options } };
  }],
];

/** Expression operations on the template's theta ([3]), mu (scalar) and data x ([1, 2, 3]): [name, args, valid]. */
const OPS: readonly [string, V[], boolean][] = [
  ["slice", [ref("theta"), 0, 2], true],
  ["slice", [ref("theta"), "0", 2], false],
  ["slice", [ref("theta"), 2, 1], false],
  ["slice", [ref("theta"), 0, 4], false],
  ["slice", [ref("theta"), -1], false],
  ["slice", [ref("theta"), 1.5], false],
  ["slice", [ref("mu"), 0], false],
  ["slice", [[1, 2, 3], 1], true],
  ["gather", [ref("theta"), [0, 2]], true],
  ["gather", [ref("theta"), [[0, 1]]], true],
  ["gather", [ref("theta"), [0, 3]], false],
  ["gather", [ref("theta"), [0.5]], false],
  ["gather", [ref("theta"), ["0"]], false],
  ["gather", [ref("theta"), [HOSTILE_STRINGS[1]!]], false],
  ["gather", [ref("theta"), ref("theta")], false],
  ["reshape", [ref("theta"), [3, 1]], true],
  ["reshape", [ref("theta"), [2]], false],
  ["reshape", [ref("theta"), ["3"]], false],
  ["reshape", [ref("theta"), [HOSTILE_STRINGS[0]!]], false],
  ["column", [ref("theta"), 0], false],
  ["column", [[[1, 2], [3, 4]], 1], true],
  ["column", [[[1, 2], [3, 4]], 1.5], false],
  ["logSumExp", [ref("theta")], true],
  ["logSumExp", [ref("theta"), 0], false],
  ["logSumExp", [ref("theta"), "1"], false],
  ["matvec", [[[1, 0, 0], [0, 1, 0]], ref("theta")], true],
  ["matvec", [[[1, 0]], ref("theta")], false],
  ["matvec", ["x", ref("theta")], false],
  ["cumsum", [ref("theta")], true],
  ["cumsum", [ref("mu")], false],
  ["concat", [[ref("mu"), ref("theta")]], true],
  ["concat", ["ab"], false],
  ["concat", [[ref("mu"), [[1, 2]]]], false],
  ["stack", [[]], false],
  ["stack", [[ref("mu"), ref("mu")]], true],
  ["stack", [[ref("theta"), ref("mu")]], false],
  ["dot", [ref("theta"), [1, 2, 3]], true],
  ["dot", [ref("theta"), [1, 2]], false],
  ["pow", [ref("mu"), 2], true],
  ["pow", [ref("mu"), "2"], false],
  ["div", [ref("theta"), 2], true],
  ["div", [ref("theta"), 0], false],
  ["div", [ref("theta"), [1, 2, 0]], false],
  ["log", [ref("x")], true],
  ["log", [[0, 1]], false],
  ["lgamma", [-1], false],
  ["cholesky", [[[1, 0], [0, 1]]], true],
  ["cholesky", [[[1, 2], [2, 1]]], false],
  ["cholesky", [ref("theta")], false],
  ["mean", [ref("theta")], true],
  ["mean", [[]], false],
  ["sum", ["1"], false],
  ["exp", [{ $: "valueOfObject" }], false],
  ["add", [ref("theta"), [1, 2]], false],
  ["add", [ref("theta"), [[1], [2]]], true],
  ["scan", [ref("mu"), 3], true],
  ["scan", [ref("mu"), 0], false],
  ["scan", [ref("mu"), 1e9], false],
  ["scan", [ref("mu"), "3"], false],
  ["scan", [ref("mu"), { $: "Infinity" }], false],
  ["scan", [ref("mu"), HOSTILE_STRINGS[0]!], false],
];

/** Slots that combine freely (the template keeps their shapes compatible): [slot, bad values, good values]. */
const COMBO_SLOTS: readonly [keyof ModelSpec, readonly V[], readonly V[]][] = [
  ["paramName", BAD_NAMES, GOOD_NAMES],
  ["dataName", BAD_NAMES, GOOD_NAMES],
  ["observeName", BAD_NAMES, GOOD_NAMES],
  ["dataValue", BAD_DATA, GOOD_DATA],
  ["observeValue", BAD_DATA, GOOD_DATA],
  ["paramOptions", BAD_OPTIONS, GOOD_OPTIONS],
  ["modelOptions", BAD_MODEL_OPTIONS, GOOD_MODEL_OPTIONS],
];

const MORE_FAMILIES: readonly [number, Make][] = [
  [3, (r) => {
    const [name, args, ok] = pick(r, OPS);
    const e = pick(r, ["compile", "compile", "sampleSync"] as const);
    return { family: `ops:${name}`, expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, potentialOp: { name, args }, ...withRun(e) } };
  }],
  [3, (r) => {
    const slots = [...COMBO_SLOTS].sort(() => r() - 0.5).slice(0, 2 + Math.floor(r() * 2));
    const spec: Record<string, V> = {};
    let ok = true;
    for (const [slot, bad, good] of slots) {
      const [v, valid] = r() < 0.5 ? [pick(r, bad), false] : [pick(r, good), true];
      spec[slot] = v;
      ok &&= valid;
    }
    const names = ["paramName", "dataName", "observeName"].filter((k) => k in spec).map((k) => JSON.stringify(spec[k]));
    if (new Set(names).size < names.length) ok = false; // two nodes of one name
    const e = entry(r);
    return { family: "combo", expect: ok ? "accept" : "reject", spec: { kind: "model", entry: e, ...spec, ...withRun(e) } as ModelSpec };
  }],
];

/** `n` cases from `seed`: the same seed gives the same cases. */
export function generateCases(n: number, seed: number): FuzzCase[] {
  const r = mulberry32(seed);
  const families = [...FAMILIES, ...MORE_FAMILIES];
  const total = families.reduce((s, [w]) => s + w, 0);
  return Array.from({ length: n }, (_, id) => {
    let x = r() * total;
    let make = families[0]![1];
    for (const [w, m] of families) {
      if (x < w) {
        make = m;
        break;
      }
      x -= w;
    }
    return { id, ...make(r) };
  });
}

/** The issue's own reproduction (finding 1), first in every run. */
export const ISSUE_REPRODUCTION: Omit<FuzzCase, "id"> = {
  family: "issue:shape",
  expect: "reject",
  spec: { kind: "model", entry: "sample", paramOptions: { shape: ["2; i0++) { process.exit(42) } for (let i0 = 0; i0 < 0"] }, sampleOptions: { chains: 1, threads: 1 } },
};

/**
 * The fast slice of `npm test`: the issue's reproduction, then one case of each family
 * (the first the generator makes from seed 1), so every kind of input is exercised.
 */
export function fastSlice(): FuzzCase[] {
  const seen = new Set<string>();
  const out: FuzzCase[] = [{ id: 0, ...ISSUE_REPRODUCTION }];
  for (const c of generateCases(2000, 1)) {
    const kind = c.family.split(":")[0]!;
    const key = `${kind}:${c.expect}`;
    if (seen.has(key) || c.family.startsWith("deep")) continue;
    seen.add(key);
    out.push({ ...c, id: out.length });
  }
  return out;
}

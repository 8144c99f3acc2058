/**
 * The fuzz suite's child process: runs cases through the public API and prints, per case, a
 * line `{"start": id}` and then a line with its outcome (see `Outcome`). Run as compiled
 * JavaScript (`dist/test/fuzz/child.js`) with the cases' JSON file as its argument and
 * $FUZZ_CANARY naming the file a hostile string would write if it ever ran.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createHmac } from "node:crypto";
import * as api from "../../src/index.js";
import type { CompiledSpec, DensitySpec, DistCall, ExprSpec, FuzzCase, ModelSpec, ModuleSpec, PoolSpec, V } from "./cases.js";

export interface Outcome {
  readonly id: number;
  /** typed: a typed error before any work; untyped: any other error (or a typed one after draws were made); accepted: no error. */
  readonly kind: "typed" | "untyped" | "accepted";
  readonly error?: { readonly name: string; readonly code?: string; readonly message: string };
  /** For accepted cases: what is wrong with the result (or that the input was invalid), else null. */
  readonly garbage?: string | null;
}

const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/module-model.mjs", import.meta.url));
const REF = Symbol("ref");
type Ref = { readonly [REF]: string };

/** A JSON value back to what it stands for (`{ $: tag }` objects; see cases.ts). */
function decode(v: V, refs: Record<string, unknown> = {}): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    out.length = v.length;
    v.forEach((x, i) => {
      if (!(typeof x === "object" && x !== null && !Array.isArray(x) && x.$ === "hole")) out[i] = decode(x, refs);
    });
    return out;
  }
  if (typeof v !== "object" || v === null) return v;
  if (typeof v.$ !== "string") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: decode(v[k]!, refs), enumerable: true, writable: true, configurable: true });
    return out;
  }
  const items = (v.v ?? []) as V[];
  switch (v.$) {
    case "NaN":
      return NaN;
    case "Infinity":
      return Infinity;
    case "-Infinity":
      return -Infinity;
    case "undefined":
      return undefined;
    case "bigint":
      return 12n;
    case "bigint64":
      return BigInt64Array.of(1n, 2n);
    case "symbol":
      return Symbol("fuzz");
    case "function":
      return () => 3;
    case "valueOfObject":
      return { valueOf: () => 3, toString: () => "3" };
    case "f32":
      return Float32Array.from(items.map((x) => decode(x) as number));
    case "f64":
      return Float64Array.from(items.map((x) => decode(x) as number));
    case "i32":
      return Int32Array.from(items.map((x) => decode(x) as number));
    case "ref":
      return refs[v.v as string] ?? ({ [REF]: v.v } as Ref);
    case "fixture":
      return FIXTURE;
    default:
      throw new Error(`fuzz child: unknown tag ${String(v.$)}`);
  }
}

/** The typed errors of the API (looked up by name, so that the suite also runs against older builds). */
const TYPED = ["ModelError", "InvalidOptionError", "InvalidModelError", "PoolStartError", "InitializationError"]
  .map((n) => (api as unknown as Record<string, unknown>)[n])
  .filter((c): c is abstract new (...a: never[]) => object => typeof c === "function");
const isTyped = (e: unknown): boolean => TYPED.some((c) => e instanceof c);

/** Names, shapes and values of what went wrong with an accepted result; null when it is sane. */
function checkDensity(d: api.LogDensity): string | null {
  const q = new Float64Array(d.dim).fill(0.1);
  const g = new Float64Array(d.dim);
  const lp = d.logDensityGradient(q, g);
  if (!Number.isFinite(lp)) return `log density ${lp} at q = 0.1`;
  if (!g.every(Number.isFinite)) return `gradient ${Array.from(g)} at q = 0.1`;
  return null;
}

function checkPosterior(p: api.Posterior, draws: number, chains: number): string | null {
  if (p.numDraws !== draws) return `${p.numDraws} draws, ${draws} asked for`;
  if (p.chains.length !== chains) return `${p.chains.length} chains, ${chains} asked for`;
  for (const c of p.chains) {
    if (!c.values.every(Number.isFinite)) return `chain ${c.chain} has non-finite values`;
    if (!c.stats.lp.every(Number.isFinite)) return `chain ${c.chain} has a non-finite lp__`;
  }
  return null;
}

function checkRun(p: api.RunPosterior, draws: number, chains: number): string | null {
  if (p.status !== "completed") return `run status ${p.status}`;
  const bad = p.chainStatus.find((c) => c.status !== "completed" || c.placeholders > 0);
  if (bad !== undefined) return `a chain is ${bad.status} with ${bad.placeholders} placeholders`;
  return checkPosterior(p, draws, chains);
}

const runSizes = (options: unknown): { draws: number; chains: number } => {
  const o = (options ?? {}) as { draws?: number; chains?: number };
  return { draws: o.draws ?? 1000, chains: o.chains ?? 4 };
};

/** `sample` to its end: a typed error is "before work" only if no draw was delivered first. */
async function runSample(input: unknown, options: unknown): Promise<{ garbage: string | null } | { late: unknown }> {
  const run = api.sample(input as api.ModelInput, options as api.SampleOptions);
  let batches = 0;
  run.batches$.subscribe(() => batches++);
  try {
    const post = await run.result;
    const { draws, chains } = runSizes(options);
    return { garbage: checkRun(post, draws, chains) };
  } catch (e) {
    if (batches > 0 || !isTyped(e)) return { late: e };
    throw e;
  }
}

function distCall(call: DistCall, refs: Record<string, unknown>): api.Distribution {
  const f = (api.dist as unknown as Record<string, (...a: unknown[]) => api.Distribution>)[call.name];
  if (typeof f !== "function") throw new Error(`fuzz child: no distribution ${call.name}`);
  return f(...call.args.map((a) => decode(a, refs)));
}

/** `api[name](...args)`; `scan` as scan({ init, length }, (carry) => carry + 1). */
function applyOp(call: DistCall, refs: Record<string, unknown>): api.Expr {
  const args = call.args.map((a) => decode(a, refs));
  if (call.name === "scan") return api.scan({ init: args[0] as api.Expr, length: args[1] as number }, (c) => api.add(c, 1));
  const f = (api as unknown as Record<string, (...a: unknown[]) => api.Expr>)[call.name];
  if (typeof f !== "function") throw new Error(`fuzz child: no operation ${call.name}`);
  return f(...args);
}

const has = (s: object, k: string) => Object.hasOwn(s, k);
/** A slot's value when the case gives one, else undefined (the API's default). */
const optional = (s: ModelSpec, k: keyof ModelSpec): unknown => (has(s, k) ? decode(s[k] as V) : undefined);

function buildModel(s: ModelSpec): api.Model {
  const name = has(s, "modelName") ? decode(s.modelName!) : "fuzz";
  const options = has(s, "modelOptions") ? decode(s.modelOptions!) : undefined;
  return api.model(
    name as string,
    (m) => {
      const mu = m.param("mu", api.dist.normal(0, 1));
      const sigma = m.param("sigma", api.dist.halfNormal(1));
      const refs: Record<string, unknown> = { mu, sigma };
      const prior = s.prior ? distCall(s.prior, refs) : api.dist.normal(mu, sigma);
      const theta = m.param(
        (has(s, "paramName") ? decode(s.paramName!) : "theta") as string,
        prior,
        (has(s, "paramOptions") ? decode(s.paramOptions!) : { shape: [3] }) as api.ParamOptions,
      );
      refs.theta = theta;
      const x = m.data((has(s, "dataName") ? decode(s.dataName!) : "x") as string, (has(s, "dataValue") ? decode(s.dataValue!) : [1, 2, 3]) as number[], optional(s, "dataOptions") as never);
      let loc = api.add(mu, api.mul(0.1, api.sum(theta)));
      for (let i = 0; i < (s.depth ?? 0); i++) loc = api.add(loc, 1e-6);
      const likelihood = s.likelihood ? distCall(s.likelihood, refs) : api.dist.normal(loc, sigma);
      m.observe((has(s, "observeName") ? decode(s.observeName!) : "y") as string, likelihood, (has(s, "observeValue") ? decode(s.observeValue!) : [0.1, -0.2, 0.3]) as number[]);
      m.deterministic((has(s, "deterministicName") ? decode(s.deterministicName!) : "d") as string, theta, optional(s, "deterministicDims") as never);
      if (s.potentialOp !== undefined) m.potential("q", api.sum(applyOp(s.potentialOp, { ...refs, x })));
      if (has(s, "potentialName") || has(s, "potentialValue")) {
        m.potential((has(s, "potentialName") ? decode(s.potentialName!) : "p") as string, (has(s, "potentialValue") ? decode(s.potentialValue!) : api.mul(-0.5, api.square(mu))) as api.Expr);
      }
    },
    options as api.ModelOptions,
  );
}

async function runModel(s: ModelSpec): Promise<string | null> {
  const m = buildModel(s);
  if (s.entry === "model") return null;
  const options = optional(s, "sampleOptions");
  if (s.entry === "compile") return checkDensity(api.compile(m));
  if (s.entry === "sampleSync") {
    const { draws, chains } = runSizes(options);
    return checkPosterior(api.sampleSync(m, options as api.SampleSyncOptions), draws, chains);
  }
  const r = await runSample(m, options);
  if ("late" in r) throw Object.assign(new Error("late"), { late: r.late });
  return r.garbage;
}

function runExpr(s: ExprSpec): string | null {
  const c = api.constant([1, 2]);
  const inputs = s.inputs === "const" ? [c] : s.inputs === "fake" ? [Object.create(api.Expr.prototype)] : [];
  const e = new api.Expr(decode(s.node) as never, decode(s.shape) as number[], inputs, "fuzz");
  const m = api.model("fuzz", (b) => {
    b.param("mu", api.dist.normal(0, 1));
    b.potential("p", e);
  });
  return checkDensity(api.compile(m));
}

const small = () =>
  api.model("small", (m) => {
    const mu = m.param("mu", api.dist.normal(0, 1));
    m.observe("y", api.dist.normal(mu, 1), [0.3, -0.1]);
  });

async function runCompiled(s: CompiledSpec): Promise<string | null> {
  const genuine = api.compileModel(small());
  let forged: unknown = { ...genuine };
  const value = s.value as V;
  const keep = typeof value === "object" && value !== null && !Array.isArray(value) && value.$ === "keep";
  if (!keep) {
    if (s.path.length === 0) forged = decode(value);
    else {
      const copy = structuredClone(genuine) as unknown as Record<string | number, unknown>;
      let at: Record<string | number, unknown> = copy;
      for (const k of s.path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
      const last = s.path[s.path.length - 1]!;
      const appended = typeof value === "object" && value !== null && !Array.isArray(value) && value.$ === "appendCanary";
      at[last] = appended
        ? genuine.source.replace("let target = 0;", 'let target = 0; process.getBuiltinModule("fs").writeFileSync(process.env.FUZZ_CANARY, "x"); process.exit(86);')
        : decode(value);
      if (s.forgeSignature) {
        // An attacker's own key: a well-formed signature that no trusted key made.
        copy.signature = createHmac("sha256", "an attacker's key of at least 32 characters").update(String(copy.source)).digest("hex");
      }
      forged = copy;
    }
  }
  switch (s.entry) {
    case "instantiate":
      return checkDensity(api.instantiate(forged as api.CompiledModel));
    case "sampleSync":
      return checkPosterior(api.sampleSync(forged as api.CompiledModel, { chains: 1, warmup: 20, draws: 10, seed: 1 }), 10, 1);
    case "sample":
    case "carrier": {
      const input = s.entry === "carrier" ? { ...api.compile(small()), compiled: forged } : forged;
      const r = await runSample(input, { chains: 1, warmup: 20, draws: 10, seed: 1, threads: 1 });
      if ("late" in r) throw Object.assign(new Error("late"), { late: r.late });
      return r.garbage;
    }
  }
}

function runDensity(s: DensitySpec): string | null {
  const base: Record<string, unknown> = {
    dim: 2,
    names: ["a", "b"],
    unconstrainedNames: ["a", "b"],
    paramCount: 2,
    logDensityGradient: (q: Float64Array, g: Float64Array) => {
      g[0] = -q[0]!;
      g[1] = -q[1]!;
      return -0.5 * (q[0]! * q[0]! + q[1]! * q[1]!);
    },
    logDensity: (q: Float64Array) => -0.5 * (q[0]! * q[0]! + q[1]! * q[1]!),
    constrainFlat: (q: Float64Array, out: Float64Array) => out.set(q),
    constrain: () => ({}),
    unconstrain: () => new Float64Array(2),
  };
  for (const [k, v] of Object.entries(s.fields)) base[k] = decode(v);
  return checkPosterior(api.sampleSync(base as unknown as api.LogDensity, { chains: 1, warmup: 20, draws: 10, seed: 1 }), 10, 1);
}

async function runModule(s: ModuleSpec): Promise<string | null> {
  const spec = api.moduleModel(decode(s.path) as string, decode(s.exportName) as string, decode(s.options));
  const r = await runSample(spec, { chains: 1, warmup: 20, draws: 10, seed: 1, threads: 1 });
  if ("late" in r) throw Object.assign(new Error("late"), { late: r.late });
  return r.garbage;
}

async function runPool(s: PoolSpec): Promise<string | null> {
  const pool = api.createWorkerPool(decode(s.options) as api.WorkerPoolOptions);
  await pool.close();
  return null;
}

async function runCase(c: FuzzCase): Promise<Outcome> {
  try {
    const s = c.spec;
    const garbage =
      s.kind === "model" ? await runModel(s)
      : s.kind === "expr" ? runExpr(s)
      : s.kind === "compiled" ? await runCompiled(s)
      : s.kind === "density" ? runDensity(s)
      : s.kind === "module" ? await runModule(s)
      : await runPool(s);
    return { id: c.id, kind: "accepted", garbage: c.expect === "reject" ? `accepted invalid input${garbage ? ` (and ${garbage})` : ""}` : garbage };
  } catch (caught) {
    const late = (caught as { late?: unknown }).late;
    const e = late ?? caught;
    const err = e instanceof Error ? e : new Error(String(e));
    return {
      id: c.id,
      kind: late === undefined && isTyped(e) ? "typed" : "untyped",
      error: { name: err.name, ...((err as { code?: string }).code ? { code: (err as { code?: string }).code } : {}), message: err.message.slice(0, 500) },
    };
  }
}

const cases = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as FuzzCase[];
for (const c of cases) {
  console.log(JSON.stringify({ start: c.id }));
  console.log(JSON.stringify(await runCase(c)));
}
process.exit(0);

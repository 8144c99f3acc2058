/**
 * Issue 9, finding 1: no value a user gives reaches generated code, and a compiled model
 * received from outside runs only when its signature verifies (DECISIONS.md D24). Every
 * hostile string here would end the process (`process.exit`) if it were ever run; the test
 * replaces `process.exit` with a throw that records the call.
 */
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import {
  Expr,
  InvalidModelError,
  ModelError,
  add,
  compile,
  compileModel,
  constant,
  dist,
  instantiate,
  liveWorkerThreads,
  model,
  sample,
  sampleSync,
  trustModelKey,
  type CompiledModel,
  type Model,
} from "../../src/index.js";
import { guardProcessExit, thrown } from "./helpers.js";
import { workerTrustData } from "../../src/compile/trust.js";

/** Strings that are code if pasted into generated source, each ending the process if run. */
export const HOSTILE: readonly string[] = [
  "2; i0++) { process.exit(42) } for (let i0 = 0; i0 < 0",
  '"); process.exit(42); ("',
  "'); process.exit(42); ('",
  "`${process.exit(42)}`",
  "${process.exit(42)}",
  "*/ process.exit(42) /*",
  "x\nprocess.exit(42)",
  "x\u2028process.exit(42)",
  "x]; process.exit(42); q[0",
  "__proto__",
  "constructor",
  "toString",
  "a b",
  "",
];

guardProcessExit();

const simple = (): Model =>
  model("simple", (m) => {
    const mu = m.param("mu", dist.normal(0, 1));
    m.observe("y", dist.normal(mu, 1), [0.1, -0.3]);
  });

describe("user values never reach generated code", () => {
  it("the issue's reproduction is a typed error before any work starts, and exit is never called", () => {
    const e = "2; i0++) { process.exit(42) } for (let i0 = 0; i0 < 0";
    const err = thrown(() =>
      sample(
        model("m", (m) => {
          m.param("x", dist.normal(0, 1), { shape: [e as unknown as number] });
        }),
        { chains: 1, threads: 1 },
      ),
    );
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).message).toMatch(/parameter x: shape entry 0 is "2; i0\+\+\)/);
    expect(liveWorkerThreads()).toBe(0);
  });

  it("hostile shapes, dims and names are rejected as ModelErrors wherever they are given", () => {
    const uses: [string, (h: string) => void][] = [
      ["param shape", (h) => void model("m", (m) => void m.param("x", dist.normal(0, 1), { shape: [2, h as unknown as number] }))],
      ["data shape", (h) => void model("m", (m) => { m.param("x"); m.data("d", [1, 2], { shape: [h as unknown as number] }); })],
      ["reshape", (h) => void model("m", (m) => void m.potential("p", m.param("x", { shape: [2] }).reshape([h as unknown as number])))],
      ["constant shape", (h) => void constant([1, 2], [h as unknown as number])],
      ["dims", (h) => void model("m", (m) => void m.param("x", dist.normal(0, 1), { shape: [2], dims: [h] }))],
      ["parameter name", (h) => void model("m", (m) => void m.param(h, dist.normal(0, 1)))],
      ["data name", (h) => void model("m", (m) => { m.param("x"); m.data(h, [1]); })],
      ["observed name", (h) => void model("m", (m) => m.observe(h, dist.normal(m.param("x"), 1), [1]))],
      ["deterministic name", (h) => void model("m", (m) => void m.deterministic(h, m.param("x")))],
      ["potential name", (h) => void model("m", (m) => m.potential(h, m.param("x")))],
    ];
    for (const [where, use] of uses) {
      for (const h of HOSTILE) {
        const err = thrown(() => use(h));
        expect(err, `${where} ${JSON.stringify(h)}`).toBeInstanceOf(ModelError);
      }
    }
  });

  it("a model name is free text, never part of the source: any printable name compiles to the same density", () => {
    const plain = compile(simple());
    const at = (d: typeof plain) => d.logDensityGradient(Float64Array.of(0.3), new Float64Array(1));
    for (const h of HOSTILE.filter((s) => s.length > 0 && !/[\n\u2028]/.test(s))) {
      const m = model(h, (b) => {
        const mu = b.param("mu", dist.normal(0, 1));
        b.observe("y", dist.normal(mu, 1), [0.1, -0.3]);
      });
      const c = compileModel(m);
      expect(c.name).toBe(h);
      if (h.length > 3) expect(c.source.includes(h)).toBe(false);
      expect(at(compile(m))).toBe(at(plain));
      expect(sampleSync(compile(m), { chains: 1, warmup: 20, draws: 20, seed: 1 }).numDraws).toBe(20);
    }
    expect(thrown(() => model("a\nb", () => undefined))).toBeInstanceOf(ModelError);
  });

  it("expression nodes are checked by their constructor and cannot be changed afterwards", () => {
    const x = compile(simple()); // a genuine model compiles
    expect(x.dim).toBe(1);
    const c = constant([1, 2]);
    const forged: [string, () => unknown][] = [
      ["unknown op", () => new Expr({ kind: "elementwise", op: "constructor" }, [2], [c, c], "x")],
      ["op of another arity", () => new Expr({ kind: "elementwise", op: "add" }, [2], [c], "x")],
      ["string shape", () => new Expr({ kind: "elementwise", op: "neg" }, ["2; process.exit(42)" as unknown as number], [c], "x")],
      ["fractional shape", () => new Expr({ kind: "elementwise", op: "neg" }, [2.5], [c], "x")],
      ["plain-array map", () => new Expr({ kind: "access", map: [0, 1] as unknown as Int32Array }, [2], [c], "x")],
      ["map out of range", () => new Expr({ kind: "access", map: Int32Array.of(0, 7) }, [2], [c], "x")],
      ["forged custom op", () => new Expr({ kind: "custom", op: { name: "x", fwd: () => "process.exit(42)", bwd: () => "" } }, [2], [c], "x")],
      ["hostile param offset", () => new Expr({ kind: "param", block: { name: "x", offset: "0]; process.exit(42); q[0" as unknown as number } }, [1], [], "x")],
      ["fake input", () => new Expr({ kind: "elementwise", op: "neg" }, [2], [Object.create(Expr.prototype) as Expr], "x")],
      ["unknown kind", () => new Expr({ kind: "eval" } as never, [], [], "x")],
    ];
    for (const [what, make] of forged) expect(thrown(make), what).toBeInstanceOf(ModelError);
    const e = add(constant(1), simple().params[0]!.value);
    expect(() => ((e as { shape: unknown }).shape = ["2; process.exit(42)"])).toThrow(TypeError);
    expect(() => ((e.shape as number[])[0] = 3)).toThrow(TypeError);
    expect(() => ((e as { node: unknown }).node = { kind: "elementwise", op: "exp" })).toThrow(TypeError);
    expect(() => ((e as { id: unknown }).id = "1; process.exit(42)")).toThrow(TypeError);
  });

  it("compile checks a Model it did not build: names, shapes and expressions", () => {
    const m = simple();
    const variants: Record<string, Model> = {
      "hostile output name": { ...m, outputs: [{ ...m.outputs[0]!, name: '"]; process.exit(42); ["' }] },
      "__proto__ output": { ...m, outputs: [{ ...m.outputs[0]!, name: "__proto__" }] },
      "fake term": { ...m, terms: [{ node: { kind: "elementwise", op: "exp" }, shape: [], inputs: [] } as unknown as Expr] },
      "hostile dim": { ...m, dim: "1; process.exit(42)" as unknown as number },
      "hostile dims": { ...m, params: [{ ...m.params[0]!, dims: ['x"]; process.exit(42); ["'] }] },
    };
    for (const [what, v] of Object.entries(variants)) expect(thrown(() => compile(v)), what).toBeInstanceOf(ModelError);
  });
});

describe("compiled models received from outside run only when their signature verifies", () => {
  const genuine = (): CompiledModel => compileModel(simple());
  const hostileVariants = (): Record<string, unknown> => {
    const c = genuine();
    return {
      "source replaced": { ...c, source: '"use strict"; process.exit(42); return {};' },
      "code appended to a function": { ...c, source: c.source.replace("let target = 0;", "let target = 0; process.exit(42);") },
      "no signature": { ...c, signature: undefined },
      "signature from another key": { ...c, source: "process.exit(42)", signature: "0".repeat(64) },
      "hostile output name": { ...c, outputs: [{ ...c.outputs[0]!, name: "mu'); process.exit(42); ('" }] },
      "__proto__ output": { ...c, outputs: [{ ...c.outputs[0]!, name: "__proto__" }] },
      "hostile shape": { ...c, outputs: [{ ...c.outputs[0]!, shape: ["1; process.exit(42)"] }] },
      "constants swapped for an object": { ...c, constants: [{ length: 1, toString: () => "process.exit(42)" }] },
      "getter source": Object.defineProperty({ ...c }, "source", { get: () => "process.exit(42)" }),
      "not an object": '"use strict"; process.exit(42)',
    };
  };

  it("a structured clone of a genuine model instantiates (what a worker thread receives)", () => {
    const c = genuine();
    const d = instantiate(structuredClone(c));
    const g = new Float64Array(1);
    expect(d.logDensityGradient(Float64Array.of(0.2), g)).toBe(compile(simple()).logDensityGradient(Float64Array.of(0.2), new Float64Array(1)));
  });

  it("instantiate, sampleSync and sample reject every forged or altered model before evaluating any of it", () => {
    for (const [what, forged] of Object.entries(hostileVariants())) {
      expect(thrown(() => instantiate(forged as CompiledModel)), `instantiate: ${what}`).toBeInstanceOf(ModelError);
      expect(thrown(() => sampleSync(forged as CompiledModel, { chains: 1 })), `sampleSync: ${what}`).toBeInstanceOf(InvalidModelError);
      expect(thrown(() => sample(forged as CompiledModel, { chains: 1, threads: 1 })), `sample: ${what}`).toBeInstanceOf(InvalidModelError);
      // A density object carrying a forged compiled form is not sent to the workers either.
      const carrier = { ...compile(simple()), compiled: forged };
      if (typeof forged === "object" && (forged as { source?: unknown }).source !== undefined) {
        expect(thrown(() => sample(carrier as never, { chains: 1, threads: 1 })), `sample(carrier): ${what}`).toBeInstanceOf(InvalidModelError);
      }
    }
    expect((thrown(() => instantiate(hostileVariants()["source replaced"] as CompiledModel)) as ModelError).code).toBe("untrusted-model");
    expect(liveWorkerThreads()).toBe(0);
  });

  it("a worker thread accepts models signed with the key it inherits, and nothing else", async () => {
    const compiledModule = new URL("../../dist/src/compile/compile.js", import.meta.url).href;
    const script = `
      const { parentPort, workerData } = require("node:worker_threads");
      process.exit = (code) => { parentPort.postMessage({ exit: code }); throw new Error("exit"); };
      import(${JSON.stringify(compiledModule)}).then(({ instantiate }) => {
        const out = workerData.models.map((m) => { try { instantiate(m); return "ok"; } catch (e) { return e.code ?? e.message; } });
        parentPort.postMessage({ out });
      });`;
    const variants = hostileVariants();
    const models = [genuine(), variants["source replaced"], variants["code appended to a function"], variants["signature from another key"]];
    const run = (data: object) =>
      new Promise<{ out: string[] }>((resolve, reject) => {
        const w = new Worker(script, { eval: true, workerData: { ...data, models } });
        w.once("message", (m) => (m.exit !== undefined ? reject(new Error(`exit ${m.exit}`)) : resolve(m)));
        w.once("error", reject);
      });
    expect((await run(workerTrustData())).out).toEqual(["ok", "untrusted-model", "untrusted-model", "untrusted-model"]);
    // Without this process's key a thread trusts nothing made here.
    expect((await run({})).out).toEqual(["untrusted-model", "untrusted-model", "untrusted-model", "untrusted-model"]);
  });

  it("models for other processes: signed with an operator key, run once that key is trusted", async () => {
    const key = "an operator key of at least 32 characters, kept secret";
    const c = compileModel(simple(), { key });
    expect((thrown(() => instantiate(c)) as ModelError).code).toBe("untrusted-model");
    expect(thrown(() => compileModel(simple(), { key: "short" }))).toBeInstanceOf(ModelError);
    trustModelKey(key);
    const d = instantiate(structuredClone(c));
    expect(d.names).toEqual(["mu"]);
    // sample re-signs it with this process's key for its worker threads.
    const post = await sample(c, { chains: 1, threads: 1, warmup: 50, draws: 50, seed: 2 }).result;
    expect(post.numDraws).toBe(50);
    expect(liveWorkerThreads()).toBe(0);
  });
});

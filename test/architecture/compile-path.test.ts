/**
 * A model goes down src/compile once (ARCHITECTURE.md): `compile` checks it once, whatever the
 * backend, then lowers and signs it; the backends below never call back up.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("../../src/compile/checks.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/compile/checks.js")>();
  return { ...original, checkModel: vi.fn(original.checkModel) };
});
vi.mock("../../src/compile/trust.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/compile/trust.js")>();
  return { ...original, sign: vi.fn(original.sign) };
});

const { checkModel } = await import("../../src/compile/checks.js");
const { sign } = await import("../../src/compile/trust.js");
const { compile, compileModel } = await import("../../src/compile/compile.js");
const { dist, matvec, model } = await import("../../src/model/index.js");

const small = model("small", (m) => {
  m.observe("y", dist.normal(m.param("mu", dist.normal(0, 1)), 1), [0.1, -0.3, 0.8]);
});
const X = Array.from({ length: 300 }, (_, i) => [1, Math.sin(i), Math.cos(i)]);
const dense = model("dense", (m) => {
  const beta = m.param("beta", dist.normal(0, 1), { shape: [3] });
  m.observe("y", dist.bernoulliLogit(matvec(m.data("X", X), beta)), X.map((_, i) => i % 2));
});

describe("compile", () => {
  beforeEach(() => {
    vi.mocked(checkModel).mockClear();
    vi.mocked(sign).mockClear();
  });

  it("js: checks the model once, signs its code once", () => {
    compile(small);
    expect(checkModel).toHaveBeenCalledTimes(1);
    expect(sign).toHaveBeenCalledTimes(1);
  });

  it("tfjs: checks once; signs the js form and the light terms' js", () => {
    compile(dense, { backend: "tfjs", device: "cpu" });
    expect(checkModel).toHaveBeenCalledTimes(1);
    expect(sign).toHaveBeenCalledTimes(2);
  });

  it("auto falling back to js: still one check", () => {
    const d = compile(dense, { backend: "auto", device: "cpu" });
    expect(d.backend).toMatchObject({ backend: "js", requested: "auto" });
    expect(checkModel).toHaveBeenCalledTimes(1);
  });

  it("compileModel, the js backend on its own, checks too", () => {
    compileModel(small);
    expect(checkModel).toHaveBeenCalledTimes(1);
  });
});

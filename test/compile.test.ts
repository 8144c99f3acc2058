/**
 * The compiler: every operation's gradient against central finite differences, transforms and
 * their log-Jacobians, automatic non-centring, serialisation, and early, clear errors.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { compile, compileModel, instantiate } from "../src/compile/compile.js";
import { instantiateChecked } from "../src/compile/compile-js.js";
import { loadModuleModel, moduleModel } from "../src/compile/module-model.js";
import type { LogDensity } from "../src/compile/types.js";
import {
  ModelError,
  abs,
  add,
  cholesky,
  column,
  concat,
  constant,
  cumsum,
  diagonal,
  dist,
  div,
  dot,
  exp,
  expm1,
  gather,
  lgamma,
  log,
  log1m,
  log1mExp,
  log1p,
  log1pExp,
  logAddExp,
  logSumExp,
  logistic,
  logit,
  lowerSolve,
  matvec,
  mean,
  model,
  mul,
  neg,
  pow,
  scan,
  sqrt,
  square,
  stack,
  sub,
  sum,
  tanh,
  type Expr,
} from "../src/model/index.js";
import { symmetricEigen } from "../src/model/linalg.js";
import { finiteDifferenceGradient, gradientError, randomPoints } from "./helpers/finite-diff.js";

function expectExactGradient(ld: LogDensity, points: Float64Array[]) {
  for (const q of points) {
    const { worst, index, analytic, numeric } = gradientError(ld, q);
    expect(worst, `coordinate ${ld.unconstrainedNames[index]}: ${analytic[index]} vs ${numeric[index]}`).toBeLessThan(2e-7);
    const g = new Float64Array(ld.dim);
    expect(ld.logDensityGradient(q, g)).toBe(ld.logDensity(q));
  }
}

/** A model whose only term is `f(x)` for a parameter vector x of length 4 (optionally positive). */
const potentialModel = (f: (x: Expr) => Expr, opts: { lower?: number; upper?: number; size?: number } = {}) =>
  compile(
    model("op", (b) => {
      const x = b.param("x", { shape: [opts.size ?? 4], ...(opts.lower !== undefined ? { lower: opts.lower } : {}), ...(opts.upper !== undefined ? { upper: opts.upper } : {}) });
      b.potential("f", f(x));
    }),
  );

describe("elementwise operations", () => {
  const data = constant([0.5, -1.5, 2.0, 0.25]);
  const cases: [string, (x: Expr) => Expr, { lower?: number; upper?: number }?][] = [
    ["add", (x) => add(x, mul(x, x))],
    ["sub with broadcasting", (x) => sub(data, x.sum())],
    ["mul", (x) => mul(x, data)],
    ["div", (x) => div(data, x), { lower: 0 }],
    ["pow", (x) => pow(x, x), { lower: 0 }],
    ["neg", (x) => neg(square(x))],
    ["exp", (x) => exp(x)],
    ["log", (x) => log(x), { lower: 0 }],
    ["log1p", (x) => log1p(x), { lower: 0 }],
    ["log1m", (x) => log1m(x), { lower: 0, upper: 1 }],
    ["expm1", (x) => expm1(x)],
    ["sqrt", (x) => sqrt(x), { lower: 0 }],
    ["abs", (x) => abs(add(x, 3))],
    ["tanh", (x) => tanh(x)],
    ["logistic", (x) => logistic(x)],
    ["logit", (x) => logit(x), { lower: 0, upper: 1 }],
    ["log1pExp", (x) => log1pExp(mul(x, 10))],
    ["log1mExp", (x) => log1mExp(neg(x)), { lower: 0 }],
    ["lgamma", (x) => lgamma(x), { lower: 0 }],
    ["logAddExp", (x) => logAddExp(x, mul(data, x))],
    ["mean and dot", (x) => add(mean(square(x)), dot(x, data))],
  ];
  for (const [name, f, opts] of cases) {
    test(name, () => expectExactGradient(potentialModel((x) => sum(f(x)), opts), randomPoints(4, 4, name.length)));
  }
});

describe("matvec's blocked loops", () => {
  test("add every sum's terms in the order of the plain row loop (the same bits)", () => {
    const [m, n] = [43, 5];
    // Terms of one size and both signs: regrouping a sum changes its last bits.
    const a = Array.from({ length: m * n }, (_, k) => Math.sin(3 * k + 1));
    const w = Array.from({ length: m }, (_, i) => Math.cos(7 * i) + 0.1);
    const ld = compile(model("mv", (b) => {
      const x = b.param("x", { shape: [n] });
      b.potential("f", dot(constant(w), matvec(constant(a, [m, n]), x)));
    }));
    const x = Float64Array.from({ length: n }, (_, j) => 0.3 * j - 0.7);
    const grad = new Float64Array(n);
    ld.logDensityGradient(x, grad);
    for (let j = 0; j < n; j++) {
      let g = 0;
      for (let i = 0; i < m; i++) g += w[i]! * a[i * n + j]!;
      expect(grad[j]).toBe(g);
    }
  });
});

describe("structural and linear-algebra operations", () => {
  const A = constant([1, 2, -1, 0.5, 3, 1, 0, -2, 1, 1, 1, 1], [3, 4]);
  const cases: [string, (x: Expr) => Expr][] = [
    ["matvec with a data matrix", (x) => square(matvec(A, x))],
    ["matvec with a parameter matrix", (x) => matvec(stack([x, exp(x), square(x)]), x)],
    ["matvec with 7 data rows (a block of 4 and 3 more)", (x) => square(matvec(constant(Array.from({ length: 28 }, (_, k) => Math.sin(k + 1)), [7, 4]), x))],
    ["matvec with a parameter matrix of 9 rows", (x) => matvec(stack([x, exp(x), square(x), add(x, 1), mul(x, 3), exp(neg(x)), sub(x, 2), mul(x, x.sum()), x]), x)],
    ["cumsum", (x) => mul(cumsum(x), cumsum(exp(x)))],
    ["concat of scalars and vectors", (x) => square(concat([x.sum(), x, 3, exp(x.slice(1, 3))]))],
    ["slice", (x) => mul(x.slice(0, 3), x.slice(1, 4))],
    ["gather with repeats", (x) => square(gather(x, [3, 0, 0, 2, 1, 3]))],
    ["reshape, column and diagonal", (x) => {
      const M = exp(x).reshape([2, 2]);
      return add(column(M, 1), mul(diagonal(M), 2));
    }],
    ["logSumExp over all", (x) => logSumExp(mul(x, 3))],
    ["logSumExp down columns", (x) => logSumExp(x.reshape([2, 2]), 0)],
    ["logSumExp along rows", (x) => logSumExp(stack([x, square(x)]), 1)],
    ["cholesky", (x) => {
      const B = stack([x, exp(x), add(x, 1), square(x)]);
      // B B^T + 4 I is symmetric positive definite for every x.
      const rows = [0, 1, 2, 3].map((i) => stack([0, 1, 2, 3].map((j) => add(dot(gather(B, [i]).reshape([4]), gather(B, [j]).reshape([4])), i === j ? 4 : 0))));
      return mul(cholesky(stack(rows)), constant([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [4, 4]));
    }],
    ["lowerSolve", (x) => {
      const L = add(mul(stack([x, x, x, x]), constant([1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1], [4, 4])), constant([3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 3], [4, 4]));
      return square(lowerSolve(L, exp(x)));
    }],
    ["symmetricEigen's eigenvalues and eigenvectors", (x) => {
      // B B^T + diag(4, 8, 12, 16): eigenvalues well apart, so eigenvectors are well-conditioned.
      const B = stack([x, exp(x), add(x, 1), square(x)]);
      const rows = [0, 1, 2, 3].map((i) => stack([0, 1, 2, 3].map((j) => add(dot(gather(B, [i]).reshape([4]), gather(B, [j]).reshape([4])), i === j ? 4 * (i + 1) : 0))));
      const { values, vectors } = symmetricEigen(stack(rows));
      return concat([mul(values, constant([1, -2, 3, 0.5])), mul(vectors, constant([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [4, 4])).reshape([16])]);
    }],
    ["scan with a vector carry and free parameters", (x) =>
      scan({ init: x.slice(0, 2), xs: [constant([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [3, 2])] }, (c, [row]) =>
        add(mul(tanh(c), x.slice(2, 4)), mul(row!, x.sum())),
      )],
  ];
  for (const [name, f] of cases) {
    test(name, () => expectExactGradient(potentialModel((x) => sum(f(x))), randomPoints(4, 4, name.length + 7)));
  }
});

describe("transforms", () => {
  const numericLogJacobian = (ld: LogDensity, q: Float64Array, outputs: number) => {
    // |det dx/du| of the map from u to the first `outputs` constrained coordinates.
    const f = (k: number) => (p: Float64Array) => {
      const out = new Float64Array(ld.names.length);
      ld.constrainFlat(p, out);
      return out[k]!;
    };
    const J = Array.from({ length: outputs }, (_, k) => finiteDifferenceGradient(f(k), q));
    // Determinant by Gaussian elimination with partial pivoting.
    let logDet = 0;
    const M = J.map((r) => Array.from(r));
    for (let c = 0; c < outputs; c++) {
      let p = c;
      for (let r = c + 1; r < outputs; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
      [M[c], M[p]] = [M[p]!, M[c]!];
      logDet += Math.log(Math.abs(M[c]![c]!));
      for (let r = c + 1; r < outputs; r++) {
        const f2 = M[r]![c]! / M[c]![c]!;
        for (let k = c; k < outputs; k++) M[r]![k]! -= f2 * M[c]![k]!;
      }
    }
    return logDet;
  };
  const cases: [string, Parameters<ReturnType<typeof model>["params"][number]["invert"]> extends never ? never : object, number[]][] = [
    ["lower", { lower: 2 }, [2.5, 3, 7]],
    ["upper", { upper: -1 }, [-1.5, -3, -7]],
    ["interval", { lower: -1, upper: 3 }, [-0.5, 0, 2.9]],
    ["ordered", { constraint: "ordered" }, [-2, 0.5, 0.7]],
    ["positiveOrdered", { constraint: "positiveOrdered" }, [0.1, 0.5, 3]],
  ];
  for (const [name, opts, values] of cases) {
    test(`${name}: log-Jacobian equals log |det dx/du|, round trip, values in constrained space`, () => {
      const ld = compile(model(name, (b) => void b.param("x", { shape: [3], ...opts })));
      const q = ld.unconstrain({ x: values });
      const back = ld.constrain(q).x!.values;
      values.forEach((v, i) => expect(back[i]).toBeCloseTo(v, 12));
      for (const p of randomPoints(3, 3, name.length)) {
        expect(ld.logDensity(p)).toBeCloseTo(numericLogJacobian(ld, p, 3), 6);
      }
      expectExactGradient(ld, randomPoints(3, 3, 99));
    });
  }
  test("simplex: stick-breaking, Jacobian of the first K-1 coordinates, round trip", () => {
    const ld = compile(model("simplex", (b) => void b.param("x", { shape: [4], constraint: "simplex" })));
    expect(ld.dim).toBe(3);
    const values = [0.1, 0.2, 0.3, 0.4];
    const back = ld.constrain(ld.unconstrain({ x: values })).x!.values;
    values.forEach((v, i) => expect(back[i]).toBeCloseTo(v, 12));
    for (const p of randomPoints(3, 3, 5)) {
      const out = new Float64Array(4);
      ld.constrainFlat(p, out);
      expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
      expect(ld.logDensity(p)).toBeCloseTo(numericLogJacobian(ld, p, 3), 6);
    }
    // The uniform Dirichlet: at u = 0 every entry is 1/K, as in Stan.
    const out = new Float64Array(4);
    ld.constrainFlat(new Float64Array(3), out);
    out.forEach((v) => expect(v).toBeCloseTo(0.25, 14));
  });
  test("bounds that depend on another parameter (garch: beta1 < 1 - alpha1)", () => {
    const ld = compile(
      model("garch-bounds", (b) => {
        const alpha1 = b.param("alpha1", { lower: 0, upper: 1 });
        b.param("beta1", { lower: 0, upper: sub(1, alpha1) });
      }),
    );
    for (const p of randomPoints(2, 5, 3, 4)) {
      const c = ld.constrain(p);
      expect(c.beta1!.values[0]! + c.alpha1!.values[0]!).toBeLessThan(1);
      expect(ld.logDensity(p)).toBeCloseTo(numericLogJacobian(ld, p, 2), 6);
    }
    const q = ld.unconstrain({ alpha1: 0.7, beta1: 0.2 });
    expect(ld.constrain(q).beta1!.values[0]).toBeCloseTo(0.2, 12);
    expect(() => ld.unconstrain({ alpha1: 0.7, beta1: 0.5 })).toThrow(/beta1.*not inside/);
  });
});

describe("automatic non-centring", () => {
  const eightSchools = (noncentered: boolean) =>
    compile(
      model(
        "eight_schools",
        (b) => {
          const mu = b.param("mu", dist.normal(0, 5));
          const tau = b.param("tau", dist.halfCauchy(5));
          const theta = b.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
          b.observe("y", dist.normal(theta, constant([15, 10, 16, 11, 9, 11, 10, 18])), [28, 8, -3, 7, -1, 1, 18, 12]);
        },
        { noncentered },
      ),
    );
  test("a Normal with a parameter scale is sampled as z ~ N(0, 1) and reported as loc + scale * z", () => {
    const nc = eightSchools(true);
    expect(nc.unconstrainedNames[2]).toBe("theta__noncentered[1]");
    expect(nc.names.slice(0, 3)).toEqual(["mu", "tau", "theta[1]"]);
    const q = Float64Array.from({ length: 10 }, (_, i) => 0.1 * i - 0.3);
    const c = nc.constrain(q);
    const [mu, tau] = [c.mu!.values[0]!, c.tau!.values[0]!];
    c.theta!.values.forEach((t, i) => expect(t).toBeCloseTo(mu + tau * q[2 + i]!, 12));
    expectExactGradient(nc, randomPoints(10, 3, 11));
  });
  test("the two parameterisations are one density: they differ by the Jacobian log(tau^J)", () => {
    const [nc, c] = [eightSchools(true), eightSchools(false)];
    expect(c.unconstrainedNames[2]).toBe("theta[1]");
    const diffs = randomPoints(10, 4, 21).map((q) => {
      const theta = nc.constrain(q);
      const qc = c.unconstrain({ mu: theta.mu!.values, tau: theta.tau!.values, theta: theta.theta!.values });
      return nc.logDensity(q) - (c.logDensity(qc) + 8 * Math.log(theta.tau!.values[0]!));
    });
    diffs.forEach((d) => expect(d).toBeCloseTo(diffs[0]!, 9));
  });
  test('"auto" keeps a parameter centred when 5+ observations per element inform it', () => {
    const groups = (perGroup: number) =>
      compile(
        model("groups", (b) => {
          const mu = b.param("mu", dist.normal(0, 5));
          const tau = b.param("tau", dist.halfNormal(1));
          const alpha = b.param("alpha", dist.normal(mu, tau), { shape: [2] });
          const index = Array.from({ length: 2 * perGroup }, (_, i) => i % 2);
          b.observe("y", dist.normal(gather(alpha, index), 1), index.map((g) => g * 2 - 0.5));
        }),
      );
    expect(groups(5).unconstrainedNames).toContain("alpha[1]");
    expect(groups(4).unconstrainedNames).toContain("alpha__noncentered[1]");
    // The centred form is the same density as writing it centred by hand.
    const centred = groups(5);
    const byHand = compile(
      model(
        "groups",
        (b) => {
          const mu = b.param("mu", dist.normal(0, 5));
          const tau = b.param("tau", dist.halfNormal(1));
          const alpha = b.param("alpha", dist.normal(mu, tau), { shape: [2] });
          const index = Array.from({ length: 10 }, (_, i) => i % 2);
          b.observe("y", dist.normal(gather(alpha, index), 1), index.map((g) => g * 2 - 0.5));
        },
        { noncentered: false },
      ),
    );
    for (const q of randomPoints(4, 3, 8)) expect(centred.logDensity(q)).toBeCloseTo(byHand.logDensity(q), 12);
    expectExactGradient(centred, randomPoints(4, 3, 9));
  });
  test("a Gaussian random walk with a parameter scale is non-centred as sigma * cumsum(z)", () => {
    const walk = (noncentered: boolean) =>
      compile(
        model(
          "walk",
          (b) => {
            const sigma = b.param("sigma", dist.exponential(1));
            const s = b.param("s", dist.gaussianRandomWalk(sigma, 5));
            b.observe("r", dist.normal(s, 1), [0.1, -0.3, 0.2, 0.8, 0.5]);
          },
          { noncentered },
        ),
      );
    const [nc, c] = [walk(true), walk(false)];
    expect(nc.unconstrainedNames[1]).toBe("s__noncentered[1]");
    expectExactGradient(nc, randomPoints(6, 3, 31));
    expectExactGradient(c, randomPoints(6, 3, 32));
    const diffs = randomPoints(6, 4, 33).map((q) => {
      const v = nc.constrain(q);
      const cumulative = q.slice(1).reduce<number[]>((acc, z) => [...acc, (acc.at(-1) ?? 0) + z], []);
      v.s!.values.forEach((x, i) => expect(x).toBeCloseTo(v.sigma!.values[0]! * cumulative[i]!, 12));
      const qc = c.unconstrain({ sigma: v.sigma!.values, s: v.s!.values });
      expect(Array.from(nc.unconstrain({ sigma: v.sigma!.values, s: v.s!.values }))).toEqual(Array.from(q).map((x) => expect.closeTo(x, 10)));
      return nc.logDensity(q) - (c.logDensity(qc) + 5 * Math.log(v.sigma!.values[0]!));
    });
    diffs.forEach((d) => expect(d).toBeCloseTo(diffs[0]!, 9));
  });
  test("opt-out per parameter", () => {
    const ld = compile(
      model("opt-out", (b) => {
        const tau = b.param("tau", dist.halfNormal(1));
        b.param("theta", dist.normal(0, tau), { shape: [3], noncentered: false });
      }),
    );
    expect(ld.unconstrainedNames).toContain("theta[1]");
  });
});

describe("serialised form", () => {
  test("a worker can rebuild the density from plain data; data live in SharedArrayBuffers", () => {
    const m = model("reg", (b) => {
      const x = b.data("x", [1, 2, 3, 4, 5]);
      const a = b.param("a", dist.normal(0, 10));
      const s = b.param("s", dist.exponential(1));
      b.deterministic("fitted", add(a, x));
      b.observe("y", dist.normal(add(a, x), s), [1.1, 2.3, 2.9, 4.2, 5.1]);
    });
    const compiled = compileModel(m);
    const copy = structuredClone(compiled);
    expect(compiled.constants.every((c) => c.buffer instanceof SharedArrayBuffer)).toBe(true);
    const [a, b] = [compile(m), instantiate(copy)];
    for (const q of randomPoints(2, 3, 4)) {
      const [ga, gb] = [new Float64Array(2), new Float64Array(2)];
      expect(b.logDensityGradient(q, gb)).toBe(a.logDensityGradient(q, ga));
      expect(Array.from(gb)).toEqual(Array.from(ga));
    }
    expect(b.names).toEqual(["a", "s", "fitted[1]", "fitted[2]", "fitted[3]", "fitted[4]", "fitted[5]"]);
    expect(b.paramCount).toBe(2);
  });
});

describe("a generated function whose frame is too large for V8's stack (D158, D231)", () => {
  const m = model("reg", (b) => {
    const x = b.data("x", [1, 2, 3, 4, 5]);
    const a = b.param("a", dist.normal(0, 10));
    b.observe("y", dist.normal(add(a, x), 1), [1.1, 2.3, 2.9, 4.2, 5.1]);
  });
  const GUARD = "if (!q) return 0;\n";

  test("is a too-large ModelError when instantiated, found by entering the gradient function", () => {
    const compiled = compileModel(m);
    expect(compiled.source).toContain(GUARD);
    // 300,000 locals after the early return: V8 reserves them all on entry.
    const locals = Array.from({ length: 300_000 }, (_, i) => `let z${i} = q[0] * ${i};`).join("\n");
    const source = compiled.source.replace(GUARD, `${GUARD}${locals}\n`);
    expect(() => instantiateChecked({ ...compiled, source })).toThrow(expect.objectContaining({ code: "too-large" }));
  });

  test("the check evaluates no gradient: a large model's code after the early return does not run", () => {
    const compiled = compileModel(m);
    expect(compiled.constants.length).toBeGreaterThan(0);
    // Past the size that triggers the check, with a statement that marks the data if the body ran.
    const source = compiled.source.replace(GUARD, `${GUARD}C[0][0] = 12345;\n${" ".repeat(600_000)}`);
    const density = instantiateChecked({ ...compiled, source });
    expect(compiled.constants.some((c) => c[0] === 12345)).toBe(false);
    density.logDensityGradient(new Float64Array(1), new Float64Array(1));
    expect(compiled.constants.some((c) => c[0] === 12345)).toBe(true);
  });
});

describe("bad input fails when the model is built, with a message naming the problem", () => {
  const build = (f: Parameters<typeof model>[1]) => () => model("bad", f);
  const expectError = (f: () => unknown, code: string, message: RegExp) => {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ModelError);
    expect((caught as ModelError).code).toBe(code);
    expect((caught as ModelError).message).toMatch(message);
  };
  test("duplicate names", () =>
    expectError(build((b) => { b.param("mu"); b.param("mu"); }), "duplicate-name", /parameter "mu" is already defined/));
  test("unknown name in unconstrain", () => {
    const ld = compile(model("m", (b) => void b.param("mu")));
    expectError(() => ld.unconstrain({ mu: 1, nu: 2 }), "unknown-name", /nu is not a parameter/);
  });
  test("shape mismatch names both shapes and both nodes", () =>
    expectError(build((b) => {
      const x = b.data("x", [1, 2, 3]);
      const beta = b.param("beta", { shape: [4] });
      b.potential("p", mul(x, beta));
    }), "shape-mismatch", /mul\(x\[3\], beta\[4\]\).*\[3\] and \[4\]/));
  test("observed shape against the distribution's shape", () =>
    expectError(build((b) => {
      const mu = b.param("mu", { shape: [5] });
      b.observe("y", dist.normal(mu, 1), [1, 2, 3]);
    }), "shape-mismatch", /observed y .*\[3\].*\[5\]/));
  test("NaN or Infinity in data", () => {
    expectError(build((b) => void b.data("x", [1, NaN, 3])), "non-finite-data", /data x\[1\] is NaN/);
    expectError(build((b) => { b.param("mu"); b.observe("y", dist.normal(0, 1), [1, Infinity]); }), "non-finite-data", /observed y\[1\] is Infinity/);
  });
  test("non-positive constant scale", () =>
    expectError(build((b) => void b.param("mu", dist.normal(0, -2))), "invalid-constant", /normal: argument sigma = -2 must be > 0/));
  test("observed values outside the support", () => {
    expectError(build((b) => { const l = b.param("l", { lower: 0 }); b.observe("counts", dist.poisson(l), [1, -2]); }), "out-of-support", /counts\[1\] = -2 .*poisson/);
    expectError(build((b) => { const l = b.param("l", { lower: 0 }); b.observe("counts", dist.poisson(l), [1, 2.5]); }), "out-of-support", /counts\[1\] = 2.5/);
    expectError(build((b) => { const a = b.param("a"); b.observe("k", dist.binomial(5, logistic(a)), [3, 6]); }), "out-of-support", /k\[1\] = 6: exceeds the number of trials/);
  });
  test("index out of range", () =>
    expectError(build((b) => {
      const alpha = b.param("alpha", { shape: [3] });
      b.potential("p", gather(alpha, [0, 2, 3]));
    }), "index-out-of-range", /index\[2\] = 3 is out of range for alpha/));
  test("a discrete prior for a parameter", () =>
    expectError(build((b) => void b.param("k", dist.poisson(3))), "invalid-argument", /poisson is discrete/));
});

describe("bring-your-own log-density given as a module path", () => {
  const path = fileURLToPath(new URL("./fixtures/module-model.mjs", import.meta.url));
  test("loads a factory export with options; the spec is plain data a worker can clone", async () => {
    const spec = moduleModel(path, "default", { dim: 3 });
    const ld = await loadModuleModel(structuredClone(spec));
    expect(ld.dim).toBe(3);
    const g = new Float64Array(3);
    expect(ld.logDensityGradient(Float64Array.of(1, 2, 3), g)).toBe(-7);
    expect(Array.from(g)).toEqual([-1, -2, -3]);
  });
  test("clear errors for a relative path, a missing export and an invalid export", async () => {
    expect(() => moduleModel("./model.mjs")).toThrow(/must be absolute/);
    await expect(loadModuleModel(moduleModel(path, "nothing"))).rejects.toThrow(/has no export "nothing"/);
    await expect(loadModuleModel(moduleModel(path, "notAModel"))).rejects.toThrow(/dim must be a positive integer, got 0/);
  });
});

test("symmetricEigen of a constant matrix: ascending eigenvalues, unit eigenvectors with A v = λ v, the lower triangle read", () => {
  // Upper triangle holds junk: only the lower one is read (as Stan's eigen*_sym, through Eigen).
  const a = [4, 99, 99, 1, 3, 99, 0.5, -1, 2];
  const { values, vectors } = symmetricEigen(constant(a, [3, 3]));
  const lam = Array.from(values.constValues);
  const v = vectors.constValues;
  expect(lam).toEqual([...lam].sort((x, y) => x - y));
  const sym = (i: number, j: number) => a[Math.max(i, j) * 3 + Math.min(i, j)]!;
  for (let j = 0; j < 3; j++) {
    let norm = 0;
    for (let i = 0; i < 3; i++) {
      let av = 0;
      for (let k = 0; k < 3; k++) av += sym(i, k) * v[k * 3 + j]!;
      expect(av).toBeCloseTo(lam[j]! * v[i * 3 + j]!, 12);
      norm += v[i * 3 + j]! ** 2;
    }
    expect(norm).toBeCloseTo(1, 14);
  }
  // numpy.linalg.eigvalsh([[4, 1, 0.5], [1, 3, -1], [0.5, -1, 2]])
  expect(lam[0]).toBeCloseTo(1.0595504398, 9);
  expect(lam[2]).toBeCloseTo(4.6229051216, 9);
});

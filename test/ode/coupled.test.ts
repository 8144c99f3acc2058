/**
 * The compiled coupled derivative (one generated function per ode node: f, the Jacobian's rows
 * from one forward sweep, and J_y S + [0 | J_p]) against the coupled system assembled from the
 * compiled right-hand side and Jacobian, as AugmentedSystem does without it: equal to the bit
 * at random points, for a system whose rows and product are written out (2 states) and one
 * whose rows and product are loops (5 states), with y0 a parameter and y0 data (DECISIONS.md
 * D233).
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { add, dist, model, mul, neg, ode, stack, sub, type Expr, type Model } from "../../src/model/index.js";
import { AugmentedSystem } from "../../src/ode/augmented.js";
import { odeRuntime, type CompiledOde } from "../../src/ode/runtime.js";

/** Lotka-Volterra (2 states, 4 parameters). */
const lotkaVolterra = (_t: Expr, y: Expr, [th]: Expr[]) =>
  stack([mul(sub(th!.at(0), mul(th!.at(1), y.at(1))), y.at(0)), mul(add(neg(th!.at(2)), mul(th!.at(3), y.at(0))), y.at(1))]);

/** A chain of 5 compartments with rates k and a bilinear term (5 states, 5 parameters; f reads t). */
const chain = (t: Expr, y: Expr, [k]: Expr[]) =>
  stack(
    Array.from({ length: 5 }, (_, s) => {
      const outflow = mul(k!.at(s), y.at(s));
      const inflow = s === 0 ? mul(0.1, t) : mul(mul(k!.at(s - 1), y.at(s - 1)), add(1, mul(0.01, y.at((s + 2) % 5))));
      return sub(inflow, outflow);
    }),
  );

function odeModel(name: string, rhs: typeof chain, n: number, np: number, y0Varies: boolean): Model {
  return model(name, (b) => {
    const k = b.param("k", dist.logNormal(0, 0.5), { shape: [np] });
    const y0: Expr | number[] = y0Varies ? b.param("y0", dist.logNormal(0, 0.5), { shape: [n] }) : Array.from({ length: n }, (_, s) => 1 + s / 4);
    const y = ode(rhs, { y0, ts: [0.5, 1.5], args: [k], method: "rk45" });
    b.observe("obs", dist.normal(y.reshape([2 * n]), 0.5), Array.from({ length: 2 * n }, (_, i) => 1 + 0.1 * i));
  });
}

/** The problem of the model's one ode node, as its compiled code made it. */
function compiledProblem(m: Model): CompiledOde {
  const made = vi.spyOn(odeRuntime, "problem");
  compile(m);
  const problem = made.mock.results[0]!.value as CompiledOde;
  made.mockRestore();
  return problem;
}

afterEach(() => vi.restoreAllMocks());

describe("the compiled coupled derivative", () => {
  test.each([
    ["lotka-volterra, y0 a parameter", lotkaVolterra, 2, 4, true],
    ["lotka-volterra, y0 data", lotkaVolterra, 2, 4, false],
    ["5 compartments, y0 a parameter", chain, 5, 5, true],
    ["5 compartments, y0 data", chain, 5, 5, false],
  ] as const)("%s: equals f, J_y S + [0 | J_p] from the right-hand side and Jacobian, to the bit", (name, rhs, n, np, y0Varies) => {
    const problem = compiledProblem(odeModel(name.replace(/[^a-z0-9]+/g, "_"), rhs, n, np, y0Varies));
    expect(problem.coupled?.initialSensitivities).toBe(y0Varies);
    const p = Float64Array.from({ length: np }, (_, j) => 0.3 + 0.17 * j);
    const fused = new AugmentedSystem(problem, p, true, y0Varies);
    const assembled = new AugmentedSystem({ ...problem, coupled: undefined }, p, true, y0Varies);
    let seed = 7;
    const uniform = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 50; trial++) {
      const z = Float64Array.from({ length: fused.size }, () => 4 * uniform() - 1);
      const t = 3 * uniform();
      const [a, b] = [new Float64Array(fused.size + 3), new Float64Array(fused.size + 3)];
      fused.evalStage(t, z, a, 3);
      assembled.evalStage(t, z, b, 3);
      expect(Array.from(a)).toEqual(Array.from(b));
    }
    expect(fused.evaluations).toBe(50);
  });

  test.each([
    ["lotka-volterra", lotkaVolterra, 2, 4],
    ["5 compartments", chain, 5, 5],
  ] as const)("%s: the compiled Jacobian (one forward sweep for every row) equals central differences of the right-hand side", (name, rhs, n, np) => {
    const problem = compiledProblem(odeModel(`jacobian_${name.replace(/[^a-z0-9]+/g, "_")}`, rhs, n, np, true));
    const p = Float64Array.from({ length: np }, (_, j) => 0.3 + 0.17 * j);
    const y = Float64Array.from({ length: n }, (_, s) => 0.5 + 0.3 * s);
    const [jy, jp] = [new Float64Array(n * n), new Float64Array(n * np)];
    problem.jacobian(1.3, y, p, jy, jp);
    const h = 1e-6;
    const [up, down] = [new Float64Array(n), new Float64Array(n)];
    const column = (x: Float64Array, k: number, write: (v: number) => void, read: () => number) => {
      const at = read();
      write(at + h);
      problem.rhs(1.3, y, p, up);
      write(at - h);
      problem.rhs(1.3, y, p, down);
      write(at);
      return Array.from(up, (u, s) => (u - down[s]!) / (2 * h)).map((d, s) => [d, x[s * (x.length / n) + k]!] as const);
    };
    const pairs = [
      ...Array.from({ length: n }, (_, k) => column(jy, k, (v) => (y[k] = v), () => y[k]!)),
      ...Array.from({ length: np }, (_, k) => column(jp, k, (v) => (p[k] = v), () => p[k]!)),
    ].flat();
    for (const [fd, exact] of pairs) expect(Math.abs(exact - fd)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
  });
});

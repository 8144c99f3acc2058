/**
 * Every distribution's log-density against independent reference values (scipy/mpmath,
 * test/fixtures/distributions-reference.json) to 1e-10 relative, over grids reaching the tails;
 * gradients with respect to every argument against finite differences; random draws by moments.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { compile } from "../src/compile/compile.js";
import { constant, dist, matvec, model, type Distribution } from "../src/model/index.js";
import { finiteDifferenceGradient } from "./helpers/finite-diff.js";

interface Case {
  params: Record<string, number | number[] | number[][]>;
  x: number | number[];
  logp: number;
}
const reference = JSON.parse(readFileSync(new URL("./fixtures/distributions-reference.json", import.meta.url), "utf8")) as Record<string, Case[]>;

type P = Record<string, number>;
const matrix = (rows: number[][]) => constant(rows.flat(), [rows.length, rows[0]!.length]);
const constructors: Record<string, (p: Case["params"]) => Distribution> = {
  normal: (p) => dist.normal((p as P).mu!, (p as P).sigma!),
  half_normal: (p) => dist.halfNormal((p as P).sigma!),
  cauchy: (p) => dist.cauchy((p as P).mu!, (p as P).sigma!),
  half_cauchy: (p) => dist.halfCauchy((p as P).sigma!),
  student_t: (p) => dist.studentT((p as P).nu!, (p as P).mu!, (p as P).sigma!),
  half_student_t: (p) => dist.halfStudentT((p as P).nu!, (p as P).sigma!),
  exponential: (p) => dist.exponential((p as P).lambda!),
  gamma: (p) => dist.gamma((p as P).alpha!, (p as P).beta!),
  inv_gamma: (p) => dist.inverseGamma((p as P).alpha!, (p as P).beta!),
  beta: (p) => dist.beta((p as P).alpha!, (p as P).beta!),
  uniform: (p) => dist.uniform((p as P).lower!, (p as P).upper!),
  lognormal: (p) => dist.logNormal((p as P).mu!, (p as P).sigma!),
  laplace: (p) => dist.laplace((p as P).mu!, (p as P).sigma!),
  weibull: (p) => dist.weibull((p as P).alpha!, (p as P).sigma!),
  logistic: (p) => dist.logistic((p as P).mu!, (p as P).sigma!),
  bernoulli: (p) => dist.bernoulli((p as P).p!),
  bernoulli_logit: (p) => dist.bernoulliLogit((p as P).alpha!),
  binomial: (p) => dist.binomial((p as P).n!, (p as P).p!),
  binomial_logit: (p) => dist.binomialLogit((p as P).n!, (p as P).alpha!),
  poisson: (p) => dist.poisson((p as P).lambda!),
  poisson_log: (p) => dist.poissonLog((p as P).alpha!),
  neg_binomial_2: (p) => dist.negativeBinomial((p as P).mu!, (p as P).phi!),
  multi_normal_cholesky: (p) => dist.mvNormalCholesky(constant(p.mu as number[]), matrix(p.L as number[][])),
  dirichlet: (p) => dist.dirichlet(constant(p.alpha as number[])),
};

describe("log-densities against the reference values", () => {
  for (const [name, cases] of Object.entries(reference)) {
    test(`${name} (${cases.length} cases)`, () => {
      const make = constructors[name];
      expect(make, `no constructor for ${name}`).toBeDefined();
      const failures: string[] = [];
      for (const c of cases) {
        const x = typeof c.x === "number" ? constant(c.x) : constant(c.x);
        const value = make!(c.params).logp(x).constValues[0]!;
        const rel = Math.abs(value - c.logp) / Math.max(Math.abs(c.logp), Number.MIN_VALUE);
        if (!(rel <= 1e-10)) failures.push(`${JSON.stringify(c.params)} x=${JSON.stringify(c.x)}: ${value} vs ${c.logp} (rel ${rel.toExponential(2)})`);
      }
      expect(failures, failures.slice(0, 10).join("\n")).toEqual([]);
    });
  }
});

/** Arguments of each distribution as parameters (positive ones through a lower bound), data fixed. */
const gradientCases: { name: string; args: ("real" | "positive" | "unit")[]; make: (a: ReturnType<typeof model>["outputs"][number]["expr"][]) => Distribution; x: number[] }[] = [
  { name: "normal", args: ["real", "positive"], make: ([m, s]) => dist.normal(m!, s!), x: [-1.5, 0.3, 2.2] },
  { name: "halfNormal", args: ["positive"], make: ([s]) => dist.halfNormal(s!), x: [0.1, 0.3, 2.2] },
  { name: "cauchy", args: ["real", "positive"], make: ([m, s]) => dist.cauchy(m!, s!), x: [-1.5, 0.3, 2.2] },
  { name: "halfCauchy", args: ["positive"], make: ([s]) => dist.halfCauchy(s!), x: [0.1, 0.3, 2.2] },
  { name: "studentT", args: ["positive", "real", "positive"], make: ([n, m, s]) => dist.studentT(n!, m!, s!), x: [-1.5, 0.3, 2.2] },
  { name: "halfStudentT", args: ["positive", "positive"], make: ([n, s]) => dist.halfStudentT(n!, s!), x: [0.1, 0.3, 2.2] },
  { name: "exponential", args: ["positive"], make: ([l]) => dist.exponential(l!), x: [0.1, 0.3, 2.2] },
  { name: "gamma", args: ["positive", "positive"], make: ([a, b]) => dist.gamma(a!, b!), x: [0.1, 0.3, 2.2] },
  { name: "inverseGamma", args: ["positive", "positive"], make: ([a, b]) => dist.inverseGamma(a!, b!), x: [0.1, 0.3, 2.2] },
  { name: "beta", args: ["positive", "positive"], make: ([a, b]) => dist.beta(a!, b!), x: [0.1, 0.3, 0.9] },
  { name: "logNormal", args: ["real", "positive"], make: ([m, s]) => dist.logNormal(m!, s!), x: [0.1, 0.3, 2.2] },
  { name: "laplace", args: ["real", "positive"], make: ([m, s]) => dist.laplace(m!, s!), x: [-1.5, 0.3, 2.2] },
  { name: "weibull", args: ["positive", "positive"], make: ([a, s]) => dist.weibull(a!, s!), x: [0.1, 0.3, 2.2] },
  { name: "logistic", args: ["real", "positive"], make: ([m, s]) => dist.logistic(m!, s!), x: [-1.5, 0.3, 2.2] },
  { name: "bernoulli", args: ["unit"], make: ([p]) => dist.bernoulli(p!), x: [0, 1, 1] },
  { name: "bernoulliLogit", args: ["real"], make: ([a]) => dist.bernoulliLogit(a!), x: [0, 1, 1] },
  { name: "binomial", args: ["unit"], make: ([p]) => dist.binomial(7, p!), x: [0, 3, 7] },
  { name: "binomialLogit", args: ["real"], make: ([a]) => dist.binomialLogit(7, a!), x: [0, 3, 7] },
  { name: "poisson", args: ["positive"], make: ([l]) => dist.poisson(l!), x: [0, 3, 17] },
  { name: "poissonLog", args: ["real"], make: ([a]) => dist.poissonLog(a!), x: [0, 3, 17] },
  { name: "negativeBinomial", args: ["positive", "positive"], make: ([m, p]) => dist.negativeBinomial(m!, p!), x: [0, 3, 17] },
];

describe("gradients of every distribution with respect to its arguments", () => {
  for (const c of gradientCases) {
    test(c.name, () => {
      const m = model(c.name, (b) => {
        const args = c.args.map((kind, k) =>
          b.param(`a${k}`, kind === "real" ? {} : kind === "positive" ? { lower: 0 } : { lower: 0, upper: 1 }),
        );
        b.observe("x", c.make(args), c.x);
      });
      const ld = compile(m);
      for (const q of [[0.3, -0.2, 0.5], [-0.7, 0.4, 0.1], [1.1, 0.9, -0.6]]) {
        const point = Float64Array.from(q.slice(0, ld.dim));
        const g = new Float64Array(ld.dim);
        const lp = ld.logDensityGradient(point, g);
        expect(lp).toBeCloseTo(ld.logDensity(point), 12);
        const fd = finiteDifferenceGradient((p) => ld.logDensity(p), point);
        g.forEach((v, i) => expect(Math.abs(v - fd[i]!) / Math.max(1, Math.abs(fd[i]!))).toBeLessThan(1e-7));
      }
    });
  }

  test("mvNormalCholesky with respect to the mean, the factor and the value", () => {
    const m = model("mvn", (b) => {
      const mu = b.param("mu", { shape: [3] });
      const lower = b.param("Lflat", { shape: [3, 3] });
      const x = b.param("x", { shape: [3] });
      // A positive diagonal keeps the factor valid at every test point.
      const L = lower.mul(constant([1, 0, 0, 1, 1, 0, 1, 1, 1], [3, 3])).add(constant([2, 0, 0, 0, 2, 0, 0, 0, 2], [3, 3]));
      b.potential("lp", dist.mvNormalCholesky(mu, L).logp(x));
    });
    const ld = compile(m);
    const q = Float64Array.from({ length: ld.dim }, (_, i) => Math.sin(i + 1) * 0.5);
    const g = new Float64Array(ld.dim);
    ld.logDensityGradient(q, g);
    const fd = finiteDifferenceGradient((p) => ld.logDensity(p), q);
    g.forEach((v, i) => expect(Math.abs(v - fd[i]!) / Math.max(1, Math.abs(fd[i]!))).toBeLessThan(1e-7));
  });

  test("dirichlet with respect to concentrations and a simplex value", () => {
    const m = model("dir", (b) => {
      const alpha = b.param("alpha", { shape: [4], lower: 0 });
      b.param("theta", dist.dirichlet(alpha));
    });
    const ld = compile(m);
    const q = Float64Array.from({ length: ld.dim }, (_, i) => Math.cos(i + 1) * 0.7);
    const g = new Float64Array(ld.dim);
    ld.logDensityGradient(q, g);
    const fd = finiteDifferenceGradient((p) => ld.logDensity(p), q);
    g.forEach((v, i) => expect(Math.abs(v - fd[i]!) / Math.max(1, Math.abs(fd[i]!))).toBeLessThan(1e-7));
  });
});

describe("random draws match their distribution's moments", () => {
  // A simple seeded source: the sampler's own RNG is tested elsewhere.
  let s = 12345;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const rng = { uniform, normal: () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()) };
  const n = 40_000;
  const cases: [string, Distribution, number, number][] = [
    ["normal", dist.normal(1, 2), 1, 4],
    ["halfNormal", dist.halfNormal(2), 2 * Math.sqrt(2 / Math.PI), 4 * (1 - 2 / Math.PI)],
    ["studentT", dist.studentT(5, 1, 2), 1, (4 * 5) / 3],
    ["exponential", dist.exponential(2), 0.5, 0.25],
    ["gamma", dist.gamma(3, 2), 1.5, 0.75],
    ["gamma small shape", dist.gamma(0.3, 1), 0.3, 0.3],
    ["inverseGamma", dist.inverseGamma(5, 2), 0.5, 0.25 / 3],
    ["beta", dist.beta(2, 3), 0.4, 0.04],
    ["uniform", dist.uniform(-1, 3), 1, 16 / 12],
    ["logNormal", dist.logNormal(0, 0.5), Math.exp(0.125), (Math.exp(0.25) - 1) * Math.exp(0.25)],
    ["laplace", dist.laplace(1, 2), 1, 8],
    ["weibull", dist.weibull(2, 1), Math.sqrt(Math.PI) / 2, 1 - Math.PI / 4],
    ["logistic", dist.logistic(1, 2), 1, (4 * Math.PI * Math.PI) / 3],
    ["bernoulli", dist.bernoulli(0.3), 0.3, 0.21],
    ["binomial", dist.binomial(20, 0.3), 6, 4.2],
    ["binomial large n", dist.binomial(1000, 0.3), 300, 210],
    ["poisson", dist.poisson(4), 4, 4],
    ["poisson large rate", dist.poisson(250), 250, 250],
    ["negativeBinomial", dist.negativeBinomial(5, 2), 5, 5 + 25 / 2],
  ];
  for (const [name, d, mean, variance] of cases) {
    test(name, () => {
      const draws = new Float64Array(n);
      for (let i = 0; i < n; i++) draws[i] = d.sample(rng)[0]!;
      const m = draws.reduce((a, b) => a + b, 0) / n;
      const v = draws.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
      // 5 standard errors of the mean; variance within 10% (the fourth moments here are modest).
      expect(Math.abs(m - mean)).toBeLessThan(5 * Math.sqrt(variance / n));
      expect(Math.abs(v / variance - 1)).toBeLessThan(0.1);
    });
  }
});

describe("normalIdGlm", () => {
  test("sufficient statistics give the direct density and its gradient", () => {
    const X = constant(Array.from({ length: 30 }, (_, i) => Math.sin(i * 1.7) * 3), [10, 3]);
    const y = Array.from({ length: 10 }, (_, i) => Math.cos(i) * 2 + 1);
    const build = (glm: boolean) =>
      compile(
        model("glm", (b) => {
          const alpha = b.param("alpha");
          const beta = b.param("beta", { shape: [3] });
          const sigma = b.param("sigma", { lower: 0 });
          b.observe("y", glm ? dist.normalIdGlm(X, alpha, beta, sigma) : dist.normal(alpha.add(matvec(X, beta)), sigma), y);
        }),
      );
    const [glm, direct] = [build(true), build(false)];
    for (const q of [[0.1, -0.2, 0.3, 0.5, -0.4], [1.2, 0.7, -0.9, 0.1, 0.8]].map((v) => Float64Array.from(v))) {
      expect(glm.logDensity(q)).toBeCloseTo(direct.logDensity(q), 10);
      const [g1, g2] = [new Float64Array(5), new Float64Array(5)];
      glm.logDensityGradient(q, g1);
      direct.logDensityGradient(q, g2);
      g1.forEach((v, i) => expect(v).toBeCloseTo(g2[i]!, 9));
    }
  });
});

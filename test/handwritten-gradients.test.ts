import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import gammaln from "@stdlib/math-base-special-gammaln";
import type { LogDensity } from "../src/compile/types.js";
import { loadStanJson, parseStanJson, toMatrix, type StanData } from "../src/data/stan-json.js";
import { eightSchoolsNoncentered, logistic, sv } from "../bench/handwritten.js";

const modelData = (name: string): StanData =>
  loadStanJson(fileURLToPath(new URL(`../bench/models/${name}/data.json`, import.meta.url)));

/** Deterministic normal(0, 1) draws (LCG + Box-Muller): good enough for test points. */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function randomPoints(dim: number, n: number, seed: number, scale = 1): Float64Array[] {
  const z = normals(seed);
  return Array.from({ length: n }, () => Float64Array.from({ length: dim }, () => scale * z()));
}

/**
 * Largest violation of |g_k - fd_k| <= tol * max(|g_k|, |fd_k|, 1) with central differences,
 * step h_k = 1e-6 * max(1, |q_k|); returns the worst ratio (<= 1 passes) and where.
 */
function finiteDifferenceCheck(ld: LogDensity, q: Float64Array, tol = 1e-6): { worst: number; at: number; g: number; fd: number } {
  const g = new Float64Array(ld.dim);
  ld.logDensityGradient(q, g);
  const x = Float64Array.from(q);
  let worst = 0;
  let at = -1;
  let wg = 0;
  let wfd = 0;
  for (let k = 0; k < ld.dim; k++) {
    const h = 1e-6 * Math.max(1, Math.abs(q[k]!));
    x[k] = q[k]! + h;
    const up = ld.logDensity(x);
    x[k] = q[k]! - h;
    const down = ld.logDensity(x);
    x[k] = q[k]!;
    const fd = (up - down) / (2 * h);
    const ratio = Math.abs(g[k]! - fd) / (tol * Math.max(Math.abs(g[k]!), Math.abs(fd), 1));
    if (!(ratio <= worst)) {
      worst = ratio;
      at = k;
      wg = g[k]!;
      wfd = fd;
    }
  }
  return { worst, at, g: wg, fd: wfd };
}

// Straightforward reference densities, written from the Stan statements with all constants
// (on the unconstrained scale, with the log-Jacobian), to check the hand-written values.
const LOG_2PI = Math.log(2 * Math.PI);
const normalLpdf = (x: number, m: number, s: number): number => -0.5 * ((x - m) / s) ** 2 - Math.log(s) - 0.5 * LOG_2PI;
const cauchyLpdf = (x: number, m: number, s: number): number => -Math.log(Math.PI * s * (1 + ((x - m) / s) ** 2));
const expLpdf = (x: number, rate: number): number => Math.log(rate) - rate * x;
const studentTLpdf = (x: number, nu: number, m: number, s: number): number =>
  gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * Math.log(nu * Math.PI) - Math.log(s) -
  ((nu + 1) / 2) * Math.log(1 + ((x - m) / s) ** 2 / nu);

function referenceEightSchools(data: StanData): (q: Float64Array) => number {
  const J = data.J as number;
  const y = data.y as number[];
  const sigma = data.sigma as number[];
  return (q) => {
    const mu = q[0]!;
    const tau = Math.exp(q[1]!);
    let lp = normalLpdf(mu, 0, 5) + cauchyLpdf(tau, 0, 5) + q[1]!;
    for (let j = 0; j < J; j++) {
      const tt = q[j + 2]!;
      lp += normalLpdf(tt, 0, 1) + normalLpdf(y[j]!, mu + tau * tt, sigma[j]!);
    }
    return lp;
  };
}

function referenceLogistic(data: StanData): (q: Float64Array) => number {
  const X = data.X as number[][];
  const y = data.y as number[];
  return (q) => {
    let lp = 0;
    for (let k = 0; k < q.length; k++) lp += normalLpdf(q[k]!, 0, 10);
    X.forEach((row, i) => {
      const eta = row.reduce((acc, x, k) => acc + x * q[k + 1]!, q[0]!);
      const p = 1 / (1 + Math.exp(-eta));
      lp += y[i] === 1 ? Math.log(p) : Math.log(1 - p);
    });
    return lp;
  };
}

function referenceSv(data: StanData): (q: Float64Array) => number {
  const r = data.r as number[];
  return (q) => {
    const sigma = Math.exp(q[0]!);
    const nu = Math.exp(q[1]!);
    let lp = expLpdf(sigma, 50) + q[0]! + expLpdf(nu, 0.1) + q[1]!;
    r.forEach((rt, t) => {
      const s = q[t + 2]!;
      lp += normalLpdf(s, t === 0 ? 0 : q[t + 1]!, sigma) + studentTLpdf(rt, nu, 0, Math.exp(s));
    });
    return lp;
  };
}

interface Case {
  name: string;
  ld: LogDensity;
  reference: (q: Float64Array) => number;
  dim: number;
  /**
   * Scale of the random test points. For logistic at scale 1 the log-density is about -2000,
   * and its rounding error divided by 2h reaches half of the 1e-6 tolerance; at 0.5 (still
   * far wider than the posterior) the worst case is under a tenth of it.
   */
  scale: number;
}

const cases: Case[] = [
  (() => {
    const d = modelData("eight_schools");
    return { name: "eight_schools_noncentered", ld: eightSchoolsNoncentered(d), reference: referenceEightSchools(d), dim: 10, scale: 1 };
  })(),
  (() => {
    const d = modelData("logistic");
    return { name: "logistic", ld: logistic(d), reference: referenceLogistic(d), dim: 21, scale: 0.5 };
  })(),
  (() => {
    const d = modelData("sv");
    return { name: "sv", ld: sv(d), reference: referenceSv(d), dim: 102, scale: 1 };
  })(),
];

describe.each(cases)("hand-written $name", ({ ld, reference, dim, scale }) => {
  const points = randomPoints(dim, 6, 12345 + dim, scale);

  it("has the right dimension and names", () => {
    expect(ld.dim).toBe(dim);
    expect(ld.unconstrainedNames).toHaveLength(dim);
    expect(ld.names).toHaveLength(dim);
    expect(ld.paramCount).toBe(dim);
  });

  it("gradient matches central finite differences to 1e-6 relative", () => {
    for (const q of points) {
      const res = finiteDifferenceCheck(ld, q);
      expect(res.worst, `coordinate ${res.at} (${ld.unconstrainedNames[res.at]}): gradient ${res.g}, finite difference ${res.fd}`).toBeLessThanOrEqual(1);
    }
  });

  it("a slightly wrong gradient fails the same check", () => {
    // Perturb one component by 1e-4 relative (plus 1e-4 absolute): the check must catch it.
    for (const k of [0, 1, dim - 1]) {
      const wrong: LogDensity = {
        ...ld,
        logDensityGradient(q, grad) {
          const lp = ld.logDensityGradient(q, grad);
          grad[k] = grad[k]! * (1 + 1e-4) + 1e-4;
          return lp;
        },
      };
      expect(finiteDifferenceCheck(wrong, points[0]!).worst).toBeGreaterThan(1);
    }
  });

  it("logDensity equals the value returned by logDensityGradient, which overwrites grad", () => {
    const g1 = new Float64Array(dim);
    const g2 = new Float64Array(dim).fill(NaN);
    for (const q of points) {
      const a = ld.logDensityGradient(q, g1);
      const b = ld.logDensityGradient(q, g2);
      expect(b).toBe(a);
      expect(Array.from(g2)).toEqual(Array.from(g1));
      expect(Math.abs(ld.logDensity(q) - a)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(a)));
    }
  });

  it("differs from the full Stan density by a constant only", () => {
    const offset0 = reference(points[0]!) - ld.logDensity(points[0]!);
    for (const q of points.slice(1)) {
      const ref = reference(q);
      expect(Math.abs(ref - ld.logDensity(q) - offset0)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(ref)));
    }
  });

  it("unconstrain inverts constrain", () => {
    const q = points[1]!;
    const c = ld.constrain(q);
    const values = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.values]));
    const back = ld.unconstrain(values);
    for (let k = 0; k < dim; k++) expect(back[k]).toBeCloseTo(q[k]!, 12);
    const flat = new Float64Array(dim);
    ld.constrainFlat(q, flat);
    expect(Array.from(flat)).toEqual(Object.values(c).flatMap((v) => Array.from(v.values)));
  });
});

describe("stan-json", () => {
  it("parses numbers, nested arrays and non-finite strings or tokens", () => {
    const d = parseStanJson('{"a": 1, "b": [1.5, "inf", "-Inf", "NaN"], "m": [[1, 2], [3, 4]], "c": [Infinity, -Infinity, NaN], "e": []}');
    expect(d.a).toBe(1);
    expect(d.b).toEqual([1.5, Infinity, -Infinity, NaN]);
    expect(d.c).toEqual([Infinity, -Infinity, NaN]);
    expect(d.e).toEqual([]);
    const m = toMatrix(d.m as number[][]);
    expect([m.rows, m.cols, Array.from(m.values)]).toEqual([2, 2, [1, 2, 3, 4]]);
    expect(() => parseStanJson('{"x": "oops"}')).toThrow(/not a number/);
    expect(() => toMatrix([[1, 2], [3]])).toThrow(/row 1/);
  });
});

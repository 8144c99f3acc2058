/**
 * The adaptation's symmetric eigensolver (Householder tridiagonalisation and implicit QL on flat
 * buffers, DECISIONS.md D200) against ml-matrix, whose algorithm it replaced, and against its own
 * backward error: the residual max |A v - lambda v| in units of eps ||A||_F and the loss of
 * orthogonality max |V'V - I| in units of eps, on random, degenerate and badly scaled matrices.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { lowRankEstimate, spdSolveSBS, symmetricEigen, symmetricEigenInto } from "../../src/inference/index.js";
import { Rng } from "../../src/rng/index.js";

const EPS = 2 ** -52;

/** ml-matrix's decomposition, ascending (the adaptation's solver before D200). */
function mlMatrixEigen(a: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const mat = new Matrix(m, m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) mat.set(i, j, 0.5 * (a[i * m + j]! + a[j * m + i]!));
  const evd = new EigenvalueDecomposition(mat, { assumeSymmetric: true });
  const order = evd.realEigenvalues.map((_, i) => i).sort((x, y) => evd.realEigenvalues[x]! - evd.realEigenvalues[y]!);
  const values = Float64Array.from(order, (j) => evd.realEigenvalues[j]!);
  const vectors = new Float64Array(m * m);
  order.forEach((src, j) => {
    for (let i = 0; i < m; i++) vectors[i * m + j] = evd.eigenvectorMatrix.get(i, src);
  });
  return { values, vectors };
}

/** Q diag(lambda) Q' with Q a random orthogonal matrix (Householder products of Gaussian vectors). */
function withSpectrum(lambda: readonly number[], rng: Rng): Float64Array {
  const m = lambda.length;
  const q = new Float64Array(m * m);
  for (let i = 0; i < m; i++) q[i * m + i] = 1;
  const v = new Float64Array(m);
  for (let r = 0; r < m; r++) {
    rng.fillNormal(v);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += q[i * m + k]! * v[k]!;
      for (let k = 0; k < m; k++) q[i * m + k] = q[i * m + k]! - (2 * s * v[k]!) / (norm * norm);
    }
  }
  const a = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) for (let k = 0; k < m; k++) a[i * m + j] = a[i * m + j]! + q[i * m + k]! * lambda[k]! * q[j * m + k]!;
  return a;
}

function randomSymmetric(m: number, rng: Rng): Float64Array {
  const z = new Float64Array(m * m);
  rng.fillNormal(z);
  const a = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) a[i * m + j] = z[i * m + j]! + z[j * m + i]!;
  return a;
}

/** A moment matrix X'X of 3m Gaussian rows, as the estimator forms them. */
function randomMoment(m: number, rng: Rng): Float64Array {
  const x = new Float64Array(3 * m * m);
  rng.fillNormal(x);
  const a = new Float64Array(m * m);
  for (let t = 0; t < 3 * m; t++) for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) a[i * m + j] = a[i * m + j]! + x[t * m + i]! * x[t * m + j]!;
  return a;
}

/** Residual in units of eps ||A||_F and orthogonality in units of eps. */
function backwardError(a: Float64Array, m: number, values: Float64Array, vectors: Float64Array): { residual: number; orthogonality: number } {
  let norm = 0;
  for (let i = 0; i < m * m; i++) norm += a[i]! * a[i]!;
  norm = Math.sqrt(norm);
  let residual = 0;
  let orthogonality = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let av = 0;
      let vv = 0;
      for (let k = 0; k < m; k++) {
        av += a[i * m + k]! * vectors[k * m + j]!;
        vv += vectors[k * m + i]! * vectors[k * m + j]!;
      }
      residual = Math.max(residual, Math.abs(av - values[j]! * vectors[i * m + j]!));
      orthogonality = Math.max(orthogonality, Math.abs(vv - (i === j ? 1 : 0)));
    }
  }
  return { residual: norm === 0 ? residual / EPS : residual / (EPS * norm), orthogonality: orthogonality / EPS };
}

const rng = Rng.fromSeed(20261207, 0);
const cases: [string, number, Float64Array][] = [];
for (const m of [1, 2, 3, 5, 10, 17, 32, 48]) {
  cases.push([`random symmetric, m = ${m}`, m, randomSymmetric(m, rng)]);
  cases.push([`moment matrix, m = ${m}`, m, randomMoment(m, rng)]);
}
cases.push(["identity, m = 8", 8, withSpectrum([1, 1, 1, 1, 1, 1, 1, 1], rng)]);
cases.push(["exact identity, m = 6", 6, Float64Array.from({ length: 36 }, (_, k) => (k % 7 === 0 ? 1 : 0))]);
cases.push(["zero matrix, m = 5", 5, new Float64Array(25)]);
cases.push(["rank one, m = 12", 12, withSpectrum([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7], rng)]);
cases.push(["clusters (1 x4, 2 x4, 1e-3 x4), m = 12", 12, withSpectrum([1, 1, 1, 1, 2, 2, 2, 2, 1e-3, 1e-3, 1e-3, 1e-3], rng)]);
cases.push(["diagonal, unsorted, ties", 7, Float64Array.from({ length: 49 }, (_, k) => (k % 8 === 0 ? [3, -1, 2, 3, 0, -1, 2][k / 8]! : 0))]);
cases.push(["spectrum 1e-8 .. 1e8, m = 17", 17, withSpectrum(Array.from({ length: 17 }, (_, k) => 10 ** (k - 8)), rng)]);
cases.push(["indefinite, 1e-6 .. 1e6 both signs, m = 20", 20, withSpectrum(Array.from({ length: 20 }, (_, k) => (k % 2 ? -1 : 1) * 10 ** ((12 * k) / 19 - 6)), rng)]);
cases.push(["entries near 1e150, m = 10", 10, randomMoment(10, rng).map((x) => x * 1e150)]);
cases.push(["entries near 1e-150, m = 10", 10, randomMoment(10, rng).map((x) => x * 1e-150)]);
{
  // Graded: D^1/2 C D^1/2 with D from 1e-6 to 1e6, C a random correlation-like matrix.
  const m = 16;
  const c = randomMoment(m, rng);
  const g = Array.from({ length: m }, (_, k) => 10 ** ((12 * k) / (m - 1) - 6));
  cases.push(["graded 1e-6 .. 1e6, m = 16", m, c.map((x, k) => x * Math.sqrt(g[Math.floor(k / m)]! * g[k % m]!) / Math.sqrt(c[Math.floor(k / m) * (m + 1)]! * c[(k % m) * (m + 1)]!))]);
}

describe("symmetric eigendecomposition", () => {
  it.each(cases)("%s: residual under 2m eps ||A||, orthogonality under 2m eps, ascending", (_, m, a) => {
    const { values, vectors } = symmetricEigen(a, m);
    const { residual, orthogonality } = backwardError(a, m, values, vectors);
    expect(residual).toBeLessThan(2 * m);
    expect(orthogonality).toBeLessThan(2 * m);
    for (let j = 1; j < m; j++) expect(values[j]!).toBeGreaterThanOrEqual(values[j - 1]!);
  });

  it.each(cases)("%s: the same values and vectors as ml-matrix, to the bit", (_, m, a) => {
    const ours = symmetricEigen(a, m);
    const theirs = mlMatrixEigen(a, m);
    expect(Array.from(ours.values)).toEqual(Array.from(theirs.values));
    expect(Array.from(ours.vectors)).toEqual(Array.from(theirs.vectors));
  });

  it("reads the symmetric part and leaves its input alone; writes into the caller's buffers", () => {
    const m = 6;
    const a = randomSymmetric(m, rng);
    const skew = Float64Array.from(a, (x, k) => x + (Math.floor(k / m) < k % m ? 0.5 : -0.5) * (Math.floor(k / m) === k % m ? 0 : 1));
    const copy = Float64Array.from(skew);
    const values = new Float64Array(m);
    const vectors = new Float64Array(m * m);
    expect(symmetricEigenInto(skew, m, values, vectors)).toBe(true);
    expect(skew).toEqual(copy);
    const symmetric = Float64Array.from(skew, (_, k) => 0.5 * (skew[k]! + skew[(k % m) * m + Math.floor(k / m)]!));
    const plain = symmetricEigen(symmetric, m);
    expect(values).toEqual(plain.values);
    expect(vectors).toEqual(plain.vectors);
  });

  it("a non-finite entry: false and NaN values, no exception and no hang", () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const a = randomSymmetric(5, rng);
      a[7] = bad;
      const values = new Float64Array(5);
      expect(symmetricEigenInto(a, 5, values, new Float64Array(25))).toBe(false);
      expect(values.every(Number.isNaN)).toBe(true);
    }
  });

  it("spdSolveSBS: S B S = A for random SPD A and B (relative error under 1e-10)", () => {
    for (const m of [3, 10, 30]) {
      const a = randomMoment(m, rng);
      const b = randomMoment(m, rng);
      const s = spdSolveSBS(a, b, m);
      let err = 0;
      let norm = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) {
          let x = 0;
          for (let k = 0; k < m; k++) for (let l = 0; l < m; l++) x += s[i * m + k]! * b[k * m + l]! * s[l * m + j]!;
          err = Math.max(err, Math.abs(x - a[i * m + j]!));
          norm = Math.max(norm, Math.abs(a[i * m + j]!));
        }
      }
      expect(err / norm).toBeLessThan(1e-10);
    }
  });

  it("lowRankEstimate gives the same metric on repeated calls (its scratch buffers carry nothing over)", () => {
    for (const [d, n] of [[10, 40], [60, 12], [80, 40]] as const) {
      const draws = new Float64Array(n * d);
      const grads = new Float64Array(n * d);
      rng.fillNormal(draws);
      rng.fillNormal(grads);
      const previous = new Float64Array(d).fill(1);
      const first = lowRankEstimate(draws, grads, n, d, previous)!;
      // A larger problem in between grows and dirties every scratch buffer.
      const big = new Float64Array(200 * 100);
      rng.fillNormal(big);
      lowRankEstimate(big, big.map((x) => -x), 200, 100, new Float64Array(100).fill(1));
      const again = lowRankEstimate(draws, grads, n, d, previous)!;
      expect(again.values).toEqual(first.values);
      expect(again.vectors).toEqual(first.vectors);
      expect(again.inverse).toEqual(first.inverse);
    }
  });
});

/**
 * Stan's linear algebra on parameters through the front end: a triangular solve with a matrix
 * right-hand side is the solve of each column, and eigenvalues_sym / eigenvectors_sym
 * (DECISIONS.md D154) decompose the matrix they are given, with an exact gradient.
 */
import { expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { stanModel } from "../../src/stan/index.js";
import { gradientError, randomPoints } from "../helpers/finite-diff.js";

test("mdivide_left_tri_low(L, B) with a matrix B equals the solve of each column", () => {
  const L = [
    [2, 0, 0],
    [0.5, 1.5, 0],
    [-1, 0.25, 3],
  ];
  const source = (body: string) => `data { matrix[3, 3] L; }
parameters { vector[3] b; }
model { matrix[3, 2] B = to_matrix(append_row(exp(b), b .* b + 1), 3, 2); ${body} }`;
  const whole = compile(stanModel(source("target += sum(mdivide_left_tri_low(L, B) .* [[1, -2], [0.5, 3], [2, 1]]);"), { L }));
  const columns = compile(
    stanModel(source("target += dot_product(mdivide_left_tri_low(L, col(B, 1)), [1, 0.5, 2]') + dot_product(mdivide_left_tri_low(L, col(B, 2)), [-2, 3, 1]');"), { L }),
  );
  for (const q of randomPoints(3, 3, 5)) {
    expect(whole.logDensity(q)).toBeCloseTo(columns.logDensity(q), 12);
    expect(gradientError(whole, q).worst).toBeLessThan(2e-7);
  }
});

test("eigenvalues_sym and eigenvectors_sym: V diag(λ) V' rebuilds the matrix, gradients exact", () => {
  // A = B B' + I from parameters; the density reads both outputs of one decomposition.
  const source = `parameters { vector[6] b; }
transformed parameters {
  matrix[3, 3] A = tcrossprod(to_matrix(b, 3, 2)) + diag_matrix(rep_vector(1, 3));
  vector[3] lambda = eigenvalues_sym(A);
  matrix[3, 3] V = eigenvectors_sym(A);
}
model {
  b ~ normal(0, 1);
  target += sum(lambda .* [1, -0.5, 2]') + sum(V .* [[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
}`;
  const ld = compile(stanModel(source));
  for (const q of randomPoints(6, 4, 11)) {
    const values = new Float64Array(ld.names.length);
    ld.constrainFlat(q, values);
    const at = (name: string) => values[ld.names.indexOf(name)]!;
    const lam = [1, 2, 3].map((k) => at(`lambda[${k}]`));
    expect(lam).toEqual([...lam].sort((x, y) => x - y));
    for (let i = 1; i <= 3; i++) {
      for (let j = 1; j <= 3; j++) {
        const rebuilt = [1, 2, 3].reduce((s, k) => s + at(`V[${i},${k}]`) * lam[k - 1]! * at(`V[${j},${k}]`), 0);
        expect(rebuilt).toBeCloseTo(at(`A[${i},${j}]`), 10);
      }
    }
    expect(gradientError(ld, q).worst).toBeLessThan(2e-7);
  }
});

test("append_col of two vectors is a two-column matrix, append_row of two row vectors a two-row matrix (Stan's types)", () => {
  // Weights differ by position, so a transposed or flattened result gives another density.
  const source = `parameters { vector[3] b; }
model {
  matrix[3, 2] C = append_col(b, exp(b));
  matrix[2, 3] R = append_row(b', exp(b)');
  target += sum(C .* [[1, 2], [3, 4], [5, 6]]) + sum(R .* [[1, 3, 5], [2, 4, 6]]);
}`;
  const ld = compile(stanModel(source));
  const q = Float64Array.of(0.3, -0.2, 0.1);
  const expected = 2 * [0, 1, 2].reduce((s, i) => s + (2 * i + 1) * q[i]! + (2 * i + 2) * Math.exp(q[i]!), 0);
  expect(ld.logDensity(q)).toBeCloseTo(expected, 12);
  expect(gradientError(ld, q).worst).toBeLessThan(2e-7);
});

/**
 * The gradient of f(A) = y' (A + I)^-1 y, written through the decomposition as
 * sum((V' y)^2 ./ (lambda + 1)), at A = Q diag(lambda) Q' (Q a Householder reflection), in the
 * directions E_ab = q_a q_b' + q_b q_a' of the given pairs of eigenvectors: the largest
 * difference from the exact -z' E_ab z, z = (A + I)^-1 y by elimination (no eigen-decomposition
 * in the reference, so it is exact to rounding).
 */
function eigenGradientError(lambda: number[], pairs: [number, number][]): number {
  const n = lambda.length;
  const u = [1, -2, 0.5, 3, 1.5];
  const uu = u.reduce((s, x) => s + x * x, 0);
  const Q = u.map((ui, i) => u.map((uj, j) => (i === j ? 1 : 0) - (2 * ui * uj) / uu));
  const A0 = Q.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) A0[i]![j] = A0[j]![i] = lambda.reduce((s, l, k) => s + Q[i]![k]! * l * Q[j]![k]!, 0);
  }
  const E = pairs.map(([a, b]) => Q.map((_, i) => Q.map((__, j) => Q[i]![a]! * Q[j]![b]! + Q[i]![b]! * Q[j]![a]!)));
  const y = [0.3, -1.2, 0.8, 2.0, -0.5];
  const source = `data { int n; int m; matrix[n, n] A0; array[m] matrix[n, n] E; vector[n] y; }
parameters { vector[m] x; }
model {
  matrix[n, n] A = A0;
  for (k in 1:m) A += x[k] * E[k];
  target += sum(square(eigenvectors_sym(A)' * y) ./ (eigenvalues_sym(A) + 1));
}`;
  const ld = compile(stanModel(source, { n, m: pairs.length, A0, E, y }));
  const M = A0.map((row, i) => [...row.map((v, j) => v + (i === j ? 1 : 0)), y[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const z = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) z[r] = (M[r]![n]! - M[r]!.slice(r + 1, n).reduce((s, v, k) => s + v * z[r + 1 + k]!, 0)) / M[r]![r]!;
  const exact = E.map((e) => -e.reduce((s, row, i) => s + row.reduce((t, v, j) => t + z[i]! * v * z[j]!, 0), 0));
  const g = new Float64Array(ld.dim);
  ld.logDensityGradient(new Float64Array(ld.dim), g);
  return Math.max(...exact.map((e, k) => Math.abs(g[k]! - e)));
}

test("eigenvalues_sym / eigenvectors_sym: the gradient stays exact for eigenvalues 1e-10 and 1e-14 apart (D210)", () => {
  const pairs: [number, number][] = [];
  for (let a = 0; a < 5; a++) for (let b = a; b < 5; b++) pairs.push([a, b]);
  // Three eigenvalues 1e-10 apart: their couplings (a divided difference of 1 / (lambda + 1),
  // about -1/4) are real terms; a cutoff that leaves them out is 0.29 off.
  expect(eigenGradientError([1, 1 + 1e-10, 1 + 2e-10, 2, 3.5], pairs)).toBeLessThan(1e-5);
  // 1e-14 apart: in every direction that moves a well-separated eigenvector the gradient is exact
  // to rounding. Dividing each term by the gap before taking the antisymmetric part spreads the
  // rounding of the huge quotients into these directions (3e-3 off). Within the cluster an error
  // of about eps / gap is left, which no formula from the decomposition's outputs can avoid.
  expect(eigenGradientError([1, 1 + 1e-14, 1 + 2e-14, 2, 3.5], pairs.filter(([, b]) => b >= 3))).toBeLessThan(1e-12);
});

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

/**
 * A variable held as one expression keeps its element writes aside until it is read whole or in
 * slices (DECISIONS.md D237): the values read are those of the variable as written, and the whole
 * is rebuilt once for many element writes, not once per element.
 */
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { Expr } from "../../src/model/expr.js";
import { Interpreter } from "../../src/stan/interpreter.js";
import { parseProgram } from "../../src/stan/parser.js";
import { Var } from "../../src/stan/values.js";

/**
 * Element writes into a matrix and a vector after a slice write has made each one expression:
 * reads of written and unwritten elements, slices across written elements, an element written
 * twice, a slice write over written elements, a branch on a parameter (both branches run on the
 * same variables), and whole reads.
 */
const program = (init: string) => `data { int N; vector[N] d; }
parameters { vector[N] x; real a; }
transformed parameters {
  matrix[3, N] m;
  vector[N] v;
  real r;
  ${init}
  m[2, 3] = a * m[1, 3];
  m[3, 1] = m[2, 3] + exp(m[3, 1]);
  v[2] = a * v[3];
  v[5] = v[2] + exp(v[5]);
  r = sum(v[1:3]) + dot_product(v[4:6], x[1:3]) + sum(m[2]) + sum(col(m, 1));
  v[2] = v[2] * 2;
  m[2, 3] = m[2, 3] - v[2];
  if (a > 0) v[4] = v[2] + m[3, 1];
  else v[1] = v[6] * a;
  r += sum(v[3:5]);
  v[1:5] = v[2:6] + d[1:5];
  v[6] = v[1] * m[2, 3];
}
model {
  x ~ normal(0, 1);
  a ~ normal(0, 1);
  target += r * sum(v) + log_sum_exp(v) + sum(m);
}`;
/** Every element set whole or in slices of more than four elements: the store keeps the whole as one expression. */
const WHOLE = "v[1:6] = x .* d;\n  m = rep_matrix(x', 3) .* rep_matrix(d', 3);";
/** Every element set one at a time: the store keeps scalar cells, never one expression. */
const ELEMENTS = "for (k in 1:N) { v[k] = x[k] * d[k]; for (i in 1:3) m[i, k] = x[k] * d[k]; }";

describe("element writes into a variable held as one expression (D237)", () => {
  test("give the values of the variable as written: equal to the same writes into scalar cells", () => {
    const data = { N: 6, d: [0.5, -1.2, 0.8, 1.7, -0.3, 0.9] };
    const plain = (source: string) => {
      const it = new Interpreter(parseProgram(source), { name: "store" });
      it.vectorise = false;
      return compile(it.run(data));
    };
    const [whole, cells] = [plain(program(WHOLE)), plain(program(ELEMENTS))];
    expect(whole.dim).toBe(cells.dim);
    const [g1, g2] = [new Float64Array(whole.dim), new Float64Array(whole.dim)];
    // Both signs of a: each branch of the condition.
    for (const sign of [1, -1]) {
      for (let k = 0; k < 3; k++) {
        const q = Float64Array.from({ length: whole.dim }, (_, i) => Math.sin(3 * k + i + 1) * 0.8);
        q[whole.dim - 1] = sign * (0.3 + 0.2 * k);
        const [a, b] = [whole.logDensityGradient(q, g1), cells.logDensityGradient(q, g2)];
        expect(Math.abs(a - b)).toBeLessThan(1e-12 * Math.max(1, Math.abs(b)));
        g2.forEach((value, i) => expect(Math.abs(g1[i]! - value), `coordinate ${i}`).toBeLessThan(1e-12 * Math.max(1, Math.abs(value))));
      }
    }
  });

  test("are joined into the whole once, when it is read, not once per element", () => {
    const v = new Var("v", { base: "vector", arr: 0 }, [100]);
    v.write(new Expr({ kind: "placeholder" }, [100], [], "x"));
    const values = [3, 50, 97].map((p) => {
      const e = new Expr({ kind: "placeholder" }, [], [], `y${p}`);
      v.writeAt(Int32Array.of(p), e);
      return e;
    });
    // A written element reads as the value written, an unwritten one from the whole.
    expect(v.readAt(Int32Array.of(50), [])).toBe(values[1]);
    const whole = v.read();
    expect(whole.node.kind).toBe("access");
    const joined = whole.inputs[0]!;
    expect(joined.inputs.length).toBe(4);
    values.forEach((e, k) => expect(joined.inputs[k + 1]).toBe(e));
    const map = (whole.node as { map: Int32Array }).map;
    expect([map[3], map[50], map[97], map[4]]).toEqual([100, 101, 102, 4]);
  });
});

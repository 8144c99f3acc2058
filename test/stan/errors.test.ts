/**
 * A corpus of broken Stan programs and the messages the front end gives for them: file, line
 * and column, the line with a caret, and what was expected (stanc's manner).
 */
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { checkStanProgram, stanModel, StanError } from "../../src/stan/index.js";

interface Broken {
  readonly name: string;
  readonly source: string;
  readonly data?: Record<string, unknown>;
  readonly line: number;
  readonly column: number;
  readonly message: RegExp;
}

const CORPUS: readonly Broken[] = [
  { name: "missing semicolon", source: "parameters {\n  real mu\n}\nmodel { mu ~ normal(0, 1); }", line: 3, column: 1, message: /Expected ";" after the declaration of mu but found "}"/ },
  { name: "unknown block", source: "paramters {\n  real mu;\n}", line: 1, column: 1, message: /Expected a program block/ },
  { name: "blocks out of order", source: "model { }\ndata { int N; }", line: 2, column: 1, message: /out of order/ },
  { name: "undeclared identifier", source: "parameters { real mu; }\nmodel {\n  mu ~ normal(nu, 1);\n}", line: 3, column: 15, message: /Identifier 'nu' not in scope/ },
  { name: "unknown function", source: "parameters { real mu; }\nmodel {\n  target += frobnicate(mu);\n}", line: 3, column: 13, message: /undeclared identifier 'frobnicate'/ },
  { name: "unknown distribution", source: "parameters { real mu; }\nmodel {\n  mu ~ wobbly(0, 1);\n}", line: 3, column: 3, message: /Distribution wobbly is not supported/ },
  { name: "assignment to data", source: "data { real y; }\nparameters { real mu; }\nmodel {\n  y = 2;\n}", line: 4, column: 3, message: /Cannot assign to global variable 'y'/ },
  { name: "target outside model", source: "parameters { real mu; }\ntransformed parameters {\n  target += mu;\n}", line: 3, column: 3, message: /Target can only be accessed in the model block/ },
  { name: "break outside a loop", source: "parameters { real mu; }\nmodel {\n  break;\n}", line: 3, column: 3, message: /break statements may only be used in loops/ },
  { name: "redeclaration", source: "parameters { real mu; real mu; }\nmodel { }", line: 1, column: 23, message: /Identifier 'mu' is already in use/ },
  { name: "integer parameter", source: "parameters { int k; }\nmodel { }", line: 1, column: 14, message: /Parameters cannot be integers/ },
  { name: "unclosed comment", source: "/* no end\nparameters { real mu; }", line: 1, column: 1, message: /never closed/ },
  { name: "bad character", source: "parameters { real mu; }\nmodel { mu ~ normal(0, 1) @ }", line: 2, column: 27, message: /Invalid character found: '@'/ },
  { name: "lpdf without a bar", source: "parameters { real mu; }\nmodel { target += normal_lpdf(mu, 0, 1); }", line: 2, column: 19, message: /require a vertical bar/ },
  { name: "while on a parameter", source: "parameters { real mu; }\nmodel {\n  while (mu > 0) { }\n}", line: 3, column: 10, message: /condition that depends on parameters/ },
  { name: "unsupported constraint", source: "parameters {\n  sum_to_zero_vector[3] u;\n}\nmodel { }", line: 2, column: 3, message: /sum_to_zero_vector parameters are not supported/ },
  // Type errors, found before any data are read (checkStanProgram, `bayests check`).
  { name: "a real assigned to an int", source: "parameters { real mu; }\nmodel {\n  int n;\n  n = 2.5;\n}", line: 4, column: 7, message: /Ill-typed arguments supplied to assignment operator =: lhs has type int and rhs has type real/ },
  { name: "a vector initialising a real", source: "data { vector[3] y; }\nparameters { real mu; }\nmodel {\n  real m = y;\n}", line: 4, column: 12, message: /lhs has type real and rhs has type vector/ },
  { name: "a vector as a condition", source: "data { vector[3] y; }\nparameters { real mu; }\nmodel {\n  if (y) mu ~ normal(0, 1);\n}", line: 4, column: 7, message: /Condition in if statement must be a primitive int or real; found type vector/ },
  { name: "a real loop bound", source: "parameters { real mu; }\nmodel {\n  for (i in 1:2.5) mu ~ normal(0, 1);\n}", line: 3, column: 15, message: /The upper bound of a for loop must be of type int; found real/ },
  { name: "a real array size", source: "data { real N; }\nparameters { real mu; }\nmodel {\n  array[N] real z;\n}", line: 4, column: 9, message: /An array size of z must be of type int; found real/ },
  { name: "a user function's argument of the wrong type", source: "functions {\n  real f(vector x) { return sum(x); }\n}\nparameters { real mu; }\nmodel {\n  target += f(mu);\n}", line: 6, column: 15, message: /argument 1 \(x\) must be vector, but real was supplied/ },
  { name: "a user function returning the wrong type", source: "functions {\n  vector f(real x) { return x; }\n}\nparameters { real mu; }\nmodel {\n  mu ~ normal(0, 1);\n}", line: 2, column: 29, message: /Function 'f' must return vector; this returns real/ },
  { name: "condition on a parameter around a density", source: "parameters { real mu; }\nmodel {\n  if (mu > 0) mu ~ normal(0, 1);\n}", line: 3, column: 7, message: /supported only around assignments/ },
  { name: "missing data", source: "data { int N; }\nparameters { real mu; }\nmodel { }", data: {}, line: 1, column: 8, message: /variable does not exist; processing stage=data initialization; variable name=N; base type=int/ },
  { name: "data below its lower bound", source: "data { int<lower=0> N; }\nparameters { real mu; }\nmodel { }", data: { N: -1 }, line: 1, column: 8, message: /N is -1, but must be greater than or equal to 0/ },
  { name: "data of the wrong size", source: "data { int N; vector[N] y; }\nparameters { real mu; }\nmodel { }", data: { N: 3, y: [1, 2] }, line: 1, column: 15, message: /mismatch in dimension declared and found in context; .*variable name=y; .*dims declared=\(3\); dims found=\(2\)/ },
  { name: "real data for an int", source: "data { int N; }\nparameters { real mu; }\nmodel { }", data: { N: 2.5 }, line: 1, column: 8, message: /int variable contained non-int values/ },
  { name: "index out of range", source: "data { vector[3] y; }\nparameters { real mu; }\nmodel {\n  mu ~ normal(y[4], 1);\n}", data: { y: [1, 2, 3] }, line: 4, column: 15, message: /Index 4 out of range/ },
];

describe.each(CORPUS)("$name", (c) => {
  test("is reported at its line and column with the line and a caret", () => {
    let error: unknown;
    try {
      stanModel(c.source, c.data ?? {}, { file: "broken.stan", onWarning: () => {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StanError);
    const e = error as StanError;
    expect(e.detail).toMatch(c.message);
    expect([e.line, e.column]).toEqual([c.line, c.column]);
    expect(e.message).toContain(`'broken.stan', line ${c.line}, column ${c.column - 1}`);
    const lines = e.message.split("\n");
    const codeLine = lines.findIndex((l) => l.startsWith(`${c.line}:`) || l.trimStart().startsWith(`${c.line}:  `));
    expect(codeLine).toBeGreaterThan(0);
    expect(lines[codeLine + 1]!.indexOf("^")).toBe(lines[codeLine]!.indexOf(":") + 3 + c.column - 1);
  });
});

test("checkStanProgram returns diagnostics instead of throwing, and warns on the old array syntax", () => {
  const bad = checkStanProgram("parameters { real mu; }\nmodel { mu ~ normal(sigma, 1); }", { file: "m.stan" });
  expect(bad.ok).toBe(false);
  expect(bad.errors[0]).toMatchObject({ kind: "type", line: 2, column: 21, file: "m.stan" });
  const old = checkStanProgram("data { int N; real y[N]; }\nparameters { real mu; }\nmodel { y ~ normal(mu, 1); }");
  expect(old.ok).toBe(true);
  expect(old.warnings[0]!.message).toMatch(/deprecated/);
});

test("an if on a parameter around assignments selects between the branches' values", () => {
  const source = "parameters { real x; }\nmodel {\n  real s = 1;\n  if (x > 0) s = 2; else s = 3;\n  target += -0.5 * square(x) * s;\n}";
  const ld = compile(stanModel(source, {}, { onWarning: () => {} }));
  const [a, b] = [ld.logDensity(Float64Array.of(1.5)), ld.logDensity(Float64Array.of(-1.5))];
  expect(a).toBeCloseTo(-0.5 * 2.25 * 2, 12);
  expect(b).toBeCloseTo(-0.5 * 2.25 * 3, 12);
  const g = new Float64Array(1);
  ld.logDensityGradient(Float64Array.of(1.5), g);
  expect(g[0]).toBeCloseTo(-1.5 * 2, 12);
});

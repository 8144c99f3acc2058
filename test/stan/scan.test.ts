/**
 * Recurrences lowered to `scan` (DECISIONS.md D157, D211, D221): each program's log density and gradient
 * with its loops lowered equal the plain interpretation's (every loop unrolled) at several
 * points, and `onDebug` says what became of the loop.
 */
import { describe, expect, test } from "vitest";
import { compile } from "../../src/compile/compile.js";
import { Interpreter } from "../../src/stan/interpreter.js";
import { parseProgram } from "../../src/stan/parser.js";
import { stanModel } from "../../src/stan/index.js";

const y = Array.from({ length: 40 }, (_, t) => Math.sin(t * 0.7) + 0.3 * Math.cos(t * 1.9));

/** Items 1..I with 1..I thresholds each; responses cycle through the items. */
const PCM = `functions {
  real pcm(int y, real theta, vector beta) {
    vector[rows(beta) + 1] unsummed = append_row(rep_vector(0.0, 1), theta - beta);
    return categorical_lpmf(y + 1 | softmax(cumulative_sum(unsummed)));
  }
}
data { int N; int I; array[N] int<lower=1, upper=I> ii; array[N] int<lower=0> y; array[I] int m; array[I] int pos; vector[N] x; }
parameters { vector<lower=0>[I] alpha; vector[sum(m)] beta; }
model {
  beta ~ normal(0, 2);
  for (n in 1:N) target += pcm(y[n], x[n] * alpha[ii[n]], segment(beta, pos[ii[n]], m[ii[n]]));
}`;
function pcmData(I: number) {
  const m = Array.from({ length: I }, (_, i) => i + 1);
  const pos = m.map((_, i) => 1 + m.slice(0, i).reduce((a, b) => a + b, 0));
  const ii = y.map((_, n) => 1 + (n % I));
  return { N: y.length, I, ii, y: ii.map((i, n) => (7 * n) % (m[i - 1]! + 1)), m, pos, x: y };
}

/** ldaK5's likelihood: per word, a local array over topics, written element by element (once compounded). */
const LDA = (reduction: string) => `data { int N; int K; int V; array[N] int<lower=1, upper=V> w; array[N] int<lower=1, upper=2> doc; }
parameters { array[2] simplex[K] theta; array[K] simplex[V] phi; }
model {
  for (k in 1:K) phi[k] ~ dirichlet(rep_vector(1, V));
  for (n in 1:N) {
    array[K] real gamma;
    for (k in 1:K) {
      gamma[k] = log(theta[doc[n], k]);
      gamma[k] += log(phi[k, w[n]]);
    }
    ${reduction}
  }
}`;
const LDA_DATA = { N: y.length, K: 3, V: 4, w: y.map((_, n) => 1 + ((3 * n) % 4)), doc: y.map((_, n) => 1 + (n % 2)) };

const cases: { name: string; source: string; data: Record<string, unknown>; debug: RegExp }[] = [
  {
    name: "garch(1,1): sigma[t] from sigma[t-1]",
    source: `data { int<lower=0> T; array[T] real y; real<lower=0> sigma1; }
parameters { real mu; real<lower=0> alpha0; real<lower=0, upper=1> alpha1; real<lower=0, upper=(1 - alpha1)> beta1; }
model {
  array[T] real sigma;
  sigma[1] = sigma1;
  for (t in 2:T) sigma[t] = sqrt(alpha0 + alpha1 * square(y[t - 1] - mu) + beta1 * square(sigma[t - 1]));
  y ~ normal(mu, sigma);
}`,
    data: { T: y.length, y, sigma1: 0.5 },
    debug: /line 6: the loop over t runs as a scan: iteration 2 as written, then 38 steps carrying 1 value/,
  },
  {
    name: "a forward algorithm: a carried vector, a scratch array, nested loops",
    source: `data { int N; array[N] real y; }
parameters { simplex[2] theta1; simplex[2] theta2; positive_ordered[2] mu; }
model {
  array[2] vector[2] theta;
  array[2] real acc;
  array[N, 2] real gamma;
  theta[1] = theta1;
  theta[2] = theta2;
  mu ~ normal(0, 3);
  for (k in 1:2) gamma[1, k] = normal_lpdf(y[1] | mu[k], 1);
  for (t in 2:N) {
    for (k in 1:2) {
      for (j in 1:2) acc[j] = gamma[t - 1, j] + log(theta[j, k]) + normal_lpdf(y[t] | mu[k], 1);
      gamma[t, k] = log_sum_exp(acc);
    }
  }
  target += log_sum_exp(gamma[N]);
}`,
    data: { N: y.length, y },
    debug: /the loop over t runs as a scan: iteration 2 as written, then 38 steps carrying 4 value/,
  },
  {
    name: "ARMA(1,1): two carried scalars and the target in the loop",
    source: `data { int<lower=1> T; array[T] real y; }
parameters { real mu; real<lower=-1, upper=1> phi; real<lower=-1, upper=1> theta; real<lower=0> sigma; }
model {
  vector[T] nu;
  vector[T] err;
  nu[1] = mu + phi * mu;
  err[1] = y[1] - nu[1];
  for (t in 2:T) {
    nu[t] = mu + phi * y[t - 1] + theta * err[t - 1];
    err[t] = y[t] - nu[t];
    target += normal_lpdf(err[t] | 0, sigma);
  }
  mu ~ normal(0, 10);
  sigma ~ cauchy(0, 5);
}`,
    data: { T: y.length, y },
    debug: /the loop over t runs as a scan: iteration 2 as written, then 38 steps carrying 3 value/,
  },
  {
    name: "a categorical likelihood per observation: positions into a computed vector that change",
    source: `data { int N; array[N] int<lower=1, upper=3> z; vector[N] x; }
parameters { real a; real b; }
model {
  for (n in 1:N) {
    vector[3] eta = [a, b * x[n], 0]';
    target += categorical_lpmf(z[n] | softmax(eta));
  }
}`,
    data: { N: y.length, z: y.map((v) => 1 + (Math.round(Math.abs(v) * 10) % 3)), x: y },
    debug: /the loop over n runs as a scan: iteration 1 as written, then 39 steps carrying 1 value/,
  },
  {
    // gpcm_latent_reg_irt's loop: the segment's length is its item's, so steps differ in shape (D211).
    name: "a partial-credit likelihood per response, a segment of its item's length: one scan per structure",
    source: PCM,
    data: pcmData(3),
    debug: /the loop over n runs as 3 scans, one per structure of its iterations: iteration 1 as written, then 39 steps adding to the target/,
  },
  {
    name: "the same with more structures than MAX_STEP_CLASSES: unrolled",
    source: PCM,
    data: pcmData(9),
    debug: /the loop over n is unrolled \(39 iterations\).*not a scan: a value changes shape between iterations \(more than 8 structures\)/,
  },
  {
    // covid19imperial's renewal equation, small (D221): each day reads every earlier day through a
    // dot product with data, then a convolution of the whole series for the expected counts.
    name: "a renewal equation over the whole series so far, then a convolution: a scan carrying the series, and padded reductions",
    source: `data { int N; int N0; vector[N] si_rev; vector[N] f_rev; array[N] real obs; real pop; }
parameters { real<lower=0> y0; real<lower=0> R; real<lower=0> s; }
transformed parameters {
  vector[N] pred = rep_vector(0, N);
  vector[N] cum = rep_vector(0, N);
  vector[N] expected = rep_vector(0, N);
  pred[1:N0] = rep_vector(y0, N0);
  cum[2:N0] = cumulative_sum(pred[2:N0]);
  for (i in (N0 + 1):N) {
    real conv = dot_product(pred[1:(i - 1)], tail(si_rev, i - 1));
    cum[i] = cum[i - 1] + pred[i - 1];
    pred[i] = R * ((pop - cum[i]) / pop) * conv;
  }
  expected[1] = 1e-3 * pred[1];
  for (i in 2:N) expected[i] = s * dot_product(pred[1:(i - 1)], tail(f_rev, i - 1));
}
model {
  y0 ~ exponential(1);
  R ~ normal(1, 0.5);
  s ~ normal(0, 1);
  obs ~ normal(expected, 1);
}`,
    data: {
      N: y.length,
      N0: 6,
      si_rev: y.map((_, t) => Math.exp(-0.3 * (y.length - t))),
      f_rev: y.map((_, t) => 0.05 * Math.exp(-0.1 * (y.length - t))),
      obs: y.map((v) => 2 + v),
      pop: 1000,
    },
    debug: /line 9: the loop over i runs as a scan carrying the 68 elements it writes: iteration 7 as written, then 33 steps[\s\S]*line 15: the loop over i runs as a scan: iteration 2 as written, then 38 steps carrying 1 value/,
  },
  {
    name: "an AR(2) recurrence on parameters (reads two iterations back): unrolled",
    source: `data { int T; array[T] real y; }
parameters { real<lower=0, upper=1> a; real<lower=0, upper=1> b; real<lower=0> s; }
model {
  vector[T] m;
  m[1] = 0;
  m[2] = a;
  for (t in 3:T) m[t] = a * m[t - 1] + b * m[t - 2];
  y ~ normal(m, s);
}`,
    data: { T: y.length, y },
    debug: /the loop over t is unrolled \(37 iterations\).*not a scan: iterations compute different things/,
  },
  {
    name: "a local array per observation, written by element and reduced by log_sum_exp (LDA): vectorised (D238)",
    source: LDA("target += log_sum_exp(gamma);"),
    data: LDA_DATA,
    debug: /line 5: the loop over n \(40 iterations\) runs once, as vectors/,
  },
  {
    name: "a local array per observation read whole by another function: a scan, as before D238",
    source: LDA("target += log_sum_exp(gamma) + 0.1 * sum(gamma);"),
    data: LDA_DATA,
    debug: /line 5: the loop over n runs as a scan: iteration 1 as written, then 39 steps carrying 1 value/,
  },
];

describe.each(cases)("$name", ({ source, data, debug }) => {
  test("equals the plain interpretation, and onDebug says what became of the loop", () => {
    const messages: string[] = [];
    const lowered = compile(stanModel(source, data, { onWarning: () => {}, onDebug: (m) => messages.push(m) }));
    const plain = new Interpreter(parseProgram(source), { name: "plain" });
    plain.vectorise = false;
    const unrolled = compile(plain.run(data));
    expect(messages.join("\n")).toMatch(debug);
    expect(lowered.dim).toBe(unrolled.dim);
    const [g1, g2] = [new Float64Array(lowered.dim), new Float64Array(lowered.dim)];
    // Equal up to a constant: the compiler leaves out terms free of parameters where they stand alone
    // (the unrolled loop's constants), not inside a scan's step, so log densities are compared as
    // differences from the first point.
    let offset = Number.NaN;
    for (let k = 0; k < 4; k++) {
      const q = Float64Array.from({ length: lowered.dim }, (_, i) => Math.sin(3 * k + i + 1) * 0.8);
      const [a, b] = [lowered.logDensityGradient(q, g1), unrolled.logDensityGradient(q, g2)];
      if (k === 0) offset = a - b;
      expect(Math.abs(a - b - offset)).toBeLessThan(1e-10 * Math.max(1, Math.abs(b)));
      g2.forEach((v, i) => expect(Math.abs(g1[i]! - v), `coordinate ${i}`).toBeLessThan(1e-10 * Math.max(1, Math.abs(v))));
    }
  });
});

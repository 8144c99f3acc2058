/**
 * Hand-written log-densities with gradients for three benchmark models: the speed target
 * for the generated JavaScript backend. Each works on Stan's unconstrained scale (a
 * positive parameter is stored as its log, and the log-Jacobian of exp is added), over
 * Float64Array, allocates nothing per call, and has every data-derived constant hoisted
 * out of the hot loop.
 *
 * Only terms that do not depend on parameters are dropped; each model lists them.
 */
import gammaln from "@stdlib/math-base-special-gammaln";
import digamma from "@stdlib/math-base-special-digamma";
import type { LogDensity, ShapedValue } from "../src/compile/types.js";
import { int, matrix, vector, type StanData } from "../src/data/stan-json.js";

// ---------------------------------------------------------------------------------------
// Parameter layout: names, constrain / unconstrain. Simple, off the hot path.

interface Block {
  readonly name: string;
  /** [] scalar, [n] vector, [r, c] matrix (row-major). */
  readonly shape: readonly number[];
  /** lower=0: stored as log on the unconstrained scale. */
  readonly positive: boolean;
}

type Layout = Pick<
  LogDensity,
  "dim" | "unconstrainedNames" | "names" | "paramCount" | "constrainFlat" | "constrain" | "unconstrain"
>;

function blockSize(b: Block): number {
  return b.shape.reduce((a, n) => a * n, 1);
}

function indexSuffixes(shape: readonly number[]): string[] {
  if (shape.length === 0) return [""];
  let out = [""];
  for (const n of shape) {
    const next: string[] = [];
    for (const prefix of out) for (let i = 1; i <= n; i++) next.push(prefix === "" ? `${i}` : `${prefix},${i}`);
    out = next;
  }
  return out.map((s) => `[${s}]`);
}

function layout(blocks: readonly Block[]): Layout {
  const names: string[] = [];
  const unconstrainedNames: string[] = [];
  for (const b of blocks) {
    for (const s of indexSuffixes(b.shape)) {
      names.push(b.name + s);
      unconstrainedNames.push(b.positive ? `${b.name}__log${s}` : b.name + s);
    }
  }
  const dim = names.length;
  const constrainFlat = (q: Float64Array, out: Float64Array): void => {
    let k = 0;
    for (const b of blocks) {
      const n = blockSize(b);
      for (let i = 0; i < n; i++, k++) out[k] = b.positive ? Math.exp(q[k]!) : q[k]!;
    }
  };
  return {
    dim,
    names,
    unconstrainedNames,
    paramCount: dim,
    constrainFlat,
    constrain(q: Float64Array): Record<string, ShapedValue> {
      const flat = new Float64Array(dim);
      constrainFlat(q, flat);
      const out: Record<string, ShapedValue> = {};
      let k = 0;
      for (const b of blocks) {
        const n = blockSize(b);
        out[b.name] = { shape: [...b.shape], values: flat.slice(k, k + n) };
        k += n;
      }
      return out;
    },
    unconstrain(values: Record<string, number | ArrayLike<number>>): Float64Array {
      const q = new Float64Array(dim);
      let k = 0;
      for (const b of blocks) {
        const n = blockSize(b);
        const v = values[b.name];
        if (v === undefined) throw new Error(`unconstrain: missing parameter "${b.name}"`);
        const arr: ArrayLike<number> = typeof v === "number" ? [v] : v;
        if (arr.length !== n) throw new Error(`unconstrain: "${b.name}" has ${arr.length} values, expected ${n}`);
        for (let i = 0; i < n; i++, k++) {
          const x = arr[i]!;
          if (b.positive && !(x > 0)) throw new Error(`unconstrain: "${b.name}" must be > 0, got ${x}`);
          q[k] = b.positive ? Math.log(x) : x;
        }
      }
      return q;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Performance note. The hot code of each model is a module-level function that receives
// the data arrays and sizes as arguments, and the LogDensity methods are one-line
// wrappers. Had the loops read them from the factory's closure instead, V8 would
// specialise the optimised code to the first instance only (its "one closure" context
// specialisation) and every later instance (a second chain, a benchmark pair) would run
// about 10% slower.

// ---------------------------------------------------------------------------------------
// Eight schools, non-centred.
//   mu ~ normal(0, 5); tau ~ cauchy(0, 5); theta_tilde ~ normal(0, 1);
//   y ~ normal(mu + tau * theta_tilde, sigma)
// q = [mu, log tau, theta_tilde[1..J]].
// Dropped constants: -log(5) - log(2 pi)/2 (mu), -log(5 pi) (tau), -J log(2 pi)/2
// (theta_tilde), -sum(log sigma) - J log(2 pi)/2 (y). (Stan does not renormalise the
// cauchy for tau's lower bound either: that would only add the constant log 2.)

function eightSchoolsGrad(q: Float64Array, grad: Float64Array, y: Float64Array, invVar: Float64Array, J: number): number {
  const mu = q[0]!;
  const u = q[1]!;
  const tau = Math.exp(u);
  const tau2 = tau * tau;
  let acc = mu * mu * 0.04; // twice the negative log-density, accumulated
  let gMu = 0;
  let gTau = 0;
  for (let j = 0; j < J; j++) {
    const t = q[j + 2]!;
    const e = y[j]! - mu - tau * t;
    const w = e * invVar[j]!;
    acc += t * t + e * w;
    gMu += w;
    gTau += w * t;
    grad[j + 2] = tau * w - t;
  }
  grad[0] = gMu - mu * 0.04;
  grad[1] = 1 + tau * gTau - (2 * tau2) / (25 + tau2);
  return u - Math.log1p(tau2 * 0.04) - 0.5 * acc;
}

function eightSchoolsLp(q: Float64Array, y: Float64Array, invVar: Float64Array, J: number): number {
  const mu = q[0]!;
  const u = q[1]!;
  const tau = Math.exp(u);
  const tau2 = tau * tau;
  let acc = mu * mu * 0.04;
  for (let j = 0; j < J; j++) {
    const t = q[j + 2]!;
    const e = y[j]! - mu - tau * t;
    acc += t * t + e * (e * invVar[j]!);
  }
  return u - Math.log1p(tau2 * 0.04) - 0.5 * acc;
}

export function eightSchoolsNoncentered(data: StanData): LogDensity {
  const J = int(data, "J");
  const y = Float64Array.from(vector(data, "y", J));
  const invVar = Float64Array.from(vector(data, "sigma", J), (s) => 1 / (s * s));
  return {
    ...layout([
      { name: "mu", shape: [], positive: false },
      { name: "tau", shape: [], positive: true },
      { name: "theta_tilde", shape: [J], positive: false },
    ]),
    logDensityGradient: (q: Float64Array, grad: Float64Array): number => eightSchoolsGrad(q, grad, y, invVar, J),
    logDensity: (q: Float64Array): number => eightSchoolsLp(q, y, invVar, J),
  };
}

// ---------------------------------------------------------------------------------------
// Logistic regression.
//   alpha ~ normal(0, 10); beta ~ normal(0, 10); y ~ bernoulli_logit(alpha + X * beta)
// q = [alpha, beta[1..P]].
// Dropped constants: -(P + 1) (log(10) + log(2 pi)/2) from the priors.
// log p(y | eta) = y eta - softplus(eta), with the stable split
//   softplus(eta) = max(eta, 0) + log1p(exp(-|eta|)),
// and d/d eta = y - sigmoid(eta), sigmoid from the same exp(-|eta|). The y eta part is
// linear in the parameters: alpha sum(y) + beta . X'y, precomputed. Each 1 + exp(-|eta|)
// lies in (1, 2], so sum log1p(exp(-|eta_i|)) is taken as the log of their product
// (one log per 1000 rows instead of one log1p per row; no overflow since 2^1000 < 1e308;
// absolute error about N * 1e-16).
// Three passes, each a tight loop: eta = alpha + X beta (column-major copy of X, four
// columns per sweep), the nonlinear part, then X' sigmoid(eta) (row-major, four rows per
// sweep).

interface LogisticData {
  readonly N: number;
  readonly P: number;
  /** Row-major N x P. */
  readonly X: Float64Array;
  /** Column-major copy: XT[k * N + i] = X[i, k]. */
  readonly XT: Float64Array;
  readonly sumY: number;
  readonly Xty: Float64Array;
  /** Scratch of length N: eta, then sigmoid(eta). */
  readonly eta: Float64Array;
}

/** eta = alpha + X beta, for q = [alpha, beta]. */
function logisticEta(q: Float64Array, XT: Float64Array, eta: Float64Array, N: number, P: number): void {
  eta.fill(q[0]!);
  const P4 = P - (P % 4);
  let k = 0;
  for (; k < P4; k += 4) {
    const b0 = q[k + 1]!;
    const b1 = q[k + 2]!;
    const b2 = q[k + 3]!;
    const b3 = q[k + 4]!;
    const o0 = k * N;
    const o1 = o0 + N;
    const o2 = o1 + N;
    const o3 = o2 + N;
    for (let i = 0; i < N; i++) {
      eta[i] += XT[o0 + i]! * b0 + XT[o1 + i]! * b1 + (XT[o2 + i]! * b2 + XT[o3 + i]! * b3);
    }
  }
  for (; k < P; k++) {
    const b = q[k + 1]!;
    const o = k * N;
    for (let i = 0; i < N; i++) eta[i] += XT[o + i]! * b;
  }
}

/** The prior plus the part of the likelihood linear in q: alpha sum(y) + beta . X'y. */
function logisticLinear(q: Float64Array, sumY: number, Xty: Float64Array, P: number): number {
  const alpha = q[0]!;
  let lp = alpha * (sumY - 0.005 * alpha);
  for (let k = 0; k < P; k++) {
    const b = q[k + 1]!;
    lp += b * (Xty[k]! - 0.005 * b);
  }
  return lp;
}

function logisticGrad(q: Float64Array, grad: Float64Array, d: LogisticData): number {
  const N = d.N;
  const P = d.P;
  const X = d.X;
  const Xty = d.Xty;
  const sumY = d.sumY;
  const eta = d.eta;
  logisticEta(q, d.XT, eta, N, P);
  // Nonlinear part: sum softplus(eta); eta[i] <- sigmoid(eta[i]).
  let sumPos = 0;
  let logProd = 0;
  let sumP = 0;
  for (let i0 = 0; i0 < N; i0 += 1000) {
    const i1 = Math.min(N, i0 + 1000);
    let prod = 1;
    for (let i = i0; i < i1; i++) {
      const e = eta[i]!;
      const ex = Math.exp(-Math.abs(e));
      const op = 1 + ex;
      prod *= op;
      let p: number;
      if (e > 0) {
        sumPos += e;
        p = 1 / op;
      } else {
        p = ex / op;
      }
      sumP += p;
      eta[i] = p;
    }
    logProd += Math.log(prod);
  }
  // grad = prior + X'y - X' sigmoid(eta)
  grad[0] = sumY - 0.01 * q[0]! - sumP;
  for (let k = 0; k < P; k++) grad[k + 1] = Xty[k]! - 0.01 * q[k + 1]!;
  const N4 = N - (N % 4);
  let i = 0;
  for (let off = 0; i < N4; i += 4, off += 4 * P) {
    const p0 = eta[i]!;
    const p1 = eta[i + 1]!;
    const p2 = eta[i + 2]!;
    const p3 = eta[i + 3]!;
    const o1 = off + P;
    const o2 = o1 + P;
    const o3 = o2 + P;
    for (let k = 0; k < P; k++) {
      grad[k + 1] -= p0 * X[off + k]! + p1 * X[o1 + k]! + (p2 * X[o2 + k]! + p3 * X[o3 + k]!);
    }
  }
  for (; i < N; i++) {
    const p = eta[i]!;
    const off = i * P;
    for (let k = 0; k < P; k++) grad[k + 1] -= p * X[off + k]!;
  }
  return logisticLinear(q, sumY, Xty, P) - sumPos - logProd;
}

function logisticLp(q: Float64Array, d: LogisticData): number {
  const N = d.N;
  const eta = d.eta;
  logisticEta(q, d.XT, eta, N, d.P);
  let sumPos = 0;
  let logProd = 0;
  for (let i0 = 0; i0 < N; i0 += 1000) {
    const i1 = Math.min(N, i0 + 1000);
    let prod = 1;
    for (let i = i0; i < i1; i++) {
      const e = eta[i]!;
      prod *= 1 + Math.exp(-Math.abs(e));
      if (e > 0) sumPos += e;
    }
    logProd += Math.log(prod);
  }
  return logisticLinear(q, d.sumY, d.Xty, d.P) - sumPos - logProd;
}

export function logistic(data: StanData): LogDensity {
  const N = int(data, "N");
  const P = int(data, "P");
  const X = matrix(data, "X", N, P).values;
  const y = vector(data, "y", N);
  const XT = new Float64Array(N * P);
  let sumY = 0;
  const Xty = new Float64Array(P);
  for (let i = 0; i < N; i++) {
    const yi = y[i]!;
    if (yi !== 0 && yi !== 1) throw new Error(`logistic: y[${i + 1}] = ${yi} is not 0 or 1`);
    sumY += yi;
    for (let k = 0; k < P; k++) {
      const x = X[i * P + k]!;
      XT[k * N + i] = x;
      Xty[k] += yi * x;
    }
  }
  const d: LogisticData = { N, P, X, XT, sumY, Xty, eta: new Float64Array(N) };
  return {
    ...layout([
      { name: "alpha", shape: [], positive: false },
      { name: "beta", shape: [P], positive: false },
    ]),
    logDensityGradient: (q: Float64Array, grad: Float64Array): number => logisticGrad(q, grad, d),
    logDensity: (q: Float64Array): number => logisticLp(q, d),
  };
}

// ---------------------------------------------------------------------------------------
// Stochastic volatility.
//   sigma ~ exponential(50); nu ~ exponential(0.1);
//   s[1] ~ normal(0, sigma); s[2:T] ~ normal(s[1:(T-1)], sigma);
//   r ~ student_t(nu, 0, exp(s))
// q = [log sigma, log nu, s[1..T]].
// Dropped constants: log(50) + log(0.1) (rates), -T log(2 pi)/2 (random walk),
// -T log(pi)/2 (Student-t). Kept: the Student-t normaliser
// T (lgamma((nu+1)/2) - lgamma(nu/2) - log(nu)/2), which depends on nu.
// With w_t = (r_t exp(-s_t))^2 / nu the likelihood is
//   sum_t [ -s_t - (nu+1)/2 log1p(w_t) ] + normaliser,
//   d/ds_t = -1 + (nu+1) w_t/(1+w_t),
//   d/dnu  = sum_t [ -log1p(w_t)/2 + (nu+1)/(2 nu) w_t/(1+w_t) ]
//            + T/2 (digamma((nu+1)/2) - digamma(nu/2) - 1/nu).
// sum_t log1p(w_t) is taken as the log of the product of the 1 + w_t, flushed into a
// log whenever the product passes 1e200 (factors above 1e100 are logged on their own), so
// it never overflows; absolute error about T * 1e-16.

function svGrad(q: Float64Array, grad: Float64Array, r2: Float64Array, T: number): number {
  const a = q[0]!;
  const b = q[1]!;
  const sigma = Math.exp(a);
  const invS2 = Math.exp(-2 * a);
  const nu = Math.exp(b);
  const invNu = 1 / nu;
  const nu1 = nu + 1;
  let ss = 0; // sum of squared random-walk increments
  let sumS = 0;
  let sumL = 0; // sum log1p(w): flushed part
  let prod = 1; // sum log1p(w): pending part, as a product of 1 + w
  let sumF = 0; // sum w / (1 + w)
  let prevS = 0;
  for (let t = 0; t < T; t++) {
    const s = q[t + 2]!;
    const d = s - prevS; // s[1] - 0 for t = 0
    ss += d * d;
    const dd = d * invS2;
    const w = r2[t]! * Math.exp(-2 * s) * invNu;
    const op = 1 + w;
    const f = w / op;
    if (op < 1e100) {
      prod *= op;
      if (prod > 1e200) {
        sumL += Math.log(prod);
        prod = 1;
      }
    } else {
      sumL += Math.log(op);
    }
    sumS += s;
    sumF += f;
    grad[t + 2] = nu1 * f - 1 - dd;
    // -d^2 / (2 sigma^2) also depends on s[t-1]; for t = 0 this writes grad[1],
    // which is overwritten below.
    grad[t + 1] += dd;
    prevS = s;
  }
  sumL += Math.log(prod);
  const halfNu = 0.5 * nu;
  const halfNu1 = 0.5 * nu1;
  const dLdNu = 0.5 * T * (digamma(halfNu1) - digamma(halfNu) - invNu) - 0.5 * sumL + 0.5 * nu1 * invNu * sumF;
  grad[0] = ss * invS2 - 50 * sigma + 1 - T;
  grad[1] = nu * (dLdNu - 0.1) + 1;
  return (
    T * (gammaln(halfNu1) - gammaln(halfNu) - 0.5 * b) -
    sumS -
    halfNu1 * sumL +
    (a - 50 * sigma) +
    (b - 0.1 * nu) -
    T * a -
    0.5 * ss * invS2
  );
}

function svLp(q: Float64Array, r2: Float64Array, T: number): number {
  const a = q[0]!;
  const b = q[1]!;
  const sigma = Math.exp(a);
  const invS2 = Math.exp(-2 * a);
  const nu = Math.exp(b);
  const invNu = 1 / nu;
  let ss = 0;
  let sumS = 0;
  let sumL = 0;
  let prod = 1;
  let prevS = 0;
  for (let t = 0; t < T; t++) {
    const s = q[t + 2]!;
    const d = s - prevS;
    ss += d * d;
    sumS += s;
    const op = 1 + r2[t]! * Math.exp(-2 * s) * invNu;
    if (op < 1e100) {
      prod *= op;
      if (prod > 1e200) {
        sumL += Math.log(prod);
        prod = 1;
      }
    } else {
      sumL += Math.log(op);
    }
    prevS = s;
  }
  sumL += Math.log(prod);
  const halfNu1 = 0.5 * (nu + 1);
  return (
    T * (gammaln(halfNu1) - gammaln(0.5 * nu) - 0.5 * b) -
    sumS -
    halfNu1 * sumL +
    (a - 50 * sigma) +
    (b - 0.1 * nu) -
    T * a -
    0.5 * ss * invS2
  );
}

export function sv(data: StanData): LogDensity {
  const T = int(data, "T");
  const r2 = Float64Array.from(vector(data, "r", T), (r) => r * r);
  return {
    ...layout([
      { name: "sigma", shape: [], positive: true },
      { name: "nu", shape: [], positive: true },
      { name: "s", shape: [T], positive: false },
    ]),
    logDensityGradient: (q: Float64Array, grad: Float64Array): number => svGrad(q, grad, r2, T),
    logDensity: (q: Float64Array): number => svLp(q, r2, T),
  };
}

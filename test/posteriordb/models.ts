/**
 * The 26 posteriordb posteriors of this folder, translated from their `model.stan` into the
 * model API: the same density up to an additive constant, the same parameters (names, shapes,
 * constraints, declaration order, hence the same unconstrained coordinates as Stan), and Stan's
 * transformed parameters / generated quantities as deterministics where they are expressible.
 *
 * Stan's indices are 1-based, ours 0-based: Stan's `beta[2]` is `at(beta, 1)` here.
 * Every model is built with `{ noncentered: false }`: no automatic reparameterisation, so the
 * unconstrained space is Stan's (the Stan programs that are non-centred say so themselves).
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import {
  abs,
  add,
  cholesky,
  column,
  concat,
  constant,
  dist,
  div,
  dot,
  exp,
  gather,
  log,
  logMix,
  logSumExp,
  matvec,
  model,
  mul,
  neg,
  ode,
  sqrt,
  square,
  scan,
  stack,
  sub,
  type Expr,
  type ExprLike,
  type Model,
  type ModelOptions,
} from "../../src/model/index.js";
import { projectRoot } from "../../bench/paths.js";
import { int, loadStanJson, matrix, scalar, vector, type StanData } from "../../src/data/stan-json.js";

/** Stan-style models: no automatic non-centring (see the header). */
const STAN: ModelOptions = { noncentered: false };

/** Element i (0-based) of a vector, as a scalar expression. */
const at = (x: Expr, i: number): Expr => gather(x, constant(i, [], `${i}`, true));

/** `beta[1] + beta[2] * x1 + beta[3] * x2 + ...` (Stan's vectorised linear predictors). */
const linear = (beta: Expr, xs: readonly ExprLike[]): Expr =>
  xs.reduce<Expr>((acc, x, k) => add(acc, mul(at(beta, k + 1), x)), at(beta, 0));

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const elementwise = (a: readonly number[], b: readonly number[], f: (x: number, y: number) => number) => a.map((x, i) => f(x, b[i]!));

type Data = Record<string, unknown>;
const stan = (d: Data) => d as StanData;

// ---------------------------------------------------------------- arK

function arK(raw: Data): Model {
  const d = stan(raw);
  const [K, T] = [int(d, "K"), int(d, "T")];
  const y = vector(d, "y", T);
  return model(
    "arK",
    (b) => {
      const alpha = b.param("alpha", dist.normal(0, 10));
      const beta = b.param("beta", dist.normal(0, 10), { shape: [K] });
      const sigma = b.param("sigma", dist.cauchy(0, 2.5), { lower: 0 });
      // for (t in (K+1):T) mu = alpha + sum_k beta[k] * y[t-k]: row t of `lags` holds y[t-1], ..., y[t-K].
      const lags = b.data("lags", range(T - K).map((r) => range(K).map((k) => y[r + K - 1 - k]!)));
      b.observe("y", dist.normal(add(alpha, matvec(lags, beta)), sigma), y.slice(K));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- diamonds (brms)

function diamonds(raw: Data): Model {
  const d = stan(raw);
  const [N, K] = [int(d, "N"), int(d, "K")];
  const X = matrix(d, "X", N, K);
  const Kc = K - 1;
  // transformed data: Xc = X[, 2:K] with each column centred, means_X = the column means.
  const meansX = range(Kc).map((j) => range(N).reduce((s, i) => s + X.values[i * K + j + 1]!, 0) / N);
  const Xc = Float64Array.from({ length: N * Kc }, (_, k) => X.values[Math.floor(k / Kc) * K + (k % Kc) + 1]! - meansX[k % Kc]!);
  return model(
    "diamonds",
    (b) => {
      const xc = b.data("Xc", Xc, { shape: [N, Kc] });
      const beta = b.param("b", dist.normal(0, 1), { shape: [Kc] });
      const intercept = b.param("Intercept", dist.studentT(3, 8, 10));
      // target += student_t_lpdf(sigma | 3, 0, 10) - 1 * student_t_lccdf(0 | 3, 0, 10): the lccdf is a constant.
      const sigma = b.param("sigma", dist.studentT(3, 0, 10), { lower: 0 });
      // normal_id_glm_lpdf(Y | Xc, Intercept, b, sigma)
      if (int(d, "prior_only") === 0) b.observe("Y", dist.normalIdGlm(xc, intercept, beta, sigma), vector(d, "Y", N));
      b.deterministic("b_Intercept", sub(intercept, dot(constant(meansX), beta)));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- earnings

/**
 * earnings and mesquite: outcome(y) ~ normal(beta[1] + beta[2] * x1 + ..., sigma), flat priors,
 * with `field` the outcome's data name and `outcome` its transformation (log, log10, none).
 */
function flatLinearRegression(name: string, outcomeName: string, field: string, outcome: (y: number) => number, predictors: (d: StanData) => number[][]) {
  return (raw: Data): Model => {
    const d = stan(raw);
    const N = int(d, "N");
    const xs = predictors(d);
    return model(
      name,
      (b) => {
        const beta = b.param("beta", { shape: [xs.length + 1] });
        const sigma = b.param("sigma", { lower: 0 });
        b.observe(outcomeName, dist.normal(linear(beta, xs.map((x) => constant(x))), sigma), vector(d, field, N).map(outcome));
      },
      STAN,
    );
  };
}

const earnings = (name: string, outcomeName: string, outcome: (earn: number) => number, predictors: (d: StanData) => number[][]) =>
  flatLinearRegression(name, outcomeName, "earn", outcome, predictors);
const height = (d: StanData) => [vector(d, "height")];
const heightMale = (d: StanData) => [vector(d, "height"), vector(d, "male")];
// inter = height .* male
const heightMaleInter = (d: StanData) => [...heightMale(d), elementwise(vector(d, "height"), vector(d, "male"), (h, m) => h * m)];

// ---------------------------------------------------------------- eight schools (non-centred)

function eightSchoolsNoncentered(raw: Data): Model {
  const d = stan(raw);
  const J = int(d, "J");
  return model(
    "eight_schools_noncentered",
    (b) => {
      const thetaTrans = b.param("theta_trans", dist.normal(0, 1), { shape: [J] });
      const mu = b.param("mu", dist.normal(0, 5));
      const tau = b.param("tau", dist.cauchy(0, 5), { lower: 0 });
      const theta = b.deterministic("theta", add(mul(thetaTrans, tau), mu));
      b.observe("y", dist.normal(theta, constant(vector(d, "sigma", J))), vector(d, "y", J));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- garch(1,1)

function garch11(raw: Data): Model {
  const d = stan(raw);
  const T = int(d, "T");
  const y = vector(d, "y", T);
  const sigma1 = scalar(d, "sigma1");
  return model(
    "garch11",
    (b) => {
      const mu = b.param("mu");
      const alpha0 = b.param("alpha0", { lower: 0 });
      const alpha1 = b.param("alpha1", { lower: 0, upper: 1 });
      const beta1 = b.param("beta1", { lower: 0, upper: sub(1, alpha1) });
      // sigma[t] = sqrt(alpha0 + alpha1 * square(y[t - 1] - mu) + beta1 * square(sigma[t - 1])), t = 2..T
      const rest = scan({ init: sigma1, xs: [constant(y.slice(0, T - 1))] }, (s, [yPrev]) =>
        sqrt(add(add(alpha0, mul(alpha1, square(sub(yPrev!, mu)))), mul(beta1, square(s)))),
      );
      b.observe("y", dist.normal(mu, concat([sigma1, rest])), y);
    },
    STAN,
  );
}

// ---------------------------------------------------------------- GP Poisson regression

function gpPoisRegr(raw: Data): Model {
  const d = stan(raw);
  const N = int(d, "N");
  const x = vector(d, "x", N);
  const sqDist = constant(range(N * N).map((k) => (x[Math.floor(k / N)]! - x[k % N]!) ** 2), [N, N], "sq_dist");
  const jitter = constant(range(N * N).map((k) => (Math.floor(k / N) === k % N ? 1e-10 : 0)), [N, N], "jitter");
  return model(
    "gp_pois_regr",
    (b) => {
      const rho = b.param("rho", dist.gamma(25, 4), { lower: 0 });
      const alpha = b.param("alpha", dist.normal(0, 2), { lower: 0 });
      const fTilde = b.param("f_tilde", dist.normal(0, 1), { shape: [N] });
      // cov = gp_exp_quad_cov(x, alpha, rho) + diag_matrix(rep_vector(1e-10, N)),
      // gp_exp_quad_cov(x, alpha, rho)[i, j] = alpha^2 exp(-(x[i] - x[j])^2 / (2 rho^2))
      const cov = add(mul(square(alpha), exp(div(mul(-0.5, sqDist), square(rho)))), jitter);
      const f = b.deterministic("f", matvec(cholesky(cov), fTilde));
      b.observe("k", dist.poissonLog(f), vector(d, "k", N));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- HMM (2 states, forward algorithm)

function hmmExample(raw: Data): Model {
  const d = stan(raw);
  const [N, K] = [int(d, "N"), int(d, "K")];
  const y = vector(d, "y", N);
  if (K !== 2) throw new Error("hmm_example: the Stan program sets theta[1], theta[2] only, so K must be 2");
  return model(
    "hmm_example",
    (b) => {
      const theta1 = b.param("theta1", { shape: [K], constraint: "simplex" });
      const theta2 = b.param("theta2", { shape: [K], constraint: "simplex" });
      const mu = b.param("mu", { shape: [K], constraint: "positiveOrdered" });
      const theta = b.deterministic("theta", stack([theta1, theta2])); // theta[j, k]: from state j to state k
      b.potential("mu1_prior", dist.normal(3, 1).logp(at(mu, 0)));
      b.potential("mu2_prior", dist.normal(10, 1).logp(at(mu, 1)));
      // gamma[t, k] = log_sum_exp_j(gamma[t - 1, j] + log(theta[j, k]) + normal_lpdf(y[t] | mu[k], 1))
      const logTheta = log(theta);
      const gamma1 = dist.normal(mu, 1).logpdf(y[0]!);
      const gammas = scan({ init: gamma1, xs: [constant(y.slice(1))] }, (g, [yt]) =>
        add(logSumExp(add(g.reshape([K, 1]), logTheta), 0), dist.normal(mu, 1).logpdf(yt!)),
      );
      b.potential("forward", logSumExp(gather(gammas, [N - 2]))); // target += log_sum_exp(gamma[N])
      const { zStar, logPZStar } = viterbi2(y, theta1, theta2, mu);
      b.deterministic("z_star", zStar);
      b.deterministic("log_p_z_star", logPZStar);
    },
    STAN,
  );
}

/**
 * hmm_example's generated quantities (Viterbi path) for K = 2, with max(a, b) = (a + b + |a - b|) / 2
 * and the indicator [b > a] = (1 + sign(b - a)) / 2 (exact but for ties, which have probability 0).
 */
function viterbi2(y: readonly number[], theta1: Expr, theta2: Expr, mu: Expr): { zStar: Expr; logPZStar: Expr } {
  const N = y.length;
  const max = (a: Expr, b: Expr) => mul(0.5, add(add(a, b), abs(sub(a, b))));
  const greater = (b: Expr, a: Expr) => mul(0.5, add(1, div(sub(b, a), abs(sub(b, a)))));
  const [logTheta1, logTheta2] = [log(theta1), log(theta2)];
  // best_logp[t, k] = max_j(best_logp[t - 1, j] + log(theta[j, k])) + normal_lpdf(y[t] | mu[k], 1)
  const best1 = dist.normal(mu, 1).logpdf(y[0]!);
  const rest = scan({ init: best1, xs: [constant(y.slice(1))] }, (best, [yt]) =>
    add(max(add(at(best, 0), logTheta1), add(at(best, 1), logTheta2)), dist.normal(mu, 1).logpdf(yt!)),
  );
  const best = concat([best1, rest.reshape([(N - 1) * 2])]).reshape([N, 2]);
  const last = gather(best, [N - 1]).reshape([2]);
  const logPZStar = max(at(last, 0), at(last, 1)); // log_p_z_star = max(best_logp[N])
  // back_ptr[t, k] = 2 if best_logp[t - 1, 2] + log(theta[2, k]) > best_logp[t - 1, 1] + log(theta[1, k]), else 1
  const prev = gather(best, range(N - 1));
  const backPtr = (k: number) =>
    add(1, greater(add(column(prev, 1), at(logTheta2, k)), add(column(prev, 0), at(logTheta1, k))));
  // z_star[N] = the last k with best_logp[N, k] == log_p_z_star; then, backwards,
  // z_star[t - 1] = back_ptr[t, z_star[t]], where back_ptr[t, z] = (2 - z) back_ptr[t, 1] + (z - 1) back_ptr[t, 2].
  const zN = add(1, sub(1, greater(at(last, 0), at(last, 1))));
  const reversed = range(N - 1).reverse();
  const zs = scan({ init: zN, xs: [gather(backPtr(0), reversed), gather(backPtr(1), reversed)] }, (z, [bp1, bp2]) =>
    add(mul(sub(2, z), bp1!), mul(sub(z, 1), bp2!)),
  );
  return { zStar: concat([gather(zs, reversed), zN]), logPZStar };
}

// ---------------------------------------------------------------- kidiq

/** kid_score ~ normal(beta[1] + beta[2] * x1 + ..., sigma), sigma ~ cauchy(0, 2.5). */
function kidiq(name: string, predictors: (d: StanData) => number[][]) {
  return (raw: Data): Model => {
    const d = stan(raw);
    const N = int(d, "N");
    const xs = predictors(d);
    return model(
      name,
      (b) => {
        const beta = b.param("beta", { shape: [xs.length + 1] });
        const sigma = b.param("sigma", dist.cauchy(0, 2.5), { lower: 0 });
        b.observe("kid_score", dist.normal(linear(beta, xs.map((x) => constant(x))), sigma), vector(d, "kid_score", N));
      },
      STAN,
    );
  };
}
const momHs = (d: StanData) => [vector(d, "mom_hs")];
const momIq = (d: StanData) => [vector(d, "mom_iq")];
const momHsIq = (d: StanData) => [vector(d, "mom_hs"), vector(d, "mom_iq")];
// inter = mom_hs .* mom_iq
const momHsIqInter = (d: StanData) => [...momHsIq(d), elementwise(vector(d, "mom_hs"), vector(d, "mom_iq"), (h, q) => h * q)];

// ---------------------------------------------------------------- kilpisjarvi

function kilpisjarvi(raw: Data): Model {
  const d = stan(raw);
  const N = int(d, "N");
  return model(
    "kilpisjarvi",
    (b) => {
      const alpha = b.param("alpha", dist.normal(scalar(d, "pmualpha"), scalar(d, "psalpha")));
      const beta = b.param("beta", dist.normal(scalar(d, "pmubeta"), scalar(d, "psbeta")));
      const sigma = b.param("sigma", { lower: 0 });
      b.observe("y", dist.normal(add(alpha, mul(beta, constant(vector(d, "x", N)))), sigma), vector(d, "y", N));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- low-dimensional Gaussian mixture

function lowDimGaussMix(raw: Data): Model {
  const d = stan(raw);
  const y = constant(vector(d, "y", int(d, "N")));
  return model(
    "low_dim_gauss_mix",
    (b) => {
      const mu = b.param("mu", dist.normal(0, 2), { shape: [2], constraint: "ordered" });
      const sigma = b.param("sigma", dist.normal(0, 2), { shape: [2], lower: 0 });
      const theta = b.param("theta", dist.beta(5, 5));
      // target += log_mix(theta, normal_lpdf(y[n] | mu[1], sigma[1]), normal_lpdf(y[n] | mu[2], sigma[2])), n = 1..N
      const first = dist.normal(at(mu, 0), at(sigma, 0)).logpdf(y);
      const second = dist.normal(at(mu, 1), at(sigma, 1)).logpdf(y);
      b.potential("mixture", logMix(theta, first, second));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- mesquite

const mesquite = (name: string, outcomeName: string, outcome: (w: number) => number, predictors: (d: StanData) => number[][]) =>
  flatLinearRegression(name, outcomeName, "weight", outcome, predictors);
const mesquiteAll = (d: StanData) => ["diam1", "diam2", "canopy_height", "total_height", "density", "group"].map((v) => vector(d, v));
const logMesquiteAll = (d: StanData) => [
  ...["diam1", "diam2", "canopy_height", "total_height", "density"].map((v) => vector(d, v).map(Math.log)),
  vector(d, "group"),
];
// log_canopy_volume = log(diam1 .* diam2 .* canopy_height), log_canopy_area = log(diam1 .* diam2)
const logCanopyArea = (d: StanData) => elementwise(vector(d, "diam1"), vector(d, "diam2"), (a, b) => Math.log(a * b));
const logCanopyVolume = (d: StanData) =>
  elementwise(elementwise(vector(d, "diam1"), vector(d, "diam2"), (a, b) => a * b), vector(d, "canopy_height"), (ab, c) => Math.log(ab * c));
const logVolume = (d: StanData) => [logCanopyVolume(d)];
const logVolumeAreaGroup = (d: StanData) => [logCanopyVolume(d), logCanopyArea(d), vector(d, "group")];

// ---------------------------------------------------------------- nes

function nes(raw: Data): Model {
  const d = stan(raw);
  const N = int(d, "N");
  const age = vector(d, "age_discrete", N);
  // age30_44[n] = age_discrete[n] == 2, age45_64: == 3, age65up: == 4
  const ageIs = (k: number) => age.map((a) => (a === k ? 1 : 0));
  const xs = [vector(d, "real_ideo"), vector(d, "race_adj"), ageIs(2), ageIs(3), ageIs(4), vector(d, "educ1"), vector(d, "gender"), vector(d, "income")];
  return model(
    "nes",
    (b) => {
      const beta = b.param("beta", { shape: [9] });
      const sigma = b.param("sigma", { lower: 0 });
      b.observe("partyid7", dist.normal(linear(beta, xs.map((x) => constant(x))), sigma), vector(d, "partyid7", N));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- one-compartment PK model (ODE)

/**
 * The integration grid for one_comp_mm_elim_abs: on the first interval [t0, times[1]] steps
 * that grow geometrically from t0 (the absorption transient is fastest there: with a small K_m
 * the elimination switches on within K_m / (D k_a / V) days), `perOctave` steps per factor of
 * 2 over `octaves` octaves; afterwards steps of at most `h` ending exactly on every measurement
 * time. Returns each step's start and length, and the step index ending on each measurement.
 */
export function odeGrid(t0: number, times: readonly number[], resolution = 1) {
  const h = 0.01 / resolution;
  const perOctave = 16 * resolution;
  const octaves = 26;
  const points = [t0];
  const first = times[0]! - t0;
  points.push(t0 + first * 2 ** -octaves);
  for (let m = octaves - 1; m >= 0; m--) {
    const [a, c] = [first * 2 ** -(m + 1), first * 2 ** -m];
    for (let j = 1; j <= perOctave; j++) points.push(t0 + a + ((c - a) * j) / perOctave);
  }
  points[points.length - 1] = times[0]!;
  const ends = [points.length - 2];
  for (let n = 1; n < times.length; n++) {
    const [a, c] = [times[n - 1]!, times[n]!];
    const steps = Math.ceil((c - a) / h - 1e-9);
    for (let j = 1; j <= steps; j++) points.push(j === steps ? c : a + ((c - a) * j) / steps);
    ends.push(points.length - 2);
  }
  const start = points.slice(0, -1);
  const length = start.map((t, i) => points[i + 1]! - t);
  return { start, length, ends };
}

/**
 * `resolution` multiplies the number of RK4 steps (1: about 1,400 steps over ten days); the
 * tests check that doubling it changes C by less than 2e-10 relative.
 */
export function oneCompMmElimAbs(raw: Data, resolution = 1): Model {
  const d = stan(raw);
  const N = int(d, "N_t");
  const times = vector(d, "times", N);
  const [D, V] = [scalar(d, "D"), scalar(d, "V")];
  const grid = odeGrid(scalar(d, "t0"), times, resolution);
  return model(
    "one_comp_mm_elim_abs",
    (b) => {
      const kA = b.param("k_a", dist.cauchy(0, 1), { lower: 0 });
      const Km = b.param("K_m", dist.cauchy(0, 1), { lower: 0 });
      const Vm = b.param("V_m", dist.cauchy(0, 1), { lower: 0 });
      const sigma = b.param("sigma", dist.cauchy(0, 1), { lower: 0 });
      // C = integrate_ode_bdf(one_comp_mm_elim_abs, {0.0}, t0, times, {k_a, K_m, V_m}, {D, V}, x_i)
      // is replaced by classical Runge-Kutta 4 on a fixed grid (odeGrid). Over the posterior's
      // region the solution at the measurement times is accurate to about 1.2e-10 relative
      // (fourth-order convergence when the steps are halved; within 1.5e-11 of Stan's
      // integrate_ode_rk45 at rtol = atol = 1e-12 on the 8x finer grid), far below the 1e-6
      // of the BDF solve at Stan's default tolerances that the reference posterior used.
      // dy/dt = dose(t) - elim(y), dose(t) = exp(-k_a t) D k_a / V, elim(y) = (V_m / V) y / (K_m + y).
      // Stan's `if (t > 0)` sets dose = 0 at t = 0 exactly; one point does not change the
      // solution, so the continuous limit is used there (as BDF's step control effectively does).
      const doseRate = mul(kA, D / V);
      const elimRate = div(Vm, V);
      const rhs = (t: Expr, y: Expr) => sub(mul(doseRate, exp(neg(mul(kA, t)))), div(mul(elimRate, y), add(Km, y)));
      const path = scan({ init: 0, xs: [constant(grid.start), constant(grid.length)] }, (y, [t, h]) => {
        const half = mul(0.5, h!);
        const k1 = rhs(t!, y);
        const k2 = rhs(add(t!, half), add(y, mul(half, k1)));
        const k3 = rhs(add(t!, half), add(y, mul(half, k2)));
        const k4 = rhs(add(t!, h!), add(y, mul(h!, k3)));
        return add(y, mul(div(h!, 6), add(add(k1, k4), mul(2, add(k2, k3)))));
      });
      const C = b.deterministic("C", gather(path, grid.ends).reshape([N, 1]));
      // C_hat[n] ~ lognormal(log(C[n, 1]), sigma). (The generated quantity C_ppc is a random draw: not reported.)
      b.observe("C_hat", dist.logNormal(log(C.reshape([N])), sigma), vector(d, "C_hat", N));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- sblrc (Bayesian linear regression)

function sblrcBlr(raw: Data): Model {
  const d = stan(raw);
  const [N, D] = [int(d, "N"), int(d, "D")];
  const X = matrix(d, "X", N, D);
  return model(
    "blr",
    (b) => {
      const beta = b.param("beta", dist.normal(0, 10), { shape: [D] });
      const sigma = b.param("sigma", dist.normal(0, 10), { lower: 0 });
      b.observe("y", dist.normal(matvec(constant(X.values, [N, D], "X"), beta), sigma), vector(d, "y", N));
    },
    STAN,
  );
}

// ---------------------------------------------------------------- registry

export const posteriordbModels: Record<string, (data: Record<string, unknown>) => Model> = {
  "arK-arK": arK,
  "diamonds-diamonds": diamonds,
  "earnings-earn_height": earnings("earn_height", "earn", (e) => e, height),
  "earnings-log10earn_height": earnings("log10earn_height", "log10_earn", Math.log10, height),
  "earnings-logearn_height": earnings("logearn_height", "log_earn", Math.log, height),
  "earnings-logearn_height_male": earnings("logearn_height_male", "log_earn", Math.log, heightMale),
  "earnings-logearn_interaction": earnings("logearn_interaction", "log_earn", Math.log, heightMaleInter),
  "eight_schools-eight_schools_noncentered": eightSchoolsNoncentered,
  "garch-garch11": garch11,
  "gp_pois_regr-gp_pois_regr": gpPoisRegr,
  "hmm_example-hmm_example": hmmExample,
  "kidiq-kidscore_interaction": kidiq("kidscore_interaction", momHsIqInter),
  "kidiq-kidscore_momhs": kidiq("kidscore_momhs", momHs),
  "kidiq-kidscore_momhsiq": kidiq("kidscore_momhsiq", momHsIq),
  "kidiq-kidscore_momiq": kidiq("kidscore_momiq", momIq),
  "kilpisjarvi_mod-kilpisjarvi": kilpisjarvi,
  "low_dim_gauss_mix-low_dim_gauss_mix": lowDimGaussMix,
  "mesquite-logmesquite": mesquite("logmesquite", "log_weight", Math.log, logMesquiteAll),
  "mesquite-logmesquite_logva": mesquite("logmesquite_logva", "log_weight", Math.log, logVolumeAreaGroup),
  "mesquite-logmesquite_logvolume": mesquite("logmesquite_logvolume", "log_weight", Math.log, logVolume),
  "mesquite-mesquite": mesquite("mesquite", "weight", (w) => w, mesquiteAll),
  "nes1972-nes": nes,
  "nes1980-nes": nes,
  "nes1992-nes": nes,
  "one_comp_mm_elim_abs-one_comp_mm_elim_abs": (data) => oneCompMmElimAbs(data),
  "sblrc-blr": sblrcBlr,
};

/** Summary statistics of one reference parameter (Stan's flattened name). */
export interface ReferenceStats {
  readonly mean: number;
  readonly sd: number;
  readonly q05: number;
  readonly q25: number;
  readonly q50: number;
  readonly q75: number;
  readonly q95: number;
}

export interface Reference {
  readonly posterior: string;
  readonly parameters: Record<string, ReferenceStats>;
  readonly [key: string]: unknown;
}

/** test/posteriordb/ under the project root (also when this module runs from dist/). */
export const posteriordbDir = join(projectRoot(), "test", "posteriordb");

export function loadPosterior(name: string): { name: string; data: StanData; reference: Reference; model: Model } {
  const make = posteriordbModels[name];
  if (!make) throw new Error(`unknown posterior ${name}`);
  const dir = join(posteriordbDir, name);
  const data = loadStanJson(join(dir, "data.json"));
  const reference = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Reference;
  return { name, data, reference, model: make(data) };
}

/**
 * one_comp_mm_elim_abs as Stan writes it: `integrate_ode_bdf` at its default tolerances
 * (rtol = atol = 1e-10 in Stan 2.21's integrate_ode_bdf... see DECISIONS.md D132) through the
 * builder's `ode` with `method: "bdf"`.
 */
export function oneCompMmElimAbsOde(raw: Data, options: { method?: "rk45" | "ckrk" | "bdf" | "adams"; rtol?: number; atol?: number } = {}): Model {
  const d = stan(raw);
  const N = int(d, "N_t");
  const times = vector(d, "times", N);
  const [D, V] = [scalar(d, "D"), scalar(d, "V")];
  return model(
    "one_comp_mm_elim_abs",
    (b) => {
      const kA = b.param("k_a", dist.cauchy(0, 1), { lower: 0 });
      const Km = b.param("K_m", dist.cauchy(0, 1), { lower: 0 });
      const Vm = b.param("V_m", dist.cauchy(0, 1), { lower: 0 });
      const sigma = b.param("sigma", dist.cauchy(0, 1), { lower: 0 });
      // dy/dt = dose(t) - elim(y), dose(t) = exp(-k_a t) D k_a / V, elim(y) = (V_m / V) y / (K_m + y);
      // Stan's `if (t > 0)` changes f at the single point t = 0 only, which the solution does not see.
      const C = ode(
        (t, y, [theta, xr]) => {
          const [ka, km, vm] = [theta!.at(0), theta!.at(1), theta!.at(2)];
          const [dose, vol] = [xr!.at(0), xr!.at(1)];
          return sub(div(mul(mul(exp(neg(mul(ka, t))), dose), ka), vol), div(mul(div(vm, vol), y), add(km, y)));
        },
        { y0: [0], t0: scalar(d, "t0"), ts: times, args: [stack([kA, Km, Vm]), [D, V]], method: options.method ?? "bdf", ...(options.rtol !== undefined ? { rtol: options.rtol } : {}), ...(options.atol !== undefined ? { atol: options.atol } : {}) },
      );
      b.deterministic("C", C);
      b.observe("C_hat", dist.logNormal(log(C.reshape([N])), sigma), vector(d, "C_hat", N));
    },
    STAN,
  );
}

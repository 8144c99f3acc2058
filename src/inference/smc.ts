/**
 * Sequential Monte Carlo with likelihood tempering, as PyMC's `sample_smc` (pymc/smc/kernels.py):
 * particles drawn from the prior move through targets prior x likelihood^beta, beta from 0 to
 * 1. Each stage:
 * 1. `temper`: the next beta by bisection on [beta, 2] until the importance weights'
 *    ESS (an integer, as PyMC's) equals `threshold` x particles (1e-6 tolerance), capped at
 *    1; the log evidence grows by log mean(w);
 * 2. `systematicResample` by those weights;
 * 3. `fitProposal`: mean and covariance (ddof 0, + 1e-6 I) of the resampled particles;
 * 4. a mutation at the new beta: independent Metropolis-Hastings from that normal
 *    (`imhMutate`), or short NUTS moves with the covariance as metric (`nutsMutate`), for a
 *    number of steps tuned from the last stage's acceptance (`stepsFromAcceptance`).
 * The final stage mutates at beta = 1. These are pure functions over typed arrays; the
 * coordinator (actors/smc-coordinator.ts) runs 1-3, particle actors run 4 on worker threads.
 *
 * Densities: `lp` is the model's full log density (prior, Jacobians, likelihood), `ll` the
 * likelihood's (observed nodes and potentials); the tempered density is lp - (1 - beta) ll.
 */
import type { LogDensity } from "../compile/types.js";
import type { Rng } from "../rng/index.js";
import { dot, lowerSolve, lowerTimes, normalLogDensityFromStandard, triangularLogDet, tryCholesky } from "./linalg.js";
import type { DiagMetric, DenseMetric } from "./metric.js";
import { emptyStats, NutsKernel } from "./nuts.js";

export type SmcKernelKind = "imh" | "nuts";

export interface SmcSettings {
  /** Particles per run (PyMC's `draws`). */
  readonly particles: number;
  /** Target ESS fraction for the next beta (PyMC's `threshold`, 0.5). */
  readonly threshold: number;
  readonly kernel: SmcKernelKind;
  /** Mutation steps: the first stage's, and the bounds of the tuned number. */
  readonly initialSteps: number;
  readonly minSteps: number;
  readonly maxSteps: number;
  /** Steps are chosen so that a particle moves at least once with this probability. */
  readonly moveProbability: number;
  /** NUTS moves: target mean acceptance statistic and tree depth limit. */
  readonly targetAccept: number;
  readonly maxTreeDepth: number;
  /** Stages at most (a run that needs more fails). */
  readonly maxStages: number;
}

export const SMC_DEFAULTS: SmcSettings = {
  particles: 2000,
  threshold: 0.5,
  kernel: "imh",
  initialSteps: 25,
  minSteps: 2,
  maxSteps: 25,
  moveProbability: 0.99,
  targetAccept: 0.8,
  maxTreeDepth: 6,
  maxStages: 500,
};

/** The tempered log density at beta from the full (lp) and likelihood (ll) log densities. */
export function tempered(lp: number, ll: number, beta: number): number {
  if (Number.isNaN(lp) || Number.isNaN(ll)) return -Infinity;
  if (beta === 1) return lp;
  if (ll === -Infinity) return -Infinity;
  return lp - (1 - beta) * ll;
}

function logSumExp(x: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - max);
  return max + Math.log(s);
}

export interface TemperingStep {
  readonly beta: number;
  /** Normalised importance weights of the particles (sum 1). */
  readonly weights: Float64Array;
  /** log mean of the unnormalised weights: this stage's factor of the evidence. */
  readonly logEvidenceIncrement: number;
  /** ESS of the weights (not rounded). */
  readonly ess: number;
}

/**
 * PyMC's `update_beta_and_weights`: the next inverse temperature after `beta` by bisection
 * so that the weights' (integer) ESS is `threshold` x particles; 1 once that is reached.
 * Throws when every particle has a non-finite log likelihood.
 */
export function temper(ll: Float64Array, beta: number, threshold: number): TemperingStep {
  const n = ll.length;
  const target = Math.trunc(n * threshold);
  const logW = new Float64Array(n);
  const weigh = (b: number): { lse: number; ess: number } => {
    for (let i = 0; i < n; i++) {
      const v = (b - beta) * ll[i]!;
      logW[i] = Number.isNaN(v) ? -Infinity : v;
    }
    const lse = logSumExp(logW);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(2 * (logW[i]! - lse));
    return { lse, ess: 1 / s };
  };
  let low = beta;
  let up = 2;
  let next = beta;
  while (up - low > 1e-6) {
    next = (low + up) / 2;
    const { lse, ess } = weigh(next);
    if (lse === -Infinity) throw new Error("every particle has a non-finite log likelihood");
    const essInt = Math.trunc(ess);
    if (essInt === target) break;
    if (essInt < target) up = next;
    else low = next;
  }
  if (next >= 1) next = 1;
  const { lse, ess } = weigh(next);
  const weights = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    weights[i] = Math.exp(logW[i]! - lse);
    total += weights[i]!;
  }
  for (let i = 0; i < n; i++) weights[i] = weights[i]! / total;
  return { beta: next, weights, logEvidenceIncrement: lse - Math.log(n), ess };
}

/** Systematic resampling (PyMC's `systematic_resampling`) with one uniform `u` in [0, 1). */
export function systematicResample(weights: Float64Array, u: number): Int32Array {
  const n = weights.length;
  const out = new Int32Array(n);
  let idx = 0;
  let acc = weights[0]!;
  for (let i = 0; i < n; i++) {
    const point = (u + i) / n;
    while (point > acc && idx < n - 1) {
      idx++;
      acc += weights[idx]!;
    }
    out[i] = idx;
  }
  return out;
}

/** A multivariate normal proposal: mean, lower Cholesky factor of the covariance, its log determinant. */
export interface NormalProposal {
  readonly mean: Float64Array;
  readonly cov: Float64Array;
  readonly chol: Float64Array;
  readonly logDetChol: number;
}

/**
 * The particles' mean and covariance (ddof 0) plus 1e-6 I (PyMC's IMH `tune`), as a proposal.
 * `positions` holds n draws of dimension d, draw-major. Throws when the covariance is not
 * finite or not positive definite.
 */
export function fitProposal(positions: Float64Array, n: number, d: number): NormalProposal {
  const mean = new Float64Array(d);
  for (let s = 0; s < n; s++) for (let k = 0; k < d; k++) mean[k] = mean[k]! + positions[s * d + k]!;
  for (let k = 0; k < d; k++) mean[k] = mean[k]! / n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let s = 0; s < n; s++) {
    for (let k = 0; k < d; k++) c[k] = positions[s * d + k]! - mean[k]!;
    for (let a = 0; a < d; a++) {
      const ca = c[a]!;
      for (let b = 0; b <= a; b++) cov[a * d + b] = cov[a * d + b]! + ca * c[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = 0; b <= a; b++) {
      const v = cov[a * d + b]! / n + (a === b ? 1e-6 : 0);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  const chol = tryCholesky(cov, d);
  if (chol === null) throw new Error("the particles' covariance is not finite and positive definite (too few particles?)");
  return { mean, cov, chol, logDetChol: triangularLogDet(chol, d) };
}

/** log density of the proposal at x (`work`: scratch of length d). */
export function proposalLogDensity(p: NormalProposal, x: ArrayLike<number>, work: Float64Array): number {
  const d = p.mean.length;
  for (let k = 0; k < d; k++) work[k] = x[k]! - p.mean[k]!;
  // Forward substitution reads b[i] before writing out[i]: it may run in place.
  lowerSolve(p.chol, d, work, work);
  return normalLogDensityFromStandard(dot(work, work), d, p.logDetChol);
}

/**
 * Steps for the next mutation: enough that a particle moves at least once with probability
 * `moveProbability` if each step accepts with probability `acceptRate` independently,
 * within [minSteps, maxSteps].
 */
export function stepsFromAcceptance(acceptRate: number, s: Pick<SmcSettings, "moveProbability" | "minSteps" | "maxSteps">): number {
  if (!(acceptRate > 0)) return s.maxSteps;
  if (acceptRate >= 1) return s.minSteps;
  const n = Math.ceil(Math.log(1 - s.moveProbability) / Math.log(1 - acceptRate));
  return Math.min(s.maxSteps, Math.max(s.minSteps, n));
}

/** A slice of a run's particles: positions (count x d, draw-major) with lp and ll, modified in place. */
export interface ParticleSlice {
  readonly positions: Float64Array;
  readonly lp: Float64Array;
  readonly ll: Float64Array;
  readonly count: number;
}

export interface MutationStats {
  /** Proposals accepted (IMH) or the sum of NUTS acceptance statistics. */
  accepted: number;
  /** Proposals made (IMH) or NUTS transitions. */
  proposed: number;
  gradientEvaluations: number;
  densityEvaluations: number;
}

/** Evaluates lp and ll of every particle of the slice (the initial prior draws). */
export function evaluateParticles(full: LogDensity, lik: LogDensity, p: ParticleSlice): MutationStats {
  const d = full.dim;
  for (let i = 0; i < p.count; i++) {
    const x = p.positions.subarray(i * d, (i + 1) * d);
    p.lp[i] = full.logDensity(x);
    p.ll[i] = lik.logDensity(x);
  }
  return { accepted: 0, proposed: 0, gradientEvaluations: 0, densityEvaluations: 2 * p.count };
}

/**
 * Independent Metropolis-Hastings (PyMC's IMH `mutate`, with a fixed number of steps): each
 * step proposes every particle afresh from the normal proposal and accepts with
 * min(1, pi(x') q(x) / (pi(x) q(x'))), pi the tempered density at beta.
 */
export function imhMutate(full: LogDensity, lik: LogDensity, p: ParticleSlice, proposal: NormalProposal, beta: number, steps: number, rng: Rng): MutationStats {
  const d = full.dim;
  const stats: MutationStats = { accepted: 0, proposed: 0, gradientEvaluations: 0, densityEvaluations: 0 };
  const work = new Float64Array(d);
  const z = new Float64Array(d);
  const x = new Float64Array(d);
  const backward = new Float64Array(p.count);
  const current = new Float64Array(p.count);
  for (let i = 0; i < p.count; i++) {
    backward[i] = proposalLogDensity(proposal, p.positions.subarray(i * d, (i + 1) * d), work);
    current[i] = tempered(p.lp[i]!, p.ll[i]!, beta);
  }
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < p.count; i++) {
      const logU = Math.log(rng.uniformPositive());
      rng.fillNormal(z);
      lowerTimes(proposal.chol, d, z, x);
      for (let k = 0; k < d; k++) x[k] = x[k]! + proposal.mean[k]!;
      const forward = normalLogDensityFromStandard(dot(z, z), d, proposal.logDetChol);
      const lp = full.logDensity(x);
      const ll = lik.logDensity(x);
      stats.densityEvaluations += 2;
      const t = tempered(lp, ll, beta);
      stats.proposed++;
      if (logU < t + backward[i]! - (current[i]! + forward)) {
        stats.accepted++;
        p.positions.set(x, i * d);
        p.lp[i] = lp;
        p.ll[i] = ll;
        current[i] = t;
        backward[i] = forward;
      }
    }
  }
  return stats;
}

/** The tempered target lp - (1 - beta) ll as a LogDensity for the NUTS kernel. */
export function temperedDensity(full: LogDensity, lik: LogDensity, beta: number): LogDensity {
  const g2 = new Float64Array(full.dim);
  return {
    ...full,
    logDensityGradient(q, g) {
      const lp = full.logDensityGradient(q, g);
      if (beta === 1) return lp;
      const ll = lik.logDensityGradient(q, g2);
      for (let k = 0; k < g.length; k++) g[k] = g[k]! - (1 - beta) * g2[k]!;
      return tempered(lp, ll, beta);
    },
    logDensity(q) {
      return beta === 1 ? full.logDensity(q) : tempered(full.logDensity(q), lik.logDensity(q), beta);
    },
  };
}

/**
 * Short NUTS moves (the NUTS transition of nuts.ts, unchanged) at the tempered density with
 * the given metric and step size: `steps` transitions per particle. Returns the summed
 * acceptance statistics in `accepted` (its mean is what the step size is tuned on).
 */
export function nutsMutate(
  full: LogDensity,
  lik: LogDensity,
  p: ParticleSlice,
  metric: DiagMetric | DenseMetric,
  stepSize: number,
  beta: number,
  steps: number,
  maxTreeDepth: number,
  rng: Rng,
): MutationStats {
  const d = full.dim;
  const target = temperedDensity(full, lik, beta);
  const kernel = new NutsKernel(target, metric);
  const g = new Float64Array(d);
  const ts = emptyStats();
  const stats: MutationStats = { accepted: 0, proposed: 0, gradientEvaluations: 0, densityEvaluations: 0 };
  const perGradient = beta === 1 ? 1 : 2;
  for (let i = 0; i < p.count; i++) {
    const x = p.positions.subarray(i * d, (i + 1) * d);
    const t = target.logDensityGradient(x, g);
    kernel.setPoint(x, g, t);
    kernel.gradientEvaluations = 1;
    for (let s = 0; s < steps; s++) {
      kernel.transition(rng, stepSize, maxTreeDepth, 1000, ts);
      stats.accepted += ts.acceptStat;
      stats.proposed++;
    }
    stats.gradientEvaluations += perGradient * kernel.gradientEvaluations;
    x.set(kernel.q);
    p.lp[i] = full.logDensity(x);
    p.ll[i] = lik.logDensity(x);
    stats.densityEvaluations += 2;
  }
  return stats;
}

/** The step size for the next NUTS mutation from the last one's mean acceptance statistic. */
export function nextStepSize(stepSize: number, meanAccept: number, targetAccept: number): number {
  const next = stepSize * Math.exp(2 * (meanAccept - targetAccept));
  return Math.min(10, Math.max(1e-4, next));
}

/** Particles' covariance as a NUTS metric (its diagonal, or the whole matrix). */
export function metricFromProposal(p: NormalProposal, dense: boolean): DiagMetric | DenseMetric {
  const d = p.mean.length;
  if (dense) return { kind: "dense", inverse: Float64Array.from(p.cov) };
  return { kind: "diag", inverse: Float64Array.from({ length: d }, (_, k) => p.cov[k * d + k]!) };
}

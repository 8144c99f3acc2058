/**
 * Pareto-smoothed importance-sampling leave-one-out cross-validation (PSIS-LOO), WAIC and
 * model comparison, step for step as the R package loo 2.5.1 computes them (Vehtari, Gelman
 * and Gabry 2017; Vehtari et al. 2024 for the Pareto k diagnostic):
 *
 * - `relativeEff`: loo's `relative_eff(exp(log_lik), chain_id)`, the MCMC efficiency of each
 *   observation's likelihood values (ESS / S, Geyer's initial monotone sequence over chains).
 * - `psis`: per observation, the largest `ceiling(min(0.2 S, 3 sqrt(S / r_eff)))` log ratios
 *   are replaced by the expected order statistics of a generalised Pareto distribution fitted
 *   by Zhang and Stephens' (2009) empirical Bayes method (with loo's weakly informative prior
 *   on k), then truncated at the largest raw ratio. The fitted shape is Pareto k.
 * - `loo`: pointwise elpd, p_loo, looic, the Monte Carlo SE of each elpd_loo (loo's
 *   `mcse_elpd`, deterministic since loo 2.5), totals with their standard errors.
 * - `waic`, `looCompare` (loo's `loo_compare`: elpd differences to the best model and their SE).
 *
 * Input: log-likelihood values `logLik[chain][draw][observation]` (arrays or typed arrays), or
 * anything with a `logLikelihood()` method returning that (a `Posterior`). Draws are ordered
 * chain by chain, as loo's `llarray_to_matrix` orders them, so sums run in R's order.
 */
import { geyerEss } from "./ess.js";
import { LazyAutocovariance } from "./autocovariance.js";
import { meanOf, varianceOf } from "./draws.js";
import { qnorm } from "./normal.js";
import { sharedWorkspace } from "./workspace.js";

/** Log-likelihood values: `logLik[chain][draw][observation]`. */
export type LogLikArray = ArrayLike<ArrayLike<ArrayLike<number>>>;

/** Something that holds pointwise log-likelihood values, such as a `Posterior`. */
export interface LogLikSource {
  /** `[chain][draw][observation]` of the named observed node, or of all of them (absent name). */
  logLikelihood(name?: string): LogLikArray;
  /** Chains whose draws are all real (a run's failed chains are left out); all when absent. */
  healthyChains?(): number[];
  /** Names of the observations (`y[1]`, ...), for warnings. */
  logLikelihoodNames?(name?: string): readonly string[];
}

export interface LooOptions {
  /** Observed node whose log-likelihood is used, when the input is a posterior (default: all). */
  readonly variable?: string;
  /**
   * Relative efficiency per observation. Default: loo's `relative_eff` from the chain
   * structure; pass 1s for independent draws.
   */
  readonly rEff?: ArrayLike<number>;
  /** Names of the observations for warnings (default: from the posterior, else 1-based numbers). */
  readonly observationNames?: readonly string[];
  /**
   * Also receives each warning as it is found. By default warnings only go into the result's
   * `warnings` and its printout (`formatLoo`), beside the figures they qualify: a process
   * warning prints later, detached from them (DECISIONS.md D173).
   */
  readonly onWarning?: (message: string) => void;
}

/** Pareto k thresholds of loo 2.5.1: good <= 0.5 < ok <= 0.7 < bad <= 1 < very bad. */
export const PARETO_K_OK = 0.5;
export const PARETO_K_BAD = 0.7;
export const PARETO_K_VERY_BAD = 1;

export interface ParetoKTable {
  /** Counts of observations with k <= 0.5, (0.5, 0.7], (0.7, 1], > 1 (loo's `pareto_k_table`). */
  readonly good: number;
  readonly ok: number;
  readonly bad: number;
  readonly veryBad: number;
  /** Smallest PSIS effective sample size in each class (NaN where the class is empty). */
  readonly minNEff: { readonly good: number; readonly ok: number; readonly bad: number; readonly veryBad: number };
}

export interface PsisResult {
  /** Normalised log weights, `logWeights[i]` over the S draws (chain by chain) of observation i. */
  readonly logWeights: readonly Float64Array[];
  readonly paretoK: Float64Array;
  /** PSIS effective sample size per observation (r_eff / sum of squared normalised weights). */
  readonly nEff: Float64Array;
  /** Tail length used per observation. */
  readonly tailLength: Int32Array;
  readonly rEff: Float64Array;
}

export interface LooResult {
  readonly kind: "loo";
  readonly elpdLoo: number;
  readonly seElpdLoo: number;
  readonly pLoo: number;
  readonly sePLoo: number;
  readonly looic: number;
  readonly seLooic: number;
  /** Monte Carlo SE of elpd_loo (loo's `mcse_loo`): NaN when some k > 0.7. */
  readonly mcseElpdLoo: number;
  readonly pointwise: {
    readonly elpdLoo: Float64Array;
    readonly pLoo: Float64Array;
    readonly looic: Float64Array;
    readonly mcseElpdLoo: Float64Array;
  };
  readonly paretoK: Float64Array;
  /** PSIS effective sample size per observation. */
  readonly nEff: Float64Array;
  readonly rEff: Float64Array;
  readonly paretoKTable: ParetoKTable;
  /** Observations (0-based) with k > 0.7. */
  readonly highParetoK: readonly number[];
  readonly warnings: readonly string[];
  /** Draws (S) and observations (N). */
  readonly draws: number;
  readonly observations: number;
}

export interface WaicResult {
  readonly kind: "waic";
  readonly elpdWaic: number;
  readonly seElpdWaic: number;
  readonly pWaic: number;
  readonly sePWaic: number;
  readonly waic: number;
  readonly seWaic: number;
  readonly pointwise: { readonly elpdWaic: Float64Array; readonly pWaic: Float64Array; readonly waic: Float64Array };
  readonly warnings: readonly string[];
  readonly draws: number;
  readonly observations: number;
}

/** One row of `looCompare`, best model first. */
export interface LooCompareRow {
  readonly name: string;
  /** elpd of this model minus the best model's (0 for the best). */
  readonly elpdDiff: number;
  /** SE of that difference, sqrt(N) * sd of the pointwise differences (0 for the best). */
  readonly seDiff: number;
  /** The model's own estimates (elpd_loo or elpd_waic, and so on). */
  readonly elpd: number;
  readonly seElpd: number;
  readonly p: number;
  readonly seP: number;
  /** looic or waic. */
  readonly ic: number;
  readonly seIc: number;
}

// ---- input ------------------------------------------------------------------------

/** Observation-major log-likelihood: column i holds the S draws of observation i, chain by chain. */
interface Columns {
  readonly data: Float64Array;
  readonly chains: number;
  readonly drawsPerChain: number;
  readonly S: number;
  readonly N: number;
  readonly names: readonly string[] | null;
}

function isSource(x: unknown): x is LogLikSource {
  return typeof x === "object" && x !== null && typeof (x as LogLikSource).logLikelihood === "function";
}

function columnsOf(input: LogLikArray | LogLikSource, variable: string | undefined, what: string): Columns {
  let array: LogLikArray;
  let names: readonly string[] | null = null;
  if (isSource(input)) {
    const all = input.logLikelihood(variable);
    const healthy = input.healthyChains?.();
    array = healthy === undefined ? all : healthy.map((c) => all[c]!);
    names = input.logLikelihoodNames?.(variable) ?? null;
    if (array.length === 0) throw new RangeError(`${what}: the posterior has no chain whose draws are all real`);
  } else {
    if (variable !== undefined) throw new TypeError(`${what}: option variable needs a posterior, not an array of log-likelihood values`);
    array = input;
  }
  const chains = array.length;
  if (chains === 0) throw new RangeError(`${what}: logLik has no chains (expected logLik[chain][draw][observation])`);
  const D = array[0]!.length;
  if (D === 0) throw new RangeError(`${what}: chain 0 has no draws`);
  const N = array[0]![0]!.length;
  if (N === 0) throw new RangeError(`${what}: no observations`);
  const S = chains * D;
  const data = new Float64Array(N * S);
  for (let c = 0; c < chains; c++) {
    const chain = array[c]!;
    if (chain.length !== D) throw new RangeError(`${what}: chain ${c} has ${chain.length} draws, chain 0 has ${D}`);
    for (let d = 0; d < D; d++) {
      const row = chain[d]!;
      if (row.length !== N) throw new RangeError(`${what}: chain ${c}, draw ${d} has ${row.length} observations, the first draw has ${N}`);
      const s = c * D + d;
      for (let i = 0; i < N; i++) {
        const v = row[i]!;
        if (!Number.isFinite(v)) {
          throw new RangeError(`${what}: log-likelihood at chain ${c}, draw ${d}, observation ${i} is ${v}; all values must be finite`);
        }
        data[i * S + s] = v;
      }
    }
  }
  return { data, chains, drawsPerChain: D, S, N, names };
}

// ---- R's arithmetic ---------------------------------------------------------------

/** matrixStats::logSumExp: max + log1p(sum of exp(x - max) over the other entries). */
function logSumExp(x: Float64Array, off: number, len: number): number {
  let iMax = off;
  let max = x[off]!;
  for (let i = off + 1; i < off + len; i++) {
    if (x[i]! > max) {
      max = x[i]!;
      iMax = i;
    }
  }
  if (max === Infinity || max === -Infinity) return max;
  let sum = 0;
  for (let i = off; i < off + len; i++) if (i !== iMax) sum += Math.exp(x[i]! - max);
  return max + Math.log1p(sum);
}

/** Sum as R's sum() (long double there; compensated summation here). */
function sumOf(x: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return s + c;
}

// ---- relative efficiency ------------------------------------------------------------

/**
 * loo's `relative_eff(exp(logLik), chain_id)`: per observation, the ESS of its likelihood
 * values over the chains (not split; Geyer's initial monotone sequence, as loo's `ess_rfun`)
 * divided by the number of draws.
 */
export function relativeEff(logLik: LogLikArray | LogLikSource, options: Pick<LooOptions, "variable"> = {}): Float64Array {
  return relativeEffOf(columnsOf(logLik, options.variable, "relativeEff"));
}

/** loo's `fft_next_good_size`: the smallest 2-3-5-smooth integer >= n (2 at least). */
function fftNextGoodSize(n: number): number {
  if (n <= 2) return 2;
  for (;; n++) {
    let m = n;
    while (m % 2 === 0) m /= 2;
    while (m % 3 === 0) m /= 3;
    while (m % 5 === 0) m /= 5;
    if (m <= 1) return n;
  }
}

function relativeEffOf(cols: Columns): Float64Array {
  const { chains, drawsPerChain: n, S, N, data } = cols;
  const out = new Float64Array(N);
  // loo's autocovariance() pads to 2M, M = fft_next_good_size(n), but divides by 2 n^2: every
  // autocovariance is M / n times the textbook one (the chain-mean variance is not). Scaling
  // the centred values by sqrt(M / n) reproduces that for any n (M = n for 2-3-5-smooth n).
  const scale = Math.sqrt(fftNextGoodSize(n) / n);
  const ws = sharedWorkspace;
  const yc = ws.get("loo.centred", S);
  const means = ws.get("loo.means", chains);
  const lik = ws.get("loo.lik", n);
  for (let i = 0; i < N; i++) {
    // Centre each chain's likelihood values at the chain mean (loo's autocovariance()).
    for (let c = 0; c < chains; c++) {
      const base = i * S + c * n;
      for (let d = 0; d < n; d++) lik[d] = Math.exp(data[base + d]!);
      const mu = meanOf(lik, 0, n);
      means[c] = mu;
      for (let d = 0; d < n; d++) yc[c * n + d] = (lik[d]! - mu) * scale;
    }
    const lazy = new LazyAutocovariance(ws.get("loo.acov", n), yc, chains, n, ws);
    out[i] = geyerEss(lazy, means, chains, n, ws.get("loo.rho", n)) / S;
  }
  return out;
}

// ---- PSIS ---------------------------------------------------------------------------

/** loo's `n_pareto`: ceiling(min(0.2 S, 3 sqrt(S / r_eff))). */
function tailLength(rEff: number, S: number): number {
  return Math.ceil(Math.min(0.2 * S, 3 * Math.sqrt(S / rEff)));
}

const MIN_TAIL_LENGTH = 5;

/**
 * loo's `gpdfit`: generalised Pareto fit by Zhang and Stephens (2009), with loo's weakly
 * informative prior (k shrunk towards 0.5 as if by 10 extra observations). `x` is sorted.
 */
export function gpdFit(x: ArrayLike<number>): { k: number; sigma: number } {
  const N = x.length;
  const prior = 3;
  const M = 30 + Math.floor(Math.sqrt(N));
  const xstar = x[Math.floor(N / 4 + 0.5) - 1]!;
  const xmax = x[N - 1]!;
  const theta = new Float64Array(M);
  const lTheta = new Float64Array(M);
  const terms = new Float64Array(N);
  for (let j = 0; j < M; j++) {
    const t = 1 / xmax + (1 - Math.sqrt(M / (j + 1 - 0.5))) / prior / xstar;
    theta[j] = t;
    // loo's lx(theta, x): a = -theta, k = mean(log1p(a x)), log(a / k) - k - 1.
    const a = -t;
    for (let i = 0; i < N; i++) terms[i] = Math.log1p(a * x[i]!);
    const k = meanOf(terms);
    lTheta[j] = N * (Math.log(a / k) - k - 1);
  }
  const lse = logSumExp(lTheta, 0, M);
  const weighted = new Float64Array(M);
  for (let j = 0; j < M; j++) weighted[j] = theta[j]! * Math.exp(lTheta[j]! - lse);
  const thetaHat = sumOf(weighted);
  for (let i = 0; i < N; i++) terms[i] = Math.log1p(-thetaHat * x[i]!);
  let k = meanOf(terms);
  const sigma = -k / thetaHat;
  // adjust_k_wip: the posterior mean of k under the prior, a = 10 pseudo-observations at 0.5.
  k = (k * N) / (N + 10) + (10 * 0.5) / (N + 10);
  if (Number.isNaN(k)) k = Infinity;
  return { k, sigma };
}

/** loo's `qgpd`: quantiles of the generalised Pareto distribution. */
function qgpd(p: number, k: number, sigma: number): number {
  if (Number.isNaN(sigma) || sigma <= 0) return NaN;
  return (sigma * Math.expm1(-k * Math.log1p(-p))) / k;
}

/**
 * loo's `do_psis_i` on one observation's log ratios (written into `lw`, unnormalised).
 * Returns Pareto k (Inf when the tail is too short or constant) and any warning.
 */
function psisOne(logRatios: Float64Array, tailLen: number, lw: Float64Array, order: number[]): { k: number; constantTail: boolean } {
  const S = logRatios.length;
  let max = -Infinity;
  for (let s = 0; s < S; s++) if (logRatios[s]! > max) max = logRatios[s]!;
  for (let s = 0; s < S; s++) lw[s] = logRatios[s]! - max;
  let k = Infinity;
  let constantTail = false;
  if (tailLen >= MIN_TAIL_LENGTH) {
    // sort.int(lw, index.return = TRUE): ascending, ties in original order.
    for (let s = 0; s < S; s++) order[s] = s;
    order.sort((a, b) => lw[a]! - lw[b]! || a - b);
    const first = S - tailLen;
    const tail = new Float64Array(tailLen);
    for (let j = 0; j < tailLen; j++) tail[j] = lw[order[first + j]!]!;
    if (Math.abs(tail[tailLen - 1]! - tail[0]!) < Number.EPSILON / 100) {
      constantTail = true;
    } else {
      const cutoff = lw[order[first - 1]!]!;
      const expCutoff = Math.exp(cutoff);
      const exceed = tail.map((v) => Math.exp(v) - expCutoff);
      const fit = gpdFit(exceed);
      k = fit.k;
      if (Number.isFinite(k)) {
        for (let j = 0; j < tailLen; j++) {
          const p = (j + 1 - 0.5) / tailLen;
          lw[order[first + j]!] = Math.log(qgpd(p, k, fit.sigma) + expCutoff);
        }
      }
    }
  }
  for (let s = 0; s < S; s++) {
    if (lw[s]! > 0) lw[s] = 0;
    lw[s] = lw[s]! + max;
  }
  return { k, constantTail };
}

function warnWith(options: LooOptions): (message: string) => void {
  return options.onWarning ?? (() => undefined);
}

function listNames(indices: readonly number[], names: readonly string[] | null, limit = 10): string {
  const shown = indices.slice(0, limit).map((i) => names?.[i] ?? String(i + 1));
  return shown.join(", ") + (indices.length > limit ? `, ... (${indices.length - limit} more)` : "");
}

function psisOf(cols: Columns, logRatioSign: number, rEff: Float64Array, names: readonly string[] | null, warnings: string[]): PsisResult {
  const { S, N, data } = cols;
  const tails = new Int32Array(N);
  const shortTails: number[] = [];
  for (let i = 0; i < N; i++) {
    tails[i] = tailLength(rEff[i]!, S);
    if (!(tails[i]! >= MIN_TAIL_LENGTH)) shortTails.push(i);
  }
  if (shortTails.length > 0) {
    warnings.push(
      `Not enough tail samples to fit the generalized Pareto distribution (at least ${MIN_TAIL_LENGTH} draws in the tail, ` +
        `${S} draws in all); Pareto k is Inf for observations ${listNames(shortTails, names)}`,
    );
  }
  const ratios = new Float64Array(S);
  const order = new Array<number>(S);
  const logWeights: Float64Array[] = [];
  const paretoK = new Float64Array(N);
  const nEff = new Float64Array(N);
  const constantTails: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let s = 0; s < S; s++) ratios[s] = logRatioSign * data[i * S + s]!;
    const lw = new Float64Array(S);
    const r = psisOne(ratios, tails[i]!, lw, order);
    if (r.constantTail) constantTails.push(i);
    paretoK[i] = r.k;
    // Normalise (weights(psis, normalize = TRUE, log = TRUE)) and take the PSIS n_eff.
    const norm = logSumExp(lw, 0, S);
    let ss = 0;
    for (let s = 0; s < S; s++) {
      lw[s] = lw[s]! - norm;
      const w = Math.exp(lw[s]!);
      ss += w * w;
    }
    nEff[i] = (1 / ss) * rEff[i]!;
    logWeights.push(lw);
  }
  if (constantTails.length > 0) {
    warnings.push(`Can't fit generalized Pareto distribution because all tail values are the same (observations ${listNames(constantTails, names)})`);
  }
  const high = indicesAbove(paretoK, PARETO_K_BAD);
  if (high.length > 0) {
    warnings.push(
      `Some Pareto k diagnostic values are too high (k > ${PARETO_K_BAD}) for ${high.length} of ${N} observations: ` +
        high
          .slice(0, 10)
          .map((i) => `${names?.[i] ?? String(i + 1)} (k = ${paretoK[i]!.toFixed(2)})`)
          .join(", ") +
        (high.length > 10 ? `, ... (${high.length - 10} more)` : "") +
        ". Their elpd_loo estimates are unreliable: refit without them (exact LOO) or use K-fold cross-validation.",
    );
  } else {
    const slightly = indicesAbove(paretoK, PARETO_K_OK);
    if (slightly.length > 0) {
      warnings.push(`Some Pareto k diagnostic values are slightly high (0.5 < k <= 0.7) for observations ${listNames(slightly, names)}`);
    }
  }
  return { logWeights, paretoK, nEff, tailLength: tails, rEff };
}

function indicesAbove(k: Float64Array, threshold: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < k.length; i++) if (k[i]! > threshold) out.push(i);
  return out;
}

function rEffFor(cols: Columns, given: ArrayLike<number> | undefined, what: string): Float64Array {
  if (given === undefined) return relativeEffOf(cols);
  if (given.length !== cols.N) throw new RangeError(`${what}: option rEff has ${given.length} values for ${cols.N} observations`);
  const r = Float64Array.from(given);
  r.forEach((v, i) => {
    if (!(v > 0)) throw new RangeError(`${what}: option rEff[${i}] = ${v} must be positive`);
  });
  return r;
}

/**
 * Pareto-smoothed importance sampling of log ratios `[chain][draw][observation]` (loo's
 * `psis`), one set of weights per observation. For LOO the log ratios are minus the
 * log-likelihood (`loo` does that itself). `rEff` defaults to 1 for every observation, as in
 * loo; for MCMC draws of LOO ratios pass `relativeEff(logLik)`.
 */
export function psis(logRatios: LogLikArray, options: Omit<LooOptions, "variable"> = {}): PsisResult & { readonly warnings: readonly string[] } {
  const cols = columnsOf(logRatios, undefined, "psis");
  const warnings: string[] = [];
  const rEff = options.rEff === undefined ? new Float64Array(cols.N).fill(1) : rEffFor(cols, options.rEff, "psis");
  const result = psisOf(cols, 1, rEff, options.observationNames ?? null, warnings);
  warnings.forEach(warnWith(options));
  return { ...result, warnings };
}

// ---- LOO ----------------------------------------------------------------------------

/** loo's `table_of_estimates`: total and sqrt(N var(pointwise)). */
function estimate(x: Float64Array): [number, number] {
  return [sumOf(x), Math.sqrt(x.length * varianceOf(x))];
}

const MCSE_DRAWS = 1000;
let mcseQuantiles: Float64Array | null = null;

/** qnorm((r - 3/8) / (1000 - 3/4 + 1)), r = 1..1000: loo's normal scores for `mcse_elpd`. */
function normalScores(): Float64Array {
  if (mcseQuantiles === null) {
    const c = 3 / 8;
    mcseQuantiles = Float64Array.from({ length: MCSE_DRAWS }, (_, r) => qnorm((r + 1 - c) / (MCSE_DRAWS - 2 * c + 1)));
  }
  return mcseQuantiles;
}

/**
 * loo's `mcse_elpd` for one observation: the variance of log(E[lik]) by the delta method's
 * deterministic variant (log of normal scores around E[lik] with the importance-sampling SD).
 */
function mcseElpd(ll: Float64Array, lw: Float64Array, elpd: number, rEff: number, z: Float64Array): number {
  const E = Math.exp(elpd);
  let v = 0;
  for (let s = 0; s < ll.length; s++) {
    const w = Math.exp(lw[s]!);
    const d = Math.exp(ll[s]!) - E;
    v += w * w * (d * d);
  }
  const sd = Math.sqrt(v);
  const zn = normalScores();
  let m = 0;
  for (let r = 0; r < zn.length; r++) {
    const value = E + sd * zn[r]!;
    if (value > 0) z[m++] = Math.log(value);
  }
  return Math.sqrt(varianceOf(z, 0, m) / rEff);
}

/**
 * PSIS-LOO (loo 2.5.1's `loo(log_lik_array, r_eff = relative_eff(exp(log_lik_array), chain_id))`).
 * Warns (does not fail) when Pareto k is above 0.5 or 0.7, naming the observations.
 */
export function loo(logLik: LogLikArray | LogLikSource, options: LooOptions = {}): LooResult {
  const cols = columnsOf(logLik, options.variable, "loo");
  const names = options.observationNames ?? cols.names;
  const { S, N, data } = cols;
  const rEff = rEffFor(cols, options.rEff, "loo");
  const warnings: string[] = [];
  const ps = psisOf(cols, -1, rEff, names, warnings);
  const elpd = new Float64Array(N);
  const p = new Float64Array(N);
  const ic = new Float64Array(N);
  const mcse = new Float64Array(N);
  const sum = new Float64Array(S);
  const z = new Float64Array(MCSE_DRAWS);
  const logS = Math.log(S);
  for (let i = 0; i < N; i++) {
    const ll = data.subarray(i * S, (i + 1) * S);
    const lw = ps.logWeights[i]!;
    for (let s = 0; s < S; s++) sum[s] = ll[s]! + lw[s]!;
    elpd[i] = logSumExp(sum, 0, S);
    const lpd = logSumExp(ll, 0, S) - logS;
    p[i] = lpd - elpd[i]!;
    ic[i] = -2 * elpd[i]!;
    mcse[i] = mcseElpd(ll, lw, elpd[i]!, rEff[i]!, z);
  }
  const [elpdLoo, seElpdLoo] = estimate(elpd);
  const [pLoo, sePLoo] = estimate(p);
  const [looic, seLooic] = estimate(ic);
  const highParetoK = indicesAbove(ps.paretoK, PARETO_K_BAD);
  let mcseTotal = NaN;
  if (highParetoK.length === 0) mcseTotal = Math.sqrt(sumOf(mcse.map((m) => m * m)));
  warnings.forEach(warnWith(options));
  return {
    kind: "loo",
    elpdLoo,
    seElpdLoo,
    pLoo,
    sePLoo,
    looic,
    seLooic,
    mcseElpdLoo: mcseTotal,
    pointwise: { elpdLoo: elpd, pLoo: p, looic: ic, mcseElpdLoo: mcse },
    paretoK: ps.paretoK,
    nEff: ps.nEff,
    rEff,
    paretoKTable: paretoKTable(ps.paretoK, ps.nEff),
    highParetoK,
    warnings,
    draws: S,
    observations: N,
  };
}

/** loo's `pareto_k_table`: counts per class and the smallest n_eff in each. */
export function paretoKTable(paretoK: ArrayLike<number>, nEff?: ArrayLike<number>): ParetoKTable {
  const counts = [0, 0, 0, 0];
  const minNEff = [Infinity, Infinity, Infinity, Infinity];
  for (let i = 0; i < paretoK.length; i++) {
    const k = paretoK[i]!;
    const c = k <= PARETO_K_OK ? 0 : k <= PARETO_K_BAD ? 1 : k <= PARETO_K_VERY_BAD ? 2 : 3;
    counts[c]!++;
    if (nEff !== undefined) minNEff[c] = Math.min(minNEff[c]!, nEff[i]!);
  }
  const m = minNEff.map((v, c) => (counts[c] === 0 || nEff === undefined ? NaN : v));
  return {
    good: counts[0]!,
    ok: counts[1]!,
    bad: counts[2]!,
    veryBad: counts[3]!,
    minNEff: { good: m[0]!, ok: m[1]!, bad: m[2]!, veryBad: m[3]! },
  };
}

// ---- WAIC ---------------------------------------------------------------------------

/** WAIC (loo 2.5.1's `waic`): warns when some p_waic exceeds 0.4. */
export function waic(logLik: LogLikArray | LogLikSource, options: Pick<LooOptions, "variable" | "onWarning"> = {}): WaicResult {
  const cols = columnsOf(logLik, options.variable, "waic");
  const { S, N, data } = cols;
  const elpd = new Float64Array(N);
  const p = new Float64Array(N);
  const ic = new Float64Array(N);
  const logS = Math.log(S);
  for (let i = 0; i < N; i++) {
    const lpd = logSumExp(data, i * S, S) - logS;
    p[i] = varianceOf(data, i * S, S);
    elpd[i] = lpd - p[i]!;
    ic[i] = -2 * elpd[i]!;
  }
  const warnings: string[] = [];
  const bad = indicesAbove(p, 0.4).length;
  if (bad > 0) {
    warnings.push(`${bad} (${((100 * bad) / N).toFixed(1)}%) p_waic estimates greater than 0.4. We recommend trying loo instead.`);
  }
  warnings.forEach(warnWith(options));
  const [elpdWaic, seElpdWaic] = estimate(elpd);
  const [pWaic, sePWaic] = estimate(p);
  const [w, seW] = estimate(ic);
  return {
    kind: "waic",
    elpdWaic,
    seElpdWaic,
    pWaic,
    sePWaic,
    waic: w,
    seWaic: seW,
    pointwise: { elpdWaic: elpd, pWaic: p, waic: ic },
    warnings,
    draws: S,
    observations: N,
  };
}

// ---- comparison ---------------------------------------------------------------------

function pointwiseElpd(r: LooResult | WaicResult): Float64Array {
  return r.kind === "loo" ? r.pointwise.elpdLoo : r.pointwise.elpdWaic;
}

function estimatesOf(r: LooResult | WaicResult) {
  return r.kind === "loo"
    ? { elpd: r.elpdLoo, seElpd: r.seElpdLoo, p: r.pLoo, seP: r.sePLoo, ic: r.looic, seIc: r.seLooic }
    : { elpd: r.elpdWaic, seElpd: r.seElpdWaic, p: r.pWaic, seP: r.sePWaic, ic: r.waic, seIc: r.seWaic };
}

/**
 * loo's `loo_compare`: models ordered by elpd, best first, each with the difference of its
 * elpd to the best one's and the SE of that difference (from the pointwise differences).
 */
export function looCompare(models: Readonly<Record<string, LooResult | WaicResult>>): LooCompareRow[] {
  const entries = Object.entries(models);
  if (entries.length < 2) throw new RangeError(`looCompare needs at least two models, got ${entries.length}`);
  const kinds = new Set(entries.map(([, r]) => r.kind));
  if (kinds.size > 1) throw new TypeError("looCompare: compare LOO results with LOO results, WAIC with WAIC, not both");
  const N = entries[0]![1].observations;
  for (const [name, r] of entries) {
    if (r.observations !== N) {
      throw new RangeError(`looCompare: model ${name} has ${r.observations} observations, ${entries[0]![0]} has ${N}; models must be scored on the same data`);
    }
  }
  // order(elpd, decreasing = TRUE): ties keep the given order.
  const order = entries.map((e, i) => ({ i, elpd: estimatesOf(e[1]).elpd })).sort((a, b) => b.elpd - a.elpd || a.i - b.i);
  const best = pointwiseElpd(entries[order[0]!.i]![1]);
  const diffs = new Float64Array(N);
  return order.map(({ i }) => {
    const [name, r] = entries[i]!;
    const pw = pointwiseElpd(r);
    for (let j = 0; j < N; j++) diffs[j] = pw[j]! - best[j]!;
    return { name, elpdDiff: sumOf(diffs), seDiff: Math.sqrt(N) * Math.sqrt(varianceOf(diffs)), ...estimatesOf(r) };
  });
}

// ---- text ---------------------------------------------------------------------------

const fmt1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : String(x));

/** loo's printed summary: estimates with SEs, the Monte Carlo SE, the Pareto k table. */
export function formatLoo(r: LooResult | WaicResult): string {
  const rows: [string, number, number][] =
    r.kind === "loo"
      ? [
          ["elpd_loo", r.elpdLoo, r.seElpdLoo],
          ["p_loo", r.pLoo, r.sePLoo],
          ["looic", r.looic, r.seLooic],
        ]
      : [
          ["elpd_waic", r.elpdWaic, r.seElpdWaic],
          ["p_waic", r.pWaic, r.sePWaic],
          ["waic", r.waic, r.seWaic],
        ];
  const w = Math.max(...rows.map(([, e]) => fmt1(e).length), "Estimate".length);
  const ws = Math.max(...rows.map(([, , se]) => fmt1(se).length), "SE".length);
  const lines = [`Computed from ${r.draws} by ${r.observations} log-likelihood matrix`, "", `${"".padEnd(9)} ${"Estimate".padStart(w)} ${"SE".padStart(ws)}`];
  for (const [name, e, se] of rows) lines.push(`${name.padEnd(9)} ${fmt1(e).padStart(w)} ${fmt1(se).padStart(ws)}`);
  if (r.kind === "loo") {
    lines.push("------", `Monte Carlo SE of elpd_loo is ${Number.isNaN(r.mcseElpdLoo) ? "NA" : fmt1(r.mcseElpdLoo)}.`);
    const t = r.paretoKTable;
    if (t.ok + t.bad + t.veryBad === 0) lines.push("", "All Pareto k estimates are good (k < 0.5).");
    else {
      lines.push("", "Pareto k diagnostic values:", "                         Count  Pct.   Min. n_eff");
      const cls: [string, number, number][] = [
        ["(-Inf, 0.5]  (good)    ", t.good, t.minNEff.good],
        [" (0.5, 0.7]  (ok)      ", t.ok, t.minNEff.ok],
        ["   (0.7, 1]  (bad)     ", t.bad, t.minNEff.bad],
        ["   (1, Inf)  (very bad)", t.veryBad, t.minNEff.veryBad],
      ];
      for (const [label, n, m] of cls) {
        lines.push(`${label} ${String(n).padStart(5)}  ${((100 * n) / r.observations).toFixed(1).padStart(5)}%  ${Number.isNaN(m) ? "  <NA>" : String(Math.round(m)).padStart(6)}`);
      }
      if (t.bad + t.veryBad === 0) lines.push("", "All Pareto k estimates are ok (k < 0.7).");
    }
  }
  // The warnings under the figures they qualify, as R's print of a loo object.
  if (r.warnings.length > 0) lines.push("", ...r.warnings.map((w) => `Warning: ${w}`));
  return lines.join("\n");
}

/** loo's printed comparison: elpd_diff and se_diff per model, best first. */
export function formatLooCompare(rows: readonly LooCompareRow[]): string {
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 5);
  const cells = rows.map((r) => [fmt1(r.elpdDiff), fmt1(r.seDiff)]);
  const w0 = Math.max("elpd_diff".length, ...cells.map((c) => c[0]!.length));
  const w1 = Math.max("se_diff".length, ...cells.map((c) => c[1]!.length));
  const lines = [`${"".padEnd(nameWidth)} ${"elpd_diff".padStart(w0)} ${"se_diff".padStart(w1)}`];
  rows.forEach((r, i) => lines.push(`${r.name.padEnd(nameWidth)} ${cells[i]![0]!.padStart(w0)} ${cells[i]![1]!.padStart(w1)}`));
  return lines.join("\n");
}

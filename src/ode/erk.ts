/**
 * Embedded explicit Runge-Kutta pairs under Boost odeint's error control, as Stan's
 * `ode_rk45` / `integrate_ode_rk45` (Dormand-Prince 5(4) through `integrate_times` with
 * `make_dense_output`) and `ode_ckrk` (Cash-Karp 5(4), stepping onto each output time) use
 * them:
 *
 *   err = max_i |e_i| / (atol + rtol (|z_i| + h |z'_i|))   (at the step's start; NaN terms skipped)
 *   rejected (err > 1): h *= max(0.9 err^(-1/3), 0.2)
 *   accepted, err < 0.5: h *= 0.9 max(err, 5^-5)^(-1/5)
 *
 * The first trial step is 0.1 (Stan's), and `maxSteps` bounds the steps between two output
 * times. Tableaus: Hairer, Norsett & Wanner I (II.5); Cash & Karp 1990. Dormand-Prince's
 * output times come from Boost's `runge_kutta_dopri5::calc_state`.
 *
 * Dormand-Prince takes Boost's steps to the last bit where the two libraries' `pow` agree: the
 * sums are Boost's (x + (h w_1) k_1 + (h w_2) k_2 + ..., left to right), and so are its dense
 * output, its last step and its treatment of NaN (DECISIONS.md D225; scripts/stan-rk45-steps.cpp
 * prints Stan's steps, scripts/rk45-steps.mjs ours).
 *
 * The stepping loop allocates nothing: the stages live in one flat array of a workspace made
 * once per system (DECISIONS.md D189).
 */
import type { AugmentedSystem } from "./augmented.js";
import type { OdeOutput } from "./output.js";
import type { OdeFailureReason, OdeTolerances } from "./types.js";

/** A pair's coefficients in flat arrays (row-major `a`), so that the stage loops index numbers only. */
export interface Tableau {
  readonly stages: number;
  readonly c: Float64Array;
  /** a[s * stages + r]: stage s's weight of stage r (r < s). */
  readonly a: Float64Array;
  /** Weights of the propagated (fifth-order) solution. */
  readonly b: Float64Array;
  /** b minus the embedded fourth-order weights: the local error estimate's weights. */
  readonly e: Float64Array;
  /** First same as last: the last stage is f at the new point. */
  readonly fsal: boolean;
  /**
   * The last stage's weights are `b` (Dormand-Prince): its stage vector is the new solution,
   * summed in the same order, so a step keeps it instead of summing again.
   */
  readonly lastStageIsSolution: boolean;
  /**
   * Output times from Dormand-Prince's continuous extension (Boost's `calc_state`), stepping
   * over them; otherwise each output time is stepped onto.
   */
  readonly denseOutput: boolean;
}

function tableau(c: number[], a: number[][], b: number[], b4: number[], fsal: boolean, denseOutput: boolean): Tableau {
  const stages = c.length;
  const flat = new Float64Array(stages * stages);
  a.forEach((row, s) => row.forEach((v, r) => (flat[s * stages + r] = v)));
  const last = a[stages - 1]!;
  return {
    stages,
    c: Float64Array.from(c),
    a: flat,
    b: Float64Array.from(b),
    e: Float64Array.from(b, (v, k) => v - b4[k]!),
    fsal,
    // The new solution's sum has one more term, b[stages - 1] k_last, which must be zero.
    lastStageIsSolution: b[stages - 1] === 0 && last.length === stages - 1 && last.every((v, r) => v === b[r]),
    denseOutput,
  };
}

const DP_B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];

export const DORMAND_PRINCE: Tableau = tableau(
  [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    DP_B.slice(0, 6),
  ],
  DP_B,
  [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40],
  true,
  true,
);

export const CASH_KARP: Tableau = tableau(
  [0, 1 / 5, 3 / 10, 3 / 5, 1, 7 / 8],
  [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [3 / 10, -9 / 10, 6 / 5],
    [-11 / 54, 5 / 2, -70 / 27, 35 / 27],
    [1631 / 55296, 175 / 512, 575 / 13824, 44275 / 110592, 253 / 4096],
  ],
  [37 / 378, 0, 250 / 621, 125 / 594, 0, 512 / 1771],
  [2825 / 27648, 0, 18575 / 48384, 13525 / 55296, 277 / 14336, 1 / 4],
  false,
  false,
);

/**
 * out[c] = base[c] + (h w[at]) K_0[c] + (h w[at + 1]) K_1[c] + ... over r < count, left to
 * right, for every component c: Boost's `scale_sum` (its stage and solution sums), in one pass
 * with the stages unrolled, a loop per count.
 */
function stageSum(out: Float64Array, base: Float64Array, h: number, w: Float64Array, at: number, count: number, kv: Float64Array[], N: number): void {
  const k0 = kv[0]!, k1 = kv[1]!, k2 = kv[2]!, k3 = kv[3]!, k4 = kv[4]!, k5 = kv[5]!, k6 = kv[6]!;
  const w0 = h * w[at]!, w1 = count > 1 ? h * w[at + 1]! : 0, w2 = count > 2 ? h * w[at + 2]! : 0, w3 = count > 3 ? h * w[at + 3]! : 0;
  const w4 = count > 4 ? h * w[at + 4]! : 0, w5 = count > 5 ? h * w[at + 5]! : 0, w6 = count > 6 ? h * w[at + 6]! : 0;
  switch (count) {
    case 1:
      for (let c = 0; c < N; c++) out[c] = base[c]! + w0 * k0[c]!;
      return;
    case 2:
      for (let c = 0; c < N; c++) out[c] = base[c]! + w0 * k0[c]! + w1 * k1[c]!;
      return;
    case 3:
      for (let c = 0; c < N; c++) out[c] = base[c]! + w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]!;
      return;
    case 4:
      for (let c = 0; c < N; c++) out[c] = base[c]! + w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]! + w3 * k3[c]!;
      return;
    case 5:
      for (let c = 0; c < N; c++) out[c] = base[c]! + w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]! + w3 * k3[c]! + w4 * k4[c]!;
      return;
    case 6:
      for (let c = 0; c < N; c++) out[c] = base[c]! + w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]! + w3 * k3[c]! + w4 * k4[c]! + w5 * k5[c]!;
      return;
    case 7:
      for (let c = 0; c < N; c++) out[c] = base[c]! + w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]! + w3 * k3[c]! + w4 * k4[c]! + w5 * k5[c]! + w6 * k6[c]!;
      return;
    default:
      throw new Error(`stageSum: ${count} stages`);
  }
}

/**
 * max_c |(h e_0) K_0[c] + (h e_1) K_1[c] + ...| / (atol + rtol (|z[c]| + h |K_0[c]|)): the
 * step's error in units of the tolerance, as Boost's default_error_checker computes it, in one
 * pass. A NaN term is skipped, as Boost's max (std::max(acc, NaN) is acc) skips it; an
 * infinite one fails the step.
 */
function errorNorm(z: Float64Array, h: number, e: Float64Array, stages: number, kv: Float64Array[], N: number, atol: number, rtol: number): number {
  const k0 = kv[0]!, k1 = kv[1]!, k2 = kv[2]!, k3 = kv[3]!, k4 = kv[4]!, k5 = kv[5]!, k6 = kv[6]!;
  const e0 = h * e[0]!, e1 = h * e[1]!, e2 = h * e[2]!, e3 = h * e[3]!, e4 = h * e[4]!, e5 = h * e[5]!, e6 = stages === 7 ? h * e[6]! : 0;
  let err = 0;
  if (stages === 7)
    for (let c = 0; c < N; c++) {
      const r = Math.abs(e0 * k0[c]! + e1 * k1[c]! + e2 * k2[c]! + e3 * k3[c]! + e4 * k4[c]! + e5 * k5[c]! + e6 * k6[c]!) / (atol + rtol * (Math.abs(z[c]!) + h * Math.abs(k0[c]!)));
      if (r > err) err = r;
    }
  else if (stages === 6)
    for (let c = 0; c < N; c++) {
      const r = Math.abs(e0 * k0[c]! + e1 * k1[c]! + e2 * k2[c]! + e3 * k3[c]! + e4 * k4[c]! + e5 * k5[c]!) / (atol + rtol * (Math.abs(z[c]!) + h * Math.abs(k0[c]!)));
      if (r > err) err = r;
    }
  else throw new Error(`errorNorm: ${stages} stages`);
  return err;
}

/** Dormand-Prince's 5th-order weights, for the continuous extension. */
const [B1, , B3, B4, B5, B6] = DP_B as [number, number, number, number, number, number];

/**
 * zOut = z + sum_r (dt b_r(theta)) K_r: the state at tOut within the accepted Dormand-Prince
 * step from (t, z) to tNew with stages K (K_6 = f at the new point), by the polynomials and in
 * the arithmetic of Boost's `runge_kutta_dopri5::calc_state` (which are not Shampine's
 * fourth-order extension: the two agree only at theta = 1/2 and at the ends).
 */
function denseOutput(zOut: Float64Array, z: Float64Array, t: number, tNew: number, tOut: number, kv: Float64Array[], N: number): void {
  const dt = tNew - t;
  const theta = (tOut - t) / dt;
  const X1 = (5 * (2558722523 - 31403016 * theta)) / 11282082432;
  const X3 = (100 * (882725551 - 15701508 * theta)) / 32700410799;
  const X4 = (25 * (443332067 - 31403016 * theta)) / 1880347072;
  const X5 = (32805 * (23143187 - 3489224 * theta)) / 199316789632;
  const X6 = (55 * (29972135 - 7076736 * theta)) / 822651844;
  const X7 = (10 * (7414447 - 829305 * theta)) / 29380423;
  const thetaM1 = theta - 1;
  const thetaSq = theta * theta;
  const A = thetaSq * (3 - 2 * theta);
  const B = thetaSq * thetaM1;
  const C = thetaSq * thetaM1 * thetaM1;
  const D = theta * thetaM1 * thetaM1;
  const w1 = dt * (A * B1 - C * X1 + D);
  const w3 = dt * (A * B3 + C * X3);
  const w4 = dt * (A * B4 - C * X4);
  const w5 = dt * (A * B5 + C * X5);
  const w6 = dt * (A * B6 - C * X6);
  const w7 = dt * (B + C * X7);
  const k1 = kv[0]!, k3 = kv[2]!, k4 = kv[3]!, k5 = kv[4]!, k6 = kv[5]!, k7 = kv[6]!;
  for (let c = 0; c < N; c++) zOut[c] = z[c]! + w1 * k1[c]! + w3 * k3[c]! + w4 * k4[c]! + w5 * k5[c]! + w6 * k6[c]! + w7 * k7[c]!;
}

/** Boost's cap on consecutive rejected tries of one step. */
const MAX_TRIES = 500;

/** Boost's slack when comparing times (`less_eq_with_sign`: t1 - t2 <= machine epsilon). */
const TIME_EPS = Number.EPSILON;

/**
 * Boost's least error in the step growth, 5^-5 (stepper order 5), and the growth there,
 * 0.9 (5^-5)^(-1/5) = 4.5: written out because they are what glibc's pow gives Boost, where
 * V8's Math.pow is one unit in the last place off both (0.00031999999999999997 and
 * 5.000000000000001), and a first step's error is often below 5^-5.
 */
const MIN_GROWTH_ERROR = 3.2e-4;
const MAX_GROWTH = 4.5;

export type Failure = { readonly reason: OdeFailureReason; readonly t: number };

/** The buffers of explicit solves of one system size with one tableau, made once and reused by every solve. */
export class ExplicitWorkspace {
  /** Stage r's derivative at k[r * size .. (r + 1) * size). */
  readonly k: Float64Array;
  /** Views of k, one per stage (seven: a six-stage pair's last is unused). */
  readonly kv: Float64Array[];
  readonly z: Float64Array;
  readonly zNew: Float64Array;
  readonly zStage: Float64Array;
  readonly zOut: Float64Array;
  /**
   * Called after every try of a step with its end, its length, its error in units of the
   * tolerance and whether it was accepted (scripts/rk45-steps.mjs prints these to compare
   * with Stan's steps); null in every solve of a log density.
   */
  trace: ((tNew: number, h: number, err: number, accepted: boolean) => void) | null = null;

  constructor(
    readonly size: number,
    readonly tableau: Tableau,
  ) {
    this.k = new Float64Array(tableau.stages * size);
    this.kv = Array.from({ length: 7 }, (_, r) => (r < tableau.stages ? this.k.subarray(r * size, (r + 1) * size) : new Float64Array(size)));
    this.z = new Float64Array(size);
    this.zNew = new Float64Array(size);
    this.zStage = new Float64Array(size);
    this.zOut = new Float64Array(size);
  }
}

function allFinite(z: Float64Array, N: number): boolean {
  for (let c = 0; c < N; c++) if (!Number.isFinite(z[c]!)) return false;
  return true;
}

/**
 * Integrates `sys` from (t0, z0) and records the state at each `ts[i]` (strictly after t0,
 * non-decreasing) into `out`. Returns null on success or why it stopped.
 *
 * Dormand-Prince follows Boost's `integrate_times` for a dense-output stepper: steps of the
 * controller's length while they end by the last output time, else one step of exactly the
 * rest; every output time passed is interpolated. Cash-Karp shortens a step to land on the
 * next output time and then goes on with the longer of the two lengths (Boost's
 * `integrate_times` for a controlled stepper).
 *
 * A stage that is not finite is not a failure by itself: as in Boost, it enters the error
 * estimate, where an infinite term rejects the try and a NaN term is skipped. An accepted step
 * whose state is not finite ends the solve ("non-finite"; Stan's would go on with NaN, which
 * its log density then rejects).
 */
export function integrateExplicit(sys: AugmentedSystem, work: ExplicitWorkspace, z0: Float64Array, t0: number, ts: ArrayLike<number>, tol: OdeTolerances, out: OdeOutput): Failure | null {
  const N = sys.size;
  const tab = work.tableau;
  const { stages, a, b, e: eW, c: cT, denseOutput: dense } = tab;
  const { k, kv, zOut } = work;
  let z = work.z;
  let zNew = work.zNew;
  let zStage = work.zStage;
  z.set(z0);
  const { rtol, atol, maxSteps } = tol;
  const last = ts[ts.length - 1]!;
  const lastStage = (stages - 1) * N;
  let t = t0;
  let dt = 0.1;
  let steps = 0;
  let i = 0;
  if (!sys.eval(t, z, k, 0)) return { reason: "non-finite", t };
  let tries = 0;
  let stepStarted = false;
  while (i < ts.length) {
    if (!stepStarted) {
      // A new step: Dormand-Prince ends it on the last output time when its length would pass
      // it; Cash-Karp shortens every try to end by the next output time.
      if (dense && t + dt - last > TIME_EPS) dt = last - t;
      if (steps++ >= maxSteps) return { reason: "max-steps", t };
      stepStarted = true;
    }
    const h = dense ? dt : Math.min(dt, ts[i]! - t);
    const landing = !dense && h === ts[i]! - t;
    const tNew = landing ? ts[i]! : t + h;
    // Stages 2..s; a first-same-as-last pair's last stage is f at the new point.
    for (let s = 1; s < stages; s++) {
      stageSum(zStage, z, h, a, s * stages, s, kv, N);
      sys.evalStage(cT[s] === 1 ? tNew : t + cT[s]! * h, zStage, k, s * N);
    }
    if (tab.lastStageIsSolution) {
      const solution = zStage;
      zStage = zNew;
      zNew = solution;
    } else stageSum(zNew, z, h, b, 0, stages, kv, N);
    const err = errorNorm(z, h, eW, stages, kv, N, atol, rtol);
    if (work.trace !== null) work.trace(tNew, h, err, err <= 1);
    if (!(err <= 1)) {
      // A rejected try: Boost's decrease (an infinite error gives the least factor, 0.2).
      dt = h * Math.max(0.9 * Math.pow(err, -1 / 3), 0.2);
      if (++tries >= MAX_TRIES || t + dt === t) return { reason: err === Infinity ? "non-finite" : "step-too-small", t };
      continue;
    }
    tries = 0;
    if (!allFinite(zNew, N)) return { reason: "non-finite", t: tNew };
    stepStarted = false;
    if (dense) {
      // Every output time this step reached (within Boost's slack), from the continuous extension.
      while (i < ts.length && ts[i]! - tNew <= TIME_EPS) {
        denseOutput(zOut, z, t, tNew, ts[i]!, kv, N);
        out.record(i++, zOut);
        steps = 0;
      }
    } else if (landing) {
      while (i < ts.length && ts[i] === tNew) out.record(i++, zNew);
      steps = 0;
    }
    const grown = err < 0.5 ? h * (err <= MIN_GROWTH_ERROR ? MAX_GROWTH : 0.9 * Math.pow(err, -1 / 5)) : h;
    // Cash-Karp keeps the longer of its step and the one cut short to land on an output time.
    dt = dense ? grown : Math.max(dt, grown);
    t = tNew;
    const swap = z;
    z = zNew;
    zNew = swap;
    if (tab.fsal) for (let c = 0; c < N; c++) k[c] = k[lastStage + c]!;
    else if (i < ts.length && !sys.eval(t, z, k, 0)) return { reason: "non-finite", t };
  }
  return null;
}

/**
 * Embedded explicit Runge-Kutta pairs under Boost odeint's error control, as Stan's
 * `ode_rk45` (Dormand-Prince 5(4) with dense output) and `ode_ckrk` (Cash-Karp 5(4),
 * stepping onto each output time) use them:
 *
 *   err = max_i |e_i| / (atol + rtol (|z_i| + h |z'_i|))   (at the step's start)
 *   rejected (err > 1): h *= max(0.9 err^(-1/3), 0.2)
 *   accepted, err < 0.5: h *= 0.9 max(err, 5^-5)^(-1/5)
 *
 * The first trial step is 0.1 (Stan's), and `maxSteps` bounds the steps between two output
 * times. Tableaus: Hairer, Norsett & Wanner I (II.5); Cash & Karp 1990; the dense output is
 * Shampine's fourth-order continuous extension of Dormand-Prince.
 *
 * The stepping loop allocates nothing: the stages live in one flat array of a workspace made
 * once per system (DECISIONS.md D189).
 */
import type { AugmentedSystem } from "./augmented.js";
import type { OdeOutput } from "./output.js";
import type { OdeFailureReason, OdeTolerances } from "./types.js";

/** A pair's coefficients in flat arrays (row-major `a`, `dense`), so that the stage loops index numbers only. */
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
  /** Dense output: y(t + th h) = y + h sum_r K_r (P_r . [th, th^2, th^3, th^4]), P_r = dense[4r .. 4r + 4); null where there is none. */
  readonly dense: Float64Array | null;
}

function tableau(c: number[], a: number[][], b: number[], b4: number[], fsal: boolean, dense: number[][] | null): Tableau {
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
    dense: dense === null ? null : Float64Array.from(dense.flat()),
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
  [
    [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0, 0, 0, 0],
    [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
    [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
  ],
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
  null,
);

/**
 * out[c] = base[c] + h * sum_{r < count} w[at + r] K_r[c] for every component c, in one pass
 * with the stages unrolled, a loop per count (a sum per component in the order of r, so the
 * result does not depend on this layout).
 */
function stageSum(out: Float64Array, base: Float64Array, h: number, w: Float64Array, at: number, count: number, kv: Float64Array[], N: number): void {
  const k0 = kv[0]!, k1 = kv[1]!, k2 = kv[2]!, k3 = kv[3]!, k4 = kv[4]!, k5 = kv[5]!, k6 = kv[6]!;
  const w0 = w[at]!, w1 = count > 1 ? w[at + 1]! : 0, w2 = count > 2 ? w[at + 2]! : 0, w3 = count > 3 ? w[at + 3]! : 0;
  const w4 = count > 4 ? w[at + 4]! : 0, w5 = count > 5 ? w[at + 5]! : 0, w6 = count > 6 ? w[at + 6]! : 0;
  switch (count) {
    case 1:
      for (let c = 0; c < N; c++) out[c] = base[c]! + h * (w0 * k0[c]!);
      return;
    case 2:
      for (let c = 0; c < N; c++) out[c] = base[c]! + h * (w0 * k0[c]! + w1 * k1[c]!);
      return;
    case 3:
      for (let c = 0; c < N; c++) out[c] = base[c]! + h * (w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]!);
      return;
    case 4:
      for (let c = 0; c < N; c++) out[c] = base[c]! + h * (w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]! + w3 * k3[c]!);
      return;
    case 5:
      for (let c = 0; c < N; c++) out[c] = base[c]! + h * (w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]! + w3 * k3[c]! + w4 * k4[c]!);
      return;
    case 6:
      for (let c = 0; c < N; c++) out[c] = base[c]! + h * (w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]! + w3 * k3[c]! + w4 * k4[c]! + w5 * k5[c]!);
      return;
    case 7:
      for (let c = 0; c < N; c++) out[c] = base[c]! + h * (w0 * k0[c]! + w1 * k1[c]! + w2 * k2[c]! + w3 * k3[c]! + w4 * k4[c]! + w5 * k5[c]! + w6 * k6[c]!);
      return;
    default:
      throw new Error(`stageSum: ${count} stages`);
  }
}

/**
 * max_c |h sum_r e[r] K_r[c]| / (atol + rtol (|z[c]| + h |K_0[c]|)): the step's error in units
 * of the tolerance, its sums in the order of `stageSum` (so equal to summing into a vector
 * first), in one pass; NaN compares as failing.
 */
function errorNorm(z: Float64Array, h: number, e: Float64Array, stages: number, kv: Float64Array[], N: number, atol: number, rtol: number): number {
  const k0 = kv[0]!, k1 = kv[1]!, k2 = kv[2]!, k3 = kv[3]!, k4 = kv[4]!, k5 = kv[5]!, k6 = kv[6]!;
  const e0 = e[0]!, e1 = e[1]!, e2 = e[2]!, e3 = e[3]!, e4 = e[4]!, e5 = e[5]!, e6 = stages === 7 ? e[6]! : 0;
  let err = 0;
  if (stages === 7)
    for (let c = 0; c < N; c++) {
      const sum = e0 * k0[c]! + e1 * k1[c]! + e2 * k2[c]! + e3 * k3[c]! + e4 * k4[c]! + e5 * k5[c]! + e6 * k6[c]!;
      const r = Math.abs(h * sum) / (atol + rtol * (Math.abs(z[c]!) + h * Math.abs(k0[c]!)));
      if (!(r <= err)) err = r;
    }
  else if (stages === 6)
    for (let c = 0; c < N; c++) {
      const sum = e0 * k0[c]! + e1 * k1[c]! + e2 * k2[c]! + e3 * k3[c]! + e4 * k4[c]! + e5 * k5[c]!;
      const r = Math.abs(h * sum) / (atol + rtol * (Math.abs(z[c]!) + h * Math.abs(k0[c]!)));
      if (!(r <= err)) err = r;
    }
  else throw new Error(`errorNorm: ${stages} stages`);
  return err;
}

/** Boost's cap on consecutive rejected tries of one step. */
const MAX_TRIES = 500;

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

/**
 * Integrates `sys` from (t0, z0) and records the state at each `ts[i]` (strictly after t0,
 * non-decreasing) into `out`. Returns null on success or why it stopped.
 */
export function integrateExplicit(sys: AugmentedSystem, work: ExplicitWorkspace, z0: Float64Array, t0: number, ts: ArrayLike<number>, tol: OdeTolerances, out: OdeOutput): Failure | null {
  const N = sys.size;
  const tab = work.tableau;
  const { stages, a, b, e: eW, c: cT, dense } = tab;
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
  while (i < ts.length) {
    // Cash-Karp steps onto the next output time; Dormand-Prince only onto the last one.
    const target = dense !== null ? last : ts[i]!;
    const h = Math.min(dt, target - t);
    const landing = h === target - t;
    const tNew = landing ? target : t + h;
    // Stages 2..s; a first-same-as-last pair's last stage is f at the new point.
    let finite = true;
    for (let s = 1; s < stages && finite; s++) {
      stageSum(zStage, z, h, a, s * stages, s, kv, N);
      finite = sys.eval(cT[s] === 1 ? tNew : t + cT[s]! * h, zStage, k, s * N);
    }
    let err = Infinity;
    if (finite) {
      if (tab.lastStageIsSolution) {
        const last = zStage;
        zStage = zNew;
        zNew = last;
      } else stageSum(zNew, z, h, b, 0, stages, kv, N);
      err = errorNorm(z, h, eW, stages, kv, N, atol, rtol);
    }
    if (!(err <= 1)) {
      // A rejected try (a non-finite stage counts as one: the step shrinks, as in Stan's
      // solvers; a state that stays non-finite ends after MAX_TRIES).
      dt = h * (err === Infinity || err !== err ? 0.2 : Math.max(0.9 * Math.pow(err, -1 / 3), 0.2));
      if (++tries >= MAX_TRIES || t + dt === t) return { reason: finite ? "step-too-small" : "non-finite", t };
      continue;
    }
    tries = 0;
    if (++steps > maxSteps) return { reason: "max-steps", t: tNew };
    if (dense !== null) {
      // Every output time passed by this step, from the continuous extension.
      while (i < ts.length && ts[i]! <= tNew) {
        if (ts[i] === tNew) out.record(i, zNew);
        else {
          const th = (ts[i]! - t) / h;
          const p1 = th, p2 = th * th, p3 = p2 * th, p4 = p3 * th;
          for (let c = 0; c < N; c++) {
            let acc = 0;
            for (let r = 0; r < stages; r++) {
              const P = 4 * r;
              acc += k[r * N + c]! * (dense[P]! * p1 + dense[P + 1]! * p2 + dense[P + 2]! * p3 + dense[P + 3]! * p4);
            }
            zOut[c] = z[c]! + h * acc;
          }
          out.record(i, zOut);
        }
        i++;
        steps = 0;
      }
    } else if (landing) {
      while (i < ts.length && ts[i] === tNew) out.record(i++, zNew);
      steps = 0;
    }
    const grown = err < 0.5 ? h * 0.9 * Math.pow(Math.max(err, 3.2e-4), -1 / 5) : h;
    // Cash-Karp keeps the longer of its step and the one cut short to land on an output time.
    dt = dense !== null ? grown : Math.max(dt, grown);
    t = tNew;
    const swap = z;
    z = zNew;
    zNew = swap;
    if (tab.fsal) k.copyWithin(0, lastStage, lastStage + N);
    else if (i < ts.length && !sys.eval(t, z, k, 0)) return { reason: "non-finite", t };
  }
  return null;
}

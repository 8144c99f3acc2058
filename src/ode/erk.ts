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
  /** Dense output: y(t + th h) = y + h sum_r K_r (P_r . [th, th^2, th^3, th^4]), P_r = dense[4r .. 4r + 4); null where there is none. */
  readonly dense: Float64Array | null;
}

function tableau(c: number[], a: number[][], b: number[], b4: number[], fsal: boolean, dense: number[][] | null): Tableau {
  const stages = c.length;
  const flat = new Float64Array(stages * stages);
  a.forEach((row, s) => row.forEach((v, r) => (flat[s * stages + r] = v)));
  return {
    stages,
    c: Float64Array.from(c),
    a: flat,
    b: Float64Array.from(b),
    e: Float64Array.from(b, (v, k) => v - b4[k]!),
    fsal,
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

/** Boost's cap on consecutive rejected tries of one step. */
const MAX_TRIES = 500;

export type Failure = { readonly reason: OdeFailureReason; readonly t: number };

/** The buffers of explicit solves of one system size with one tableau, made once and reused by every solve. */
export class ExplicitWorkspace {
  /** Stage r's derivative at k[r * size .. (r + 1) * size). */
  readonly k: Float64Array;
  readonly z: Float64Array;
  readonly zNew: Float64Array;
  readonly zStage: Float64Array;
  readonly zErr: Float64Array;
  readonly zOut: Float64Array;

  constructor(
    readonly size: number,
    readonly tableau: Tableau,
  ) {
    this.k = new Float64Array(tableau.stages * size);
    this.z = new Float64Array(size);
    this.zNew = new Float64Array(size);
    this.zStage = new Float64Array(size);
    this.zErr = new Float64Array(size);
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
  const { k, zStage, zErr, zOut } = work;
  let z = work.z;
  let zNew = work.zNew;
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
    // Each sum over stages runs stage by stage over contiguous components (the terms added in
    // the same order as a sum per component; zero weights skipped).
    for (let s = 1; s < stages && finite; s++) {
      const row = s * stages;
      const a0 = a[row]!;
      for (let c = 0; c < N; c++) zStage[c] = a0 * k[c]!;
      for (let r = 1; r < s; r++) {
        const w = a[row + r]!;
        if (w === 0) continue;
        const at = r * N;
        for (let c = 0; c < N; c++) zStage[c]! += w * k[at + c]!;
      }
      for (let c = 0; c < N; c++) zStage[c] = z[c]! + h * zStage[c]!;
      finite = sys.eval(cT[s] === 1 ? tNew : t + cT[s]! * h, zStage, k, s * N);
    }
    let err = Infinity;
    if (finite) {
      const b0 = b[0]!;
      const e0 = eW[0]!;
      for (let c = 0; c < N; c++) {
        zNew[c] = b0 * k[c]!;
        zErr[c] = e0 * k[c]!;
      }
      for (let r = 1; r < stages; r++) {
        const wb = b[r]!;
        const we = eW[r]!;
        const at = r * N;
        if (wb !== 0) for (let c = 0; c < N; c++) zNew[c]! += wb * k[at + c]!;
        if (we !== 0) for (let c = 0; c < N; c++) zErr[c]! += we * k[at + c]!;
      }
      err = 0;
      for (let c = 0; c < N; c++) {
        const e = Math.abs(h * zErr[c]!) / (atol + rtol * (Math.abs(z[c]!) + h * Math.abs(k[c]!)));
        if (!(e <= err)) err = e;
        zNew[c] = z[c]! + h * zNew[c]!;
      }
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

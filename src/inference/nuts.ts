/**
 * The NUTS transition, as Stan's base_nuts.hpp:
 * - multinomial sampling over the leaves with uncapped weights exp(H0 - H);
 * - biased progressive sampling when a new subtree is merged into the trajectory
 *   (take its sample w.p. min(1, w_new / w_old)); balanced multinomial inside subtrees;
 * - generalised U-turn criterion on the summed momentum rho and the velocities M^-1 p at
 *   both ends, plus the two extra checks across the seam of every merge;
 * - a leaf is divergent when H - H0 > maxDeltaH or H is not finite (NaN/Inf density or
 *   gradient); building stops and the divergent subtree is discarded;
 * - each extension integrates from that end's own position, momentum and gradient.
 *
 * Implementation: leaves are `Point`s from a reference-counted pool, so the ends of
 * trajectories and subtrees, and the proposals, are pointers, not copies; the pool and all
 * buffers are allocated once, so a transition allocates nothing (the pool only grows the
 * first time a deeper tree needs more points).
 */
import type { LogDensity } from "../compile/types.js";
import type { Rng } from "../rng/index.js";
import { cholesky, type Metric } from "./metric.js";

/** Per-draw sampler statistics (Stan's sampler params). */
export interface TransitionStats {
  /** Log density (up to a constant, incl. Jacobians) at the draw. */
  lp: number;
  /** Step size used in this transition. */
  stepSize: number;
  /** Number of completed doublings. */
  treeDepth: number;
  /** Leapfrog steps (= gradient evaluations) in this transition, rejected subtrees included. */
  nLeapfrog: number;
  divergent: boolean;
  /** Hamiltonian at the draw. */
  energy: number;
  /** Mean of min(1, exp(H0 - H)) over all leaves built (Stan's accept_stat__). */
  acceptStat: number;
}

export function emptyStats(): TransitionStats {
  return { lp: 0, stepSize: 0, treeDepth: 0, nLeapfrog: 0, divergent: false, energy: 0, acceptStat: 0 };
}

/** A phase-space point with its gradient, velocity and Hamiltonian. */
interface Point {
  readonly q: Float64Array;
  readonly p: Float64Array;
  /** Gradient of the log density at q. */
  readonly g: Float64Array;
  /** Velocity M^-1 p (Stan's p_sharp). */
  readonly v: Float64Array;
  /** M^-1 g, kept only for the dense metric (saves one matrix-vector product per leaf). */
  readonly w: Float64Array;
  lp: number;
  /** Hamiltonian -lp + p'M^-1p/2; +Infinity when not finite. */
  h: number;
  /** Signed number of leapfrog steps from the transition's initial point. */
  idx: number;
  rc: number;
}

function newPoint(d: number): Point {
  return {
    q: new Float64Array(d),
    p: new Float64Array(d),
    g: new Float64Array(d),
    v: new Float64Array(d),
    w: new Float64Array(d),
    lp: 0,
    h: 0,
    idx: 0,
    rc: 0,
  };
}

export class NutsKernel {
  readonly dim: number;
  private readonly model: LogDensity;

  // Metric. `dense` is true for every non-diagonal metric (dense and low-rank): both carry
  // w = M^-1 g along the trajectory and apply M^-1 through `inverseTimes`.
  private dense = false;
  private lowRank = false;
  private lrRank = 0;
  private lrSqrtD: Float64Array = new Float64Array(0);
  private lrInvSqrtD: Float64Array = new Float64Array(0);
  /** U, row-major d x k. */
  private lrU: Float64Array = new Float64Array(0);
  /** lambda - 1, sqrt(lambda) - 1 and 1 / sqrt(lambda) - 1, per eigenvector. */
  private lrValsM1: Float64Array = new Float64Array(0);
  private lrSqrtValsM1: Float64Array = new Float64Array(0);
  private lrInvSqrtValsM1: Float64Array = new Float64Array(0);
  private lrCoef: Float64Array = new Float64Array(0);
  private lrTmp: Float64Array = new Float64Array(0);
  private readonly invDiag: Float64Array;
  private readonly sqrtMassDiag: Float64Array;
  private invDense: Float64Array = new Float64Array(0);
  private cholInv: Float64Array = new Float64Array(0);

  // Current point of the chain.
  readonly q: Float64Array;
  readonly g: Float64Array;
  lp = 0;

  /** Scratch of length dim that callers may use between transitions. */
  readonly work: Float64Array;

  /** Gradient evaluations done by this kernel (all of them, incl. step-size search). */
  gradientEvaluations = 0;

  /**
   * Signed position, in leapfrog steps, of the last transition's draw in its trajectory (0:
   * the chain did not move). Fisher-divergence adaptation uses only draws that moved.
   */
  lastDrawIndex = 0;

  // Point pool.
  private pool: Point[] = [];
  private free: Point[] = [];
  private freeTop = 0;

  // Per-level rho buffers (init / final child of a subtree of that depth).
  private rhoInit: Float64Array[] = [];
  private rhoFinal: Float64Array[] = [];
  private readonly rhoTraj: Float64Array;
  private readonly rhoNew: Float64Array;
  private readonly scratch: Float64Array;

  // Per-transition registers.
  private eps = 0;
  private h0 = 0;
  private maxDeltaH = 1000;
  private nLeapfrog = 0;
  private sumMetroProb = 0;
  private divergent = false;
  private rng!: Rng;
  private outFirst!: Point;
  private outLast!: Point;
  private outProp!: Point;
  private outLogW = 0;
  private outRho!: Float64Array;

  constructor(model: LogDensity, metric: Metric) {
    const d = model.dim;
    this.dim = d;
    this.model = model;
    this.invDiag = new Float64Array(d);
    this.sqrtMassDiag = new Float64Array(d);
    this.q = new Float64Array(d);
    this.g = new Float64Array(d);
    this.rhoTraj = new Float64Array(d);
    this.rhoNew = new Float64Array(d);
    this.scratch = new Float64Array(d);
    this.work = new Float64Array(d);
    this.setMetric(metric);
    this.ensureDepth(10);
  }

  setMetric(metric: Metric): void {
    const d = this.dim;
    this.lowRank = false;
    // A low-rank metric without a low-rank part is its diagonal: run it on the diagonal path,
    // which costs O(d) per leapfrog step less than the low-rank one (nutpie's adaptation ends at
    // k = 0 on most small models: simple, medium, eight_schools, funnel; DECISIONS.md D235).
    if (metric.kind === "diag" || (metric.kind === "low-rank" && metric.values.length === 0)) {
      this.dense = false;
      for (let i = 0; i < d; i++) {
        const m = metric.inverse[i]!;
        this.invDiag[i] = m;
        this.sqrtMassDiag[i] = 1 / Math.sqrt(m);
      }
    } else if (metric.kind === "low-rank") {
      this.dense = true;
      this.lowRank = true;
      const k = metric.values.length;
      this.lrRank = k;
      if (this.lrSqrtD.length !== d) {
        this.lrSqrtD = new Float64Array(d);
        this.lrInvSqrtD = new Float64Array(d);
        this.lrTmp = new Float64Array(d);
      }
      for (let i = 0; i < d; i++) {
        const s = Math.sqrt(metric.inverse[i]!);
        this.lrSqrtD[i] = s;
        this.lrInvSqrtD[i] = 1 / s;
      }
      this.lrU = Float64Array.from(metric.vectors);
      this.lrValsM1 = new Float64Array(k);
      this.lrSqrtValsM1 = new Float64Array(k);
      this.lrInvSqrtValsM1 = new Float64Array(k);
      this.lrCoef = new Float64Array(k);
      for (let j = 0; j < k; j++) {
        const l = metric.values[j]!;
        this.lrValsM1[j] = l - 1;
        this.lrSqrtValsM1[j] = Math.sqrt(l) - 1;
        this.lrInvSqrtValsM1[j] = 1 / Math.sqrt(l) - 1;
      }
    } else {
      this.dense = true;
      if (this.invDense.length !== d * d) {
        this.invDense = new Float64Array(d * d);
        this.cholInv = new Float64Array(d * d);
      }
      this.invDense.set(metric.inverse);
      cholesky(this.invDense, d, this.cholInv);
    }
  }

  /** Loads the chain's current point. */
  setPoint(q: ArrayLike<number>, g: ArrayLike<number>, lp: number): void {
    this.q.set(q);
    this.g.set(g);
    this.lp = lp;
  }

  private ensureDepth(depth: number): void {
    while (this.rhoInit.length <= depth) {
      this.rhoInit.push(new Float64Array(this.dim));
      this.rhoFinal.push(new Float64Array(this.dim));
    }
  }

  private resetPool(): void {
    const pool = this.pool;
    if (this.free.length < pool.length) this.free.length = pool.length;
    for (let i = 0; i < pool.length; i++) {
      pool[i]!.rc = 0;
      this.free[i] = pool[i]!;
    }
    this.freeTop = pool.length;
  }

  private acquire(): Point {
    if (this.freeTop === 0) {
      const pt = newPoint(this.dim);
      this.pool.push(pt);
      return pt;
    }
    return this.free[--this.freeTop]!;
  }

  private release(pt: Point): void {
    if (--pt.rc === 0) this.free[this.freeTop++] = pt;
  }

  /** Draws p ~ N(0, M) into pt.p and sets pt.v = M^-1 p and pt.h from pt.lp. */
  private sampleMomentum(pt: Point, rng: Rng): void {
    const d = this.dim;
    const p = pt.p;
    const v = pt.v;
    let k = 0;
    const z = this.scratch;
    // Batch draw: the loop inside Rng inlines normal(), so no boxed doubles per draw.
    rng.fillNormal(z);
    if (!this.dense) {
      const s = this.sqrtMassDiag;
      const m = this.invDiag;
      for (let i = 0; i < d; i++) {
        const pi = z[i]! * s[i]!;
        p[i] = pi;
        const vi = m[i]! * pi;
        v[i] = vi;
        k += pi * vi;
      }
    } else if (this.lowRank) {
      // p = D^-1/2 (z + U ((lambda^-1/2 - 1) * U'z)), so Cov(p) = M; v = M^-1 p =
      // D^1/2 (z + U ((lambda^1/2 - 1) * U'z)).
      const r = this.lrRank;
      const U = this.lrU;
      const c = this.lrCoef;
      c.fill(0);
      for (let i = 0; i < d; i++) {
        const zi = z[i]!;
        const row = i * r;
        for (let j = 0; j < r; j++) c[j] = c[j]! + U[row + j]! * zi;
      }
      const a = this.lrInvSqrtValsM1;
      const b = this.lrSqrtValsM1;
      const sd = this.lrSqrtD;
      const isd = this.lrInvSqrtD;
      for (let i = 0; i < d; i++) {
        let sp = z[i]!;
        let sv = sp;
        const row = i * r;
        for (let j = 0; j < r; j++) {
          const u = U[row + j]! * c[j]!;
          sp += u * a[j]!;
          sv += u * b[j]!;
        }
        const pi = sp * isd[i]!;
        const vi = sv * sd[i]!;
        p[i] = pi;
        v[i] = vi;
        k += pi * vi;
      }
    } else {
      // p = L^{-T} z with L L' = M^-1, so Cov(p) = (L L')^{-1} = M.
      const L = this.cholInv;
      for (let i = d - 1; i >= 0; i--) {
        let s = z[i]!;
        for (let j = i + 1; j < d; j++) s -= L[j * d + i]! * p[j]!;
        p[i] = s / L[i * d + i]!;
      }
      // v = M^-1 p = L L' L^{-T} z = L z.
      for (let i = 0; i < d; i++) {
        let s = 0;
        const row = i * d;
        for (let j = 0; j <= i; j++) s += L[row + j]! * z[j]!;
        v[i] = s;
      }
      for (let i = 0; i < d; i++) k += p[i]! * v[i]!;
    }
    const h = -pt.lp + 0.5 * k;
    pt.h = h === h && h !== Infinity && h !== -Infinity ? h : Infinity;
  }

  /** out = M^-1 x for a low-rank metric: D^1/2 (y + U ((lambda - 1) * U'y)), y = D^1/2 x. */
  private lowRankVelocity(x: Float64Array, out: Float64Array): void {
    const d = this.dim;
    const r = this.lrRank;
    const U = this.lrU;
    const c = this.lrCoef;
    const sd = this.lrSqrtD;
    const y = this.lrTmp;
    c.fill(0);
    for (let i = 0; i < d; i++) {
      const yi = x[i]! * sd[i]!;
      y[i] = yi;
      const row = i * r;
      for (let j = 0; j < r; j++) c[j] = c[j]! + U[row + j]! * yi;
    }
    const m1 = this.lrValsM1;
    for (let j = 0; j < r; j++) c[j] = c[j]! * m1[j]!;
    for (let i = 0; i < d; i++) {
      let s = y[i]!;
      const row = i * r;
      for (let j = 0; j < r; j++) s += U[row + j]! * c[j]!;
      out[i] = s * sd[i]!;
    }
  }

  /** out = M^-1 x (row-major matrix-vector product, two rows at a time), or the low-rank form. */
  private denseVelocity(x: Float64Array, out: Float64Array): void {
    if (this.lowRank) {
      this.lowRankVelocity(x, out);
      return;
    }
    const d = this.dim;
    const A = this.invDense;
    let i = 0;
    for (; i + 1 < d; i += 2) {
      const r0 = i * d;
      const r1 = r0 + d;
      let s0 = 0;
      let s1 = 0;
      for (let j = 0; j < d; j++) {
        const xj = x[j]!;
        s0 += A[r0 + j]! * xj;
        s1 += A[r1 + j]! * xj;
      }
      out[i] = s0;
      out[i + 1] = s1;
    }
    if (i < d) {
      const r0 = i * d;
      let s0 = 0;
      for (let j = 0; j < d; j++) s0 += A[r0 + j]! * x[j]!;
      out[i] = s0;
    }
  }

  /**
   * One leapfrog step of size sign * eps from `from` into `to`. (The direction is passed
   * as a small integer: a double argument to a call that is not inlined gets boxed.)
   */
  private leapfrog(from: Point, to: Point, sign: number): void {
    const d = this.dim;
    const eps = sign * this.eps;
    const half = 0.5 * eps;
    const fq = from.q;
    const fp = from.p;
    const fg = from.g;
    const tq = to.q;
    const tp = to.p;
    const tg = to.g;
    const tv = to.v;
    let k = 0;
    let lp: number;
    if (!this.dense) {
      const m = this.invDiag;
      for (let i = 0; i < d; i++) {
        const ph = fp[i]! + half * fg[i]!;
        tp[i] = ph;
        tq[i] = fq[i]! + eps * m[i]! * ph;
      }
      lp = this.model.logDensityGradient(tq, tg);
      for (let i = 0; i < d; i++) {
        const pi = tp[i]! + half * tg[i]!;
        tp[i] = pi;
        const vi = m[i]! * pi;
        tv[i] = vi;
        k += pi * vi;
      }
    } else {
      // With w = M^-1 g carried along, M^-1 p at the half and full steps follows from
      // linearity: one matrix-vector product per leaf (for the new gradient).
      const fv = from.v;
      const fw = from.w;
      const tw = to.w;
      for (let i = 0; i < d; i++) {
        tp[i] = fp[i]! + half * fg[i]!;
        const vh = fv[i]! + half * fw[i]!;
        tv[i] = vh;
        tq[i] = fq[i]! + eps * vh;
      }
      lp = this.model.logDensityGradient(tq, tg);
      this.denseVelocity(tg, tw);
      for (let i = 0; i < d; i++) {
        const pi = tp[i]! + half * tg[i]!;
        tp[i] = pi;
        const vi = tv[i]! + half * tw[i]!;
        tv[i] = vi;
        k += pi * vi;
      }
    }
    this.gradientEvaluations++;
    to.idx = from.idx + sign;
    to.lp = lp;
    const h = -lp + 0.5 * k;
    // NaN, +-Infinity (non-finite density or gradient) -> +Infinity: a divergence.
    to.h = h === h && h !== Infinity && h !== -Infinity ? h : Infinity;
  }

  /**
   * Checks of a merge of an inner part (beg .. initEnd, summed momentum rhoI) with an outer
   * part (finBeg .. end, rhoF), writes rhoI + rhoF into rhoOut (may alias rhoI) and returns
   * whether all three generalised no-U-turn criteria hold (Stan's persist_criterion).
   */
  private mergeCriterion(
    beg: Point,
    initEnd: Point,
    rhoI: Float64Array,
    finBeg: Point,
    end: Point,
    rhoF: Float64Array,
    rhoOut: Float64Array,
  ): boolean {
    const d = this.dim;
    const vb = beg.v;
    const ve = end.v;
    const vie = initEnd.v;
    const pie = initEnd.p;
    const vfb = finBeg.v;
    const pfb = finBeg.p;
    let a1 = 0;
    let a2 = 0;
    let b1 = 0;
    let b2 = 0;
    let c1 = 0;
    let c2 = 0;
    for (let i = 0; i < d; i++) {
      const ri = rhoI[i]!;
      const rf = rhoF[i]!;
      const r = ri + rf;
      rhoOut[i] = r;
      const vbi = vb[i]!;
      const vei = ve[i]!;
      a1 += vbi * r;
      a2 += vei * r;
      const rb = ri + pfb[i]!;
      b1 += vbi * rb;
      b2 += vfb[i]! * rb;
      const rc = rf + pie[i]!;
      c1 += vie[i]! * rc;
      c2 += vei * rc;
    }
    return a1 > 0 && a2 > 0 && b1 > 0 && b2 > 0 && c1 > 0 && c2 > 0;
  }

  /**
   * `mergeCriterion` for two single leaves (a subtree of depth 1, or the first doubling):
   * the seam sums rhoI + p(finBeg) and rhoF + p(initEnd) are then exactly rhoI + rhoF, so
   * the two extra checks repeat the main one and are skipped (same result, half the loads).
   */
  private mergeLeaves(a: Point, b: Point, rhoOut: Float64Array): boolean {
    const d = this.dim;
    const pa = a.p;
    const pb = b.p;
    const va = a.v;
    const vb = b.v;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < d; i++) {
      const r = pa[i]! + pb[i]!;
      rhoOut[i] = r;
      s1 += va[i]! * r;
      s2 += vb[i]! * r;
    }
    return s1 > 0 && s2 > 0;
  }

  /**
   * Builds a subtree of 2^depth leaves starting from `from` in direction `sign`. On
   * success the out-registers hold its first/last leaves, proposal (one reference each),
   * log weight and summed momentum; on failure (divergence or inner U-turn) it holds no
   * references.
   */
  private buildTree(depth: number, from: Point, sign: number, rhoBuf: Float64Array): boolean {
    if (depth === 0) {
      const pt = this.acquire();
      this.leapfrog(from, pt, sign);
      this.nLeapfrog++;
      const h = pt.h;
      const logW = this.h0 - h;
      this.sumMetroProb += logW > 0 ? 1 : Math.exp(logW);
      if (h - this.h0 > this.maxDeltaH) {
        this.divergent = true;
        // pt.rc is 0: put it straight back.
        this.free[this.freeTop++] = pt;
        return false;
      }
      pt.rc = 3;
      this.outFirst = pt;
      this.outLast = pt;
      this.outProp = pt;
      this.outLogW = logW;
      this.outRho = pt.p;
      return true;
    }

    const rhoInitBuf = this.rhoInit[depth]!;
    const rhoFinalBuf = this.rhoFinal[depth]!;
    if (!this.buildTree(depth - 1, from, sign, rhoInitBuf)) return false;
    const iFirst = this.outFirst;
    const iLast = this.outLast;
    const iProp = this.outProp;
    const iLogW = this.outLogW;
    const iRho = this.outRho;

    if (!this.buildTree(depth - 1, iLast, sign, rhoFinalBuf)) {
      this.release(iFirst);
      this.release(iLast);
      this.release(iProp);
      return false;
    }
    const fFirst = this.outFirst;
    const fLast = this.outLast;
    const fProp = this.outProp;
    const fLogW = this.outLogW;
    const fRho = this.outRho;

    // Balanced multinomial choice between the halves. (log-sum-exp written out: a
    // double returned from a call that is not inlined gets boxed.)
    let logW: number;
    if (iLogW === -Infinity) logW = fLogW;
    else if (iLogW > fLogW) logW = iLogW + Math.log1p(Math.exp(fLogW - iLogW));
    else logW = fLogW + Math.log1p(Math.exp(iLogW - fLogW));
    let prop: Point;
    if (fLogW > logW) {
      prop = fProp;
      this.release(iProp);
    } else if (this.rng.uniform() < Math.exp(fLogW - logW)) {
      prop = fProp;
      this.release(iProp);
    } else {
      prop = iProp;
      this.release(fProp);
    }

    const persist =
      depth === 1
        ? this.mergeLeaves(iFirst, fFirst, rhoBuf)
        : this.mergeCriterion(iFirst, iLast, iRho, fFirst, fLast, fRho, rhoBuf);
    this.release(iLast);
    this.release(fFirst);
    this.outFirst = iFirst;
    this.outLast = fLast;
    this.outProp = prop;
    this.outLogW = logW;
    this.outRho = rhoBuf;
    if (!persist) {
      this.release(iFirst);
      this.release(fLast);
      this.release(prop);
      return false;
    }
    return true;
  }

  /**
   * One NUTS transition from the kernel's current point with step size `eps`. Updates the
   * current point to the draw and fills `stats`.
   */
  transition(rng: Rng, eps: number, maxDepth: number, maxDeltaH: number, stats: TransitionStats): void {
    const d = this.dim;
    this.rng = rng;
    this.eps = eps;
    this.maxDeltaH = maxDeltaH;
    this.nLeapfrog = 0;
    this.sumMetroProb = 0;
    this.divergent = false;
    this.ensureDepth(maxDepth);
    this.resetPool();

    const z0 = this.acquire();
    {
      // Plain loops: TypedArray#set costs more than the copy itself for small d.
      const q = this.q;
      const g = this.g;
      const zq = z0.q;
      const zg = z0.g;
      for (let i = 0; i < d; i++) {
        zq[i] = q[i]!;
        zg[i] = g[i]!;
      }
    }
    z0.lp = this.lp;
    z0.idx = 0;
    if (this.dense) this.denseVelocity(z0.g, z0.w);
    this.sampleMomentum(z0, rng);
    z0.rc = 3;
    const h0 = z0.h;
    this.h0 = h0;
    let fwd = z0;
    let bck = z0;
    let sample = z0;
    const rhoTraj = this.rhoTraj;
    const p0 = z0.p;
    for (let i = 0; i < d; i++) rhoTraj[i] = p0[i]!;
    let logW = 0;
    let depth = 0;

    while (depth < maxDepth) {
      const forward = rng.uniform() > 0.5;
      const from = forward ? fwd : bck;
      const far = forward ? bck : fwd;
      if (!this.buildTree(depth, from, forward ? 1 : -1, this.rhoNew)) break;
      const nFirst = this.outFirst;
      const nLast = this.outLast;
      const nProp = this.outProp;
      const nLogW = this.outLogW;
      const nRho = this.outRho;
      depth++;

      // Biased progressive sampling between the old trajectory and the new subtree.
      if (nLogW > logW || rng.uniform() < Math.exp(nLogW - logW)) {
        this.release(sample);
        sample = nProp;
      } else {
        this.release(nProp);
      }
      logW = logW > nLogW ? logW + Math.log1p(Math.exp(nLogW - logW)) : nLogW + Math.log1p(Math.exp(logW - nLogW));

      const persist =
        depth === 1
          ? this.mergeLeaves(z0, nFirst, rhoTraj)
          : this.mergeCriterion(far, from, rhoTraj, nFirst, nLast, nRho, rhoTraj);
      this.release(nFirst);
      if (forward) {
        this.release(fwd);
        fwd = nLast;
      } else {
        this.release(bck);
        bck = nLast;
      }
      if (!persist) break;
    }

    {
      const q = this.q;
      const g = this.g;
      const sq = sample.q;
      const sg = sample.g;
      for (let i = 0; i < d; i++) {
        q[i] = sq[i]!;
        g[i] = sg[i]!;
      }
    }
    this.lp = sample.lp;
    this.lastDrawIndex = sample.idx;
    stats.lp = sample.lp;
    stats.stepSize = eps;
    stats.treeDepth = depth;
    stats.nLeapfrog = this.nLeapfrog;
    stats.divergent = this.divergent;
    stats.energy = sample.h;
    stats.acceptStat = this.sumMetroProb / this.nLeapfrog;
  }

  /**
   * Stan's `init_stepsize` heuristic: from the current point, double or halve `eps` until
   * the acceptance probability of a single leapfrog step crosses 0.8. Returns the new
   * step size; the current point is unchanged.
   */
  findStepSize(rng: Rng, eps: number): number {
    if (this.dim === 0) return NaN;
    if (eps === 0 || eps > 1e7 || Number.isNaN(eps)) return eps;
    this.resetPool();
    const z = this.acquire();
    const next = this.acquire();
    z.q.set(this.q);
    z.g.set(this.g);
    z.lp = this.lp;
    z.idx = 0;
    if (this.dense) this.denseVelocity(z.g, z.w);
    const log08 = Math.log(0.8);

    this.eps = eps;
    this.sampleMomentum(z, rng);
    this.leapfrog(z, next, 1);
    let deltaH = z.h - next.h;
    const direction = deltaH > log08 ? 1 : -1;
    for (;;) {
      this.eps = eps;
      this.sampleMomentum(z, rng);
      this.leapfrog(z, next, 1);
      deltaH = z.h - next.h;
      if (direction === 1 && !(deltaH > log08)) break;
      if (direction === -1 && !(deltaH < log08)) break;
      eps = direction === 1 ? 2 * eps : 0.5 * eps;
      if (eps > 1e7) throw new Error("Posterior is improper. Please check your model.");
      if (eps === 0) {
        throw new Error(
          "No acceptably small step size could be found. Perhaps the posterior is not continuous?",
        );
      }
    }
    return eps;
  }
}

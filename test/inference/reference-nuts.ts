/**
 * A deliberately plain NUTS transition (diagonal metric) that follows the structure of
 * Stan's base_nuts.hpp literally: every point and momentum is a fresh copy, the
 * recursion passes p / p_sharp / rho vectors by reference exactly as Stan's build_tree
 * does. It uses the same arithmetic and the same order of random draws as the optimised
 * kernel, so the two must agree bit for bit; any bookkeeping slip in the pointer-based
 * kernel (wrong end extended, wrong merge rule, missing seam check, capped weights) shows.
 */
import type { LogDensity } from "../../src/compile/types.js";
import type { Rng } from "../../src/rng/index.js";

interface PS {
  q: Float64Array;
  p: Float64Array;
  g: Float64Array;
  lp: number;
}

function copyPS(z: PS): PS {
  return { q: Float64Array.from(z.q), p: Float64Array.from(z.p), g: Float64Array.from(z.g), lp: z.lp };
}

function assignPS(to: PS, from: PS): void {
  to.q.set(from.q);
  to.p.set(from.p);
  to.g.set(from.g);
  to.lp = from.lp;
}

function logSumExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (a === Infinity && b === Infinity) return Infinity;
  if (a > b) return a + Math.log1p(Math.exp(b - a));
  return b + Math.log1p(Math.exp(a - b));
}

export interface RefStats {
  treeDepth: number;
  nLeapfrog: number;
  divergent: boolean;
  energy: number;
  acceptStat: number;
  lp: number;
}

export class ReferenceNuts {
  private z!: PS;
  private eps = 0;
  private nLeapfrog = 0;
  private sumMetroProb = 0;
  private divergent = false;
  private readonly sqrtMass: Float64Array;

  constructor(
    private readonly model: LogDensity,
    private readonly invMetric: Float64Array,
    private readonly rng: Rng,
    private readonly maxDepth = 10,
    private readonly maxDeltaH = 1000,
  ) {
    this.sqrtMass = Float64Array.from(invMetric, (m) => 1 / Math.sqrt(m));
  }

  private kinetic(p: Float64Array): number {
    let k = 0;
    for (let i = 0; i < p.length; i++) {
      const vi = this.invMetric[i]! * p[i]!;
      k += p[i]! * vi;
    }
    return k;
  }

  private H(z: PS): number {
    const h = -z.lp + 0.5 * this.kinetic(z.p);
    return Number.isFinite(h) ? h : Infinity;
  }

  private sharp(p: Float64Array): Float64Array {
    return Float64Array.from(p, (pi, i) => this.invMetric[i]! * pi);
  }

  private evolve(z: PS, eps: number): void {
    const half = 0.5 * eps;
    const d = z.q.length;
    for (let i = 0; i < d; i++) {
      const ph = z.p[i]! + half * z.g[i]!;
      z.p[i] = ph;
      z.q[i] = z.q[i]! + eps * this.invMetric[i]! * ph;
    }
    z.lp = this.model.logDensityGradient(z.q, z.g);
    for (let i = 0; i < d; i++) z.p[i] = z.p[i]! + half * z.g[i]!;
  }

  private static criterion(pSharpMinus: Float64Array, pSharpPlus: Float64Array, rho: Float64Array): boolean {
    let a = 0;
    let b = 0;
    for (let i = 0; i < rho.length; i++) {
      a += pSharpMinus[i]! * rho[i]!;
      b += pSharpPlus[i]! * rho[i]!;
    }
    return b > 0 && a > 0;
  }

  private static sum(a: Float64Array, b: Float64Array): Float64Array {
    return Float64Array.from(a, (x, i) => x + b[i]!);
  }

  transition(q: Float64Array, g: Float64Array, lp: number, eps: number): RefStats {
    const d = q.length;
    this.eps = eps;
    const p = new Float64Array(d);
    for (let i = 0; i < d; i++) p[i] = this.rng.normal() * this.sqrtMass[i]!;
    this.z = { q: Float64Array.from(q), p, g: Float64Array.from(g), lp };

    const zFwd = copyPS(this.z);
    const zBck = copyPS(this.z);
    const zSample = copyPS(this.z);
    const zPropose = copyPS(this.z);

    let pFwdFwd = Float64Array.from(this.z.p);
    let pSharpFwdFwd = this.sharp(this.z.p);
    let pFwdBck = Float64Array.from(this.z.p);
    let pSharpFwdBck = Float64Array.from(pSharpFwdFwd);
    let pBckFwd = Float64Array.from(this.z.p);
    let pSharpBckFwd = Float64Array.from(pSharpFwdFwd);
    let pBckBck = Float64Array.from(this.z.p);
    let pSharpBckBck = Float64Array.from(pSharpFwdFwd);
    let rho: Float64Array = Float64Array.from(this.z.p);
    let logSumWeight = 0;
    const H0 = this.H(this.z);
    let sampleH = H0;
    this.nLeapfrog = 0;
    this.sumMetroProb = 0;
    this.divergent = false;
    let depth = 0;

    while (depth < this.maxDepth) {
      let rhoFwd = new Float64Array(d);
      let rhoBck = new Float64Array(d);
      let valid: boolean;
      const lswSub = { v: -Infinity };
      const propH = { v: 0 };
      if (this.rng.uniform() > 0.5) {
        assignPS(this.z, zFwd);
        rhoBck = Float64Array.from(rho);
        pBckFwd = Float64Array.from(pFwdFwd);
        pSharpBckFwd = Float64Array.from(pSharpFwdFwd);
        const r = { pSharpBeg: pSharpFwdBck, pSharpEnd: pSharpFwdFwd, rho: rhoFwd, pBeg: pFwdBck, pEnd: pFwdFwd };
        valid = this.buildTree(depth, zPropose, propH, r, H0, 1, lswSub);
        ({ pSharpBeg: pSharpFwdBck, pSharpEnd: pSharpFwdFwd, rho: rhoFwd, pBeg: pFwdBck, pEnd: pFwdFwd } = r);
        assignPS(zFwd, this.z);
      } else {
        assignPS(this.z, zBck);
        rhoFwd = Float64Array.from(rho);
        pFwdBck = Float64Array.from(pBckBck);
        pSharpFwdBck = Float64Array.from(pSharpBckBck);
        const r = { pSharpBeg: pSharpBckFwd, pSharpEnd: pSharpBckBck, rho: rhoBck, pBeg: pBckFwd, pEnd: pBckBck };
        valid = this.buildTree(depth, zPropose, propH, r, H0, -1, lswSub);
        ({ pSharpBeg: pSharpBckFwd, pSharpEnd: pSharpBckBck, rho: rhoBck, pBeg: pBckFwd, pEnd: pBckBck } = r);
        assignPS(zBck, this.z);
      }
      if (!valid) break;
      depth++;
      if (lswSub.v > logSumWeight) {
        assignPS(zSample, zPropose);
        sampleH = propH.v;
      } else {
        const acc = Math.exp(lswSub.v - logSumWeight);
        if (this.rng.uniform() < acc) {
          assignPS(zSample, zPropose);
          sampleH = propH.v;
        }
      }
      logSumWeight = logSumExp(logSumWeight, lswSub.v);
      rho = ReferenceNuts.sum(rhoBck, rhoFwd);
      let persist = ReferenceNuts.criterion(pSharpBckBck, pSharpFwdFwd, rho);
      let rhoExt = ReferenceNuts.sum(rhoBck, pFwdBck);
      persist = ReferenceNuts.criterion(pSharpBckBck, pSharpFwdBck, rhoExt) && persist;
      rhoExt = ReferenceNuts.sum(rhoFwd, pBckFwd);
      persist = ReferenceNuts.criterion(pSharpBckFwd, pSharpFwdFwd, rhoExt) && persist;
      if (!persist) break;
    }
    q.set(zSample.q);
    g.set(zSample.g);
    return {
      treeDepth: depth,
      nLeapfrog: this.nLeapfrog,
      divergent: this.divergent,
      energy: sampleH,
      acceptStat: this.sumMetroProb / this.nLeapfrog,
      lp: zSample.lp,
    };
  }

  /** Stan's build_tree; `r` carries the by-reference vectors in and out. */
  private buildTree(
    depth: number,
    zPropose: PS,
    propH: { v: number },
    r: { pSharpBeg: Float64Array; pSharpEnd: Float64Array; rho: Float64Array; pBeg: Float64Array; pEnd: Float64Array },
    H0: number,
    sign: number,
    logSumWeight: { v: number },
  ): boolean {
    if (depth === 0) {
      this.evolve(this.z, sign * this.eps);
      this.nLeapfrog++;
      const h = this.H(this.z);
      if (h - H0 > this.maxDeltaH) this.divergent = true;
      logSumWeight.v = logSumExp(logSumWeight.v, H0 - h);
      if (H0 - h > 0) this.sumMetroProb += 1;
      else this.sumMetroProb += Math.exp(H0 - h);
      assignPS(zPropose, this.z);
      propH.v = h;
      r.pSharpBeg = this.sharp(this.z.p);
      r.pSharpEnd = Float64Array.from(r.pSharpBeg);
      r.rho = ReferenceNuts.sum(r.rho, this.z.p);
      r.pBeg = Float64Array.from(this.z.p);
      r.pEnd = Float64Array.from(r.pBeg);
      return !this.divergent;
    }
    const d = this.z.q.length;
    const lswInit = { v: -Infinity };
    const rInit = { pSharpBeg: r.pSharpBeg, pSharpEnd: new Float64Array(d), rho: new Float64Array(d), pBeg: r.pBeg, pEnd: new Float64Array(d) };
    const validInit = this.buildTree(depth - 1, zPropose, propH, rInit, H0, sign, lswInit);
    r.pSharpBeg = rInit.pSharpBeg;
    r.pBeg = rInit.pBeg;
    const pInitEnd = rInit.pEnd;
    const pSharpInitEnd = rInit.pSharpEnd;
    const rhoInit = rInit.rho;
    if (!validInit) return false;

    const zProposeFinal = copyPS(this.z);
    const propHFinal = { v: 0 };
    const lswFinal = { v: -Infinity };
    const rFinal = { pSharpBeg: new Float64Array(d), pSharpEnd: r.pSharpEnd, rho: new Float64Array(d), pBeg: new Float64Array(d), pEnd: r.pEnd };
    const validFinal = this.buildTree(depth - 1, zProposeFinal, propHFinal, rFinal, H0, sign, lswFinal);
    r.pSharpEnd = rFinal.pSharpEnd;
    r.pEnd = rFinal.pEnd;
    const pFinalBeg = rFinal.pBeg;
    const pSharpFinalBeg = rFinal.pSharpBeg;
    const rhoFinal = rFinal.rho;
    if (!validFinal) return false;

    const lswSubtree = logSumExp(lswInit.v, lswFinal.v);
    logSumWeight.v = logSumExp(logSumWeight.v, lswSubtree);
    if (lswFinal.v > lswSubtree) {
      assignPS(zPropose, zProposeFinal);
      propH.v = propHFinal.v;
    } else {
      const acc = Math.exp(lswFinal.v - lswSubtree);
      if (this.rng.uniform() < acc) {
        assignPS(zPropose, zProposeFinal);
        propH.v = propHFinal.v;
      }
    }
    const rhoSubtree = ReferenceNuts.sum(rhoInit, rhoFinal);
    r.rho = ReferenceNuts.sum(r.rho, rhoSubtree);
    let persist = ReferenceNuts.criterion(r.pSharpBeg, r.pSharpEnd, rhoSubtree);
    let rhoExt = ReferenceNuts.sum(rhoInit, pFinalBeg);
    persist = ReferenceNuts.criterion(r.pSharpBeg, pSharpFinalBeg, rhoExt) && persist;
    rhoExt = ReferenceNuts.sum(rhoFinal, pInitEnd);
    persist = ReferenceNuts.criterion(pSharpInitEnd, r.pSharpEnd, rhoExt) && persist;
    return persist;
  }
}

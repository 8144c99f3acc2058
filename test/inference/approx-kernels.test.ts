/**
 * The approximation kernels without threads: L-BFGS, Pathfinder's normal approximations,
 * ADVI, SMC's tempering, resampling and proposal, and the prior sampler, on targets with
 * known answers. Fixed seeds; statistical checks in units of their standard errors.
 */
import { describe, expect, it } from "vitest";
import { compile, instantiate } from "../../src/compile/compile.js";
import { compileLikelihood, priorSampler } from "../../src/compile/prior.js";
import type { LogDensity } from "../../src/compile/types.js";
import { adviDraws, adviEtaTrial, adviIterate, adviStart, chooseEta, initAdvi, ADVI_DEFAULTS } from "../../src/inference/advi.js";
import { lbfgsInit, lbfgsStep, type LbfgsCode } from "../../src/inference/lbfgs.js";
import { drawApproximation, initPathfinder, pathfinderDraws, pathfinderIterate, taylorApproximation, PATHFINDER_DEFAULTS } from "../../src/inference/pathfinder.js";
import { fitProposal, proposalLogDensity, stepsFromAcceptance, systematicResample, temper, tempered, SMC_DEFAULTS } from "../../src/inference/smc.js";
import { dist, model, ModelError, mul, square } from "../../src/model/index.js";
import { Rng, rngStateFromSeed } from "../../src/rng/index.js";
import { makeModel } from "./models.js";

/** N(mu, Sigma) with Sigma = A A' for a fixed lower-triangular A (so the answer is known). */
function gaussian(mu: readonly number[], a: readonly (readonly number[])[]): { model: LogDensity; cov: number[][] } {
  const d = mu.length;
  const cov = mu.map((_, i) => mu.map((_, j) => a[i]!.reduce((s, v, k) => s + v * (a[j]![k] ?? 0), 0)));
  // Precision by inverting A (lower-triangular): P = A^-T A^-1.
  const inv = mu.map(() => new Array<number>(d).fill(0));
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < d; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= a[i]![k]! * inv[k]![c]!;
      inv[i]![c] = s / a[i]![i]!;
    }
  }
  const prec = mu.map((_, i) => mu.map((_, j) => inv.reduce((s, row) => s + row[i]! * row[j]!, 0)));
  const model = makeModel({
    dim: d,
    logDensityGradient(q, g) {
      let lp = 0;
      for (let i = 0; i < d; i++) {
        let pg = 0;
        for (let j = 0; j < d; j++) pg += prec[i]![j]! * (q[j]! - mu[j]!);
        g[i] = -pg;
        lp -= 0.5 * (q[i]! - mu[i]!) * pg;
      }
      return lp;
    },
  });
  return { model, cov };
}

const A3 = [
  [1, 0, 0],
  [0.8, 0.6, 0],
  [-1.5, 0.5, 2],
];
const MU3 = [1, -2, 3];

describe("L-BFGS (Stan's)", () => {
  it("finds the Rosenbrock minimum from Stan's test start", () => {
    const f = (x: Float64Array, g: Float64Array) => {
      const [a, b] = [x[0]!, x[1]!];
      g[0] = -400 * a * (b - a * a) - 2 * (1 - a);
      g[1] = 200 * (b - a * a);
      return 100 * (b - a * a) ** 2 + (1 - a) ** 2;
    };
    const s = lbfgsInit(f, [-1.2, 1]);
    const settings = { ...PATHFINDER_DEFAULTS, tolRelGrad: 1e3 };
    let code: LbfgsCode = 0;
    while (code === 0) code = lbfgsStep(f, s, settings);
    expect(code).toBeGreaterThan(0);
    expect(s.x[0]).toBeCloseTo(1, 5);
    expect(s.x[1]).toBeCloseTo(1, 5);
    expect(s.f).toBeLessThan(1e-10);
  });
});

describe("Pathfinder", () => {
  const { model: g3, cov } = gaussian(MU3, A3);

  it("on a Gaussian: the best approximation is the Gaussian (mean and covariance of its draws within 4 standard errors)", () => {
    let s = initPathfinder(g3, PATHFINDER_DEFAULTS, 11, 0);
    s = pathfinderIterate(g3, s, PATHFINDER_DEFAULTS);
    const r = pathfinderDraws(g3, s, PATHFINDER_DEFAULTS);
    expect(r.count).toBe(1000);
    const n = r.count;
    for (let i = 0; i < 3; i++) {
      let m = 0;
      for (let k = 0; k < n; k++) m += r.draws[k * 3 + i]! / n;
      expect(Math.abs(m - MU3[i]!)).toBeLessThan(4 * Math.sqrt(cov[i]![i]! / n));
      for (let j = 0; j <= i; j++) {
        let c = 0;
        for (let k = 0; k < n; k++) c += (r.draws[k * 3 + i]! - MU3[i]!) * (r.draws[k * 3 + j]! - MU3[j]!) / n;
        // Var of a sample covariance of normals: (S_ij^2 + S_ii S_jj) / n.
        const se = Math.sqrt((cov[i]![j]! ** 2 + cov[i]![i]! * cov[j]![j]!) / n);
        expect(Math.abs(c - cov[i]![j]!), `cov[${i}][${j}]`).toBeLessThan(4 * se);
      }
    }
    // The importance ratios are nearly constant: lp - lpApprox is about log Z, the ELBO just below
    // it (the gap is the KL divergence of the approximation, plus the noise of 25 draws).
    const logZ = 0.5 * 3 * Math.log(2 * Math.PI) + Math.log(1 * 0.6 * 2);
    const ratios = Array.from(r.lp, (v, k) => v - r.lpApprox[k]!);
    const meanRatio = ratios.reduce((a, b) => a + b, 0) / n;
    expect(Math.sqrt(ratios.reduce((a, b) => a + (b - meanRatio) ** 2, 0) / n)).toBeLessThan(0.2);
    expect(Math.abs(logZ - meanRatio)).toBeLessThan(0.02);
  });

  it("runs in chunks with the same result, bit for bit", () => {
    const whole = pathfinderIterate(g3, initPathfinder(g3, PATHFINDER_DEFAULTS, 5, 1), PATHFINDER_DEFAULTS);
    let s = initPathfinder(g3, PATHFINDER_DEFAULTS, 5, 1);
    while (!s.done) s = structuredClone(pathfinderIterate(g3, s, PATHFINDER_DEFAULTS, 2));
    const a = pathfinderDraws(g3, whole, PATHFINDER_DEFAULTS);
    const b = pathfinderDraws(g3, s, PATHFINDER_DEFAULTS);
    expect(Array.from(b.draws)).toEqual(Array.from(a.draws));
    expect(b.gradientEvaluations).toBe(a.gradientEvaluations);
  });

  it("the low-rank (QR) form and the dense form are the same normal", () => {
    const rng = Rng.fromSeed(3);
    const d = 9;
    const m = 3;
    const ys: Float64Array[] = [];
    const ss: Float64Array[] = [];
    for (let j = 0; j < m; j++) {
      const s = Float64Array.from({ length: d }, () => rng.normal());
      ss.push(s);
      ys.push(Float64Array.from(s, (v, i) => v * (1 + i) + 0.1 * rng.normal()));
    }
    const alpha = Float64Array.from({ length: d }, () => 0.5 + rng.uniform());
    const x = Float64Array.from({ length: d }, () => rng.normal());
    const g = Float64Array.from({ length: d }, () => rng.normal());
    const sparse = taylorApproximation(ys, ss, alpha, x, g)!;
    expect(sparse.kind).toBe("sparse");
    // The dense form from a padded history cannot be asked for directly; compare through draws'
    // exact covariance: draw with unit vectors u = e_k, which gives columns of the factor.
    const factor = (approx: typeof sparse) => {
      const cols: number[][] = [];
      for (let k = 0; k < d; k++) {
        const u = new Float64Array(d);
        u[k] = 1;
        const out = new Float64Array(d);
        const lq = new Float64Array(1);
        const fake = { fillNormal: (z: Float64Array) => z.set(u) } as unknown as Rng;
        drawApproximation(approx, fake, 1, out, lq);
        cols.push(Array.from(out, (v, i) => v - approx.center[i]!));
      }
      return cols;
    };
    const f = factor(sparse);
    const h = f.map((_, i) => f.map((_, j) => f.reduce((s, col) => s + col[i]! * col[j]!, 0)));
    // H from the compact L-BFGS form, computed independently.
    const r = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = i; j < m; j++) r[i * m + j] = ss[i]!.reduce((s, v, k) => s + v * ys[j]![k]!, 0);
    const n = ss.map(() => new Float64Array(d));
    for (let c = 0; c < d; c++) {
      for (let i = m - 1; i >= 0; i--) {
        let v = -ss[i]![c]!;
        for (let j = i + 1; j < m; j++) v -= r[i * m + j]! * n[j]![c]!;
        n[i]![c] = v / r[i * m + i]!;
      }
    }
    const t = ys.map((yi, i) => ys.map((yj, j) => yi.reduce((s, v, k) => s + v * alpha[k]! * yj[k]!, 0) + (i === j ? r[i * m + i]! : 0)));
    let worst = 0;
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        let v = a === b ? alpha[a]! : 0;
        for (let i = 0; i < m; i++) {
          v += alpha[a]! * ys[i]![a]! * n[i]![b]! + n[i]![a]! * alpha[b]! * ys[i]![b]!;
          for (let j = 0; j < m; j++) v += n[i]![a]! * t[i]![j]! * n[j]![b]!;
        }
        worst = Math.max(worst, Math.abs(v - h[a]![b]!));
      }
    }
    expect(worst).toBeLessThan(1e-12);
  });
});

describe("ADVI (Stan's)", () => {
  const { model: g3, cov } = gaussian(MU3, A3);
  // Stan's convergence test (relative ELBO change below 1%) means little for an ELBO near 0, and
  // its eta search may pick 100: with eta 1 and 10000 iterations the fit is checked itself.
  for (const family of ["meanfield", "fullrank"] as const) {
    it(`${family}, eta 1, on a Gaussian: means within a tenth of a standard deviation`, () => {
      const settings = { ...ADVI_DEFAULTS, family, adaptEngaged: false, eta: 1 };
      const start = adviStart(g3, settings, Rng.fromSeed(2));
      const s = adviIterate(g3, initAdvi(settings, start.init, 1, rngStateFromSeed(2, 1)), settings);
      expect(s.phase).toBe("done");
      const r = adviDraws(g3, s, settings);
      for (let i = 0; i < 3; i++) expect(Math.abs(r.mean[i]! - MU3[i]!)).toBeLessThan(0.1 * Math.sqrt(cov[i]![i]!));
      if (family === "fullrank") {
        // Full rank recovers the correlation of x1 and x2 (0.8).
        const n = r.count;
        const m = [0, 1].map((i) => Array.from({ length: n }, (_, k) => r.draws[k * 3 + i]!).reduce((a, b) => a + b, 0) / n);
        let sxy = 0;
        let sxx = 0;
        let syy = 0;
        for (let k = 0; k < n; k++) {
          const [x, y] = [r.draws[k * 3]! - m[0]!, r.draws[k * 3 + 1]! - m[1]!];
          sxy += x * y;
          sxx += x * x;
          syy += y * y;
        }
        expect(sxy / Math.sqrt(sxx * syy)).toBeGreaterThan(0.7);
      }
    });
  }

  it("the eta search: Stan's rule on the trials' ELBOs in order", () => {
    // Stops at the first ELBO worse than its predecessor's (once that beat the initial one).
    expect(chooseEta(-100, [-50, -40, -45])).toBe(10);
    expect(chooseEta(-100, [-50, -40])).toBeNull();
    // A first trial worse than the initial ELBO does not stop the search.
    expect(chooseEta(-100, [-200, -300, -90])).toBeNull();
    expect(chooseEta(-100, [-200, -300, -90, -80, -85])).toBe(0.1);
    // The last eta is kept if it beats the initial ELBO; if not, ADVI fails.
    expect(chooseEta(-100, [-200, -190, -180, -170, -99])).toBe(0.01);
    expect(() => chooseEta(-100, [-200, -190, -180, -170, -160])).toThrow(/every step size/);
    // A trial runs its 50 steps from the initial point.
    const settings = ADVI_DEFAULTS;
    const t = adviEtaTrial(g3, settings, new Float64Array(3), 1, Rng.fromSeed(1));
    expect(t.gradientEvaluations).toBe(settings.adaptIterations);
    expect(t.densityEvaluations).toBe(settings.elboSamples);
    expect(Number.isFinite(t.elbo)).toBe(true);
  });

  it("runs in chunks with the same result, bit for bit", () => {
    const settings = { ...ADVI_DEFAULTS, maxIterations: 600 };
    const first = initAdvi(settings, Float64Array.of(0.5, -0.5, 1), 1, rngStateFromSeed(4));
    const whole = adviIterate(g3, first, settings);
    let s = first;
    while (s.phase !== "done") s = structuredClone(adviIterate(g3, s, settings, 37));
    expect(Array.from(s.params)).toEqual(Array.from(whole.params));
    expect(s.gradientEvaluations).toBe(whole.gradientEvaluations);
  });

  it("fails as Stan's does when no ELBO can be computed", () => {
    const broken = makeModel({ dim: 2, logDensityGradient: (_q, g) => (g.fill(0), -Infinity) });
    expect(() => adviStart(broken, ADVI_DEFAULTS, Rng.fromSeed(1), new Float64Array(2))).toThrow(/ELBO/);
  });
});

describe("SMC kernels (PyMC's)", () => {
  it("temper: the weights at the new beta have the target ESS", () => {
    const rng = Rng.fromSeed(7);
    const ll = Float64Array.from({ length: 1000 }, () => -50 + 10 * rng.normal());
    const t = temper(ll, 0, 0.5);
    expect(t.beta).toBeGreaterThan(0);
    expect(t.beta).toBeLessThan(1);
    expect(Math.trunc(t.ess)).toBe(500);
    expect(t.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // log mean of exp(beta ll)
    const lme = Math.log(ll.reduce((s, v) => s + Math.exp(t.beta * v), 0) / ll.length);
    expect(t.logEvidenceIncrement).toBeCloseTo(lme, 10);
    // A flat likelihood goes straight to beta = 1.
    expect(temper(new Float64Array(10).fill(-3), 0, 0.5).beta).toBe(1);
  });

  it("systematic resampling keeps each particle floor or ceiling of n w_i times", () => {
    const w = Float64Array.from([0.1, 0.25, 0.05, 0.3, 0.3]);
    for (const u of [0, 0.37, 0.999]) {
      const idx = systematicResample(w, u);
      const counts = [0, 0, 0, 0, 0];
      for (const i of idx) counts[i]!++;
      counts.forEach((c, i) => {
        expect(c).toBeGreaterThanOrEqual(Math.floor(5 * w[i]! + 1e-12));
        expect(c).toBeLessThanOrEqual(Math.ceil(5 * w[i]! - 1e-12));
      });
    }
  });

  it("the proposal is the particles' mean and covariance (+1e-6), with a normalised density", () => {
    const pos = Float64Array.from([0, 0, 2, 0, 0, 2, 2, 2]);
    const p = fitProposal(pos, 4, 2);
    expect(Array.from(p.mean)).toEqual([1, 1]);
    expect(p.cov[0]).toBeCloseTo(1 + 1e-6, 12);
    expect(p.cov[1]).toBeCloseTo(0, 12);
    expect(proposalLogDensity(p, [1, 1], new Float64Array(2))).toBeCloseTo(-Math.log(2 * Math.PI) - Math.log(1 + 1e-6), 10);
  });

  it("steps are tuned from acceptance; the tempered density is prior + beta x likelihood", () => {
    expect(stepsFromAcceptance(0.5, SMC_DEFAULTS)).toBe(7);
    expect(stepsFromAcceptance(0.99, SMC_DEFAULTS)).toBe(SMC_DEFAULTS.minSteps);
    expect(stepsFromAcceptance(0.01, SMC_DEFAULTS)).toBe(SMC_DEFAULTS.maxSteps);
    expect(tempered(-10, -6, 0.5)).toBe(-7);
    expect(tempered(-10, -Infinity, 0.5)).toBe(-Infinity);
    expect(tempered(-10, -Infinity, 1)).toBe(-10);
  });
});

describe("prior sampler and likelihood split", () => {
  const m = model("hier", (b) => {
    const mu = b.param("mu", dist.normal(1, 2));
    const tau = b.param("tau", dist.cauchy(0, 1), { lower: 0 });
    const theta = b.param("theta", dist.normal(mu, tau), { shape: [3] });
    b.param("w", { shape: [3], constraint: "simplex" });
    b.param("o", dist.normal(0, 1), { shape: [2], constraint: "ordered" });
    const u = b.param("u", { lower: -1, upper: 3 });
    b.observe("y", dist.normal(theta, 1), [0.5, 1, 2]);
    b.potential("pull", mul(-0.5, square(u)));
  });

  it("draws from the prior: moments in units of their standard errors", () => {
    const ps = priorSampler(m);
    const full = compile(m);
    const rng = Rng.fromSeed(9);
    const n = 4000;
    const q = new Float64Array(m.dim);
    const sums: Record<string, number[]> = { mu: [], tau: [], w1: [], o1: [], o2: [], u: [] };
    for (let i = 0; i < n; i++) {
      ps.draw(rng, q);
      const c = full.constrain(q);
      sums.mu!.push(c.mu!.values[0]!);
      sums.tau!.push(c.tau!.values[0]!);
      sums.w1!.push(c.w!.values[0]!);
      sums.o1!.push(c.o!.values[0]!);
      sums.o2!.push(c.o!.values[1]!);
      sums.u!.push(c.u!.values[0]!);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const z = (xs: number[], m: number, sd: number) => (mean(xs) - m) / (sd / Math.sqrt(xs.length));
    expect(Math.abs(z(sums.mu!, 1, 2))).toBeLessThan(4);
    // Half-Cauchy: median 1.
    expect(Math.abs(sums.tau!.filter((t) => t < 1).length / n - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / n));
    // Uniform simplex of 3: first entry Beta(1, 2), mean 1/3, sd sqrt(2/36 * 1/... ) = sqrt(1/18).
    expect(Math.abs(z(sums.w1!, 1 / 3, Math.sqrt(1 / 18)))).toBeLessThan(4);
    // Ordered pair of iid normals: the minimum and maximum, means -/+ 1/sqrt(pi), sd sqrt(1 - 1/pi).
    expect(Math.abs(z(sums.o1!, -1 / Math.sqrt(Math.PI), Math.sqrt(1 - 1 / Math.PI)))).toBeLessThan(4);
    expect(Math.abs(z(sums.o2!, 1 / Math.sqrt(Math.PI), Math.sqrt(1 - 1 / Math.PI)))).toBeLessThan(4);
    expect(Math.abs(z(sums.u!, 1, 4 / Math.sqrt(12)))).toBeLessThan(4);
  });

  it("the likelihood part is the observed nodes plus potentials", () => {
    const lik = instantiate(compileLikelihood(m));
    const full = compile(m);
    const q = full.unconstrain({ mu: 0, tau: 1, theta: [0, 1, 2], w: [0.2, 0.3, 0.5], o: [-1, 1], u: 0 });
    const ll = [0.5, 1, 2].reduce((s, y, i) => s - 0.5 * (y - i) ** 2 - 0.5 * Math.log(2 * Math.PI), 0) - 0.5 * 0 ** 2;
    expect(lik.logDensity(q)).toBeCloseTo(ll, 12);
  });

  it("rejects an improper prior with a ModelError naming the parameter", () => {
    const flat = model("flat", (b) => {
      const beta = b.param("beta");
      b.observe("y", dist.normal(beta, 1), [1, 2]);
    });
    expect(() => priorSampler(flat)).toThrow(ModelError);
    expect(() => priorSampler(flat)).toThrow(/parameter beta/);
  });
});

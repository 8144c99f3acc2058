/**
 * `npm run sbc`: simulation-based calibration (Talts, Betancourt, Simpson, Vehtari, Gelman 2018)
 * of the sampler on the likelihoods of issue 10. For each model and replicate r: draw the
 * parameters and a data set from the prior predictive (`priorPredictive`, seed r), fit the
 * model to that data set (`sampleSync`, 2 chains x 500 warmup + 500 draws), thin to 100
 * posterior draws, and take the rank of the true value among them (0..100). If the posterior
 * is right, every parameter's ranks are uniform. Reported per parameter: the chi-square
 * statistic of the ranks in 10 bins (9 degrees of freedom) and its p-value, the largest gap
 * between the ranks' empirical CDF and the uniform one, and divergences.
 * The last line is `sbc: N/M parameters uniform at the 1% level (Bonferroni)`.
 *
 *   node dist/test/validate/sbc.js [--replicates 200] [--models a,b] [--seed 1]
 */
import { parseArgs } from "node:util";
import { sampleSync } from "../../src/api/sample-sync.js";
import { priorPredictive } from "../../src/api/predictive.js";
import { compile } from "../../src/compile/compile.js";
import { dist, exp, model, stack, sub, type Model } from "../../src/model/index.js";
import { logGammaQ } from "../../src/model/special-cdf.js";

interface SbcModel {
  /** The model for a data set (the prior draw uses `dummy`, whose values do not matter). */
  make(y: readonly number[]): Model;
  dummy: number[];
}

const n = (k: number, v: number) => Array.from({ length: k }, () => v);
const MODELS: Record<string, SbcModel> = {
  normal: {
    make: (y) =>
      model("sbc_normal", (b) => {
        const mu = b.param("mu", dist.normal(0, 1));
        const sigma = b.param("sigma", dist.halfNormal(1));
        b.observe("y", dist.normal(mu, sigma), y);
      }),
    dummy: n(10, 0),
  },
  censored_weibull: {
    make: (y) =>
      model("sbc_censored_weibull", (b) => {
        const alpha = b.param("alpha", dist.logNormal(0, 0.3));
        const logScale = b.param("log_scale", dist.normal(0, 0.5));
        b.observe("t", dist.censored(dist.weibull(alpha, exp(logScale)), { upper: 1.5 }), y);
      }),
    dummy: n(20, 1),
  },
  truncated_normal: {
    make: (y) =>
      model("sbc_truncated_normal", (b) => {
        const mu = b.param("mu", dist.normal(0, 1));
        const sigma = b.param("sigma", dist.logNormal(0, 0.5));
        b.observe("y", dist.truncated(dist.normal(mu, sigma), { lower: -1, upper: 2 }), y);
      }),
    dummy: n(15, 0),
  },
  mixture: {
    make: (y) =>
      model("sbc_mixture", (b) => {
        const mu = b.param("mu", dist.normal(0, 2), { shape: [2], constraint: "ordered" });
        const theta = b.param("theta", dist.beta(3, 3));
        b.observe("y", dist.normalMixture(stack([theta, sub(1, theta)]), mu, 1), y);
      }),
    dummy: n(30, 0),
  },
};

const { values } = parseArgs({
  options: { replicates: { type: "string", default: "200" }, models: { type: "string" }, seed: { type: "string", default: "1" } },
});
const replicates = Number(values.replicates);
const baseSeed = Number(values.seed);
const chosen = values.models ? values.models.split(",") : Object.keys(MODELS);
const THIN_TO = 100;
const BINS = 10;

/** P(chi-square with k degrees of freedom > x) = Q(k/2, x/2). */
const chiSquarePValue = (x: number, k: number) => Math.exp(logGammaQ(k / 2, x / 2));

const results: { model: string; param: string; chi2: number; p: number; ecdfGap: number }[] = [];
for (const name of chosen) {
  const spec = MODELS[name];
  if (!spec) throw new Error(`unknown SBC model ${name}; known: ${Object.keys(MODELS).join(", ")}`);
  const started = performance.now();
  const ranks = new Map<string, number[]>();
  let divergences = 0;
  for (let r = 0; r < replicates; r++) {
    const prior = priorPredictive(spec.make(spec.dummy), { draws: 1, seed: baseSeed * 100000 + r });
    const observed = prior.variables.find((v) => v.group === "observed")!;
    const fitted = spec.make(Array.from(observed.values));
    const posterior = sampleSync(compile(fitted), { chains: 2, warmup: 500, draws: 500, seed: baseSeed * 100000 + r });
    divergences += posterior.divergences().reduce((a, b) => a + b, 0);
    for (const v of prior.variables.filter((x) => x.group === "parameter")) {
      v.values.forEach((truth, k) => {
        const flat = v.shape.length === 0 ? v.name : `${v.name}[${k + 1}]`;
        const draws = posterior.draws(flat).flatMap((c) => Array.from(c));
        const step = draws.length / THIN_TO;
        let rank = 0;
        for (let i = 0; i < THIN_TO; i++) if (draws[Math.floor(i * step)]! < truth) rank++;
        if (!ranks.has(flat)) ranks.set(flat, []);
        ranks.get(flat)!.push(rank);
      });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  for (const [param, rs] of ranks) {
    // ranks 0..100 in 10 bins of equal probability (101 values: the last bin holds 11)
    const counts = new Array<number>(BINS).fill(0);
    for (const rank of rs) counts[Math.min(BINS - 1, Math.floor(rank / ((THIN_TO + 1) / BINS)))]!++;
    const probs = counts.map((_, b) => {
      const lo = Math.ceil((b * (THIN_TO + 1)) / BINS);
      const hi = b === BINS - 1 ? THIN_TO + 1 : Math.ceil(((b + 1) * (THIN_TO + 1)) / BINS);
      return (hi - lo) / (THIN_TO + 1);
    });
    const chi2 = counts.reduce((s, c, b) => s + (c - rs.length * probs[b]!) ** 2 / (rs.length * probs[b]!), 0);
    const sorted = [...rs].sort((a, b) => a - b);
    let gap = 0;
    sorted.forEach((rank, i) => (gap = Math.max(gap, Math.abs((i + 1) / sorted.length - (rank + 1) / (THIN_TO + 1)))));
    results.push({ model: name, param, chi2, p: chiSquarePValue(chi2, BINS - 1), ecdfGap: gap });
    console.log(`${name} ${param}: ranks per bin [${counts.join(" ")}], chi2 ${chi2.toFixed(2)} (9 df), p = ${chiSquarePValue(chi2, BINS - 1).toFixed(3)}, max ECDF gap ${gap.toFixed(3)}`);
  }
  console.log(`${name}: ${replicates} replicates, ${divergences} divergent transitions in all, ${seconds.toFixed(0)} s`);
}
const level = 0.01 / results.length;
const uniform = results.filter((r) => r.p > level).length;
console.log(`\nmodel                 parameter    chi2(9)   p-value  max ECDF gap`);
for (const r of results) console.log(`${r.model.padEnd(20)}  ${r.param.padEnd(10)}  ${r.chi2.toFixed(2).padStart(7)}  ${r.p.toFixed(3).padStart(8)}  ${r.ecdfGap.toFixed(3).padStart(12)}`);
console.log(`\n${replicates} replicates per model, 100 thinned draws each, seed ${baseSeed}`);
console.log(`sbc: ${uniform}/${results.length} parameters uniform at the 1% level (Bonferroni)`);

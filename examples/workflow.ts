/**
 * `npm run example:workflow`: a Bayesian workflow end to end on eight schools (Rubin 1981;
 * Gelman et al., BDA3 section 5.5): coaching effects on SAT-V scores in eight schools, each
 * with its standard error. Three models, as in BDA: no pooling (each school on its own),
 * complete pooling (one effect for all) and partial pooling (a hierarchical model).
 *
 *   1. prior predictive check of the hierarchical model: what effects do the priors expect?
 *   2. fit the three models (supervised runs on worker threads)
 *   3. summary with 94% HDI, selected by variable name
 *   4. posterior predictive checks: test statistics T(y_rep) against T(y), per model, and
 *      where each school's observed effect falls among its replicates
 *   5. PSIS-LOO of each model, Pareto k per school, loo_compare
 *   6. export: InferenceData (netCDF-4: posterior, posterior_predictive, log_likelihood,
 *      sample_stats, prior, prior_predictive, observed_data, constant_data) for ArviZ and Stan CSV
 *      (log_lik, y_rep) for R
 *
 * Writes to `examples/out/` (or the folder given as the first argument).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  dist,
  formatLoo,
  formatLooCompare,
  loo,
  looCompare,
  model,
  posteriorPredictive,
  priorPredictive,
  sample,
  writeInferenceData,
  writeStanCsv,
  type Model,
  type Posterior,
  type PredictiveDraws,
} from "../src/index.js";

const out = process.argv[2] ?? join("examples", "out");
mkdirSync(out, { recursive: true });

const SCHOOLS = ["Choate", "Deerfield", "Phillips Andover", "Phillips Exeter", "Hotchkiss", "Lawrenceville", "St. Paul's", "Mt. Hermon"];
const y = [28, 8, -3, 7, -1, 1, 18, 12];
const sigma = [15, 10, 16, 11, 9, 11, 10, 18];
const J = SCHOOLS.length;

/** Partial pooling: school effects drawn around a common mean (non-centred automatically). */
const hierarchical = model("hierarchical", (m) => {
  const s = m.data("sigma", sigma);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [J], dims: ["school"] });
  m.observe("y", dist.normal(theta, s), y, { dims: ["school"] });
  // Stan's `real theta_new = normal_rng(mu, tau);`: the effect in a ninth, new school
  m.generated("theta_new", dist.normal(mu, tau));
});

/** Complete pooling: one effect for every school. */
const pooled = model("pooled", (m) => {
  const s = m.data("sigma", sigma);
  const mu = m.param("mu", dist.normal(0, 5));
  m.observe("y", dist.normal(mu, s), y, { dims: ["school"] });
});

/** No pooling: every school's effect on its own, under a wide prior. */
const separate = model("separate", (m) => {
  const s = m.data("sigma", sigma);
  const theta = m.param("theta", dist.normal(0, 20), { shape: [J], dims: ["school"] });
  m.observe("y", dist.normal(theta, s), y, { dims: ["school"] });
});

// ---- helpers: test statistics over the replicates of y --------------------------------------

const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;
const statistics: Record<string, (v: ArrayLike<number>) => number> = {
  mean,
  sd: (v) => Math.sqrt(Array.from(v).reduce((s, x) => s + (x - mean(v)) ** 2, 0) / (v.length - 1)),
  max: (v) => Math.max(...Array.from(v)),
  min: (v) => Math.min(...Array.from(v)),
};

/** The replicates of y as one row of J effects per draw (all chains). */
function replicates(draws: PredictiveDraws): Float64Array[] {
  const values = draws.variable("y").values;
  return Array.from({ length: draws.numChains * draws.numDraws }, (_, d) => values.subarray(d * J, (d + 1) * J));
}

/** Posterior (or prior) predictive p-value of statistic T: P(T(y_rep) >= T(y)). */
function pValue(rows: readonly Float64Array[], stat: (v: ArrayLike<number>) => number): number {
  const observed = stat(y);
  return rows.filter((r) => stat(r) >= observed).length / rows.length;
}

const quantile = (v: ArrayLike<number>, p: number) => {
  const s = Float64Array.from(v).sort();
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const fixed = (x: number, digits = 2) => x.toFixed(digits).padStart(6);

// ---- 1. prior predictive check --------------------------------------------------------------

const prior = priorPredictive(hierarchical, { draws: 1000, seed: 1 });
const priorRows = replicates(prior);
const priorEffects = prior.variable("y").values;
const extreme = priorRows.filter((r) => r.some((v) => Math.abs(v) > 100)).length / priorRows.length;
console.log(`1. prior predictive check (${hierarchical.name}, ${prior.numDraws} draws of mu, tau, theta, y, theta_new)`);
console.log(
  `   replicated effects: 90% in [${quantile(priorEffects, 0.05).toFixed(0)}, ${quantile(priorEffects, 0.95).toFixed(0)}], ` +
    `99% in [${quantile(priorEffects, 0.005).toFixed(0)}, ${quantile(priorEffects, 0.995).toFixed(0)}] points; observed ${Math.min(...y)} to ${Math.max(...y)}`,
);
console.log(`   draws with some |y_rep| > 100 points (an implausible coaching effect on a 200-800 scale): ${(100 * extreme).toFixed(1)}%`);
console.log(`   P(T(y_rep) >= T(y)) under the prior: ${Object.entries(statistics).map(([t, f]) => `${t} ${pValue(priorRows, f).toFixed(2)}`).join(", ")}`);

// ---- 2. fit ---------------------------------------------------------------------------------

const settings = { chains: 4, warmup: 1000, draws: 1000, seed: 7, targetAccept: 0.95 };
const models: Model[] = [hierarchical, pooled, separate];
const fits: Posterior[] = [];
for (const m of models) fits.push(await sample(m, settings).result);
const [fit] = fits;

// ---- 3. summary -----------------------------------------------------------------------------

console.log(`\n2-3. ${hierarchical.name}: ${fit!.formatSummary(["mu", "tau", "theta"])}`);

// ---- 4. posterior predictive checks ---------------------------------------------------------

const predictive = models.map((m, k) => posteriorPredictive(m, fits[k]!, { seed: 11 + k }));
console.log(`\n4. posterior predictive checks: P(T(y_rep) >= T(y)), ${predictive[0]!.numChains} x ${predictive[0]!.numDraws} replicates`);
console.log(`   ${"T".padEnd(5)} ${"T(y)".padStart(6)}  ${models.map((m) => m.name.padStart(12)).join("")}`);
for (const [t, f] of Object.entries(statistics)) {
  console.log(`   ${t.padEnd(5)} ${fixed(f(y), 1)}  ${predictive.map((p) => fixed(pValue(replicates(p), f)).padStart(12)).join("")}`);
}
console.log(`   per school (${hierarchical.name}): P(y_rep < y), and the school's 90% predictive interval`);
const pp = predictive[0]!;
SCHOOLS.forEach((school, j) => {
  const reps = Float64Array.from(pp.draws(`y[${j + 1}]`).flatMap((c) => Array.from(c)));
  const p = reps.filter((r) => r < y[j]!).length / reps.length;
  const flag = p < 0.025 || p > 0.975 ? "  <- surprising" : "";
  console.log(`   ${school.padEnd(17)} y = ${String(y[j]).padStart(3)}  P = ${p.toFixed(2)}  [${quantile(reps, 0.05).toFixed(0)}, ${quantile(reps, 0.95).toFixed(0)}]${flag}`);
});
const thetaNew = pp.variable("theta_new").values;
console.log(`   theta_new (a new school's effect): median ${quantile(thetaNew, 0.5).toFixed(1)}, 90% in [${quantile(thetaNew, 0.05).toFixed(1)}, ${quantile(thetaNew, 0.95).toFixed(1)}]`);

// ---- 5. PSIS-LOO ----------------------------------------------------------------------------

const warnings: string[] = [];
const loos = fits.map((f, k) => loo(f, { observationNames: SCHOOLS, onWarning: (w) => warnings.push(`${models[k]!.name}: ${w}`) }));
console.log(`\n5. PSIS-LOO, ${hierarchical.name}:\n${formatLoo(loos[0]!)}`);
console.log(`\n   Pareto k per school (k > 0.7: the importance-sampling estimate of that school's elpd is unreliable)`);
console.log(`   ${"".padEnd(17)}${models.map((m) => m.name.padStart(13)).join("")}`);
SCHOOLS.forEach((school, j) => console.log(`   ${school.padEnd(17)}${loos.map((l) => fixed(l.paretoK[j]!).padStart(13)).join("")}`));
for (const w of warnings) console.log(`   warning: ${w}`);
const ranked = looCompare(Object.fromEntries(models.map((m, k) => [m.name, loos[k]!])));
console.log("\n   loo_compare (elpd_diff against the best model, se_diff of the difference):");
console.log(
  formatLooCompare(ranked)
    .split("\n")
    .map((l) => `   ${l}`)
    .join("\n"),
);
// loo's FAQ (Sivula et al.): below 4 the difference is small whatever its se; above, compare it with se_diff.
for (const row of ranked.slice(1)) {
  const size = Math.abs(row.elpdDiff) < 4 ? "small (|elpd_diff| < 4)" : `${(Math.abs(row.elpdDiff) / row.seDiff).toFixed(1)} se_diff`;
  console.log(`   ${row.name} vs ${ranked[0]!.name}: elpd_diff ${row.elpdDiff.toFixed(1)}, ${size}`);
}

// ---- 6. export ------------------------------------------------------------------------------

const nc = await writeInferenceData(join(out, "eight_schools.nc"), fit!, {
  coords: { school: SCHOOLS },
  posteriorPredictive: pp, // y -> posterior_predictive (as observed_data's y), theta_new too
  priorPredictive: prior, // mu, tau, theta -> prior; y, theta_new -> prior_predictive
});
const csv = writeStanCsv(fit!, join(out, "eight_schools"), { generatedQuantities: pp }); // log_lik.1.., y_rep.1.., theta_new
console.log(`\n6. wrote ${nc}: groups posterior, posterior_predictive, log_likelihood, sample_stats, prior, prior_predictive, observed_data, constant_data`);
console.log(`   python: idata = az.from_netcdf("${nc}"); az.plot_ppc(idata); az.plot_ppc(idata, group="prior"); az.loo(idata)`);
console.log(`   wrote ${csv.length} Stan CSV files (${csv[0]}, ...) with log_lik and y_rep: R's posterior::read_cmdstan_csv, loo, bayesplot::ppc_dens_overlay`);

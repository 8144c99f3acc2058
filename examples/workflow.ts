/**
 * `npm run example:workflow`: a Bayesian workflow end to end on eight schools.
 *
 *   1. prior predictive check: what data do the priors expect?
 *   2. fit two models (partial pooling, complete pooling) on worker threads
 *   3. summaries with 94% HDI, selected by variable name
 *   4. posterior predictive check: where do the observed effects fall among replicated ones?
 *   5. PSIS-LOO of both models, Pareto k, comparison
 *   6. export: InferenceData (netCDF-4, for ArviZ) and Stan CSV (for R's posterior and loo)
 *
 * Predictive draws are made here by hand from the kept draws (a few lines each): the runtime's
 * own `priorPredictive` / `posteriorPredictive` (issue 10) will replace them; every other step
 * is the library's API. Writes to `examples/out/` (or the folder given as the first argument).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { dist, formatLoo, formatLooCompare, loo, looCompare, model, sample, writeInferenceData, writeStanCsv } from "../src/index.js";

const out = process.argv[2] ?? join("examples", "out");
mkdirSync(out, { recursive: true });

const SCHOOLS = ["Choate", "Deerfield", "Phillips Andover", "Phillips Exeter", "Hotchkiss", "Lawrenceville", "St. Paul's", "Mt. Hermon"];
const y = [28, 8, -3, 7, -1, 1, 18, 12];
const sigma = [15, 10, 16, 11, 9, 11, 10, 18];

/** Partial pooling: school effects drawn around a common mean. */
const hierarchical = model("eight_schools", (m) => {
  const s = m.data("sigma", sigma);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
  m.observe("y", dist.normal(theta, s), y, { dims: ["school"] });
});

/** Complete pooling: one effect for every school. */
const pooled = model("eight_schools_pooled", (m) => {
  const s = m.data("sigma", sigma);
  const mu = m.param("mu", dist.normal(0, 5));
  m.observe("y", dist.normal(mu, s), y, { dims: ["school"] });
});

// A small seeded generator for the hand-made predictive draws (a 32-bit LCG, Box-Muller normals).
function generator(seed: number) {
  let state = seed >>> 0;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}
const rng = generator(2024);
const z = rng.normal;

// ---- 1. prior predictive ----------------------------------------------------------------
const priorChains = 1;
const priorDraws = 1000;
const prior = { mu: [[] as number[]], tau: [[] as number[]], theta: [[] as number[][]] };
const priorPredictive: number[][][] = [[]];
for (let d = 0; d < priorDraws; d++) {
  const mu = 5 * z();
  const tau = Math.abs(5 * Math.tan(Math.PI * (rng.uniform() - 0.5))); // half-Cauchy(5)
  const theta = sigma.map(() => mu + tau * z());
  prior.mu[0]!.push(mu);
  prior.tau[0]!.push(tau);
  prior.theta[0]!.push(theta);
  priorPredictive[0]!.push(theta.map((t, j) => t + sigma[j]! * z()));
}
const spread = priorPredictive[0]!.flat().sort((a, b) => a - b);
console.log(
  `prior predictive (${priorChains} x ${priorDraws}): 90% of replicated effects in [${spread[Math.floor(0.05 * spread.length)]!.toFixed(0)}, ${spread[Math.floor(0.95 * spread.length)]!.toFixed(0)}]; observed ${Math.min(...y)} to ${Math.max(...y)}`,
);

// ---- 2. fit both models -----------------------------------------------------------------
const settings = { chains: 4, warmup: 1000, draws: 1000, seed: 7, targetAccept: 0.95 };
const [fit, fitPooled] = await Promise.all([sample(hierarchical, settings).result, sample(pooled, settings).result]);

// ---- 3. summaries -----------------------------------------------------------------------
console.log("\n" + fit.formatSummary(["mu", "tau", "theta"]));

// ---- 4. posterior predictive check ------------------------------------------------------
const theta = fit.variables.find((v) => v.name === "theta")!;
const thetaDraws = Array.from({ length: 8 }, (_, j) => fit.draws(`theta[${j + 1}]`));
const yRep = thetaDraws[0]!.map((chain, c) => Array.from(chain, (_, d) => thetaDraws.map((t, j) => t[c]![d]! + sigma[j]! * z())));
console.log(`\nposterior predictive check (${theta.name}: ${theta.dims?.join(", ")}): share of replicated effects below the observed one`);
SCHOOLS.forEach((school, j) => {
  const reps = yRep.flatMap((chain) => chain.map((draw) => draw[j]!));
  const p = reps.filter((r) => r < y[j]!).length / reps.length;
  console.log(`  ${school.padEnd(17)} y = ${String(y[j]).padStart(3)}  P(y_rep < y) = ${p.toFixed(2)}${p < 0.025 || p > 0.975 ? "  <- surprising" : ""}`);
});

// ---- 5. LOO and comparison ---------------------------------------------------------------
const looH = loo(fit);
const looP = loo(fitPooled);
console.log(`\nPSIS-LOO, ${hierarchical.name}:\n${formatLoo(looH)}`);
console.log(`\nPSIS-LOO, ${pooled.name}:\n${formatLoo(looP)}`);
console.log("\n" + formatLooCompare(looCompare({ [hierarchical.name]: looH, [pooled.name]: looP })));

// ---- 6. export ---------------------------------------------------------------------------
const nc = await writeInferenceData(join(out, "eight_schools.nc"), fit, {
  coords: { school: SCHOOLS },
  posteriorPredictive: { y: yRep },
  prior: { mu: prior.mu, tau: prior.tau, theta: prior.theta },
  priorPredictive: { y: priorPredictive },
});
const csv = writeStanCsv(fit, join(out, "eight_schools"), { generatedQuantities: { y_rep: yRep } });
console.log(`\nwrote ${nc} (arviz.from_netcdf) and ${csv.length} Stan CSV files (${csv[0]}, ...)`);

/**
 * `npm run check:arviz`: the InferenceData file as ArviZ sees it. Samples eight schools with the
 * supervised runtime, draws prior and posterior predictive replicates with `priorPredictive` /
 * `posteriorPredictive`, writes it all with `writeInferenceData` (netCDF-4), writes our summary,
 * LOO and predictive draws next to it, and the Stan CSV files (log_lik, y_rep), then runs
 * scripts/arviz-roundtrip.py, which opens the file with `arviz.from_netcdf`, compares `az.summary`
 * and `az.loo` with ours, checks the predictive groups' dims, coordinates and values and runs
 * `az.plot_ppc` on them (Agg backend, nothing shown), and reads the Stan CSV with
 * `az.from_cmdstan(..., posterior_predictive="y_rep", log_likelihood="log_lik")`. Needs python3
 * with arviz (0.23 here: xarray, h5netcdf, matplotlib). Exit status: the script's (0 when
 * everything agrees).
 *
 *   node dist/test/validate/arviz-roundtrip.js [--out folder] [--seed 1] [--python python3]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { posteriorPredictive, priorPredictive, type PredictiveDraws } from "../../src/api/predictive.js";
import { sample } from "../../src/api/sample.js";
import { essMean, loo } from "../../src/diagnostics/index.js";
import { writeInferenceData, writeStanCsv } from "../../src/io/index.js";
import { dist, model } from "../../src/model/index.js";
import { projectRoot } from "../../bench/paths.js";

const { values: args } = parseArgs({
  options: { out: { type: "string" }, seed: { type: "string", default: "1" }, python: { type: "string", default: "python3" } },
});
const out = args.out ?? mkdtempSync(join(tmpdir(), "bayests-arviz-"));
mkdirSync(out, { recursive: true });

const SCHOOLS = ["Choate", "Deerfield", "Phillips Andover", "Phillips Exeter", "Hotchkiss", "Lawrenceville", "St. Paul's", "Mt. Hermon"];
const eightSchools = model("eight_schools", (m) => {
  const sigma = m.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
  m.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12], { dims: ["school"] });
  m.generated("theta_new", dist.normal(mu, tau)); // random: ArviZ users look for it beside the replicates of y
});

const seed = Number(args.seed);
const posterior = await sample(eightSchools, { chains: 4, warmup: 1000, draws: 1000, seed, targetAccept: 0.95 }).result;
const replicated = posteriorPredictive(eightSchools, posterior, { seed: seed + 1 });
const prior = priorPredictive(eightSchools, { draws: 500, seed: seed + 2 });
const file = await writeInferenceData(join(out, "eight_schools.nc"), posterior, {
  coords: { school: SCHOOLS },
  posteriorPredictive: replicated,
  priorPredictive: prior,
});

// ArviZ's az.loo takes one relative efficiency for all observations: the mean ESS (mean) of the
// posterior's variables over the number of draws. Ours follows R's loo (per observation, from
// the likelihood); with ArviZ's value passed as rEff the two must agree exactly.
const S = posterior.numChains * posterior.numDraws;
const ess = posterior.names.map((n) => essMean(posterior.draws(n)));
const arvizReff = ess.reduce((a, b) => a + b, 0) / ess.length / S;
const silent = { onWarning: () => {} };
const csv = writeStanCsv(posterior, join(out, "eight_schools"), { generatedQuantities: replicated });
/** Predictive draws by variable name: values row-major over chain, draw, then the variable's shape. */
const predictive = (draws: PredictiveDraws) =>
  Object.fromEntries(draws.variables.map((v) => [v.name, { chains: draws.numChains, draws: draws.numDraws, shape: v.shape, values: v.values }]));
const ours = {
  csv,
  schools: SCHOOLS,
  posteriorPredictive: predictive(replicated),
  priorPredictive: predictive(prior),
  summary: posterior.summary(posterior.names, false),
  loo: loo(posterior, silent),
  looArvizReff: loo(posterior, { ...silent, rEff: new Float64Array(8).fill(arvizReff) }),
  arvizReff,
};
const json = join(out, "ours.json");
writeFileSync(json, JSON.stringify(ours, (_, v) => (v instanceof Float64Array ? Array.from(v) : v)));
console.log(`wrote ${file} and ${json}`);

const script = join(projectRoot(), "scripts", "arviz-roundtrip.py");
const run = spawnSync(args.python!, [script, file, json], { stdio: "inherit" });
if (run.error) {
  console.error(`could not run ${args.python}: ${run.error.message}`);
  process.exit(2);
}
process.exit(run.status ?? 1);

/**
 * `npm run check:arviz`: the InferenceData file as ArviZ sees it. Samples eight schools with the
 * supervised runtime, writes it with `writeInferenceData` (netCDF-4), writes our summary and
 * LOO next to it, and the Stan CSV files, then runs scripts/arviz-roundtrip.py, which opens the
 * file with `arviz.from_netcdf` and compares `az.summary` and `az.loo` with ours (and reads the
 * Stan CSV with `az.from_cmdstan(..., log_likelihood="log_lik")`). Needs python3 with
 * arviz (0.23 here: xarray, h5netcdf). Exit status: the script's (0 when everything agrees).
 *
 *   node dist/test/validate/arviz-roundtrip.js [--out folder] [--seed 1] [--python python3]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
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
});

const posterior = await sample(eightSchools, { chains: 4, warmup: 1000, draws: 1000, seed: Number(args.seed), targetAccept: 0.95 }).result;
const file = await writeInferenceData(join(out, "eight_schools.nc"), posterior, { coords: { school: SCHOOLS } });

// ArviZ's az.loo takes one relative efficiency for all observations: the mean ESS (mean) of the
// posterior's variables over the number of draws. Ours follows R's loo (per observation, from
// the likelihood); with ArviZ's value passed as rEff the two must agree exactly.
const S = posterior.numChains * posterior.numDraws;
const ess = posterior.names.map((n) => essMean(posterior.draws(n)));
const arvizReff = ess.reduce((a, b) => a + b, 0) / ess.length / S;
const silent = { onWarning: () => {} };
const csv = writeStanCsv(posterior, join(out, "eight_schools"));
const ours = {
  csv,
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

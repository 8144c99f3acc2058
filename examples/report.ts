/**
 * A static report of a finished run: `writeReport(posterior, path)` writes one HTML file with
 * the dashboard's plots and the summary table, the page's code and the draws inside (opening
 * it fetches nothing).
 *
 *   npm run example:report [-- --out report.html]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { dist, model, sample, writeReport } from "../src/index.js";

const { values } = parseArgs({ options: { out: { type: "string", default: "report.html" } } });

const eightSchools = model("eight_schools", (m) => {
  const sigma = m.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
  m.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12]);
});

// saveWarmup: the report's trace plots then show warmup too (shaded).
const posterior = await sample(eightSchools, { chains: 4, warmup: 1000, draws: 2000, seed: 1, saveWarmup: true }).result;
const out = resolve(values.out);
writeReport(posterior, out, { title: "eight schools (non-centred)" });
console.log(posterior.formatSummary());
console.log(`\nreport: ${out}`);

/**
 * A Stan program run as it is: examples/eight_schools.stan with its data, sampled by the
 * supervised runtime (4 chains on worker threads, pooled warmup, early stop), then the summary
 * and posterior predictive draws from the program's generated quantities.
 *
 *   npm run example:stan
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { posteriorPredictive, sample, stanModel } from "../src/index.js";

const file = fileURLToPath(new URL("../../examples/eight_schools.stan", import.meta.url));
const data = { J: 8, y: [28, 8, -3, 7, -1, 1, 18, 12], sigma: [15, 10, 16, 11, 9, 11, 10, 18] };
const eightSchools = stanModel(readFileSync(file, "utf8"), data, { file: "eight_schools.stan" });

const run = sample(eightSchools, { chains: 4, warmup: 1000, draws: 2000, seed: 1, earlyStop: true });
const posterior = await run.result;
console.log(posterior.formatSummary());

const predictive = posteriorPredictive(eightSchools, posterior, { seed: 2 });
console.log(`posterior predictive: ${predictive.variables.map((v) => v.name).join(", ")} (${predictive.numDraws} draws per chain)`);

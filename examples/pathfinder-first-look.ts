/**
 * Pathfinder as a first look at a model before NUTS: four L-BFGS paths and importance
 * resampling give approximate posterior draws in about two seconds (most of it starting the
 * worker threads), with Pareto k saying how far to trust them. Then NUTS, started from
 * Pathfinder's draws and covariance (`init: "pathfinder"`), for the real answer.
 *
 *   npm run example:pathfinder
 */
import { pathfinder, sample } from "../src/index.js";
import { loadPosterior } from "../test/posteriordb/models.js";

const { model, reference } = loadPosterior("kidiq-kidscore_momhsiq");

let t0 = performance.now();
const look = await pathfinder(model, { seed: 1 }).result;
console.log(`Pathfinder: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
console.log(look.formatSummary());

t0 = performance.now();
const nuts = await sample(model, { seed: 1, init: "pathfinder", earlyStop: true, draws: 5000 }).result;
console.log(`\nNUTS from Pathfinder's draws (${nuts.numWarmup} warmup, stopped at ${nuts.numDraws} draws): ${((performance.now() - t0) / 1000).toFixed(2)} s`);
console.log(nuts.formatSummary());
console.log("\nreference means (posteriordb):", Object.entries(reference.parameters).map(([k, v]) => `${k} ${v.mean.toPrecision(4)}`).join(", "));

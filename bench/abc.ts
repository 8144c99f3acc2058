/**
 * `npm run bench:abc`: what ABC costs, in simulations and in seconds.
 *
 * 1. Simulations to a stated accuracy, rejection ABC against ABC-SMC, where the posterior is
 *    known: a normal mean (20 observations, sd 1, prior normal(0, 5); summary: the sample
 *    mean). Accuracy: the weighted posterior mean within 0.1 posterior sd of the exact one and
 *    the posterior sd within 10% of the exact one. Rejection runs keep the nearest
 *    `particles` of particles / q prior simulations for q = 0.3, 0.1, 0.03, ... until accurate;
 *    ABC-SMC runs 1, 2, ... generations (the same seed: each run extends the last) until accurate.
 * 2. The g-and-k distribution (200 draws at a = 3, b = 1, g = 2, k = 0.5; octile summaries)
 *    by ABC-SMC beside NUTS on its exact likelihood (examples/g-and-k-model.ts): posterior
 *    means and sds side by side.
 * 3. Simulations per second of the stochastic SIR simulator on 1 and 2 threads (a fixed
 *    ABC-SMC run), and the speedup.
 *
 * Last line:
 *   abc: ABC-SMC needs X.Xx fewer simulations than rejection to the same accuracy ; 2-thread speedup Y.YYx
 *
 *   node dist/bench/abc.js [--seed 1] [--particles 1000] [--no-gk]
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { abc, abcSmc, dist, model, sample, simulator, simulatorRng } from "../src/index.js";
import { gAndKModel } from "../examples/g-and-k-model.js";
import { simulate as simulateGk } from "../examples/simulators/g-and-k.js";
import { projectRoot } from "./paths.js";

const { values: args } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    particles: { type: "string", default: "1000" },
    "no-gk": { type: "boolean", default: false },
  },
});
const seed = Number(args.seed);
const particles = Number(args.particles);
const root = projectRoot();

// ---------------------------------------------------------------- 1. simulations to accuracy
const observed = [1.42, 0.31, 2.12, 1.05, 0.66, 1.9, 1.28, 0.04, 1.73, 1.15, 0.88, 2.4, 0.52, 1.61, 0.97, 1.33, 0.12, 1.84, 1.07, 0.76];
const n = observed.length;
const ybar = observed.reduce((a, b) => a + b, 0) / n;
const exactMean = (n * ybar) / (n + 1 / 25);
const exactSd = 1 / Math.sqrt(n + 1 / 25);
const prior = model("mu_prior", (b) => {
  b.param("mu", dist.normal(0, 5));
});
const normalMean = simulator(join(root, "test", "abc", "fixtures", "normal-mean.mjs"));
const accurate = (mean: number, sd: number) => Math.abs(mean - exactMean) < 0.1 * exactSd && Math.abs(sd / exactSd - 1) < 0.1;

console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`\n1. normal mean: exact posterior mean ${exactMean.toFixed(4)}, sd ${exactSd.toFixed(4)}; accuracy: |mean error| < 0.1 sd and |sd ratio - 1| < 0.1; ${particles} particles\n`);
console.log("method     setting        simulations   mean    sd      accurate");
let rejectionSims = NaN;
for (const q of [0.3, 0.1, 0.03, 0.01, 0.003, 0.001]) {
  const post = await abc(normalMean, { prior, observed, particles, quantile: q, seed }).result;
  const [r] = post.weightedSummary(["mu"]);
  const ok = accurate(r!.mean, r!.sd);
  console.log(`rejection  quantile ${String(q).padEnd(6)} ${String(post.simulations).padStart(12)}   ${r!.mean.toFixed(4)}  ${r!.sd.toFixed(4)}  ${ok ? "yes" : "no"}`);
  if (ok) {
    rejectionSims = post.simulations;
    break;
  }
}
let smcSims = NaN;
for (let g = 1; g <= 15; g++) {
  const post = await abcSmc(normalMean, { prior, observed, particles, maxGenerations: g, minAcceptanceRate: 0, seed }).result;
  const [r] = post.weightedSummary(["mu"]);
  const ok = accurate(r!.mean, r!.sd);
  console.log(`abc-smc    ${`${g} generations`.padEnd(14)} ${String(post.simulations).padStart(12)}   ${r!.mean.toFixed(4)}  ${r!.sd.toFixed(4)}  ${ok ? "yes" : "no"}`);
  if (ok) {
    smcSims = post.simulations;
    break;
  }
}

// ---------------------------------------------------------------- 2. g-and-k
if (!args["no-gk"]) {
  const data = simulateGk({ a: 3, b: 1, g: 2, k: 0.5 }, simulatorRng(7));
  const gkPrior = model("g_and_k_prior", (m) => {
    for (const p of ["a", "b", "g", "k"]) m.param(p, { lower: 0, upper: 10 });
  });
  const t0 = performance.now();
  const abcPost = await abcSmc(simulator(join(root, "dist", "examples", "simulators", "g-and-k.js")), { prior: gkPrior, observed: data, particles, seed, minAcceptanceRate: 0.02 }).result;
  const abcSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const nuts = await sample(gAndKModel(data), { chains: 4, warmup: 1000, draws: 1000, seed }).result;
  const nutsSeconds = (performance.now() - t1) / 1000;
  console.log(`\n2. g-and-k, ${data.length} draws at a = 3, b = 1, g = 2, k = 0.5: ABC-SMC (${abcPost.generations.length} generations, ${abcPost.simulations} simulations, ${abcSeconds.toFixed(1)} s) beside NUTS on the exact likelihood (4 x (1000 + 1000), ${nutsSeconds.toFixed(1)} s)\n`);
  console.log("param   abc mean  abc sd   nuts mean  nuts sd   |mean diff| / nuts sd");
  const nutsRows = nuts.summary(["a", "b", "g", "k"], false);
  for (const r of abcPost.weightedSummary(["a", "b", "g", "k"])) {
    const s = nutsRows.find((x) => x.name === r.name)!;
    console.log(`${r.name.padEnd(7)} ${r.mean.toFixed(3).padStart(8)} ${r.sd.toFixed(3).padStart(7)}   ${s.mean.toFixed(3).padStart(8)} ${s.sd.toFixed(3).padStart(8)}   ${(Math.abs(r.mean - s.mean) / s.sd).toFixed(2)}`);
  }
}

// ---------------------------------------------------------------- 3. threads
const sir = simulator(join(root, "dist", "examples", "simulators", "sir.js"));
const cases = (await import("../examples/simulators/sir.js")).simulate({ beta: 0.6, gamma: 0.25 }, simulatorRng(2024));
const sirPrior = model("sir_rates", (m) => {
  m.param("beta", dist.logNormal(Math.log(0.5), 0.5), { lower: 0 });
  m.param("gamma", dist.logNormal(Math.log(0.2), 0.5), { lower: 0 });
});
const rates: number[] = [];
console.log("\n3. SIR simulator (Gillespie, population 500), ABC-SMC with 4 generations:\n");
for (const threads of [1, 2]) {
  const post = await abcSmc(sir, { prior: sirPrior, observed: cases, particles, maxGenerations: 4, seed, threads }).result;
  const rate = post.simulations / post.seconds;
  rates.push(rate);
  console.log(`${threads} thread${threads > 1 ? "s" : " "}: ${post.simulations} simulations in ${post.seconds.toFixed(2)} s, ${rate.toFixed(0)} per second`);
}
console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`abc: ABC-SMC needs ${(rejectionSims / smcSims).toFixed(1)}x fewer simulations than rejection to the same accuracy ; 2-thread speedup ${(rates[1]! / rates[0]!).toFixed(2)}x`);

/**
 * Likelihood-free inference for a stochastic epidemic: a Gillespie SIR simulator
 * (examples/simulators/sir.ts) fitted to twelve weeks of case counts with ABC-SMC. Each
 * generation halves the tolerance; the simulations run on worker threads.
 *
 *   npm run example:abc-sir
 */
import { fileURLToPath } from "node:url";
import { abcSmc, dist, model, simulator, simulatorRng } from "../src/index.js";
import { simulate } from "./simulators/sir.js";

// The data: one outbreak simulated with beta 0.6 and gamma 0.25 per day (R0 = 2.4).
const cases = simulate({ beta: 0.6, gamma: 0.25 }, simulatorRng(2024));
console.log(`observed weekly cases: ${cases.join(" ")}`);

const prior = model("sir_rates", (m) => {
  m.param("beta", dist.logNormal(Math.log(0.5), 0.5), { lower: 0 });
  m.param("gamma", dist.logNormal(Math.log(0.2), 0.5), { lower: 0 });
});

const sir = simulator(fileURLToPath(new URL("./simulators/sir.js", import.meta.url)));
const run = abcSmc(sir, { prior, observed: cases, particles: 1000, seed: 1, minAcceptanceRate: 0.02, maxGenerations: 6 });
run.events$.subscribe((e) => {
  if (e.type === "abc-generation") {
    console.log(
      `generation ${e.generation}: tolerance ${e.tolerance.toPrecision(3)}, acceptance ${(100 * e.acceptanceRate).toFixed(1)}%, ${e.simulations} simulations (${e.simulationsPerSecond.toFixed(0)}/s), ESS ${e.ess.toFixed(0)}`,
    );
  }
});
const post = await run.result;
console.log();
for (const r of post.weightedSummary()) console.log(`${r.name.padEnd(6)} mean ${r.mean.toFixed(3)}  sd ${r.sd.toFixed(3)}  90% [${r.q5.toFixed(3)}, ${r.q95.toFixed(3)}]`);
const r0 = post.draws("beta")[0]!.map((b, i) => b / post.draws("gamma")[0]![i]!);
r0.sort((x, y) => x - y);
console.log(`R0 = beta / gamma: median ${r0[Math.floor(r0.length / 2)]!.toFixed(2)} (simulated with 2.4), ${post.simulations} simulations in ${post.seconds.toFixed(1)} s`);

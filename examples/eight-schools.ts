/**
 * Eight schools, centred as users write it (the runtime non-centres it), 4 chains of
 * 1000 warmup + 1000 draws, then the summary table with the sampler's health.
 */
import { compile, dist, model, sampleSync } from "../src/index.js";

const eightSchools = model("eight_schools", (m) => {
  const sigma = m.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
  m.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12]);
});

const started = performance.now();
const density = compile(eightSchools);
const posterior = sampleSync(density, { chains: 4, warmup: 1000, draws: 1000, seed: 1 });
const seconds = (performance.now() - started) / 1000;

console.log(posterior.formatSummary());
console.log(`compile + 4 chains x 2000 iterations: ${seconds.toFixed(2)} s`);

/**
 * The supervised runtime on eight schools, as `npm start` shows it: 4 chains on worker
 * threads with pooled warmup, the library's terminal progress (per chain: phase, bar, draws,
 * divergences, step size, gradients per draw, draws per second; overall: elapsed, ETA and the
 * online R-hat / ESS against the early-stop targets), and early stop as soon as every
 * quantity has R-hat < 1.01 and bulk and tail ESS >= 400.
 *
 *   npm start            (or npm run example:live)
 */
import { dist, model, sample } from "../src/index.js";

const eightSchools = model("eight_schools", (m) => {
  const sigma = m.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
  m.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12]);
});

// progress: "auto" (the default) shows it when stderr is a terminal; true also prints plain lines to logs.
const run = sample(eightSchools, { chains: 4, warmup: 1000, draws: 5000, seed: 1, metric: "low-rank", earlyStop: true, progress: true });

// The streams are there for your own use meanwhile, e.g. a running mean of tau over every sampling draw.
let tauSum = 0;
let tauCount = 0;
run.batches$.subscribe((b) => {
  if (b.phase !== "sampling" || b.placeholder) return;
  const tau = b.quantity(b.names.indexOf("tau"));
  for (let i = 0; i < b.count; i++) tauSum += tau[i]!;
  tauCount += b.count;
});

const posterior = await run.result;
await run.progressDisplay?.done;
console.log(`\nE[tau] from the stream: ${(tauSum / tauCount).toFixed(3)} over ${tauCount} draws\n`);
console.log(posterior.formatSummary());

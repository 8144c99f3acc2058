/**
 * The supervised runtime on eight schools: 4 chains on worker threads with pooled warmup,
 * a live progress line, online R-hat/ESS every 100 draws, and early stop as soon as every
 * quantity has R-hat < 1.01 and bulk and tail ESS >= 400.
 *
 *   npm run example:live
 */
import { dist, model, sample } from "../src/index.js";

const eightSchools = model("eight_schools", (m) => {
  const sigma = m.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], dims: ["school"] });
  m.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12]);
});

const run = sample(eightSchools, { chains: 4, warmup: 1000, draws: 5000, seed: 1, earlyStop: true, checkEvery: 100 });

// Every draw arrives in order per chain while the run goes on (here: a running mean of tau).
let tauSum = 0;
let tauCount = 0;
run.draws$.subscribe((d) => {
  if (d.phase === "sampling") {
    tauSum += d.values.tau!;
    tauCount++;
  }
});

const tty = process.stdout.isTTY;
run.progress$.subscribe((p) => {
  if (!tty) return;
  const chains = p.chains.map((c) => `${c.phase === "warmup" ? "w" : "s"}${c.iteration}`).join(" ");
  process.stdout.write(`\r${(100 * p.fraction).toFixed(0).padStart(3)}%  ${chains}  E[tau] so far ${(tauSum / Math.max(1, tauCount)).toFixed(2)}   `);
});
run.diagnostics$.subscribe((d) => {
  const line = `draws/chain ${d.draws}: max R-hat ${d.maxRhat.toFixed(3)}, min bulk ESS ${d.minEssBulk.toFixed(0)}, min tail ESS ${d.minEssTail.toFixed(0)}${d.converged ? "  -> converged" : ""}`;
  process.stdout.write((tty ? "\r" : "") + line.padEnd(100) + "\n");
});
run.events$.subscribe((e) => {
  if (e.type === "warmup-extended") console.log(`\nwarmup extended by ${e.by} (R-hat of the last window ${e.maxRhat.toFixed(3)})`);
  if (e.type === "early-stop") console.log(`early stop at ${e.draws} draws per chain`);
});

const posterior = await run.result;
console.log("\n" + posterior.formatSummary());

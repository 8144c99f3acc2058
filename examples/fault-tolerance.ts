/**
 * Fault isolation, with the runtime's test-only fault injection:
 * - chain 1's worker thread calls process.exit in the middle of warmup, once: the chain is
 *   restarted from its last checkpoint on a fresh thread and makes exactly the draws it would
 *   have made;
 * - chain 3 loops forever in sampling, every time: the watchdog (1 s) kills the thread, the
 *   restart schedule (2 restarts) runs out, and the rest of the chain becomes placeholder
 *   draws (NaN, flagged), left out of the summary. Chains 0-2 finish undisturbed.
 *
 *   npm run example:faults
 */
import { dist, liveWorkerThreads, model, sample } from "../src/index.js";

const regression = model("regression", (m) => {
  const x = [0.5, 1.2, 2.3, 3.1, 4.8, 5.0, 6.7, 7.1, 8.4, 9.9];
  const y = [1.1, 2.0, 3.9, 4.2, 6.8, 7.4, 9.0, 9.7, 11.9, 13.5];
  const a = m.param("a", dist.normal(0, 10));
  const b = m.param("b", dist.normal(0, 10));
  const sigma = m.param("sigma", dist.halfNormal(5));
  m.observe("y", dist.normal(m.data("x", x).mul(b).add(a), sigma), y);
});

// This example prints the run's events itself, so the terminal progress (which shows them too) is off.
const options = { chains: 4, warmup: 500, draws: 1000, seed: 7, threads: 2, progress: false } as const;
const clean = await sample(regression, options).result;

const run = sample(regression, {
  ...options,
  chunkTimeout: 1000,
  restart: { maxRestarts: 2, backoff: 50 },
  faults: [
    { chain: 1, atIteration: 200, kind: "exit", attempts: 1 },
    { chain: 3, atIteration: 800, kind: "hang", attempts: Infinity },
  ],
});
run.events$.subscribe((e) => {
  if (["chunk-failed", "chain-restarted", "chain-failed", "placeholders"].includes(e.type)) console.log("event:", JSON.stringify(e));
});
const posterior = await run.result;

console.log("\n" + posterior.formatSummary());
for (const c of [0, 1, 2]) {
  const same = posterior.draws("b")[c]!.every((v, i) => Object.is(v, clean.draws("b")[c]![i]));
  console.log(`chain ${c}: ${posterior.chainStatus[c]!.status}, ${posterior.chainStatus[c]!.restarts} restart(s), draws identical to the run without faults: ${same}`);
}
const s3 = posterior.chainStatus[3]!;
console.log(`chain 3: ${s3.status} at iteration ${s3.failedAt}, ${s3.placeholders} placeholder draws (b = ${posterior.draws("b")[3]!.at(-1)})`);
console.log(`worker threads still running: ${liveWorkerThreads()}`);

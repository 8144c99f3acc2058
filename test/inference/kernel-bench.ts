/**
 * Kernel throughput (not a test): gradient evaluations per second of NUTS transitions and
 * the cost per transition beyond the gradients, after warmup, on a few models.
 *
 *   npx tsc -p tsconfig.json && node dist/test/inference/kernel-bench.js
 */
import type { LogDensity } from "../../src/compile/types.js";
import { initChainState, runIterations, type MetricKind } from "../../src/inference/index.js";
import { diagNormal, logSpacedScales, rotatedNormal, standardNormal } from "./models.js";

function gradientMicros(model: LogDensity, n: number): number {
  const q = new Float64Array(model.dim).fill(0.3);
  const g = new Float64Array(model.dim);
  let s = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    q[i % model.dim] = q[i % model.dim]! + 1e-9;
    s += model.logDensityGradient(q, g);
  }
  const us = ((performance.now() - t0) * 1000) / n;
  if (s === 42) console.log(""); // keep the loop
  return us;
}

export function benchKernel(name: string, model: LogDensity, metric: MetricKind, transitions = 20000): void {
  const settings = { numWarmup: 1000, metric };
  let state = initChainState(model, settings, { seed: 1 });
  state = runIterations(model, state, 1000, settings).state; // warmup
  state = runIterations(model, state, 2000, settings).state; // JIT
  const rows: string[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const g0 = state.gradientEvaluations;
    const t0 = performance.now();
    const r = runIterations(model, state, transitions, settings);
    const us = (performance.now() - t0) * 1000;
    const grads = r.state.gradientEvaluations - g0;
    const gradUs = gradientMicros(model, grads);
    rows.push(
      `${(grads / us).toFixed(2)} M grad/s | ${(us / transitions).toFixed(2)} us/transition, ` +
        `${(grads / transitions).toFixed(1)} leapfrogs | gradient alone ${gradUs.toFixed(3)} us | ` +
        `overhead ${((us - grads * gradUs) / transitions).toFixed(2)} us/transition = ${((us - grads * gradUs) / grads).toFixed(3)} us/leapfrog`,
    );
    state = r.state;
  }
  console.log(`${name} [${metric}]\n  ${rows.join("\n  ")}`);
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  benchKernel("normal d=100, scales 0.01..100", diagNormal(logSpacedScales()), "diag");
  benchKernel("normal d=100, unit", standardNormal(100), "diag");
  benchKernel("normal d=100, unit", standardNormal(100), "dense", 5000);
  benchKernel("rotated normal d=20", rotatedNormal(logSpacedScales(20), 7).model, "dense");
  benchKernel("normal d=10, unit", standardNormal(10), "diag");
  benchKernel("normal d=2, unit", standardNormal(2), "diag");
}

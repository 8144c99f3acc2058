/**
 * `npm run bench:ode`: ODE posteriors sampled beside rstan 2.21 in the same run, and the
 * per-gradient time of each solver.
 *
 *   1. lotka_volterra (posteriordb, rk45 at the program's 1e-5 / 1e-3 / 500) and
 *      one_comp_mm_elim_abs (bdf at Stan's defaults): ours, `sample(model, { chains: 4,
 *      warmup: 1000, draws: 1000, seed, threads: 2 })`, wall time from the call to the
 *      posterior (compile excluded, as rstan's wall_seconds excludes its compile); rstan:
 *      `sampling(sm, data, chains = 4, cores = 2, iter = 2000, warmup = 1000, seed)` through
 *      bench/stan/run-stan.R (compiled once and cached).
 *   2. Per-gradient time (logDensityGradient at a posterior point, median of 5 batches) of
 *      lotka_volterra with each method at rtol = atol = 1e-6 and of one_comp_mm_elim_abs.
 *
 * Last line: `ode: lotka_volterra X.Xs vs rstan Y.Ys ; one_comp_mm_elim_abs Z.Zs vs rstan W.Ws`
 * (`n/a` for a posterior not run).
 * Usage: npm run bench:ode [-- --no-stan] [-- --seed N] [-- --only lotka_volterra|one_comp_mm_elim_abs]
 *   [-- --no-gradients] [-- --no-sampling]. `--only` samples one posterior (ours and rstan's, still
 *   in the same run), so that each piece fits a time slot; `--no-gradients` skips part 2 and
 *   `--no-sampling` part 1.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sample } from "../src/api/sample.js";
import { compile } from "../src/compile/compile.js";
import type { LogDensity } from "../src/compile/types.js";
import { oneCompMmElimAbsOde } from "../test/posteriordb/models.js";
import { lotkaVolterra, type LotkaVolterraData } from "./ode-models.js";
import { projectRoot } from "./paths.js";
import { probeStan, runRstan } from "./stan-runner.js";

const args = process.argv.slice(2);
const seedAt = args.indexOf("--seed");
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 20261207;
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
if (only !== undefined && only !== "lotka_volterra" && only !== "one_comp_mm_elim_abs") throw new Error(`--only takes lotka_volterra or one_comp_mm_elim_abs, got ${only}`);
const runs = (name: string) => only === undefined || only === name;
const root = projectRoot();
const ONE_COMP = "test/posteriordb/one_comp_mm_elim_abs-one_comp_mm_elim_abs";
const LV = "bench/ode/lotka_volterra";
const readJson = (p: string) => JSON.parse(readFileSync(join(root, p), "utf8")) as Record<string, unknown>;
const lvData = readJson(`${LV}/data.json`) as unknown as LotkaVolterraData;
const ocData = readJson(`${ONE_COMP}/data.json`);

function perGradient(ld: LogDensity, q: Float64Array): number {
  const g = new Float64Array(ld.dim);
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let k = 0; k < n; k++) ld.logDensityGradient(q, g);
    if (performance.now() - t0 > 200) break;
    n *= 2;
  }
  const times: number[] = [];
  for (let b = 0; b < 5; b++) {
    const t0 = performance.now();
    for (let k = 0; k < n; k++) ld.logDensityGradient(q, g);
    times.push((performance.now() - t0) / n);
  }
  return times.sort((a, b) => a - b)[2]! * 1000;
}

async function ours(name: string, ld: ReturnType<typeof compile>): Promise<number> {
  const t0 = performance.now();
  const run = sample(ld, { chains: 4, warmup: 1000, draws: 1000, seed, threads: 2 });
  // A piece stopped by a time limit (`timeout`) says how far ours had got.
  let fraction = 0;
  run.progress$.subscribe((p) => (fraction = p.fraction));
  const stopped = () => {
    console.log(`  ours  ${name}: stopped by the time limit after ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(100 * fraction).toFixed(0)}% of the iterations done`);
    process.exit(124);
  };
  process.once("SIGTERM", stopped);
  const posterior = await run.result;
  process.off("SIGTERM", stopped);
  const wall = (performance.now() - t0) / 1000;
  const grads = posterior.chains.reduce((a, c) => a + c.gradientEvaluations, 0);
  const divergent = posterior.divergences().reduce((a, b) => a + b, 0);
  console.log(`  ours  ${name}: ${wall.toFixed(1)} s (${posterior.threads} threads; ${grads} gradients, ${divergent} divergent)`);
  return wall;
}

function rstan(folder: string): number | null {
  const { output, error } = runRstan(folder, seed, join(root, "bench-output", "ode"));
  if (output === null) {
    console.log(`  rstan ${folder}: failed: ${error}`);
    return null;
  }
  const leapfrogs = output.chains.reduce((a, c) => a + c.n_leapfrog_warmup.reduce((x, y) => x + y, 0) + c.n_leapfrog.reduce((x, y) => x + y, 0), 0);
  const divergent = output.chains.reduce((a, c) => a + c.divergent.reduce((x, y) => x + y, 0), 0);
  console.log(`  rstan ${folder}: ${output.wall_seconds.toFixed(1)} s (compile ${output.compile.cached ? "cached" : `${output.compile.seconds.toFixed(0)} s`}; ${leapfrogs} leapfrog steps, ${divergent} divergent)`);
  return output.wall_seconds;
}

const lv = compile(lotkaVolterra(lvData));
const oc = compile(oneCompMmElimAbsOde(ocData));

if (!args.includes("--no-gradients")) {
  console.log("per-gradient time (us), at a posterior point:");
  const lvPoint = lv.unconstrain({ theta: [0.55, 0.028, 0.8, 0.024], z_init: [33.9, 5.9], sigma: [0.25, 0.25] });
  for (const method of ["rk45", "ckrk", "bdf", "adams"] as const) {
    const ld = compile(lotkaVolterra(lvData, { method, rtol: 1e-6, atol: 1e-6, maxSteps: 1e6 }));
    console.log(`  lotka_volterra ${method.padEnd(5)} rtol = atol = 1e-6: ${perGradient(ld, lvPoint).toFixed(1)}`);
  }
  console.log(`  lotka_volterra rk45  as the program (1e-5, 1e-3): ${perGradient(lv, lvPoint).toFixed(1)}`);
  const ocPoint = oc.unconstrain({ k_a: 0.895, K_m: 2.03, V_m: 1.07, sigma: 0.12 });
  for (const method of ["bdf", "rk45"] as const) {
    const ld = compile(oneCompMmElimAbsOde(ocData, { method }));
    console.log(`  one_comp_mm_elim_abs ${method} (Stan's defaults for the method): ${perGradient(ld, ocPoint).toFixed(1)}`);
  }
}

if (args.includes("--no-sampling")) process.exit(0);
console.log("sampling, 4 x (1000 + 1000):");
const stanProblem = args.includes("--no-stan") ? "--no-stan given" : probeStan();
// rstan first: a piece cut short by a time limit then still has rstan's figure.
const lvStan = stanProblem === null && runs("lotka_volterra") ? rstan(LV) : null;
const ocStan = stanProblem === null && runs("one_comp_mm_elim_abs") ? rstan(ONE_COMP) : null;
const lvOurs = runs("lotka_volterra") ? await ours("lotka_volterra", lv) : null;
const ocOurs = runs("one_comp_mm_elim_abs") ? await ours("one_comp_mm_elim_abs", oc) : null;
if (stanProblem !== null) console.log(`  rstan not run: ${stanProblem}`);
const fmt = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(1)}s`);
console.log(`ode: lotka_volterra ${fmt(lvOurs)} vs rstan ${fmt(lvStan)} ; one_comp_mm_elim_abs ${fmt(ocOurs)} vs rstan ${fmt(ocStan)}`);

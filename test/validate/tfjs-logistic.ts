/**
 * A large-data logistic regression sampled through `sample` with the tfjs backend, judged by
 * posteriordb's pass rule (pass-rule.ts) against a reference made with the js backend (float64):
 * four times as many draws per chain, another seed. `runTfjsLogistic` is shared by the test
 * (a small size) and `npm run validate:tfjs` (the large one):
 *
 *   node dist/test/validate/tfjs-logistic.js [--n 10000] [--p 20] [--warmup 500] [--draws 500] [--device wasm]
 *
 * Last line: `tfjs logistic N=... P=... on tfjs-DEVICE: pass rule passed|FAILED (...)`.
 */
import { parseArgs } from "node:util";
import { sample } from "../../src/api/sample.js";
import type { Posterior } from "../../src/api/posterior.js";
import { compile } from "../../src/compile/compile.js";
import { tfjsReady, type TfjsDevice } from "../../src/compile/index.js";
import { quantile } from "../../src/diagnostics/index.js";
import { logisticData, logisticModel } from "../../bench/models/large.js";
import type { ReferenceStats } from "../posteriordb/models.js";
import { checkAgainstReference, type PosteriorCheck } from "./pass-rule.js";

export interface TfjsLogisticOptions {
  readonly n: number;
  readonly p: number;
  readonly warmup: number;
  readonly draws: number;
  readonly device: TfjsDevice;
  readonly threads?: number;
}

/** Reference statistics (mean, sd, quantiles) of every parameter, from pooled chains. */
export function referenceOf(posterior: Posterior): Record<string, ReferenceStats> {
  const out: Record<string, ReferenceStats> = {};
  for (const name of posterior.names.slice(0, posterior.paramCount)) {
    const chains = posterior.draws(name);
    const all = chains.flatMap((c) => Array.from(c));
    const mean = all.reduce((s, x) => s + x, 0) / all.length;
    const sd = Math.sqrt(all.reduce((s, x) => s + (x - mean) ** 2, 0) / (all.length - 1));
    const q = (p: number) => quantile(chains, p);
    out[name] = { mean, sd, q05: q(0.05), q25: q(0.25), q50: q(0.5), q75: q(0.75), q95: q(0.95) };
  }
  return out;
}

export async function runTfjsLogistic(
  o: TfjsLogisticOptions,
): Promise<{ check: PosteriorCheck; tfjs: Posterior; seconds: { reference: number; tfjs: number }; float32: { sd: number; range: number } }> {
  const m = logisticModel(logisticData(o.n, o.p));
  const threads = o.threads ?? 2;
  const t0 = performance.now();
  const ref = await sample(compile(m), { chains: 4, threads, warmup: o.warmup, draws: 4 * o.draws, seed: 11 }).result;
  const t1 = performance.now();
  await tfjsReady(o.device);
  const density = compile(m, { backend: "tfjs", device: o.device });
  const tfjs = await sample(density, { chains: 4, threads, warmup: o.warmup, draws: o.draws, seed: 1 }).result;
  const t2 = performance.now();
  // lp_tfjs - lp_js at 200 of the tfjs run's draws: its spread is the energy error float32 adds.
  const js = compile(m);
  const diffs: number[] = [];
  const every = Math.max(1, Math.floor((4 * o.draws) / 200));
  for (let i = 0; i < 4 * o.draws; i += every) {
    const [c, k] = [i % 4, Math.floor(i / 4)];
    const beta = Array.from({ length: o.p }, (_, j) => tfjs.draws(`beta[${j + 1}]`)[c]![k]!);
    const q = js.unconstrain({ alpha: tfjs.draws("alpha")[c]![k]!, beta });
    diffs.push(density.logDensity(q) - js.logDensity(q));
  }
  const mean = diffs.reduce((s, x) => s + x, 0) / diffs.length;
  const sd = Math.sqrt(diffs.reduce((s, x) => s + (x - mean) ** 2, 0) / (diffs.length - 1));
  (density as { dispose?: () => void }).dispose?.();
  return {
    check: checkAgainstReference(tfjs, referenceOf(ref)),
    tfjs,
    seconds: { reference: (t1 - t0) / 1000, tfjs: (t2 - t1) / 1000 },
    float32: { sd, range: Math.max(...diffs) - Math.min(...diffs) },
  };
}

if (process.argv[1]?.endsWith("tfjs-logistic.js")) {
  const { values } = parseArgs({
    options: {
      n: { type: "string", default: "10000" },
      p: { type: "string", default: "20" },
      warmup: { type: "string", default: "500" },
      draws: { type: "string", default: "500" },
      device: { type: "string", default: "wasm" },
    },
  });
  const o = { n: Number(values.n), p: Number(values.p), warmup: Number(values.warmup), draws: Number(values.draws), device: values.device as TfjsDevice };
  const { check, tfjs, seconds, float32 } = await runTfjsLogistic(o);
  for (const p of check.parameters) {
    console.log(`${p.name.padEnd(10)} mean z ${p.meanZ.toFixed(2).padStart(6)}  sd ratio ${p.sdRatio.toFixed(3)}  R-hat ${p.rhat.toFixed(4)}  ESS ${p.essBulk.toFixed(0)}`);
  }
  for (const f of check.failures) console.log(`FAIL ${f}`);
  console.log(`float32: lp_tfjs - lp_js at 200 draws: sd ${float32.sd.toExponential(2)}, range ${float32.range.toExponential(2)} (energy error added per transition ~ ${(float32.sd * Math.SQRT2).toExponential(2)})`);
  console.log(`reference (js, 4 x ${4 * o.draws} draws): ${seconds.reference.toFixed(1)} s; tfjs (4 x ${o.draws}): ${seconds.tfjs.toFixed(1)} s; backend ${JSON.stringify(tfjs.backend)}`);
  console.log(
    `tfjs logistic N=${o.n} P=${o.p} on tfjs-${o.device}: pass rule ${check.passed ? "passed" : "FAILED"} (worst |mean z| ${check.worstMeanZ.toFixed(2)}, worst sd ratio ${check.worstSdRatio.toFixed(3)}, max R-hat ${check.maxRhat.toFixed(4)}, min ESS ${check.minEss.toFixed(0)}, divergences ${check.divergences})`,
  );
}

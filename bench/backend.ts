/**
 * `npm run bench:backend`: the js backend against every tfjs device available here.
 *
 * 1. Per-gradient time (`logDensityGradient`) of a logistic regression (P = 50) and a
 *    hierarchical Poisson GLM (100 groups, 5 predictors) at N = 1e3, 1e4, 1e5, 1e6 rows: js
 *    and each tfjs device timed in interleaved rounds in this one process (the order rotates
 *    per round); per round, each device's time over js's; reported: medians and ranges.
 * 2. ESS per second of a whole 4-chain `sample()` run (2 threads) at N = 1e5 on each backend:
 *    min bulk ESS over parameters / wall seconds (warmup included).
 * 3. The float32 error of the tfjs log-density at the js run's draws (what enters NUTS's
 *    energy error: lp_tfjs - lp_js varies from point to point).
 * 4. The crossover: the smallest N where the best tfjs device's gradient beats js (log-linear
 *    interpolation between measured sizes), per model.
 * Last line: `backend at N=1e5: tfjs-BACKEND / js gradient time X.XXx ; crossover N ~ Y`
 * (BACKEND: the fastest tfjs device at N = 1e5 on the logistic regression; Y: the logistic
 * regression's crossover, "none" when js wins at every size measured).
 */
import { parseArgs } from "node:util";
import { compile } from "../src/compile/compile.js";
import { availableDevices, compileTfjsModel, instantiateTfjs, nativeStatus, tfjsReady, type TfjsDevice, type TfjsLogDensity } from "../src/compile/index.js";
import type { LogDensity } from "../src/compile/types.js";
import { essBulk } from "../src/diagnostics/index.js";
import { sample } from "../src/api/sample.js";
import type { Model } from "../src/model/builder.js";
import { logisticData, logisticModel, poissonGlmData, poissonGlmModel } from "./models/large.js";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "1e3,1e4,1e5,1e6" },
    rounds: { type: "string", default: "5" },
    "block-ms": { type: "string", default: "300" },
    models: { type: "string", default: "logistic,poisson" },
    "ess-n": { type: "string", default: "1e5" },
    "ess-warmup": { type: "string", default: "300" },
    "ess-draws": { type: "string", default: "300" },
    "no-ess": { type: "boolean", default: false },
    /** Backends of the ESS runs, e.g. js,tfjs-wasm (default: all); the per-gradient ratios tell what the rest would give. */
    "ess-backends": { type: "string" },
  },
});
const sizes = args.sizes.split(",").map(Number);
const rounds = Number(args.rounds);
const blockMs = Number(args["block-ms"]);
const modelNames = args.models.split(",");

type Backend = "js" | `tfjs-${TfjsDevice}`;
const builders: Record<string, (n: number) => Model> = {
  logistic: (n) => logisticModel(logisticData(n, 50)),
  poisson: (n) => poissonGlmModel(poissonGlmData(n)),
};

async function main() {
  const devices = availableDevices();
  for (const d of devices) await tfjsReady(d);
  const native = nativeStatus();
  console.log(`tfjs devices here: ${devices.join(", ")}; tfjs-node: ${native.available ? "loaded" : `not loadable (${native.error})`}`);
  console.log("no GPU on this machine; wasm runs SIMD without threads in Node (tfjs enables wasm threads in browsers only)\n");
  const backends: Backend[] = ["js", ...devices.map((d) => `tfjs-${d}` as const)];

  // ---- 1. per-gradient time ----
  const ratios = new Map<string, number[]>(); // `${model}:${n}:${backend}` -> per-round ratios to js
  console.log(`per-gradient time, median of ${rounds} interleaved rounds (ratio to js: median [min-max])`);
  console.log(["model", "N", "dim", ...backends.map((b) => b.padStart(26))].join("\t"));
  for (const name of modelNames) {
    for (const n of sizes) {
      const m = builders[name]!(n);
      const js = compile(m, { sharedData: false });
      const tf = compileTfjsModel(m, { sharedData: false });
      const dens: Record<string, LogDensity> = { js };
      for (const d of devices) dens[`tfjs-${d}`] = instantiateTfjs(tf, undefined, d);
      const q = Float64Array.from({ length: js.dim }, (_, k) => 0.05 * Math.sin(k + 1));
      const g = new Float64Array(js.dim);
      const timeBlock = (ld: LogDensity, calls: number) => {
        const t0 = performance.now();
        for (let c = 0; c < calls; c++) ld.logDensityGradient(q, g);
        return (performance.now() - t0) / calls;
      };
      // Calibrate: calls per block from one warm call.
      const calls: Record<string, number> = {};
      for (const b of backends) {
        timeBlock(dens[b]!, 2);
        calls[b] = Math.max(1, Math.round(blockMs / Math.max(1e-3, timeBlock(dens[b]!, 1))));
      }
      const times: Record<string, number[]> = Object.fromEntries(backends.map((b) => [b, []]));
      for (let r = 0; r < rounds; r++) {
        const order = backends.map((_, k) => backends[(k + r) % backends.length]!);
        const t: Record<string, number> = {};
        for (const b of order) t[b] = timeBlock(dens[b]!, calls[b]!);
        for (const b of backends) {
          times[b]!.push(t[b]!);
          if (b !== "js") {
            const key = `${name}:${n}:${b}`;
            ratios.set(key, [...(ratios.get(key) ?? []), t[b]! / t.js!]);
          }
        }
      }
      const cells = backends.map((b) => {
        const ms = median(times[b]!);
        if (b === "js") return `${fmtMs(ms)}`.padStart(26);
        const rs = ratios.get(`${name}:${n}:${b}`)!;
        return `${fmtMs(ms)} ${median(rs).toFixed(2)}x [${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)}]`.padStart(26);
      });
      console.log([name, fmtN(n), js.dim, ...cells].join("\t"));
      for (const d of Object.values(dens)) (d as Partial<TfjsLogDensity>).dispose?.();
    }
  }

  // ---- 4. crossover per model ----
  const bestAt = (name: string, n: number) => {
    let best: { backend: string; ratio: number } | null = null;
    for (const b of backends.slice(1)) {
      const r = ratios.get(`${name}:${n}:${b}`);
      if (r && (best === null || median(r) < best.ratio)) best = { backend: b, ratio: median(r) };
    }
    return best!;
  };
  const crossover = (name: string): string => {
    let prev: { n: number; ratio: number } | null = null;
    for (const n of sizes) {
      const { ratio } = bestAt(name, n);
      if (ratio < 1) {
        if (prev === null) return `<=${fmtN(n)}`;
        // log N where log(ratio) crosses 0, linear between the two sizes.
        const t = Math.log(prev.ratio) / (Math.log(prev.ratio) - Math.log(ratio));
        return fmtN(Math.exp(Math.log(prev.n) + t * (Math.log(n) - Math.log(prev.n))));
      }
      prev = { n, ratio };
    }
    return "none";
  };
  console.log("");
  for (const name of modelNames) {
    const c = crossover(name);
    console.log(`${name}: crossover N ~ ${c}${c === "none" ? ` (js faster at every N up to ${fmtN(sizes[sizes.length - 1]!)}; best tfjs ratio ${sizes.map((n) => `${fmtN(n)}: ${bestAt(name, n).ratio.toFixed(2)}x`).join(", ")})` : ""}`);
  }

  // ---- 2 and 3. ESS per second at one size, float32 error at the draws ----
  if (!args["no-ess"]) {
    const n = Number(args["ess-n"]);
    const [warmup, draws] = [Number(args["ess-warmup"]), Number(args["ess-draws"])];
    console.log(`\nESS per second, 4 chains x (${warmup} + ${draws}) on 2 threads, N = ${fmtN(n)} (min bulk ESS over parameters / wall seconds)`);
    for (const name of modelNames) {
      const m = builders[name]!(n);
      let jsDraws: Float64Array[] | null = null;
      const essBackends = args["ess-backends"]?.split(",") ?? backends;
      for (const b of backends.filter((x) => essBackends.includes(x))) {
        const density = b === "js" ? compile(m) : compile(m, { backend: "tfjs", device: b.slice(5) as TfjsDevice });
        const t0 = performance.now();
        const post = await sample(density, { chains: 4, threads: 2, warmup, draws, seed: 1 }).result;
        const seconds = (performance.now() - t0) / 1000;
        const params = post.names.slice(0, post.paramCount);
        const ess = Math.min(...params.map((p) => essBulk(post.draws(p))));
        const grads = post.gradientEvaluations;
        const failed = post.chainStatus.filter((c) => c.status === "failed");
        if (failed.length > 0) console.log(`${name}\t${b}: ${failed.length} chain(s) failed: ${failed[0]!.error}`);
        console.log(`${name}\t${b.padEnd(16)}\t${seconds.toFixed(1)} s\tmin ESS ${ess.toFixed(0)}\tESS/s ${(ess / seconds).toFixed(2)}\t${(seconds / grads * 1e3 * 2).toFixed(2)} ms/gradient/thread\tdivergent ${post.divergences().reduce((a, c) => a + c, 0)}`);
        if (b === "js") jsDraws = positions(post, density);
        (density as Partial<TfjsLogDensity>).dispose?.();
      }
      if (jsDraws !== null) float32Error(name, m, jsDraws, devices);
    }
  }
  const at = sizes.includes(1e5) ? 1e5 : sizes[Math.floor(sizes.length / 2)]!;
  const best = bestAt("logistic", at);
  console.log(`backend at N=${fmtN(at)}: ${best.backend} / js gradient time ${best.ratio.toFixed(2)}x ; crossover N ~ ${crossover("logistic")}`);
}

/** Unconstrained positions of (up to 400) draws: the models here have real parameters only, except tau. */
function positions(post: Awaited<ReturnType<typeof sample>["result"]>, density: LogDensity): Float64Array[] {
  const out: Float64Array[] = [];
  const names = post.names.slice(0, post.paramCount);
  const step = Math.max(1, Math.floor((post.numDraws * post.numChains) / 400));
  for (let c = 0; c < post.numChains; c++) {
    for (let i = 0; i < post.numDraws; i += step) {
      const values: Record<string, number[]> = {};
      for (const full of names) {
        const base = full.replace(/\[.*$/, "");
        (values[base] ??= []).push(post.draws(full)[c]![i]!);
      }
      out.push(density.unconstrain(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.length === 1 && !post.names.includes(`${k}[1]`) ? v[0]! : v]))));
    }
  }
  return out;
}

/** lp_tfjs - lp_js at the draws: its spread is the energy error float32 adds to a transition. */
function float32Error(name: string, m: Model, qs: Float64Array[], devices: TfjsDevice[]) {
  const js = compile(m);
  const tf = compileTfjsModel(m);
  for (const d of devices) {
    const ld = instantiateTfjs(tf, undefined, d);
    const diff = qs.map((q) => ld.logDensity(q) - js.logDensity(q));
    const lp = qs.map((q) => js.logDensity(q));
    const mean = diff.reduce((s, x) => s + x, 0) / diff.length;
    const sd = Math.sqrt(diff.reduce((s, x) => s + (x - mean) ** 2, 0) / (diff.length - 1));
    const lpMag = Math.max(...lp.map(Math.abs));
    console.log(
      `float32 error ${name} tfjs-${d}: lp_tfjs - lp_js at ${qs.length} draws: sd ${sd.toExponential(2)}, range ${(Math.max(...diff) - Math.min(...diff)).toExponential(2)}` +
        ` (|lp| up to ${lpMag.toExponential(2)}; one float32 rounding of lp alone: ${(lpMag * 2 ** -24).toExponential(2)}); energy error added per transition ~ sd * sqrt(2) = ${(sd * Math.SQRT2).toExponential(2)}`,
    );
    ld.dispose();
  }
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
};
const fmtMs = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} us` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`);
const fmtN = (n: number) => {
  const e = Math.log10(n);
  return Number.isInteger(Math.round(e * 1000) / 1000) ? `1e${Math.round(e)}` : n.toExponential(1).replace("+", "");
};

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

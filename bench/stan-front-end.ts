/**
 * `npm run bench:stan-front-end`: the Stan front end's speed (issue 21's targets, printed, never
 * asserted).
 *
 * 1. Gradient time: each of the 26 posteriors of test/posteriordb compiled from its .stan file
 *    by `stanModel` against its hand translation in test/posteriordb/models.ts, timed by
 *    bench/gradient-harness.ts (both checked to compute the same function first: gradients to
 *    1e-6, log-density differences to 1e-8, at normal(0, 0.5) points), interleaved in this one
 *    process. Target: every ratio (front end / hand) within 1.3. Where the registered hand
 *    translation approximates the program (`SAME_COMPUTATION`: one_comp_mm_elim_abs's RK4 grid),
 *    the builder's version computing what the program computes is the baseline; both are printed.
 * 2. Compile time: `stanModel` + `compile` of each of posteriordb's programs
 *    (test/stan/posteriordb) with its first data set; the better of two runs when the first
 *    takes under a second. Target: under 200 ms each.
 * 3. With `--corpus-gradient` only: the gradient time of each of posteriordb's programs that
 *    compiles (first data set, at a fixed point near 0), warm: the median of 5 batches of 100 ms
 *    after 5 batches of warm-up (large programs run in the interpreter until V8 optimises their
 *    loops, D222). Printed: the median over programs and the slowest.
 *
 *   node dist/bench/stan-front-end.js [--only name,name] [--skip-compile] [--skip-gradient] [--corpus-gradient]
 *
 * Last lines: `worst gradient ratio (front end / hand translation): X.XX (model)` and
 * `compile time: median M ms, worst W ms (program), N/P programs under 200 ms`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compile, stanModel } from "../src/index.js";
import type { Model } from "../src/model/builder.js";
import { loadPosterior, oneCompMmElimAbsOde, posteriordbDir, posteriordbModels } from "../test/posteriordb/models.js";
import { dataText, programPath, programs, programSource } from "../test/stan/corpus.js";
import { compareGradients, type GradientRow } from "./gradient-harness.js";

const { values: args } = parseArgs({
  options: { only: { type: "string" }, "skip-compile": { type: "boolean" }, "skip-gradient": { type: "boolean" }, "corpus-gradient": { type: "boolean" } },
});
const only = args.only?.split(",");
const wanted = (name: string) => !only || only.some((o) => name.includes(o));
const quiet = { onWarning: () => undefined };

/**
 * Posteriors whose registered hand translation approximates the program rather than computing it:
 * one_comp_mm_elim_abs's is RK4 on a fixed grid (for sampling tests), the program's
 * `integrate_ode_bdf` an adaptive BDF at 1e-10. Timed against the builder's `ode` with the same
 * solver and tolerances instead (both ratios printed).
 */
const SAME_COMPUTATION: Readonly<Record<string, (data: Record<string, unknown>) => Model>> = {
  "one_comp_mm_elim_abs-one_comp_mm_elim_abs": (data) => oneCompMmElimAbsOde(data),
};

if (args["skip-gradient"] !== true) {
  console.log("1. gradient time, front end (stanModel of test/posteriordb/<name>/model.stan) against the hand translation\n");
  const rows: { name: string; row: GradientRow | null; why: string }[] = [];
  for (const name of Object.keys(posteriordbModels).filter(wanted)) {
    try {
      const dir = join(posteriordbDir, name);
      const { model: registered, data } = loadPosterior(name);
      const same = SAME_COMPUTATION[name];
      const hand = same === undefined ? registered : same(data);
      const front = compile(stanModel(readFileSync(join(dir, "model.stan"), "utf8"), readFileSync(join(dir, "data.json"), "utf8"), { file: `${name}.stan`, ...quiet }));
      const compare = (handwritten: Model) =>
        compareGradients([{ name, generated: front, handwritten: compile(handwritten) }], { gradRelTol: 1e-6, lpRelTol: 1e-8, scale: 0.5, rounds: 7, blockMs: 40, log: () => undefined })[0]!;
      const row = compare(hand);
      rows.push({ name, row, why: "" });
      if (same !== undefined) {
        const approx = compare(registered);
        console.log(`${name}: timed against the builder's ode with the program's solver and tolerances; against the registered RK4-grid translation the ratio is ${approx.ratio.toFixed(2)}`);
      }
    } catch (e) {
      const lines = (e instanceof Error ? e.message : String(e)).split("\n").map((l) => l.trim()).filter((l) => l !== "" && !/^\d+\s*[:|]/.test(l) && !l.startsWith("^"));
      rows.push({ name, row: null, why: lines.slice(0, 2).join(" ").replace(/ in '[^']*',/, "").slice(0, 160) });
    }
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`${"posterior".padEnd(w)}  dim  front end µs  hand µs   ratio`);
  for (const { name, row, why } of rows) {
    if (row === null) console.log(`${name.padEnd(w)}  ${why}`);
    else console.log(`${name.padEnd(w)}  ${String(row.dim).padStart(3)}  ${(row.generatedNs / 1000).toFixed(2).padStart(12)}  ${(row.handwrittenNs / 1000).toFixed(2).padStart(7)}  ${row.ratio.toFixed(2).padStart(6)}`);
  }
  const timed = rows.filter((r) => r.row !== null);
  const worst = timed.reduce<(typeof timed)[number] | null>((a, b) => (a === null || b.row!.ratio > a.row!.ratio ? b : a), null);
  console.log(`\n${timed.filter((r) => r.row!.ratio <= 1.3).length}/${rows.length} within 1.3x; ${rows.length - timed.length} not compared`);
  console.log(`worst gradient ratio (front end / hand translation): ${worst === null ? "none" : `${worst.row!.ratio.toFixed(2)} (${worst.name})`}\n`);
}

if (args["skip-compile"] !== true) {
  console.log("2. compile time: stanModel + compile, first data set (ms)\n");
  const times: { model: string; ms: number }[] = [];
  const failed: string[] = [];
  for (const [model, posteriors] of programs()) {
    if (!wanted(model)) continue;
    const text = posteriors.map((p) => dataText(p.data)).find((t) => t !== null);
    if (text === undefined) continue;
    const once = () => {
      const t0 = performance.now();
      compile(stanModel(programSource(model), text, { file: programPath(model), ...quiet }));
      return performance.now() - t0;
    };
    try {
      const first = once();
      times.push({ model, ms: first < 1000 ? Math.min(first, once()) : first });
    } catch {
      failed.push(model);
    }
  }
  times.sort((a, b) => b.ms - a.ms);
  for (const t of times) console.log(`${t.model.padEnd(50)} ${t.ms.toFixed(0).padStart(7)}`);
  const sorted = times.map((t) => t.ms).sort((a, b) => a - b);
  const median = sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
  console.log(`(${failed.length} programs do not compile: npm run validate:stan says why)`);
  console.log(
    `compile time: median ${median.toFixed(0)} ms, worst ${times[0]?.ms.toFixed(0) ?? "-"} ms (${times[0]?.model ?? "-"}), ${times.filter((t) => t.ms < 200).length}/${times.length} programs under 200 ms`,
  );
}

if (args["corpus-gradient"] === true) {
  console.log("\n3. gradient time of each program that compiles, first data set, warm (µs)\n");
  const rows: { model: string; us: number }[] = [];
  for (const [model, posteriors] of programs()) {
    if (!wanted(model)) continue;
    const text = posteriors.map((p) => dataText(p.data)).find((t) => t !== null);
    if (text === undefined) continue;
    let density: ReturnType<typeof compile>;
    try {
      density = compile(stanModel(programSource(model), text, { file: programPath(model), ...quiet }));
    } catch {
      continue;
    }
    const q = Float64Array.from({ length: density.dim }, (_, i) => 0.1 * Math.sin(i + 1));
    const g = new Float64Array(density.dim);
    const batch = () => {
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < 100) {
        density.logDensityGradient(q, g);
        n++;
      }
      return ((performance.now() - t0) / n) * 1000;
    };
    for (let k = 0; k < 5; k++) batch();
    const batches = Array.from({ length: 5 }, batch).sort((a, b) => a - b);
    rows.push({ model, us: batches[2]! });
  }
  rows.sort((a, b) => b.us - a.us);
  for (const r of rows.slice(0, 15)) console.log(`${r.model.padEnd(50)} ${r.us.toFixed(0).padStart(9)}`);
  const median = rows.length === 0 ? NaN : rows.map((r) => r.us).sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
  console.log(`gradient time: median ${median.toFixed(0)} µs over ${rows.length} programs, slowest ${rows[0]?.us.toFixed(0) ?? "-"} µs (${rows[0]?.model ?? "-"})`);
}

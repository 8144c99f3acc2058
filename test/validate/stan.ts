/**
 * `npm run validate:stan`: the Stan front end over posteriordb's Stan programs
 * (test/stan/posteriordb, vendored from posteriordb).
 *
 * 1. every program: parse + type-check (`checkStanProgram`), then `stanModel` with its first
 *    posterior's data and `compile`; the stage and first line of each failure are printed;
 * 2. every posterior with Stan's points (fixtures from rstan 2.21, scripts/stan-logprob-corpus.R;
 *    the 26 of test/posteriordb from their stan-logprob.json): the log density's difference from
 *    the first point equals Stan's to 1e-8 relative, the gradient Stan's to 1e-6;
 * 3. the 26 posteriors of test/posteriordb from their .stan files unmodified, through `sample`
 *    with its defaults (4 chains, 1000 warmup, seed 1; the reference's adapt_delta where it had
 *    one, as validate:posteriordb does), fixed (1000 draws per chain) and with early stop (at most
 *    10000 per chain), judged by posteriordb's pass rule; a posterior passes when every mode run
 *    passes.
 *
 *   node dist/test/validate/stan.js [--only name,name] [--mode fixed|early-stop|both|none] [--seed 1]
 *
 * `--only` filters programs, posteriors and reference posteriors by name (substring). Prints a
 * table per part; the last line is
 * `stan front end: P/120 programs compile, L/M posteriors match Stan's log density, R/26 reference posteriors pass`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkStanProgram, compile, sample, stanModel } from "../../src/index.js";
import { loadPosterior, posteriordbDir, posteriordbModels } from "../posteriordb/models.js";
import { comparePoints, dataText, loadFixture, loadManifest, programPath, programs, programSource } from "../stan/corpus.js";
import { checkAgainstReference } from "./pass-rule.js";

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    mode: { type: "string", default: "both" },
    seed: { type: "string", default: "1" },
  },
});
const only = args.only?.split(",");
const wanted = (name: string) => !only || only.some((o) => name.includes(o));
const mode = args.mode!;
if (!["fixed", "early-stop", "both", "none"].includes(mode)) throw new Error(`--mode must be fixed, early-stop, both or none, got ${mode}`);
const seed = Number(args.seed);

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
/** A StanError's message starts with the location line; its reason follows. */
const reason = (e: unknown) => {
  const lines = (e instanceof Error ? e.message : String(e)).split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const loc = (lines[0] ?? "").replace(/ in '[^']*',/, "");
  const why = lines.find((l, i) => i > 0 && !/^\d+\s*[:|]/.test(l) && !/^\^/.test(l) && !/^-+$/.test(l)) ?? "";
  return why !== "" && why !== loc ? `${loc} ${why}` : loc;
};

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (cells: string[]) => cells.map((c, k) => (k === 0 || k === cells.length - 1 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join("  ").trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

type Compiled = ReturnType<typeof compile>;

// ---- 1. programs ----------------------------------------------------------------------------

const manifest = loadManifest();
const byProgram = programs(manifest);
const compiledByPosterior = new Map<string, Compiled | string>();
const programRows: string[][] = [];
let compiledPrograms = 0;
let programCount = 0;
for (const [model, posteriors] of byProgram) {
  if (!wanted(model) && !posteriors.some((p) => wanted(p.posterior))) continue;
  programCount++;
  const source = programSource(model);
  const file = programPath(model);
  const t0 = performance.now();
  const check = checkStanProgram(source, { file });
  let stage = "check";
  const error = check.errors[0];
  let failure = error === undefined ? "" : `line ${error.line}, column ${error.column}: ${error.message.split("\n")[0]}`;
  let ms = 0;
  if (check.ok) {
    for (const p of posteriors) {
      const text = dataText(p.data);
      if (text === null) {
        compiledByPosterior.set(p.posterior, `data ${p.data} not vendored (node scripts/fetch-posteriordb-data.mjs)`);
        continue;
      }
      const start = performance.now();
      try {
        stage = "stanModel";
        const m = stanModel(source, text, { file, name: model, onWarning: () => undefined });
        stage = "compile";
        const ld = compile(m);
        if (ms === 0) ms = performance.now() - start;
        compiledByPosterior.set(p.posterior, ld);
      } catch (e) {
        compiledByPosterior.set(p.posterior, `${stage}: ${reason(e)}`);
        if (failure === "") failure = `${stage} (${p.data}): ${reason(e)}`;
      }
    }
  }
  const total = performance.now() - t0;
  const ok = failure === "" && posteriors.some((p) => typeof compiledByPosterior.get(p.posterior) === "object");
  if (ok) compiledPrograms++;
  else if (failure === "") failure = String(compiledByPosterior.get(posteriors[0]!.posterior) ?? "no data");
  programRows.push([model, ok ? "yes" : "NO", ok ? ms.toFixed(0) : "", total.toFixed(0), ok ? "" : failure.slice(0, 160)]);
  console.error(`${model}: ${ok ? "compiles" : "FAILS"} ${total.toFixed(0)} ms`);
}
console.log("\n1. programs: parse + type-check + stanModel + compile (ms: stanModel + compile with the first data set; total includes check and every data set)\n");
table(["program", "compiles", "ms", "total ms", "reason"], programRows);

// ---- 2. log density and gradient against Stan -----------------------------------------------

const lpRows: string[][] = [];
let withPoints = 0;
let matching = 0;
let noFixture = 0;
for (const p of manifest) {
  if (!wanted(p.posterior) && !wanted(p.model)) continue;
  const fixture = loadFixture(p.posterior);
  if (fixture.kind !== "points") {
    if (fixture.kind === "missing") noFixture++;
    lpRows.push([p.posterior, "-", "", "", fixture.kind === "missing" ? "no fixture yet (scripts/stan-logprob-corpus.R)" : `rstan 2.21 failed at ${fixture.stage}: ${firstLine(new Error(fixture.message)).slice(0, 120)}`]);
    continue;
  }
  withPoints++;
  const ld = compiledByPosterior.get(p.posterior);
  if (typeof ld !== "object") {
    lpRows.push([p.posterior, "NO", "", "", `does not compile: ${String(ld ?? "not run").slice(0, 140)}`]);
    continue;
  }
  let c;
  try {
    c = comparePoints(ld, fixture.points, p.posterior.startsWith("one_comp_mm_elim_abs"));
  } catch (e) {
    lpRows.push([p.posterior, "NO", "", "", `threw: ${firstLine(e).slice(0, 140)}`]);
    continue;
  }
  if (c.matches) matching++;
  lpRows.push([p.posterior, c.matches ? "yes" : "NO", c.worstDifference.toExponential(1), c.worstGradient.toExponential(1), c.detail.slice(0, 160)]);
}
console.log(`\n2. log density and gradient at Stan's points (difference between points to 1e-8 relative, gradient to 1e-6)\n`);
table(["posterior", "match", "lp diff", "gradient", "detail"], lpRows);
if (noFixture > 0) console.log(`(${noFixture} posteriors have no fixture yet: they are not counted)`);

// ---- 3. the 26 reference posteriors through sample ------------------------------------------

const modes = mode === "both" ? (["fixed", "early-stop"] as const) : mode === "none" ? [] : [mode as "fixed" | "early-stop"];
const refNames = Object.keys(posteriordbModels).filter(wanted);
const refRows: string[][] = [];
let passedRefs = 0;
for (const name of modes.length === 0 ? [] : refNames) {
  const { reference } = loadPosterior(name);
  const control = (reference.reference_method as { method_arguments?: { control?: { adapt_delta?: number; max_treedepth?: number } } }).method_arguments?.control;
  const settings = { chains: 4, warmup: 1000, seed, targetAccept: control?.adapt_delta ?? 0.8, maxTreeDepth: control?.max_treedepth ?? 10, progress: false as const };
  const dir = join(posteriordbDir, name);
  const cells: string[] = [];
  let all = true;
  let why = "";
  for (const m of modes) {
    const started = performance.now();
    try {
      const model = stanModel(readFileSync(join(dir, "model.stan"), "utf8"), readFileSync(join(dir, "data.json"), "utf8"), { file: join("test", "posteriordb", name, "model.stan"), onWarning: () => undefined });
      const posterior = await sample(model, { ...settings, draws: m === "fixed" ? 1000 : 10000, earlyStop: m === "early-stop" }).result;
      const check = checkAgainstReference(posterior, reference.parameters);
      all &&= check.passed;
      if (!check.passed && why === "") why = `${m}: ${check.failures.slice(0, 2).join("; ")}`;
      cells.push(`${check.passed ? "pass" : "FAIL"} ${posterior.numDraws} ${((performance.now() - started) / 1000).toFixed(0)}s`);
    } catch (e) {
      all = false;
      if (why === "") why = `${m}: ${reason(e)}`;
      cells.push("error");
    }
  }
  if (all) passedRefs++;
  refRows.push([name, all ? "yes" : "NO", ...cells, why.slice(0, 160)]);
  console.error(`${name}: ${all ? "pass" : "FAIL"} ${cells.join(" | ")}`);
}
if (modes.length > 0) {
  console.log(`\n3. test/posteriordb's .stan files through sample (defaults, seed ${seed}): result, draws per chain, seconds\n`);
  table(["posterior", "pass", ...modes, "why"], refRows);
}

if (modes.length === 0) console.log("\n(reference posteriors not sampled: --mode none)");
console.log(
  `\nstan front end: ${compiledPrograms}/${programCount} programs compile, ${matching}/${withPoints} posteriors match Stan's log density, ${passedRefs}/${refNames.length} reference posteriors pass`,
);

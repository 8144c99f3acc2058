/**
 * `npm run validate:posteriordb`: every posterior of test/posteriordb sampled by the
 * supervised runtime with its defaults (4 chains on worker threads, 1000 warmup + 1000 draws,
 * pooled warmup, seed 1) and judged by posteriordb's pass rule. `--early-stop` uses the
 * early-stop defaults instead (stop once bulk/tail ESS >= 400 and R-hat < 1.01, checked every
 * 100 draws, at most `--max-draws` (10000) per chain); `--sync` uses `sampleSync` (chains one
 * after another on this thread).
 * Where the reference itself was made with a higher adapt_delta or max_treedepth (its
 * `reference_method.control`: gp_pois_regr and the ODE model at 0.99, eight schools at 0.95),
 * the same control is used, and the table shows it: Stan at 0.8 has divergences on those too.
 * Prints a table; last line `posteriordb: N/26 passed`.
 *
 *   node dist/test/validate/posteriordb.js [--only name,name] [--seed 1] [--early-stop] [--sync]
 */
import { parseArgs } from "node:util";
import { sample } from "../../src/api/sample.js";
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/compile.js";
import { loadPosterior, posteriordbModels } from "../posteriordb/models.js";
import { checkAgainstReference } from "./pass-rule.js";

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    seed: { type: "string", default: "1" },
    "early-stop": { type: "boolean", default: false },
    sync: { type: "boolean", default: false },
    "max-draws": { type: "string", default: "10000" },
  },
});
const only = args.only?.split(",");
const seed = Number(args.seed);
const earlyStop = args["early-stop"];
const sync = args.sync;
const maxDraws = Number(args["max-draws"]);
const names = Object.keys(posteriordbModels).filter((n) => !only || only.includes(n));

/** Known limits, printed under the table. */
const NOTES: Record<string, string> = {
  "one_comp_mm_elim_abs-one_comp_mm_elim_abs":
    "ODE (RK4 through scan: the same log density as Stan's BDF to 1e-9, 4.5x cheaper than the builder's bdf). K_m's and V_m's marginal densities fall as x^-3 (scripts/one-comp-tails.py): their variance is infinite, so their sd (the reference's 7.3 and 0.56 included) is no property of the posterior and the pass rule's sd check cannot be met reliably; their quantiles pass (DECISIONS.md D146).",
};

const header = ["posterior", "pass", "adapt_delta", "draws/chain", "worst |mean z|", "worst sd ratio", "divergences", "min ESS", "max R-hat", "seconds"];
const rows: string[][] = [];
let passed = 0;
for (const name of names) {
  const started = performance.now();
  const { model, reference } = loadPosterior(name);
  const control = (reference.reference_method as { method_arguments?: { control?: { adapt_delta?: number; max_treedepth?: number } } })
    .method_arguments?.control;
  const targetAccept = control?.adapt_delta ?? 0.8;
  const maxTreeDepth = control?.max_treedepth ?? 10;
  const settings = { chains: 4, warmup: 1000, seed, targetAccept, maxTreeDepth };
  const posterior = sync
    ? sampleSync(compile(model), { ...settings, draws: 1000 })
    : await sample(model, { ...settings, draws: earlyStop ? maxDraws : 1000, earlyStop }).result;
  const seconds = (performance.now() - started) / 1000;
  const check = checkAgainstReference(posterior, reference.parameters);
  if (check.passed) passed++;
  rows.push([
    name,
    check.passed ? "yes" : "NO",
    String(targetAccept) + (maxTreeDepth !== 10 ? ` (depth ${maxTreeDepth})` : ""),
    String(posterior.numDraws),
    check.worstMeanZ.toFixed(2),
    check.worstSdRatio.toFixed(3),
    String(check.divergences),
    check.minEss.toFixed(0),
    check.maxRhat.toFixed(3),
    seconds.toFixed(1),
  ]);
  console.log(`${name}: ${check.passed ? "pass" : "FAIL"} (${seconds.toFixed(1)} s)${check.failures.length ? "\n  " + check.failures.slice(0, 6).join("\n  ") : ""}`);
}

const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
const line = (cells: string[]) => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join("  ");
console.log("\n" + line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
for (const [name, note] of Object.entries(NOTES)) if (names.includes(name)) console.log(`note: ${name}: ${note}`);
const mode = sync ? "sampleSync" : earlyStop ? `runtime, early stop (at most ${maxDraws} draws per chain)` : "runtime, 1000 draws per chain";
console.log(`\n${mode}, seed ${seed}`);
console.log(`posteriordb: ${passed}/${names.length} passed`);

/**
 * `npm run validate:posteriordb`: every posterior of test/posteriordb sampled with the
 * defaults (4 chains, 1000 warmup + 1000 draws, seed 1) and judged by posteriordb's pass rule.
 * Where the reference itself was made with a higher adapt_delta or max_treedepth (its
 * `reference_method.control`: gp_pois_regr and the ODE model at 0.99, eight schools at 0.95),
 * the same control is used, and the table shows it: Stan at 0.8 has divergences on those too.
 * Prints a table; last line `posteriordb: N/26 passed`.
 *
 *   node dist/test/validate/posteriordb.js [--only name,name] [--seed 1]
 */
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/compile.js";
import { loadPosterior, posteriordbModels } from "../posteriordb/models.js";
import { checkAgainstReference } from "./pass-rule.js";

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = option("only")?.split(",");
const seed = Number(option("seed") ?? 1);
const names = Object.keys(posteriordbModels).filter((n) => !only || only.includes(n));

const header = ["posterior", "pass", "adapt_delta", "worst |mean z|", "worst sd ratio", "divergences", "min ESS", "max R-hat", "seconds"];
const rows: string[][] = [];
let passed = 0;
for (const name of names) {
  const started = performance.now();
  const { model, reference } = loadPosterior(name);
  const control = (reference.reference_method as { method_arguments?: { control?: { adapt_delta?: number; max_treedepth?: number } } })
    .method_arguments?.control;
  const targetAccept = control?.adapt_delta ?? 0.8;
  const maxTreeDepth = control?.max_treedepth ?? 10;
  const posterior = sampleSync(compile(model), { chains: 4, warmup: 1000, draws: 1000, seed, targetAccept, maxTreeDepth });
  const seconds = (performance.now() - started) / 1000;
  const check = checkAgainstReference(posterior, reference.parameters);
  if (check.passed) passed++;
  rows.push([
    name,
    check.passed ? "yes" : "NO",
    String(targetAccept) + (maxTreeDepth !== 10 ? ` (depth ${maxTreeDepth})` : ""),
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
console.log(`posteriordb: ${passed}/${names.length} passed`);

/**
 * `npm run bench:gradient`: generated log-density gradients against hand-written JavaScript
 * on eight schools (non-centred), logistic and sv, interleaved in one process.
 *
 * Headline baseline: bench/handwritten-direct.ts (the same computation written by hand).
 * Also reported: bench/handwritten.ts (algebraically rewritten: sufficient statistics, logs of
 * products), which changes the computation and shows what such rewrites would buy.
 * Last line: `worst gradient ratio (generated / hand-written): X.XX` (headline baseline).
 */
import { compile } from "../src/compile/compile.js";
import { compareGradients } from "./gradient-harness.js";
import * as direct from "./handwritten-direct.js";
import * as tuned from "./handwritten.js";
import { benchmarkModel, eightSchoolsNoncentered, loadBenchmarkData } from "./models/index.js";

const eight = loadBenchmarkData("eight_schools");
const logistic = loadBenchmarkData("logistic");
const sv = loadBenchmarkData("sv");
const generated = {
  eight: compile(eightSchoolsNoncentered(eight)),
  logistic: compile(benchmarkModel("logistic", logistic)),
  // The hand-written sv is Stan's centred random walk, so compare with that parameterisation.
  sv: compile(benchmarkModel("sv", sv, { noncentered: false })),
};

console.log("Against algebraically rewritten hand-written code (bench/handwritten.ts), for reference:");
const tunedRows = compareGradients([
  { name: "eight_schools_noncentered", generated: generated.eight, handwritten: tuned.eightSchoolsNoncentered(eight) },
  { name: "logistic", generated: generated.logistic, handwritten: tuned.logistic(logistic) },
  { name: "sv", generated: generated.sv, handwritten: tuned.sv(sv) },
]);
console.log(`worst ratio against rewritten code: ${Math.max(...tunedRows.map((r) => r.ratio)).toFixed(2)}\n`);

console.log("Against the same computation written by hand (bench/handwritten-direct.ts):");
const rows = compareGradients([
  { name: "eight_schools_noncentered", generated: generated.eight, handwritten: direct.eightSchoolsNoncentered(eight) },
  { name: "logistic", generated: generated.logistic, handwritten: direct.logistic(logistic) },
  { name: "sv", generated: generated.sv, handwritten: direct.sv(sv) },
]);
console.log(`worst gradient ratio (generated / hand-written): ${Math.max(...rows.map((r) => r.ratio)).toFixed(2)}`);

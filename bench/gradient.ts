/**
 * `npm run bench:gradient`: generated log-density gradients against hand-written JavaScript
 * (bench/handwritten.ts) on eight schools (non-centred), logistic and sv, interleaved in one
 * process. Last line: `worst gradient ratio (generated / hand-written): X.XX`.
 */
import { compile } from "../src/compile/compile.js";
import { compareGradients } from "./gradient-harness.js";
import * as handwritten from "./handwritten.js";
import { benchmarkModel, eightSchoolsNoncentered, loadBenchmarkData } from "./models/index.js";

const eight = loadBenchmarkData("eight_schools");
const logistic = loadBenchmarkData("logistic");
const sv = loadBenchmarkData("sv");

const rows = compareGradients([
  { name: "eight_schools_noncentered", generated: compile(eightSchoolsNoncentered(eight)), handwritten: handwritten.eightSchoolsNoncentered(eight) },
  { name: "logistic", generated: compile(benchmarkModel("logistic", logistic)), handwritten: handwritten.logistic(logistic) },
  { name: "sv", generated: compile(benchmarkModel("sv", sv)), handwritten: handwritten.sv(sv) },
]);
const worst = Math.max(...rows.map((r) => r.ratio));
console.log(`worst gradient ratio (generated / hand-written): ${worst.toFixed(2)}`);

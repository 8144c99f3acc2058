// The Stan built-in functions and distributions that posteriordb's programs call, listed from the
// programs themselves (test/stan/posteriordb/models/*.stan): for the Stan front end's coverage and
// its documentation.
//
//   node scripts/stan-inventory.mjs            # writes test/stan/posteriordb/functions.json and .md
//
// A call is an identifier followed by `(` (outside comments and strings) that is neither a
// keyword, a type, nor a function the program defines itself; `y ~ foo(...)` counts as a call of
// the distribution `foo` (listed as `foo ~`), `T[...]` truncation is not a call. Each entry names
// the programs that use it.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";

const dir = "test/stan/posteriordb";
const KEYWORDS = new Set([
  "for", "in", "while", "if", "else", "return", "print", "reject", "fatal_error", "target", "break", "continue",
  "int", "real", "complex", "vector", "row_vector", "matrix", "array", "void", "data", "lower", "upper", "offset", "multiplier",
  "simplex", "unit_vector", "ordered", "positive_ordered", "cholesky_factor_corr", "cholesky_factor_cov", "corr_matrix", "cov_matrix",
  "T", "functions", "parameters", "model", "quantities", "transformed", "generated",
]);

const strip = (code) =>
  code.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/(\/\/|#)[^\n]*/g, " ").replace(/"(?:[^"\\]|\\.)*"/g, '""');

/** Names of the functions a program defines (its functions block). */
function userFunctions(code) {
  const defined = new Set();
  const m = /functions\s*\{/.exec(code);
  if (!m) return defined;
  let depth = 1;
  let i = m.index + m[0].length;
  const start = i;
  while (depth > 0 && i < code.length) {
    if (code[i] === "{") depth++;
    else if (code[i] === "}") depth--;
    i++;
  }
  const block = code.slice(start, i);
  // a definition or declaration: return type, name, "(" at the block's top level
  const re = /(?:^|[;}])\s*(?:void|int|real|complex|vector|row_vector|matrix|array\s*\[[\s,]*\]\s*\w+|\w+\s*\[[\s,]*\])(?:\s*\[[\s,]*\])?\s+(\w+)\s*\(/g;
  for (const d of block.matchAll(re)) defined.add(d[1]);
  return defined;
}

const functions = new Map(); // name -> Set(program)
const add = (name, program) => {
  if (!functions.has(name)) functions.set(name, new Set());
  functions.get(name).add(program);
};
const programs = readdirSync(`${dir}/models`).filter((f) => f.endsWith(".stan")).sort();
for (const file of programs) {
  const program = file.replace(/\.stan$/, "");
  const code = strip(readFileSync(`${dir}/models/${file}`, "utf8"));
  const own = userFunctions(code);
  for (const m of code.matchAll(/~\s*([A-Za-z_]\w*)\s*\(/g)) if (!own.has(m[1])) add(`${m[1]} ~`, program);
  for (const m of code.matchAll(/(?<![\w.~]\s*)(?<!~\s*)\b([A-Za-z_]\w*)\s*\(/g)) {
    const name = m[1];
    if (KEYWORDS.has(name) || own.has(name)) continue;
    add(name, program);
  }
}

const kind = (name) =>
  name.endsWith(" ~") ? "distribution (~)" :
  /_(lpdf|lpmf|lupdf|lupmf|lcdf|lccdf|cdf|log|rng)$/.test(name) ? "distribution function" : "function";
const entries = [...functions.entries()]
  .map(([name, set]) => ({ name, kind: kind(name), programs: set.size, used_by: [...set].sort() }))
  .sort((a, b) => a.kind.localeCompare(b.kind) || b.programs - a.programs || a.name.localeCompare(b.name));
writeFileSync(`${dir}/functions.json`, JSON.stringify({ programs: programs.length, calls: entries }, null, 1) + "\n");

const lines = [
  "# Stan functions and distributions called by posteriordb's programs",
  "",
  `Written by \`node scripts/stan-inventory.mjs\` from the ${programs.length} programs in \`models/\`: ${entries.length} names.`,
  "`foo ~` is the distribution `foo` in a sampling statement; the count is the number of programs.",
  "",
];
for (const k of ["distribution (~)", "distribution function", "function"]) {
  const group = entries.filter((e) => e.kind === k);
  lines.push(`## ${k} (${group.length})`, "", "| name | programs |", "| --- | ---: |");
  for (const e of group) lines.push(`| \`${e.name}\` | ${e.programs} |`);
  lines.push("");
}
writeFileSync(`${dir}/functions.md`, lines.join("\n"));
console.log(`${entries.length} names from ${programs.length} programs`);

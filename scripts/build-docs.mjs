#!/usr/bin/env node
/**
 * `npm run docs`: the guide's site. Checks the page list (docs/pages.mjs) against docs/guide/,
 * writes the guide's contents into docs/guide/index.md and README.md, builds the API reference
 * (TypeDoc's HTML, into docs/public/api) and the site (VitePress, into docs/.vitepress/dist), and
 * prints where it is. `--contents` writes the contents only (no build).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { guidePages } from "../docs/pages.mjs";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BEGIN = "<!-- guide-contents: made by `npm run docs` from docs/pages.mjs; do not edit by hand -->";
export const END = "<!-- /guide-contents -->";

/** What is wrong with the page list: listed pages that do not exist, guide pages not listed. */
export function pageProblems(root = ROOT, pages = guidePages) {
  const problems = [];
  for (const p of pages) {
    if (!existsSync(join(root, "docs", p.file))) problems.push(`docs/pages.mjs lists docs/${p.file}, which does not exist: write it, or take its line out`);
  }
  const listed = new Set(pages.map((p) => p.file));
  for (const name of readdirSync(join(root, "docs", "guide")).sort()) {
    if (name.endsWith(".md") && name !== "index.md" && !listed.has(`guide/${name}`)) {
      problems.push(`docs/guide/${name} is not in docs/pages.mjs: add its line where a reader meets it`);
    }
  }
  return problems;
}

/** The contents as a Markdown list, links relative to `base` ("" from docs/guide/, "docs/guide/" from the root). */
export function contentsBlock(base, pages = guidePages) {
  const items = pages.map((p, k) => `${k + 1}. [${p.title}](${base}${p.file.replace(/^guide\//, "")})`);
  return [BEGIN, "", ...items, "", END].join("\n");
}

/** `text` with its contents block replaced (it must have one). */
export function withContents(text, base, where, pages = guidePages) {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${where}: no ${BEGIN} ... ${END} block`);
  return text.slice(0, begin) + contentsBlock(base, pages) + text.slice(end + END.length);
}

/** The two files that show the contents, and the link base each uses. */
export const CONTENTS_FILES = [
  { path: "docs/guide/index.md", base: "./" },
  { path: "README.md", base: "docs/guide/" },
];

function writeContents() {
  for (const { path, base } of CONTENTS_FILES) {
    const file = join(ROOT, path);
    const text = readFileSync(file, "utf8");
    const next = withContents(text, base, path);
    if (next !== text) writeFileSync(file, next);
  }
}

async function main() {
  const problems = pageProblems();
  if (problems.length > 0) {
    console.error(`docs: the page list and docs/guide/ disagree:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  writeContents();
  if (process.argv.includes("--contents")) return;
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typedoc", "bin", "typedoc")], { cwd: ROOT, stdio: "inherit" });
  const { build } = await import("vitepress");
  await build(join(ROOT, "docs"));
  console.log(`docs: the site is in ${join(ROOT, "docs", ".vitepress", "dist")} (serve it: npx vitepress preview docs)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

#!/usr/bin/env node
/**
 * The index at the top of DECISIONS.md: one row per entry (number, title, status), made from the
 * entries' headings, so that it never disagrees with them (test/docs/decisions-index.test.ts).
 *
 * An entry's status comes from the titles of later entries: "(supersedes D12)" marks D12
 * superseded; "(supersedes part of D6)", "(supersedes parts of D13 and D18)" or "(supersedes
 * D21's ...)" mark it partly superseded; "(amends D35)", "corrects D91's ...", "a fix to D31's
 * ..." amended; "(extends D45)" extended. A reference after "by" ("superseded by D59") is the
 * other entry's to make, and is left out here.
 *
 *   npm run decisions:index            rewrite DECISIONS.md's index
 *   npm run decisions:index -- --check exit 1 when the index is out of date
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BEGIN = "<!-- index: made by `npm run decisions:index` from the headings below; do not edit by hand -->";
export const END = "<!-- /index -->";

/** The entries' headings: `## D<n>. <title>`, in file order. */
export function entries(text) {
  return [...text.matchAll(/^## D(\d+)\. (.+)$/gm)].map((m) => ({ number: Number(m[1]), title: m[2].trim() }));
}

const VERBS = [
  [/^supersedes?\b/i, "superseded"],
  [/^amends?\b/i, "amended"],
  [/^corrects?\b/i, "amended"],
  [/^a fix to\b/i, "amended"],
  [/^extends?\b/i, "extended"],
];

/**
 * What a title says of other entries: `{ target, kind, partial }` for each reference that follows
 * a verb in the same clause (clauses end at `;`, `(` and `)`).
 */
export function references(title) {
  const out = [];
  let verb = null;
  let partial = false;
  let i = 0;
  while (i < title.length) {
    const rest = title.slice(i);
    if (/^[;()]/.test(rest)) {
      verb = null;
      partial = false;
      i++;
      continue;
    }
    const v = VERBS.find(([re]) => re.test(rest));
    if (v && (i === 0 || /[\s(;,]/.test(title[i - 1]))) {
      verb = v[1];
      partial = false;
      i += rest.match(v[0])[0].length;
      continue;
    }
    if (/^parts? of\b/i.test(rest)) partial = true;
    const ref = /^D(\d+)\b/.exec(rest);
    if (ref && (i === 0 || !/[A-Za-z0-9]/.test(title[i - 1]))) {
      const before = title.slice(0, i);
      const byOther = /\bby\s+$/i.test(before);
      const possessive = /^D\d+'s\b/.test(rest);
      if (verb !== null && !byOther) out.push({ target: Number(ref[1]), kind: verb, partial: partial || possessive });
      i += ref[0].length;
      continue;
    }
    i++;
  }
  return out;
}

/** Status of each entry number: "current", or what later entries did to it. */
export function statuses(list) {
  const notes = new Map();
  for (const e of list) {
    for (const r of references(e.title)) {
      const label = r.kind === "superseded" && r.partial ? "partly superseded" : r.kind;
      const byLabel = notes.get(r.target) ?? new Map();
      byLabel.set(label, [...(byLabel.get(label) ?? []), `D${e.number}`]);
      notes.set(r.target, byLabel);
    }
  }
  const order = ["superseded", "partly superseded", "amended", "extended"];
  const status = new Map();
  for (const e of list) {
    const byLabel = notes.get(e.number);
    status.set(
      e.number,
      byLabel === undefined ? "current" : order.filter((l) => byLabel.has(l)).map((l) => `${l} by ${byLabel.get(l).join(", ")}`).join("; "),
    );
  }
  return status;
}

/** GitHub's anchor for a heading. */
export function anchor(heading) {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The index block (markers included) for these entries, by number. */
export function indexBlock(text) {
  const list = entries(text);
  const numbers = list.map((e) => e.number);
  const duplicate = numbers.find((n, k) => numbers.indexOf(n) !== k);
  if (duplicate !== undefined) throw new Error(`DECISIONS.md: two entries are numbered D${duplicate}`);
  const status = statuses(list);
  const rows = [...list]
    .sort((a, b) => a.number - b.number)
    .map((e) => {
      const title = e.title.replace(/\|/g, "\\|");
      return `| [D${e.number}](#${anchor(`D${e.number}. ${e.title}`)}) | ${title} | ${status.get(e.number)} |`;
    });
  return [BEGIN, "", `${list.length} entries, by number.`, "", "| # | decision | status |", "| --- | --- | --- |", ...rows, "", END].join("\n");
}

/** The text with its index replaced, or inserted before the first entry. */
export function withIndex(text) {
  const block = indexBlock(text);
  const begin = text.indexOf(BEGIN);
  if (begin >= 0) {
    const end = text.indexOf(END, begin);
    if (end < 0) throw new Error(`DECISIONS.md: the index has no ${END}`);
    return text.slice(0, begin) + block + text.slice(end + END.length);
  }
  const first = text.search(/^## D\d+\. /m);
  if (first < 0) throw new Error("DECISIONS.md: no entry (## D<n>. title)");
  return `${text.slice(0, first)}## Index\n\n${block}\n\n${text.slice(first)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = fileURLToPath(new URL("../DECISIONS.md", import.meta.url));
  const text = readFileSync(path, "utf8");
  const next = withIndex(text);
  if (process.argv.includes("--check")) {
    if (next !== text) {
      console.error("DECISIONS.md: the index is out of date: run npm run decisions:index");
      process.exit(1);
    }
    console.log(`DECISIONS.md: index up to date (${entries(text).length} entries)`);
  } else {
    if (next !== text) writeFileSync(path, next);
    console.log(`DECISIONS.md: index of ${entries(next).length} entries ${next === text ? "already up to date" : "written"}`);
  }
}

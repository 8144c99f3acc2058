/**
 * DECISIONS.md's index is the one `npm run decisions:index` makes from the entries' headings, and
 * the statuses follow what later titles say of earlier entries.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { anchor, entries, references, statuses, withIndex } from "../../scripts/decisions-index.mjs";

const decisions = readFileSync(new URL("../../DECISIONS.md", import.meta.url), "utf8");

describe("DECISIONS.md's index", () => {
  it("matches the entries (else: npm run decisions:index)", () => {
    expect(withIndex(decisions)).toBe(decisions);
    expect(entries(decisions).length).toBeGreaterThan(80);
  });

  it("reads what a title does to earlier entries", () => {
    expect(references("Stan's metric is no longer the default (supersedes D12)")).toEqual([{ target: 12, kind: "superseded", partial: false }]);
    expect(references("x (supersedes parts of D13 and D18)")).toEqual([
      { target: 13, kind: "superseded", partial: true },
      { target: 18, kind: "superseded", partial: true },
    ]);
    expect(references("x (supersedes D21's \"would change\" and parts of D18)").map((r) => r.partial)).toEqual([true, true]);
    expect(references("x (amends D52, corrects D91's reading)")).toEqual([
      { target: 52, kind: "amended", partial: false },
      { target: 91, kind: "amended", partial: true },
    ]);
    // Said of this entry by another, or a mere mention: not this entry's to record.
    expect(references("D53's estimate was too low (default superseded by D59; revised by D92)")).toEqual([]);
  });

  it("gives each entry one status and links to its heading", () => {
    const text = "## D1. First\n\n## D2. Second (supersedes D1)\n\n## D3. Third (extends D2; supersedes part of D2)\n";
    expect(Object.fromEntries(statuses(entries(text)))).toEqual({ 1: "superseded by D2", 2: "partly superseded by D3; extended by D3", 3: "current" });
    expect(anchor("D1. Toolchain: TypeScript 5.9, vitest 4, `dist/`")).toBe("d1-toolchain-typescript-59-vitest-4-dist");
    const indexed = withIndex(`# Decisions\n\n${text}`);
    expect(indexed).toContain("| [D1](#d1-first) | First | superseded by D2 |");
    expect(withIndex(indexed)).toBe(indexed);
    expect(() => withIndex("## D1. a\n\n## D1. b\n")).toThrow(/two entries are numbered D1/);
  });
});

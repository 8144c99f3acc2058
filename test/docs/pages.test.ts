/**
 * The site's page list (docs/pages.mjs) and docs/guide/ agree: a listed page that does not exist,
 * or a page that is not listed, is an error naming it; the contents in docs/guide/index.md and
 * README.md are the ones `npm run docs` makes from the list.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { guidePages } from "../../docs/pages.mjs";
import { CONTENTS_FILES, pageProblems, ROOT, withContents } from "../../scripts/build-docs.mjs";

describe("the guide's page list", () => {
  it("matches docs/guide/", () => {
    expect(pageProblems()).toEqual([]);
    expect(guidePages[0]!.file).toBe("guide/getting-started.md");
  });

  it("is what the README and the guide's index show (else: npm run docs)", () => {
    for (const { path, base } of CONTENTS_FILES) {
      const text = readFileSync(join(ROOT, path), "utf8");
      expect(withContents(text, base, path), path).toBe(text);
    }
  });

  it("names a missing page and an unlisted one", () => {
    const root = mkdtempSync(join(tmpdir(), "bayests-pages-"));
    try {
      mkdirSync(join(root, "docs", "guide"), { recursive: true });
      writeFileSync(join(root, "docs", "guide", "here.md"), "# here\n");
      writeFileSync(join(root, "docs", "guide", "unlisted.md"), "# unlisted\n");
      const pages = [
        { file: "guide/here.md", title: "Here" },
        { file: "guide/stan.md", title: "Stan programs" },
      ];
      expect(pageProblems(root, pages)).toEqual([
        "docs/pages.mjs lists docs/guide/stan.md, which does not exist: write it, or take its line out",
        "docs/guide/unlisted.md is not in docs/pages.mjs: add its line where a reader meets it",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/**
 * The docs cannot drift from the API: every ```ts block of the README and the guide imports from
 * "@bayests/runtime" (or RxJS, Effect, Node), type-checks against the package's sources, and the
 * blocks marked ```` ```ts run ```` run, with small draws.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { allBlocks, ALLOWED_IMPORTS, asModule, blockPath, extractBlocks, typeCheckBlocks } from "./code-blocks.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const outDir = join(root, "test-output", "doc-blocks");
const blocks = allBlocks(root);

describe("the docs' code blocks", () => {
  it("are found in the README and the guide", () => {
    expect(blocks.filter((b) => b.file === "README.md").length).toBeGreaterThan(0);
    expect(blocks.filter((b) => b.file.startsWith("docs/guide/")).length).toBeGreaterThan(10);
    expect(blocks.filter((b) => b.meta.includes("run")).length).toBeGreaterThan(5);
  });

  it("import from @bayests/runtime (RxJS, Effect and Node's modules aside), nothing else", () => {
    const imports = blocks.flatMap((b) => [...b.code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm)].map((m) => ({ at: `${b.file}:${b.line}`, from: m[1]! })));
    expect(imports.filter((i) => i.from === "@bayests/runtime").length).toBeGreaterThan(0);
    expect(imports.filter((i) => !ALLOWED_IMPORTS.test(i.from))).toEqual([]);
  });

  it("type-check against the package's sources (and a wrong one is reported at its line)", () => {
    // One program for all (creating it is most of the cost), with one block that must fail.
    const wrong = extractBlocks('text\n\n```ts\nimport { sampleSync } from "@bayests/runtime";\nconst n: string = sampleSync;\n```\n', "docs/wrong.md");
    const errors = typeCheckBlocks(root, [...blocks, ...wrong], join(outDir, "check"));
    expect(errors.filter((e) => !e.startsWith("docs/wrong.md:"))).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^docs\/wrong\.md:5 \(the block at line 3\): Type .* is not assignable to type 'string'/);
  });

  describe("that are marked run", () => {
    const shim = join(root, "test", "docs", "small-runs.ts");
    const runDir = join(outDir, "run");
    let quiet: ReturnType<typeof vi.spyOn>[] = [];
    beforeAll(() => {
      mkdirSync(runDir, { recursive: true });
      quiet = [vi.spyOn(console, "log").mockImplementation(() => {}), vi.spyOn(console, "table").mockImplementation(() => {})];
    });
    afterAll(() => quiet.forEach((s) => s.mockRestore()));
    for (const block of blocks.filter((b) => b.meta.includes("run"))) {
      it(`run: ${block.file}:${block.line}`, async () => {
        const path = blockPath(runDir, block);
        writeFileSync(path, asModule(block.code.replaceAll('"@bayests/runtime"', JSON.stringify(pathToFileURL(shim).href))));
        await import(pathToFileURL(path).href);
      });
    }
  });
});

describe("the extractor", () => {
  it("finds fenced blocks, indented ones and their meta, and no others", () => {
    const md = ["# t", "```ts run", "const a = 1;", "```", "- item", "", "  ```ts", "  const b = 2;", "  ```", "```sh", "ls", "```", "````ts", "const c = '```';", "````"].join("\n");
    expect(extractBlocks(md, "x.md")).toEqual([
      { file: "x.md", line: 2, meta: ["run"], code: "const a = 1;" },
      { file: "x.md", line: 7, meta: [], code: "const b = 2;" },
      { file: "x.md", line: 13, meta: [], code: "const c = '```';" },
    ]);
    expect(() => extractBlocks("```ts\nconst a = 1;\n", "y.md")).toThrow(/y.md:1: a ```ts block that never closes/);
  });
});

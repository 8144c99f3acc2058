/**
 * No import circles and no upward imports in the package's sources (ARCHITECTURE.md, "Floors"),
 * and the checker itself shown to fail on a tree that has both.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { floorViolations, importCircles, importGraph, parseFloors } from "./imports.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SOURCES = ["src", "actors", "supervisors"];
const floors = parseFloors(readFileSync(join(root, "ARCHITECTURE.md"), "utf8"));
const graph = importGraph(root, SOURCES);

describe("the package's imports", () => {
  it("reads the sources and the floors", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get("src/compile/compile.ts")).toContain("src/compile/compile-js.ts");
    expect(floors.map((f) => f.level)).toEqual([...floors.map((f) => f.level)].sort((a, b) => a - b));
  });

  it("have no circle", () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it("never go from a lower floor to a higher one, and every file is on a floor", () => {
    expect(floorViolations(graph, floors)).toEqual([]);
  });

  it("take a model down src/compile once: only the package's index imports the entry, compile.ts", () => {
    const importers = [...graph].filter(([, targets]) => targets.includes("src/compile/compile.ts")).map(([f]) => f);
    expect(importers.filter((f) => f.startsWith("src/compile/"))).toEqual(["src/compile/index.ts"]);
    // The backends below the entry do not reach back to it or to each other's entry points.
    expect(graph.get("src/compile/compile-js.ts")).not.toContain("src/compile/tfjs/index.ts");
    for (const f of ["src/compile/checks.ts", "src/compile/log-lik.ts", "src/compile/trust.ts", "src/compile/layouts.ts"]) {
      expect(graph.get(f)!.filter((t) => t === "src/compile/compile-js.ts" || t.startsWith("src/compile/tfjs/")), f).toEqual([]);
    }
  });
});

describe("the checker", () => {
  const fixture = mkdtempSync(join(tmpdir(), "bayests-imports-"));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  };
  const fixtureFloors = parseFloors(`<!-- floors -->
| floor | name | folders | invariant |
| --- | --- | --- | --- |
| 0 | low | \`src/low\` | x |
| 1 | high | \`src/high\`, \`src/index.ts\` | y |
<!-- /floors -->`);

  it("passes a tree that goes down only", () => {
    write("src/low/a.ts", 'export const a = 1;\n');
    write("src/low/b.ts", 'import { a } from "./a.js";\nexport const b = a;\n');
    write("src/high/c.ts", 'import { b } from "../low/b.js";\nexport const c = b;\n');
    write("src/index.ts", 'export { c } from "./high/c.js";\n');
    const g = importGraph(fixture, ["src"]);
    expect(importCircles(g)).toEqual([]);
    expect(floorViolations(g, fixtureFloors)).toEqual([]);
  });

  it("fails on a circle, type-only imports included", () => {
    write("src/low/a.ts", 'import type { B } from "./b.js";\nexport const a = 1;\nexport type A = B;\n');
    write("src/low/b.ts", 'import { a } from "./a.js";\nexport const b = a;\nexport type B = number;\n');
    expect(importCircles(importGraph(fixture, ["src"]))).toEqual([["src/low/a.ts", "src/low/b.ts"]]);
  });

  it("fails on an import from a lower floor to a higher one, and on a file on no floor", () => {
    write("src/low/a.ts", 'export const a = 1;\n');
    write("src/low/d.ts", 'export { c } from "../high/c.js";\n');
    write("src/elsewhere/e.ts", 'export const e = 1;\n');
    const problems = floorViolations(importGraph(fixture, ["src"]), fixtureFloors);
    expect(problems).toEqual([
      "src/elsewhere/e.ts is on no floor: add its folder to the floors table in ARCHITECTURE.md",
      "src/low/d.ts (floor 0, low) imports src/high/c.ts (floor 1, high): an import upward",
    ]);
  });

  it("finds dynamic imports and folder imports too", () => {
    write("src/low/f.ts", 'export const f = () => import("../high/index.js");\n');
    write("src/high/index.ts", 'export const h = 1;\n');
    write("src/high/g.ts", 'export * from "../low";\n');
    write("src/low/index.ts", 'export const i = 1;\n');
    const g = importGraph(fixture, ["src"]);
    expect(g.get("src/low/f.ts")).toEqual(["src/high/index.ts"]);
    expect(g.get("src/high/g.ts")).toEqual(["src/low/index.ts"]);
  });
});

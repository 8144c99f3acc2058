/**
 * The house's import rules, checked over the TypeScript sources (ARCHITECTURE.md, "Floors"):
 * no import circle between files, and no import from a lower floor to a higher one. Every
 * import counts, `import type` and `export ... from` included: a type-only circle still ties two
 * files together. A small checker of our own (DECISIONS.md D112): TypeScript's own
 * `preProcessFile` lists a file's imports, Tarjan's algorithm finds the circles.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** File (root-relative, `/`-separated) -> the project files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** One floor of ARCHITECTURE.md's table: its number, name and the folders (or files) on it. */
export interface Floor {
  readonly level: number;
  readonly name: string;
  readonly paths: readonly string[];
}

const posix = (p: string) => p.split(sep).join("/");

function sourceFiles(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
}

/** The file a relative specifier names (`./x.js` is `./x.ts`; a folder is its index.ts), or null. */
function resolveSpecifier(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts")];
  return candidates.find((c) => c.endsWith(".ts") && existsSync(c) && statSync(c).isFile()) ?? null;
}

/** The import graph of the `.ts` files under `dirs` (relative to `root`); imports of packages are left out. */
export function importGraph(root: string, dirs: readonly string[]): ImportGraph {
  const files: string[] = [];
  for (const d of dirs) sourceFiles(join(root, d), files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = info.importedFiles
      .map((r) => r.fileName)
      .filter((s) => s.startsWith("."))
      .map((s) => resolveSpecifier(file, s))
      .filter((t): t is string => t !== null)
      .map((t) => posix(relative(root, t)));
    graph.set(posix(relative(root, file)), [...new Set(targets)]);
  }
  return graph;
}

/** The import circles: each a strongly connected set of two or more files (or a file importing itself), sorted. */
export function importCircles(graph: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  // Iterative Tarjan: the graph may be deep enough to overflow recursion.
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = (graph.get(frame.node) ?? []).filter((t) => graph.has(t));
      if (frame.edge < edges.length) {
        const w = edges[frame.edge++]!;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, edge: 0 });
        } else if (onStack.has(w)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const members: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          members.push(w);
        } while (w !== frame.node);
        const selfLoop = members.length === 1 && (graph.get(w) ?? []).includes(w);
        if (members.length > 1 || selfLoop) circles.push(members.sort());
      }
    }
  }
  return circles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/**
 * The floors from ARCHITECTURE.md: the rows of the table between `<!-- floors -->` and
 * `<!-- /floors -->`, `| level | name | folders (in backquotes) | ... |`.
 */
export function parseFloors(markdown: string): Floor[] {
  const block = /<!-- floors -->([\s\S]*?)<!-- \/floors -->/.exec(markdown);
  if (!block) throw new Error("ARCHITECTURE.md: no <!-- floors --> ... <!-- /floors --> table");
  const floors: Floor[] = [];
  for (const line of block[1]!.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const level = Number(cells[1]);
    if (cells.length < 4 || cells[1] === "" || !Number.isInteger(level)) continue;
    const paths = [...cells[3]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, ""));
    if (paths.length === 0) throw new Error(`ARCHITECTURE.md: floor ${level} (${cells[2]}) names no folder`);
    floors.push({ level, name: cells[2]!, paths });
  }
  if (floors.length === 0) throw new Error("ARCHITECTURE.md: the floors table has no rows");
  return floors;
}

/** The floor of a file: the floor naming the longest folder (or file) that contains it, or null. */
export function floorOf(file: string, floors: readonly Floor[]): Floor | null {
  let best: { floor: Floor; length: number } | null = null;
  for (const floor of floors) {
    for (const p of floor.paths) {
      if ((file === p || file.startsWith(`${p}/`)) && (best === null || p.length > best.length)) best = { floor, length: p.length };
    }
  }
  return best?.floor ?? null;
}

/** What breaks the floors: files on no floor, and imports from a lower floor to a higher one (as sentences). */
export function floorViolations(graph: ImportGraph, floors: readonly Floor[]): string[] {
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const from = floorOf(file, floors);
    if (from === null) {
      problems.push(`${file} is on no floor: add its folder to the floors table in ARCHITECTURE.md`);
      continue;
    }
    for (const t of targets) {
      const to = floorOf(t, floors);
      if (to !== null && to.level > from.level) {
        problems.push(`${file} (floor ${from.level}, ${from.name}) imports ${t} (floor ${to.level}, ${to.name}): an import upward`);
      }
    }
  }
  return problems.sort();
}

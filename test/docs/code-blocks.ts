/**
 * The TypeScript blocks of the README and the guide, as programs: extracted, type-checked
 * against the package's sources (`"@bayests/runtime"` resolves to src/index.ts) and, for blocks
 * marked ```` ```ts run ````, run with small draws (test/docs/small-runs.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

/** One ```ts block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the project root. */
  readonly file: string;
  /** Line of the opening fence (1-based). */
  readonly line: number;
  /** The words after `ts` on the fence (`run`). */
  readonly meta: readonly string[];
  readonly code: string;
}

/** Every ```ts (or ```typescript) block of a Markdown text, indented ones (in list items) included. */
export function extractBlocks(markdown: string, file: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,})(ts|typescript)\b(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, , rest] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (lines[j]!.trimEnd() === `${indent}${fence}`) break;
      body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!.trimStart());
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: a \`\`\`ts block that never closes`);
    blocks.push({ file, line: i + 1, meta: rest!.trim().split(/\s+/).filter((w) => w !== ""), code: body.join("\n") });
    i = j;
  }
  return blocks;
}

/** The Markdown files whose blocks are checked: README.md and docs/**.md (not generated or installed ones). */
export function markdownFiles(root: string): string[] {
  const out = ["README.md"];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && e.name !== "api" && !e.name.startsWith(".")) walk(p);
      } else if (e.name.endsWith(".md")) out.push(p);
    }
  };
  if (existsSync(join(root, "docs"))) walk("docs");
  return out;
}

/** The packages a block may import: the package itself, what its API hands out (RxJS, Effect), and Node's. */
export const ALLOWED_IMPORTS = /^(@bayests\/runtime|rxjs|effect|node:[a-z_/]+)$/;

/** Where a block goes on disk, by its file and line (stable names, so errors point at the block). */
export function blockPath(dir: string, block: CodeBlock, suffix = ""): string {
  const name = `${block.file.replace(/\.md$/, "").replace(/[^A-Za-z0-9]+/g, "-")}-L${block.line}${suffix}.ts`;
  return join(dir, name);
}

/** The block as a module (a block with no import or export is made one, so its names stay its own). */
export function asModule(code: string): string {
  return /^\s*(import|export)\s/m.test(code) ? code : `${code}\nexport {};\n`;
}

/**
 * Type-checks the blocks as modules of one program, with the project's compiler options and
 * `"@bayests/runtime"` mapped to src/index.ts. Returns the errors as `README.md:12 (block line 3): message`.
 */
export function typeCheckBlocks(root: string, blocks: readonly CodeBlock[], outDir: string): string[] {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const byPath = new Map<string, CodeBlock>();
  for (const b of blocks) {
    const path = blockPath(outDir, b);
    writeFileSync(path, asModule(b.code));
    byPath.set(path, b);
  }
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error("tsconfig.json could not be read");
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    // A block shows a step; a value it makes and does not use is not a fault.
    noUnusedLocals: false,
    noUnusedParameters: false,
    baseUrl: root,
    paths: { "@bayests/runtime": ["src/index.ts"] },
  };
  const program = ts.createProgram([...byPath.keys()], options);
  // The package's own sources are tsc's to check; here, the blocks only (checking them reads
  // only the declarations they use).
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...[...byPath.keys()].flatMap((path) => {
      const file = program.getSourceFile(path)!;
      return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    }),
  ];
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const block = d.file ? byPath.get(d.file.fileName) : undefined;
    if (!d.file || d.start === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    if (!block) return `${relative(root, d.file.fileName)}:${line + 1}: ${message}`;
    return `${block.file}:${block.line + 1 + line} (the block at line ${block.line}): ${message}`;
  });
}

/** Every block of the README and the guide. */
export function allBlocks(root: string): CodeBlock[] {
  return markdownFiles(root).flatMap((f) => extractBlocks(readFileSync(join(root, f), "utf8"), f));
}

/**
 * Worker threads run compiled JavaScript (`dist/actors/worker.js`, see supervisors/worker-pool.ts),
 * and so do the fuzz suite's child processes (`dist/test/fuzz/child.js`), while tests run from
 * sources. Before the tests, compile both and everything they import into dist/ (tsc follows
 * the imports), unless dist/ is newer than every source file it comes from. Type errors
 * elsewhere in the project do not block it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  // The worker, and the fuzz suite's child process (test/fuzz), which loads the package root.
  const outputs = [join(root, "dist", "actors", "worker.js"), join(root, "dist", "test", "fuzz", "child.js")];
  const sources = Math.max(...["src", "actors", "supervisors", "test/fuzz"].map((d) => newestSource(join(root, d))));
  const fresh = () => outputs.every((f) => existsSync(f) && statSync(f).mtimeMs >= sources);
  if (fresh()) return;
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(root, "test", "runtime", "tsconfig.worker.json")], { stdio: "pipe" });
  } catch {
    // tsc still emits when some file has a type error; the check below is what matters.
  }
  if (!fresh()) throw new Error(`could not build ${outputs.join(" and ")} (run npm run build to see why)`);
}

/**
 * Worker threads run compiled JavaScript (`dist/actors/worker.js`, see supervisors/worker-pool.ts),
 * while tests run from sources. Before the tests, compile the worker and everything it
 * imports into dist/ (tsc follows the imports from actors/worker.ts), unless dist/ is newer
 * than every source file it comes from. Type errors elsewhere in the project do not block it.
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
  const worker = join(root, "dist", "actors", "worker.js");
  const sources = Math.max(newestSource(join(root, "src")), newestSource(join(root, "actors")));
  if (existsSync(worker) && statSync(worker).mtimeMs >= sources) return;
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(root, "test", "runtime", "tsconfig.worker.json")], { stdio: "pipe" });
  } catch {
    // tsc still emits when some file has a type error; the check below is what matters.
  }
  if (!existsSync(worker) || statSync(worker).mtimeMs < sources) {
    throw new Error(`could not build ${worker} (run npm run build to see why)`);
  }
}

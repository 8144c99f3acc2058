/**
 * Worker threads run compiled JavaScript (`dist/actors/worker.js`, see supervisors/worker-pool.ts),
 * while tests run from sources. Before the tests, compile the worker and everything it
 * imports into dist/ (tsc follows the imports from actors/worker.ts), and the package root,
 * `npm start`'s example and the view tests' scripts (run in child processes, e.g. in tmux),
 * unless dist/ is newer than every source file it comes from. Type errors elsewhere in the
 * project do not block it. The dashboard's page is bundled too (esbuild, well under a second),
 * and the fuzz suite's child processes (`dist/test/fuzz/child.js`) are built the same way.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function newestSource(dir: string, extensions: readonly string[] = [".ts"]): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p, extensions));
    else if (extensions.some((x) => e.name.endsWith(x))) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function buildPage(): void {
  const bundle = join(root, "dist", "src", "view", "browser", "app.js");
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource(join(root, "src", "view"), [".ts", ".css"])) return;
  execFileSync(process.execPath, [join(root, "scripts", "build-browser.mjs")], { stdio: "pipe" });
}

export default function setup(): void {
  buildPage();
  // The worker, the fuzz suite's child process (test/fuzz), which loads the package root, and
  // the cluster runner's command (test/cluster starts runner processes), and the fault
  // harness's client process (test/faults).
  const outputs = [
    join(root, "dist", "actors", "worker.js"),
    join(root, "dist", "test", "fuzz", "child.js"),
    join(root, "dist", "supervisors", "cluster", "cli.js"),
    join(root, "dist", "test", "faults", "client-main.js"),
  ];
  const sources = Math.max(...["src", "actors", "supervisors", "examples", join("test", "view", "fixtures"), join("test", "fuzz"), join("test", "faults")].map((d) => newestSource(join(root, d))));
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

// Bundles the dashboard's page (src/view/browser) into dist/src/view/browser/app.js and
// app.css with esbuild (`npm run build` runs it; so does the tests' global setup when stale).
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
await build({
  entryPoints: { app: join(root, "src", "view", "browser", "main.ts") },
  outdir: join(root, "dist", "src", "view", "browser"),
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "eof",
  logLevel: "warning",
});

/**
 * The page's bundle (src/view/browser, bundled by `npm run build` with esbuild into
 * dist/src/view/browser/) and the HTML around it, for the live dashboard and the reports.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface PageAssets {
  readonly js: string;
  readonly css: string;
}

function bundleDir(): string {
  const here = fileURLToPath(import.meta.url);
  // Compiled: dist/src/view/assets.js, the bundle beside it; from sources: <root>/dist/src/view/browser.
  if (here.endsWith(".js")) return join(dirname(here), "browser");
  let dir = dirname(here);
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(dir, "dist", "src", "view", "browser");
}

let cached: PageAssets | null = null;

/** The bundle's JavaScript and CSS (read once). Throws, naming the fix, when it was not built. */
export function pageAssets(): PageAssets {
  if (cached !== null) return cached;
  const dir = bundleDir();
  const js = join(dir, "app.js");
  const css = join(dir, "app.css");
  if (!existsSync(js) || !existsSync(css)) {
    throw new Error(`the dashboard's page is not built (${js} is missing): run \`npm run build\``);
  }
  cached = { js: readFileSync(js, "utf8"), css: readFileSync(css, "utf8") };
  return cached;
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
/** JavaScript that may sit inside a <script> element (no "</script" ends it early). */
const scriptSafe = (s: string) => s.replace(/<\/(script)/gi, "<\\/$1");
/** JSON that may sit inside a <script> element: every "<" escaped (still the same JSON). */
const jsonSafe = (s: string) => s.replace(/</g, "\\u003c");

/**
 * The page. Live: it loads /app.js and /app.css and connects back to the server. Inline
 * (reports): everything in the one file, data included, nothing fetched.
 */
export function pageHtml(options: { title: string; theme: "dark" | "light"; inline: { assets: PageAssets; data: unknown } | null }): string {
  const head = options.inline === null ? `<link rel="stylesheet" href="app.css">` : `<style>${options.inline.assets.css.replace(/<\/style/gi, "<\\/style")}</style>`;
  const body =
    options.inline === null
      ? `<script src="app.js"></script>`
      : `<script type="application/json" id="bayests-data">${jsonSafe(JSON.stringify(options.inline.data))}</script>\n<script>${scriptSafe(options.inline.assets.js)}</script>`;
  return `<!doctype html>
<html lang="en" data-theme="${options.theme}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
${head}
</head>
<body>
<div id="app"></div>
${body}
</body>
</html>
`;
}

#!/usr/bin/env node
/**
 * A screenshot of one page of the built guide (`npm run docs` first), rendered by Debian's
 * Chromium through playwright-core as the browser tests do: serves docs/.vitepress/dist on a
 * free loopback port and writes docs/screenshots/<page>.png.
 *
 *   node scripts/screenshot-docs.mjs [guide/getting-started] [--width 1280 --height 900]
 */
import { createReadStream, existsSync, mkdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("..", import.meta.url));
const site = join(root, "docs", ".vitepress", "dist");
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const page = args.find((a, k) => !a.startsWith("--") && !(k > 0 && args[k - 1].startsWith("--"))) ?? "guide/getting-started";
if (!existsSync(join(site, `${page}.html`))) {
  console.error(`no ${page}.html in ${site}: run npm run docs first`);
  process.exit(1);
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".woff2": "font/woff2", ".json": "application/json" };
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  let file = join(site, path);
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
  if (!existsSync(file)) file = `${file}.html`;
  if (!file.startsWith(site) || !existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
try {
  const tab = await browser.newPage({ viewport: { width: option("--width", 1280), height: option("--height", 900) } });
  await tab.goto(`http://127.0.0.1:${port}/${page}.html`, { waitUntil: "networkidle" });
  mkdirSync(join(root, "docs", "screenshots"), { recursive: true });
  const out = join(root, "docs", "screenshots", `${page.replace(/\//g, "-")}.png`);
  await tab.screenshot({ path: out });
  console.log(`screenshot: ${out}`);
} finally {
  await browser.close();
  server.close();
}

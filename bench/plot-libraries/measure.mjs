// The dashboard's plotting library, chosen by measurement (DECISIONS.md D49): frame time of
// 20 trace plots x 4 chains x N draws in headless Chromium (Debian's /usr/bin/chromium),
// each library in a fresh page, 3 rounds interleaved.
//   npm run bench:plots            (from the project root; installs the candidates here)
//   node bench/plot-libraries/measure.mjs [--n 10000] [--rounds 3] [--libs uplot,echarts,plot,vegalite]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { n: { type: "string", default: "10000" }, rounds: { type: "string", default: "3" }, libs: { type: "string", default: "uplot,echarts,plot,vegalite" }, step: { type: "string", default: "250" }, frames: { type: "string", default: "8" } } });
const out = mkdtempSync(join(tmpdir(), "plotlibs-"));
await build({ entryPoints: [join(here, "scenarios.mjs")], bundle: true, format: "iife", outdir: out, minify: true, logLevel: "error", nodePaths: [join(here, "node_modules")] });
writeFileSync(join(out, "index.html"), `<!doctype html><html><head><link rel="stylesheet" href="scenarios.css"></head><body></body><script src="scenarios.js"></script></html>`);
const profile = mkdtempSync(join(tmpdir(), "plotlibs-profile-"));
const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const browser = await chromium.launchPersistentContext(profile, { executablePath: "/usr/bin/chromium", args: flags, headless: true });
const libs = values.libs.split(",");
const results = Object.fromEntries(libs.map((l) => [l, []]));
try {
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const lib of [...libs.slice(r % libs.length), ...libs.slice(0, r % libs.length)]) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto("file://" + join(out, "index.html"));
      results[lib].push(await page.evaluate(([l, n, s, f]) => window.measure(l, n, s, f), [lib, Number(values.n), Number(values.step), Number(values.frames)]));
      await page.close();
    }
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`20 trace plots x 4 chains x ${values.n} draws; frames append ${values.step} draws per chain and redraw all 20 (ms, medians of ${values.rounds} rounds; two-rAF idle time subtracted)`);
console.log("| library | first render | frame (median) | frame (worst) |");
console.log("| --- | --- | --- | --- |");
for (const l of libs) {
  const rs = results[l];
  console.log(`| ${l} | ${med(rs.map((x) => x.create)).toFixed(0)} | ${med(rs.map((x) => x.frameMedian)).toFixed(0)} | ${med(rs.map((x) => x.frameMax)).toFixed(0)} |`);
}

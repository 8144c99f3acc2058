/**
 * The dashboard and the report in a real browser: Debian's Chromium, headless, driven by
 * playwright-core. Counts are read from the page (what each plot drew, published by the page
 * on its panels), divergences are looked for in red pixels on the pair plot, a chain crash
 * and restart must show in the event log while the page goes on, and the report must open
 * with no network. Screenshots go to test-output/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { Subject } from "rxjs";
import type { ChainProgress, OnlineDiagnostics, RunEvent, RunProgress } from "../../actors/events.js";
import type { BatchLike } from "../../src/view/dashboard/collector.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sample as runOnly, type SampleRun } from "../../src/api/sample.js";
import { serveDashboard, type Dashboard } from "../../src/view/dashboard/server.js";
import { writeReport } from "../../src/view/report.js";
import { centredEightSchools, eightSchools } from "./models.js";
import { mulberry32 } from "../helpers/random.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const screenshots = join(import.meta.dirname, "..", "..", "test-output", "screenshots");

let context: BrowserContext;
let profile: string;

/** Until `f` holds (polling), or fails with what it last saw. */
async function until<T>(what: string, f: () => Promise<T>, ok: (x: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await f();
  while (!ok(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await f();
  }
  return last;
}

type Counts = Record<string, Record<string, number>>;

/** What each plot says it drew (the data- attributes of the panels). */
function counts(page: Page): Promise<Counts> {
  return page.evaluate(() => {
    const out: Record<string, Record<string, number>> = {};
    for (const f of document.querySelectorAll<HTMLElement>("figure.panel")) {
      out[f.id] = Object.fromEntries(Object.entries(f.dataset).map(([k, v]) => [k, Number(v)]));
    }
    return out;
  });
}

const renders = (page: Page) => page.evaluate(() => window.__dashboard?.renders ?? 0);

/** Pixels of the divergence red (#ff1a1a in the dark theme) on the pair plot's canvases. */
function redPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    let n = 0;
    for (const c of document.querySelectorAll<HTMLCanvasElement>("#pair canvas")) {
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) if (d[i]! > 230 && d[i + 1]! < 60 && d[i + 2]! < 60) n++;
    }
    return n;
  });
}

/** A live run with its dashboard open in a page. */
async function openLive(run: SampleRun, options: Parameters<typeof serveDashboard>[1] = {}): Promise<{ page: Page; dashboard: Dashboard }> {
  const dashboard = await serveDashboard(run, { log: null, ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(dashboard.url);
  (page as Page & { errors: string[] }).errors = errors;
  return { page, dashboard };
}

const pageErrors = (page: Page) => (page as Page & { errors: string[] }).errors;

describe.skipIf(!existsSync(CHROMIUM))("dashboard and report in Chromium", () => {
  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), "bayests-chromium-"));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 } });
  });

  afterAll(async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it("every plot renders and grows during a live run; divergences are red on the pair plot", async () => {
    // A funnel (divergences), long enough to watch; paused and resumed from here so that the
    // page's copy is not thinned during the test (thinning is tested in collector.test.ts),
    // so counts only grow.
    // Early stop with a target never met: every check point's R-hat / ESS table comes (without
    // early stop they are rate-limited, coordinator.ts FREE_TABLE_SHARE) and the targets are drawn.
    const earlyStop = { rhat: 1.0001 };
    const run = runOnly(centredEightSchools, { chains: 4, warmup: 300, draws: 1_000_000, seed: 3, threads: 2, chunk: { targetMs: 2, max: 50 }, earlyStop });
    let pauseAt = 300 + 300;
    run.progress$.subscribe((p) => {
      if (!run.paused && p.chains.length === 4 && p.chains.every((c) => c.iteration >= pauseAt)) run.pause();
    });
    const { page, dashboard } = await openLive(run, { capacity: 8000, quantities: ["mu", "tau", "theta[1]", "theta[2]"], frameMs: 100, earlyStop: { rhat: 1.0001, essBulk: 400, essTail: 400 } });
    // Paused: chunks already handed out finish; wait until the page has drawn them all (its
    // counts unchanged for 1.5 s).
    const settled = async () => {
      let before = "";
      let same = 0;
      for (;;) {
        const now = await counts(page);
        const key = JSON.stringify(now);
        same = key === before && (now["hist-0"]?.total ?? 0) > 0 ? same + 1 : 0;
        if (same >= 5) return now;
        before = key;
        await new Promise((r) => setTimeout(r, 300));
      }
    };
    await until("the pause", async () => run.paused, (p) => p);
    const a = await settled();
    pauseAt = a["trace-0"]!.lastIteration! + 1000;
    run.resume();
    await until("the next pause", async () => run.paused, (p) => p);
    const b = await settled();
    await page.screenshot({ path: join(screenshots, "dashboard-dark.png"), fullPage: true });
    expect(b["trace-0"]!.lastIteration).toBeLessThan(8000); // not thinned: every point counted
    const grows = (id: string, key: string) => {
      expect(b[id]?.[key], `${id} ${key}`).toBeGreaterThan(a[id]?.[key] ?? NaN);
    };
    for (const k of [0, 1, 2, 3]) {
      grows(`trace-${k}`, "points");
      grows(`trace-${k}`, "lastIteration");
      grows(`hist-${k}`, "total");
      grows(`rank-${k}`, "total");
      expect(b[`hist-${k}`]!.bins).toBeGreaterThan(10);
      expect(b[`rank-${k}`]!.bins).toBeGreaterThanOrEqual(4 * 15); // 20 rank bins per chain, nearly all filled
      expect(b[`acf-${k}`]!.lags).toBeGreaterThan(50);
    }
    grows("energy", "total");
    grows("ess", "points");
    grows("rhat", "points");
    expect(b["forest"]!.rows).toBe(4 * 5); // 4 quantities x (4 chains + pooled)
    for (const id of ["pair-1-0", "pair-2-0", "pair-2-1", "pair-3-0", "pair-3-1", "pair-3-2"]) {
      grows(id, "points");
      expect(b[id]!.divergent).toBeGreaterThan(0);
    }
    expect(b["trace-1"]!.divergent).toBeGreaterThan(0);
    expect(await redPixels(page)).toBeGreaterThan(100);
    // Per-chain progress and the event log.
    expect(await page.locator("#progress tr.chain").count()).toBe(4);
    await expect(page.locator("#events li.type-run-started").count()).resolves.toBe(1);
    expect(await page.locator("#events li.type-window-end").count()).toBeGreaterThan(0);
    // The dark theme is true black with amber text.
    const colours = await page.evaluate(() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]);
    expect(colours).toEqual(["rgb(0, 0, 0)", "rgb(255, 176, 0)"]);
    // The light theme is one click away.
    await page.click("#theme-toggle");
    await until("the light theme", () => page.evaluate(() => getComputedStyle(document.body).backgroundColor), (c) => c === "rgb(255, 255, 255)");
    await until("a light redraw", () => page.evaluate(() => window.__dashboard.theme), (t) => t === "light");
    await page.screenshot({ path: join(screenshots, "dashboard-light.png"), fullPage: false });
    expect((await counts(page))["trace-0"]!.points).toBe(b["trace-0"]!.points);
    expect(pageErrors(page)).toEqual([]);
    run.resume();
    const post = await run.abort("test over");
    expect(post.status).toBe("aborted");
    await until("the page to show the end", () => page.evaluate(() => window.__dashboard.status), (s) => s === "aborted");
    await page.close();
    await dashboard.close();
  });

  it("survives a chain crash and restart: the events show, the page goes on to the end", async () => {
    const run = runOnly(eightSchools, {
      chains: 4,
      warmup: 400,
      draws: 20_000,
      seed: 5,
      threads: 2,
      chunk: { targetMs: 10 },
      faults: [{ chain: 1, atIteration: 2000, kind: "exit", attempts: 1 }],
    });
    const { page, dashboard } = await openLive(run, { frameMs: 100 });
    const post = await run.result;
    expect(post.chainStatus[1]!.restarts).toBe(1);
    await until("the end on the page", () => page.evaluate(() => window.__dashboard.status), (s) => s === "completed");
    const crashed = page.locator("#events li.type-chunk-failed");
    await until("the crash in the event log", () => crashed.count(), (n) => n === 1);
    expect(await crashed.textContent()).toMatch(/chain 1 crashed \(error\) in the chunk from iteration \d+ \(try 1\)/);
    expect(await page.locator("#events li.type-chain-restarted").textContent()).toMatch(/chain 1 restarted from its checkpoint at iteration \d+ \(restart 1\)/);
    const c = await counts(page);
    expect(c["trace-0"]!.lastIteration).toBeGreaterThan(20_000); // drawn to the end, after the crash
    expect(await page.locator("#progress tr.chain td:nth-child(9)").allTextContents()).toEqual(["0", "1", "0", "0"]);
    expect(pageErrors(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, "dashboard-restart.png"), fullPage: false });
    await page.close();
    await dashboard.close();
  }, 240_000); // 20k draws in 4 chains and a restart: on a crowded 2-core machine it passed 120 s

  it("the static report opens with no network, with every plot and the summary table", async () => {
    const post = await runOnly(centredEightSchools, { chains: 4, warmup: 500, draws: 1500, seed: 2, threads: 2, saveWarmup: true }).result;
    const dir = mkdtempSync(join(tmpdir(), "bayests-report-"));
    const file = join(dir, "report.html");
    writeReport(post, file, { title: "centred eight schools" });
    const page = await context.newPage();
    const requests: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url === `file://${file}`) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await context.setOffline(true);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`file://${file}`);
    const c = await until("the report drawn", () => counts(page), (x) => (x["trace-0"]?.points ?? 0) > 0);
    await context.setOffline(false);
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    // 4 chains x (500 + 1500) iterations, warmup included: under the report's 2000 kept points per chain.
    expect(c["trace-0"]!.points).toBe(4 * 2000);
    expect(c["hist-0"]!.total).toBe(4 * 1500);
    expect(c["pair-1-0"]!.divergent).toBe(post.divergences().reduce((a, b) => a + b, 0));
    expect(c["energy"]!.total).toBe(4 * 1500);
    expect(c["forest"]!.rows).toBe(6 * 5);
    expect(c["rhat"]!.points).toBe(20);
    expect(await page.locator("#summary tr").count()).toBe(1 + 1 + post.names.length); // header, lp__, quantities
    expect(await page.locator("#summary tr:nth-child(3) td:first-child").textContent()).toBe("mu");
    expect(await page.evaluate(() => window.__dashboard.status)).toBe("completed");
    await page.screenshot({ path: join(screenshots, "report.png"), fullPage: true });
    await page.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a long run without early stop: check points keep coming, every figure says the draws it was computed at", async () => {
    // Without early stop the run tables R-hat/ESS only as 1% of its time allows (few, then none
    // on a fast model); the dashboard adds its own over its kept copy every 2 s.
    const run = runOnly(eightSchools, { chains: 4, warmup: 300, draws: 2_000_000, seed: 11, threads: 2 });
    const { page, dashboard } = await openLive(run, { frameMs: 100 });
    const stats = () => page.evaluate(() => ({ n: window.__dashboard.checkPoints, draws: window.__dashboard.checkDraws }));
    const seen: { n: number; draws: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const before = seen[seen.length - 1] ?? { n: 0, draws: 0 };
      seen.push(await until("another check point", stats, (x) => x.n > before.n && x.draws > before.draws, 30_000));
    }
    const last = seen[seen.length - 1]!;
    // The plots, the forest and the table carry the draw count of the latest check point.
    // One snapshot of the page (the page may redraw between two reads).
    const shot = () =>
      page.evaluate(() => {
        const text = (q: string) => document.querySelector(q)?.textContent ?? "";
        const draws = (id: string) => Number(document.getElementById(id)?.dataset.draws ?? NaN);
        return {
          rhat: draws("rhat"),
          ess: draws("ess"),
          forest: draws("forest"),
          points: Number(document.getElementById("rhat")?.dataset.points ?? 0),
          captions: [text("#rhat figcaption"), text("#ess figcaption"), text("#forest figcaption"), text("#params-heading"), text("#convergence .note")],
        };
      });
    const c = await until("the figures at the latest point", shot, (x) => x.rhat >= last.draws);
    expect(c.points).toBeGreaterThanOrEqual(4);
    expect(c.ess).toBe(c.rhat);
    expect(c.forest).toBe(c.rhat);
    for (const caption of c.captions) expect(caption).toContain(`at ${c.rhat} draws per chain`);
    expect(pageErrors(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, "dashboard-long-run.png"), fullPage: true });
    await run.abort("test over");
    await page.close();
    await dashboard.close();
  }, 300_000);

  it("a completed run's page shows completed with the final table and diagnose's findings after the server stopped", async () => {
    const run = runOnly(eightSchools, { chains: 4, warmup: 300, draws: 3000, seed: 12, threads: 2 });
    const { page, dashboard } = await openLive(run, { frameMs: 100 });
    const post = await run.result;
    await until("the final table", () => page.locator("#summary tr").count(), (n) => n === 2 + post.names.length);
    await dashboard.close(); // the server stops sending
    await until("the page to see the server gone", () => page.locator("#connection").textContent(), (t) => t === "server stopped: the final state is shown");
    expect(await page.evaluate(() => window.__dashboard.status)).toBe("completed");
    expect(await page.locator("#status").textContent()).toBe("completed");
    expect(await page.locator("#summary tr").count()).toBe(2 + post.names.length);
    // The last check point is the finished run's, over every draw: no figure stays at an earlier one.
    expect(await page.evaluate(() => window.__dashboard.checkDraws)).toBe(post.numDraws);
    expect(await page.locator("#forest figcaption").textContent()).toContain(`at ${post.numDraws} draws per chain`);
    // formatSummary's columns.
    expect(await page.locator("#summary tr:first-child th").allTextContents()).toEqual(["variable", "mean", "sd", "hdi_3%", "hdi_97%", "median", "mad", "q5", "q95", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "rhat"]);
    const checks = await page.locator("#checks li").allTextContents();
    expect(checks[0]).toMatch(/diagnose\(\) of the finished run/);
    expect(checks.slice(1)).toEqual(post.diagnose().findings.map((f) => (f.advice === null ? f.message : `${f.message}: ${f.advice}`)));
    expect(pageErrors(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, "dashboard-completed.png"), fullPage: true });
    await page.close();
  });

  it("rank histograms are over the chains' common length: equal across chains of unequal length on a well-mixed target", async () => {
    // A run's streams played by hand: four chains of iid normal draws (perfectly mixed) at
    // 1000, 2000, 3000 and 4000 sampling draws.
    const names = ["x", "y"];
    const batches$ = new Subject<BatchLike>();
    const events$ = new Subject<RunEvent>();
    const progress$ = new Subject<RunProgress>();
    const diagnostics$ = new Subject<OnlineDiagnostics>();
    const fake = { chains: 4, batches$, events$, progress$, diagnostics$, result: new Promise(() => undefined) } as unknown as SampleRun;
    const { page, dashboard } = await openLive(fake, { frameMs: 100, capacity: 8000 });
    const rand = mulberry32(7);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const warmup = 100;
    const lengths = [1000, 2000, 3000, 4000];
    events$.next({ type: "run-started", chains: 4, threads: 1, seed: 7 });
    const progress: ChainProgress[] = lengths.map((n, chain) => ({ chain, status: "running", iteration: warmup + n, phase: "sampling", numWarmup: warmup, numDraws: 10_000, gradientEvaluations: 0, divergences: 0, stepSize: 0.5, restarts: 0 }));
    progress$.next({ chains: progress, fraction: 0.3, elapsedSeconds: 1 });
    lengths.forEach((n, chain) => {
      for (const [phase, start, count] of [["warmup", 0, warmup], ["sampling", warmup, n]] as const) {
        const cols = names.map(() => Float64Array.from({ length: count }, normal));
        batches$.next({ names, chain, start, count, phase, placeholder: false, quantity: (k) => cols[k]!, lp: new Float64Array(count), energy: Float64Array.from({ length: count }, normal), divergent: new Uint8Array(count) });
      }
    });
    const c = await until("the rank plots", () => counts(page), (x) => x["rank-0"]?.perChainMax === 1000 && x["rank-1"]?.perChainMax === 1000);
    for (const k of [0, 1]) {
      expect(c[`rank-${k}`]!.perChainMin).toBe(1000);
      expect(c[`rank-${k}`]!.perChainMax).toBe(1000);
      expect(c[`rank-${k}`]!.total).toBe(4000);
      // 80 bins of 50 expected draws each: none departs by more than 4 binomial standard deviations.
      expect(c[`rank-${k}`]!.maxZ).toBeLessThan(4);
      expect(c[`hist-${k}`]!.total).toBe(10_000); // the density plots keep every draw
    }
    await page.screenshot({ path: join(screenshots, "dashboard-rank-unequal.png"), fullPage: false });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
    await dashboard.close();
  });
});

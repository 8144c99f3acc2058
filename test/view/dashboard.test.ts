/**
 * The dashboard's server (no browser here; browser.test.ts drives Chromium): what it serves,
 * where it listens, frames over the WebSocket, and that pages never touch the run (a page that
 * never acknowledges changes no draw).
 */
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { sample as runOnly } from "../../src/api/sample.js";
import { InvalidOptionError } from "../../src/api/errors.js";
import type { Frame } from "../../src/view/dashboard/protocol.js";
import { serveDashboard } from "../../src/view/dashboard/server.js";
import { PageState } from "../../src/view/browser/state.js";
import { Effect } from "effect";
import { sample, sampleEffect, sampleRunEffect } from "../../src/view/run.js";
import { reportHtml } from "../../src/view/report.js";
import { sampleSync } from "../../src/api/sample-sync.js";
import { compile } from "../../src/compile/index.js";
import { expectSameDraws } from "../runtime/helpers.js";
import { eightSchools } from "./models.js";

const small = { chains: 4, warmup: 300, draws: 600, seed: 11, threads: 2, progress: false } as const;

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = "";
  return w;
}

/** A WebSocket to the dashboard; `onMessage` is listening from the start (the first frame comes with the opening). */
function connect(url: string, onMessage: (ws: WebSocket, data: string) => void = () => undefined): Promise<WebSocket> {
  const ws = new WebSocket(url.replace("http", "ws") + "ws");
  ws.on("message", (m) => onMessage(ws, String(m)));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

describe("dashboard server", () => {
  it("serves the page, its bundle and nothing else, on loopback, and says where", async () => {
    const log = sink();
    const run = runOnly(eightSchools, small);
    const d = await serveDashboard(run, { log });
    expect(d.host).toBe("127.0.0.1");
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
    expect(log.text).toBe(`dashboard: ${d.url} (on this machine only: loopback)\n`);
    const page = await fetch(d.url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain('<div id="app"></div>');
    expect(html).toContain('<script src="app.js"></script>');
    const js = await fetch(d.url + "app.js");
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(d.url + "app.css")).status).toBe(200);
    expect((await fetch(d.url + "favicon.ico")).status).toBe(204);
    expect((await fetch(d.url + "../etc/passwd")).status).toBe(404);
    expect((await fetch(d.url, { method: "POST" })).status).toBe(405);
    await run.result;
    await d.close();
  });

  it("says so when it listens beyond this machine", async () => {
    const log = sink();
    const run = runOnly(eightSchools, { ...small, draws: 100 });
    const d = await serveDashboard(run, { host: "0.0.0.0", log });
    expect(log.text).toContain(`dashboard: http://0.0.0.0:${d.port}/ (listening on 0.0.0.0: anyone who can reach this address can see the run`);
    await run.result;
    await d.close();
  });

  it("a page that acknowledges gets frames that build the run's picture; the last one says how it ended", async () => {
    const run = runOnly(eightSchools, small);
    const d = await serveDashboard(run, { log: null, frameMs: 20 });
    const page = new PageState();
    let completed!: () => void;
    const done = new Promise<void>((resolve) => (completed = resolve));
    const ws = await connect(d.url, (socket, data) => {
      const f = JSON.parse(data) as Frame;
      page.apply(f);
      socket.send(JSON.stringify({ ack: f.seq }));
      if (f.status === "completed") completed();
    });
    const post = await run.result;
    await done;
    expect(page.meta!.names).toEqual(post.names);
    expect(page.frames).toBeGreaterThan(1);
    for (const t of page.traces) expect(t.values[0]!.length).toBeGreaterThan(100);
    expect(page.events.map((e) => e.event.type)).toContain("run-completed");
    expect(page.diagnostics.length).toBeGreaterThan(0);
    expect(page.progress.every((p) => p !== null && p.iteration === 900)).toBe(true);
    expect(page.ebfmi.every((b) => b !== null && b > 0.3)).toBe(true);
    ws.close();
    await d.close();
  });

  it("a page that never acknowledges (or goes away) changes nothing in the run: frames are skipped, the draws are the same", async () => {
    const plain = await runOnly(eightSchools, small).result;
    const run = runOnly(eightSchools, small);
    const d = await serveDashboard(run, { log: null, frameMs: 10 });
    let received = 0;
    const stalled = await connect(d.url, () => received++);
    const gone = await connect(d.url);
    gone.terminate();
    const post = await run.result;
    await new Promise((r) => setTimeout(r, 100));
    expectSameDraws(post, plain);
    expect(received).toBe(1); // one frame in flight at a time, never a queue
    expect(d.framesDropped).toBeGreaterThan(0);
    stalled.close();
    await d.close();
  });

  it("a port in use: the dashboard says why it cannot listen, the run goes on", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    const run = runOnly(eightSchools, small);
    await expect(serveDashboard(run, { port, log: null })).rejects.toThrow(`dashboard: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
    expect((await run.result).status).toBe("completed");
    blocker.close();
  });

  it("sample(model, { dashboard }) starts one; the process still ends by itself when the script does", async () => {
    const script = join(import.meta.dirname, "..", "..", "dist", "test", "view", "fixtures", "dashboard-exit.js");
    const out = execFileSync(process.execPath, [script], { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ completed\n$/);
  });

  it("a report of a run with a failed chain, an aborted run or a sampleSync posterior is one valid page with its data inside", async () => {
    // Chunks of at most 50 iterations: the chain fails between iterations 750 and 800, with real sampling draws before.
    const failed = await runOnly(eightSchools, { ...small, chunk: { max: 50 }, restart: { maxRestarts: 0 }, faults: [{ chain: 2, atIteration: 800, kind: "throw", attempts: Infinity }] }).result;
    expect(failed.chains[2]!.placeholder.indexOf(1)).toBeGreaterThan(400);
    const run = runOnly(eightSchools, { ...small, draws: 100_000 });
    await new Promise((r) => setTimeout(r, 300));
    const aborted = await run.abort("enough");
    for (const [post, status] of [
      [failed, "completed"],
      [aborted, "aborted"],
      [sampleSync(compile(eightSchools), { chains: 2, warmup: 200, draws: 300, seed: 1 }), "completed"],
    ] as const) {
      const html = reportHtml(post);
      expect(html).not.toMatch(/<script src=|<link /); // nothing to fetch
      const data = JSON.parse(/<script type="application\/json" id="bayests-data">(.*?)<\/script>/s.exec(html)![1]!) as Frame;
      expect(data.status).toBe(status);
      expect(data.summary!.map((r) => r.name)).toEqual(["lp__", ...post.names]);
      expect(data.traces.length).toBe(post.numChains);
    }
    const data = JSON.parse(/id="bayests-data">(.*?)<\/script>/s.exec(reportHtml(failed))![1]!) as Frame;
    expect(data.events.map((e) => e.event.type)).toContain("chain-failed");
    // The failed chain's placeholders travel as null (no NaN in JSON); its real draws as numbers.
    const chain2 = data.traces[2]!.values[0]!;
    expect(chain2.at(-1)).toBeNull();
    expect(typeof chain2[0]).toBe("number");
    expect(data.ebfmi[2]).not.toBeNull(); // from its real draws only
  });

  it("the Effect twins show the same displays; closing the scope closes the dashboard", async () => {
    const post = await Effect.runPromise(sampleEffect(eightSchools, { ...small, dashboard: true }));
    expect(post.status).toBe("completed");
    const url = await Effect.runPromise(
      Effect.scoped(
        sampleRunEffect(eightSchools, { ...small, dashboard: { port: 0 } }).pipe(
          Effect.flatMap((run) => Effect.promise(async () => {
            const d = await run.dashboard!;
            expect((await fetch(d.url)).status).toBe(200);
            await run.result;
            return d.url;
          })),
        ),
      ),
    );
    await expect(fetch(url)).rejects.toThrow(); // the scope closed the server
    const error = await Effect.runPromise(Effect.flip(sampleEffect(eightSchools, { ...small, progress: "sometimes" as never })));
    expect(error).toBeInstanceOf(InvalidOptionError);
  });

  it("bad display options fail before the run starts, naming the option", () => {
    const bad = (o: object, option: string) => {
      let error: unknown = null;
      try {
        sample(eightSchools, { ...small, ...o });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
    };
    bad({ progress: "yes" }, "progress");
    bad({ dashboard: { port: 70_000 } }, "dashboard.port");
    bad({ dashboard: { port: 1.5 } }, "dashboard.port");
    bad({ dashboard: { theme: "pink" } }, "dashboard.theme");
    bad({ dashboard: { colour: "red" } }, "dashboard.colour");
    bad({ dashboard: { host: "" } }, "dashboard.host");
    bad({ dashboard: { quantities: [] } }, "dashboard.quantities");
    bad({ dashboard: { quantities: ["mu", "sigma"] } }, "dashboard.quantities");
    bad({ dashboard: "yes" }, "dashboard");
    expect(() => serveDashboard(runOnly(eightSchools, { ...small, draws: 10 }), { port: -1 })).toThrow(/port must be an integer in \[0, 65535\], got -1/);
  });
});

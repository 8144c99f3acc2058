/**
 * `serveDashboard(run, options)`: a local HTTP server (node:http) with a WebSocket (`ws`)
 * that pushes a run's streams to the page in src/view/browser.
 *
 * Decoupled from the run: the collector subscribes to `batches$` (automatic acknowledgement,
 * synchronous, a few microseconds per batch), `events$`, `progress$` and `diagnostics$`; the
 * pages are served from a timer. Each page has at most one frame in flight: the next is
 * built (from everything that changed since the acknowledged one) only once the page
 * acknowledged the last, so a slow or closed browser makes the server skip frames, never
 * queue them, and never touches the run's flow control.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Subscription } from "rxjs";
import { WebSocketServer, type WebSocket } from "ws";
import type { SampleRun } from "../../api/sample.js";
import { RunFailedError } from "../../api/errors.js";
import type { Posterior } from "../../api/posterior.js";
import { pageAssets, pageHtml } from "../assets.js";
import { pageFindings, summaryLines } from "../final.js";
import { DashboardCollector, freshCursor, type Cursor } from "./collector.js";
import type { Ack, DashboardMeta } from "./protocol.js";

export interface DashboardOptions {
  /** TCP port (0, the default: any free port; the URL says which). */
  readonly port?: number;
  /**
   * Address to listen on: "127.0.0.1" (the default, this machine only). Anything else makes
   * the run visible to whoever can reach that address (the server says so).
   */
  readonly host?: string;
  /** "dark" (default: black, warm chain colours) or "light". */
  readonly theme?: "dark" | "light";
  /** A name for the page's title. */
  readonly title?: string;
  /** Quantities to plot (default: the model's first `maxQuantities`, 32). */
  readonly quantities?: readonly string[];
  readonly maxQuantities?: number;
  /** Points per chain kept for drawing (1000). */
  readonly capacity?: number;
  /** The run's early-stop targets (drawn on the online-diagnostics plots). */
  readonly earlyStop?: DashboardMeta["earlyStop"];
  /** Milliseconds between frames to a page (250). */
  readonly frameMs?: number;
  /** Where to say the URL (process.stderr); null: say nothing. */
  readonly log?: NodeJS.WritableStream | null;
}

export interface Dashboard {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Pages connected now. */
  readonly clients: number;
  /** Frames sent, and frames skipped because a page had not acknowledged its last one. */
  readonly framesSent: number;
  readonly framesDropped: number;
  /** Stops watching the run, closes every connection and the server. */
  close(): Promise<void>;
}

interface Client {
  readonly ws: WebSocket;
  readonly cursor: Cursor;
  inFlight: boolean;
  seenVersion: number;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

export function validateDashboardOptions(options: unknown): void {
  if (typeof options !== "object" || options === null) throw new TypeError(`serveDashboard: options must be an object, got ${String(options)}`);
  const o = options as Record<string, unknown>;
  const known = ["port", "host", "theme", "title", "quantities", "maxQuantities", "capacity", "earlyStop", "frameMs", "log"];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new TypeError(`serveDashboard: unknown option ${k} (known: ${known.join(", ")})`);
  if (o.port !== undefined && (typeof o.port !== "number" || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) throw new TypeError(`serveDashboard: port must be an integer in [0, 65535], got ${String(o.port)}`);
  if (o.host !== undefined && (typeof o.host !== "string" || o.host === "")) throw new TypeError(`serveDashboard: host must be a non-empty string, got ${String(o.host)}`);
  if (o.theme !== undefined && o.theme !== "dark" && o.theme !== "light") throw new TypeError(`serveDashboard: theme must be "dark" or "light", got ${String(o.theme)}`);
  if (o.quantities !== undefined && (!Array.isArray(o.quantities) || o.quantities.some((q) => typeof q !== "string"))) throw new TypeError("serveDashboard: quantities must be an array of quantity names");
  for (const k of ["maxQuantities", "capacity", "frameMs"]) {
    const v = o[k];
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1)) throw new TypeError(`serveDashboard: ${k} must be a positive integer, got ${String(v)}`);
  }
}

/**
 * Serves a live dashboard of `run` until `close()`. Subscribes at once (call it right after
 * `sample()` to see every draw); resolves once the server listens. After the run ends the
 * page stays available, but the server no longer keeps the process alive.
 */
export function serveDashboard(run: SampleRun, options: DashboardOptions = {}): Promise<Dashboard> {
  validateDashboardOptions(options);
  const host = options.host ?? "127.0.0.1";
  const theme = options.theme ?? "dark";
  const title = options.title ?? "bayests run";
  const collector = new DashboardCollector({
    chains: run.chains,
    ...(options.quantities !== undefined ? { quantities: options.quantities } : {}),
    ...(options.maxQuantities !== undefined ? { maxQuantities: options.maxQuantities } : {}),
    ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
    title,
    earlyStop: options.earlyStop ?? null,
    theme,
    kind: "live",
  });
  const subscriptions: Subscription[] = [];
  let failure: Error | null = null;
  const guard =
    <T>(f: (x: T) => void) =>
    (x: T) => {
      if (failure !== null) return;
      // The dashboard must never disturb the run: its own failure stops the dashboard's input only.
      try {
        f(x);
      } catch (e) {
        failure = e as Error;
        for (const s of subscriptions) s.unsubscribe();
        options.log?.write(`dashboard: stopped following the run: ${failure.message}\n`);
      }
    };
  const ignore = () => undefined;
  subscriptions.push(run.batches$.subscribe({ next: guard((b) => collector.batch(b)), error: ignore }));
  subscriptions.push(run.events$.subscribe({ next: guard((e) => collector.event(e)), error: ignore, complete: () => runEnded() }));
  subscriptions.push(run.progress$.subscribe({ next: guard((p) => p.chains.forEach((c) => collector.chainProgress(c))), error: ignore }));
  subscriptions.push(run.diagnostics$.subscribe({ next: guard((d) => collector.diagnostics(d)), error: ignore }));
  // The end: the full summary table and diagnose's findings (what formatSummary prints), as the last frame.
  const ended$ = (post: Posterior) => guard(() => collector.final(summaryLines(post), pageFindings(post), post.numDraws))(undefined);
  run.result.then(ended$, (e: unknown) => {
    if (e instanceof RunFailedError) ended$(e.posterior);
  });

  const sockets = new Set<Socket>();
  const clients = new Set<Client>();
  let ended = false;
  let framesSent = 0;
  let framesDropped = 0;
  const log = options.log === undefined ? process.stderr : options.log;

  const respond = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end();
      return;
    }
    try {
      if (path === "/" || path === "/index.html") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(pageHtml({ title, theme, inline: null }));
      } else if (path === "/app.js") {
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(pageAssets().js);
      } else if (path === "/favicon.ico") {
        res.writeHead(204).end();
      } else if (path === "/app.css") {
        res.writeHead(200, { "content-type": "text/css; charset=utf-8" }).end(pageAssets().css);
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      }
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`${(e as Error).message}\n`);
    }
  };

  const server = createServer(respond);
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    if (ended) s.unref();
    s.on("close", () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server, path: "/ws", maxPayload: 1 << 16 });
  // ws re-emits the server's errors (a port in use): the listen promise below reports them.
  wss.on("error", () => undefined);

  const send = (c: Client) => {
    if (c.inFlight || c.ws.readyState !== c.ws.OPEN) return;
    if (c.cursor.seq > 0 && c.seenVersion === collector.version) return; // nothing new
    c.seenVersion = collector.version;
    const frame = collector.frame(c.cursor);
    c.inFlight = true;
    framesSent++;
    c.ws.send(JSON.stringify(frame));
  };

  wss.on("connection", (ws) => {
    const c: Client = { ws, cursor: freshCursor(), inFlight: false, seenVersion: -1 };
    clients.add(c);
    ws.on("message", (data) => {
      try {
        const msg = JSON.parse(String(data)) as Partial<Ack>;
        if (typeof msg.ack === "number" && msg.ack === c.cursor.seq) c.inFlight = false;
      } catch {
        // Not ours: ignored.
      }
    });
    ws.on("close", () => clients.delete(c));
    ws.on("error", () => clients.delete(c));
    send(c);
  });

  const frameMs = options.frameMs ?? 250;
  const timer = setInterval(() => {
    for (const c of clients) {
      if (c.inFlight) {
        if (c.seenVersion !== collector.version) {
          framesDropped++;
          c.cursor.dropped++;
        }
        continue;
      }
      send(c);
    }
  }, frameMs);

  function runEnded(): void {
    ended = true;
    // Pages still get the last frames; the server no longer keeps the process alive.
    timer.unref();
    server.unref();
    for (const s of sockets) s.unref();
  }

  const close = async (): Promise<void> => {
    for (const s of subscriptions) s.unsubscribe();
    clearInterval(timer);
    for (const c of clients) c.ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    });
  };

  return new Promise<Dashboard>((resolve, reject) => {
    const onError = (e: Error) => {
      void close();
      reject(new Error(`dashboard: cannot listen on ${host}:${options.port ?? 0}: ${e.message}`));
    };
    server.once("error", onError);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", onError);
      server.on("error", () => undefined);
      const port = (server.address() as AddressInfo).port;
      const shown = host.includes(":") ? `[${host}]` : host;
      const url = `http://${shown}:${port}/`;
      if (log !== null) {
        const where = LOOPBACK.has(host)
          ? "on this machine only: loopback"
          : `listening on ${host}: anyone who can reach this address can see the run (host: "127.0.0.1" keeps it local)`;
        log.write(`dashboard: ${url} (${where})\n`);
      }
      if (ended) runEnded();
      resolve({
        url,
        host,
        port,
        get clients() {
          return clients.size;
        },
        get framesSent() {
          return framesSent;
        },
        get framesDropped() {
          return framesDropped;
        },
        close,
      });
    });
  });
}

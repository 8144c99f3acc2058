/**
 * A TCP fault proxy (this machine's kernel has no `tc netem`): it listens on one address and
 * forwards each connection to a target, delaying every chunk of bytes in each direction by
 * `latencyMs` +- `jitterMs` (uniform; bytes keep their order, as TCP's do: a chunk never
 * overtakes the one before it), and resets a share of the connections (`resetShare`) at a
 * random moment of their first `resetWithinMs` (an RST, as a middlebox or a crashed peer
 * sends), or a share of the messages (`resetPerMessage`: each chunk of bytes read from either
 * side resets its connection instead of going through with that probability, so a long-lived
 * connection, as the cluster's are, dies every few dozen messages). `close()` ends the
 * listener and every connection.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface ProxyOptions {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  /** Share of connections reset (0..1). */
  readonly resetShare?: number;
  readonly resetWithinMs?: number;
  /** Share of messages (chunks of bytes, either way) that reset their connection instead of being forwarded (0..1). */
  readonly resetPerMessage?: number;
  /** Random numbers (tests pass a seeded one). */
  readonly random?: () => number;
}

export interface FaultProxy {
  readonly connections: () => number;
  readonly resets: () => number;
  close(): Promise<void>;
}

/** One direction of a connection: chunks delivered in order, each no earlier than its own delay, unless `reset()` says to cut it. */
function delayedPipe(from: Socket, to: Socket, delay: () => number, reset: () => boolean): void {
  let lastDue = 0;
  from.on("data", (chunk: Buffer) => {
    if (reset()) return;
    const due = Math.max(performance.now() + delay(), lastDue);
    lastDue = due;
    const send = () => {
      if (!to.destroyed) to.write(chunk);
    };
    const wait = due - performance.now();
    if (wait <= 0) send();
    else setTimeout(send, wait);
  });
  from.on("end", () => setTimeout(() => to.end(), Math.max(0, lastDue - performance.now())));
}

export async function startProxy(options: ProxyOptions): Promise<FaultProxy> {
  const random = options.random ?? Math.random;
  const latency = options.latencyMs ?? 0;
  const jitter = options.jitterMs ?? 0;
  const delay = () => Math.max(0, latency + (2 * random() - 1) * jitter);
  const open = new Set<Socket>();
  let connections = 0;
  let resets = 0;
  const server: Server = createServer((inbound) => {
    connections++;
    const outbound = connect(options.targetPort, options.targetHost);
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.setNoDelay(true);
      s.on("close", () => open.delete(s));
      s.on("error", () => undefined);
    }
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("close", end);
    outbound.on("close", end);
    const reset = () => {
      if (inbound.destroyed && outbound.destroyed) return;
      resets++;
      inbound.resetAndDestroy();
      outbound.resetAndDestroy();
    };
    const perMessage = options.resetPerMessage ?? 0;
    const resetNow = () => {
      if (perMessage === 0 || random() >= perMessage) return false;
      reset();
      return true;
    };
    delayedPipe(inbound, outbound, delay, resetNow);
    delayedPipe(outbound, inbound, delay, resetNow);
    if (random() < (options.resetShare ?? 0)) setTimeout(reset, random() * (options.resetWithinMs ?? 5000));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listenPort, options.listenHost, () => resolve());
  });
  return {
    connections: () => connections,
    resets: () => resets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

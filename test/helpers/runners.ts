/**
 * Runner processes for the cluster tests and `bench:cluster`: `bin/bayests-runner.js`
 * started as children (compiled JavaScript in dist/), each on a free loopback port, with the
 * test's database and key. `stop()` asks politely (SIGTERM) and waits for the exit, `kill()`
 * is SIGKILL; every runner is killed by its PID when this process exits, whatever happened.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The folder with package.json above this file (from sources and from dist/ alike). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
}

export interface RunnerProcess {
  readonly pid: number;
  /** host:port, as the runner registered itself (and as `chain-placed` / `chain-moved` name it). */
  readonly address: string;
  readonly child: ChildProcess;
  /** The runner's JSON line at its polite exit (`wireBytes`), or null if it was killed. */
  readonly stopped: Promise<{ wireBytes: { database: number; cluster: number } } | null>;
  /** Its stderr so far, and stdout lines that are not its JSON events (logs). */
  readonly log: string[];
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL (no goodbye: its shards move once the cluster notices) and wait for the exit. */
  kill(): Promise<void>;
  readonly exited: Promise<void>;
}

export interface RunnerOptions {
  readonly database: string;
  readonly key: string;
  readonly threads?: number;
  /** Extra command-line options (timings). */
  readonly args?: readonly string[];
  /** A network namespace to run in (`ip netns exec`, as root), reached at `host`. */
  readonly netns?: string;
  readonly host?: string;
  /** How long it may take to join (ms; 180 s: a loaded machine starts a runner slowly). */
  readonly startTimeoutMs?: number;
}

/** Timings for tests: a dead runner's chains move within a few seconds. */
export const FAST_FAILOVER = ["--lock-expiration", "4", "--health-check", "1", "--refresh", "0.5", "--message-poll", "1"] as const;

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export function startRunner(options: RunnerOptions): Promise<RunnerProcess> {
  const args = [join(projectRoot(), "bin", "bayests-runner.js"), "--database", options.database, "--threads", String(options.threads ?? 1), ...(options.host === undefined ? [] : ["--host", options.host]), ...(options.args ?? [])];
  // `ip netns exec` execs the runner: the child's PID is the runner's.
  const [command, argv] = options.netns === undefined ? [process.execPath, args] : ["ip", ["netns", "exec", options.netns, process.execPath, ...args]];
  const child = spawn(command, argv, { env: { ...process.env, BAYESTS_CLUSTER_KEY: options.key }, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  // "close", not "exit": the child's stderr is then read to its end (a start error is in it).
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  void exited.then(() => live.delete(child));
  const log: string[] = [];
  child.stderr!.on("data", (d: Buffer) => log.push(d.toString()));
  const lines = createInterface({ input: child.stdout! });
  let onStopped: (v: { wireBytes: { database: number; cluster: number } } | null) => void = () => undefined;
  const stopped = new Promise<{ wireBytes: { database: number; cluster: number } } | null>((resolve) => (onStopped = resolve));
  void exited.then(() => onStopped(null));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`a runner did not start within ${(options.startTimeoutMs ?? 180_000) / 1000} s:\n${log.join("")}`));
    }, options.startTimeoutMs ?? 180_000);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`a runner exited at its start (code ${child.exitCode}):\n${log.join("")}`));
    });
    lines.on("line", (line) => {
      let o: { event?: string; address?: string; wireBytes?: { database: number; cluster: number } };
      try {
        o = JSON.parse(line);
      } catch {
        // Effect's logger writes to stdout: a failed start says why here.
        log.push(`${line}\n`);
        return;
      }
      if (o.event === "runner-stopped") onStopped({ wireBytes: o.wireBytes! });
      if (o.event !== "runner-ready") return;
      clearTimeout(timer);
      const signal = (s: NodeJS.Signals) => async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(s);
        await exited;
      };
      resolve({ pid: child.pid!, address: o.address!, child, stopped, log, stop: signal("SIGTERM"), kill: signal("SIGKILL"), exited });
    });
  });
}

/** Whether a process with this PID exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until the cluster's shards have settled on `runners` runners: every shard's lease
 * (`cluster_locks`, renewed by its runner) held by a registered runner and unchanged for
 * `stableMs`. A run started before that sees its first chunks answered by a runner that then
 * hands the shard over to one that joined later (`chain-moved` from a live runner).
 */
export async function waitForShards(database: string, runners: number, shards = 300, stableMs = 1500, timeoutMs = 60_000): Promise<void> {
  const query = `SELECT count(*) || ' ' || count(DISTINCT address) FROM cluster_locks WHERE address IN (SELECT address FROM cluster_runners WHERE healthy AND last_heartbeat > NOW() - INTERVAL '1 minute')`;
  const want = `${shards} ${runners}`;
  const t0 = Date.now();
  let since: number | null = null;
  let last = "";
  for (;;) {
    let got = "";
    try {
      got = execFileSync("psql", [database, "-At", "-c", query], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      got = "(no cluster tables yet)";
    }
    if (got === want && got === last) {
      since ??= Date.now();
      if (Date.now() - since >= stableMs) return;
    } else {
      since = null;
    }
    last = got;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the cluster's shards did not settle on ${runners} runners within ${timeoutMs} ms (leases held, holders: ${got})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

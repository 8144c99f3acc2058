/**
 * PostgreSQL for the fault harness: a throw-away server (initdb in a temporary directory, as
 * `test/helpers/postgres.ts`) that can live in a network namespace, listen on that namespace's
 * address, and be restarted mid-run the ways an operator or a crash restarts it:
 * `fast` (SIGINT: `pg_ctl stop -m fast`, sessions ended, a clean checkpoint), `immediate`
 * (SIGQUIT: `-m immediate`, crash recovery at the next start) or `kill` (SIGKILL of the
 * postmaster and every backend). The harness reaches it through its unix socket, which
 * crosses namespaces; runners and the client through TCP at `host:port`.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgresBin, serverUser, waitReady } from "../helpers/postgres.js";

export type RestartMode = "fast" | "immediate" | "kill";

export interface FaultPostgres {
  readonly host: string;
  readonly port: number;
  /** The postmaster's PID now (changes with every restart). */
  pid(): number | null;
  /** Creates a database; its URL for runners and clients (TCP at host:port). */
  createDatabase(name: string): string;
  /** Runs SQL as the admin through the unix socket (from any namespace); rows as `|`-separated lines. */
  query(database: string, sql: string): string;
  /** Stops the server the way `mode` says, waits `downMs`, starts it again; resolves once it accepts connections. */
  restart(mode: RestartMode, downMs?: number): Promise<void>;
  /** The server's log lines that match `pattern`, since it first started. */
  logLines(pattern: RegExp): string[];
  /** Stops it and removes its files. */
  stop(): Promise<void>;
}

const SIGNAL: Record<RestartMode, NodeJS.Signals> = { fast: "SIGINT", immediate: "SIGQUIT", kill: "SIGKILL" };

export async function startFaultPostgres(options: { readonly netns?: string; readonly host: string; readonly port: number }): Promise<FaultPostgres> {
  const bin = postgresBin();
  if (bin === null) throw new Error("PostgreSQL's server programs were not found (Debian: apt-get install postgresql; or set BAYESTS_PG_BIN)");
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), "bayests-faults-pg-"));
  if (user !== null) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  execFileSync(join(bin, "initdb"), ["-D", data, "-U", "bayests", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"], { stdio: "pipe", cwd: dir, ...(user ?? {}) });
  // initdb trusts loopback only; the namespaces' subnet too (a server listening on loopback is not reached from it anyway).
  appendFileSync(join(data, "pg_hba.conf"), `host all all ${options.host.replace(/\.\d+$/, ".0")}/24 trust\n`);
  const server = [join(bin, "postgres"), "-D", data, "-p", String(options.port), "-k", dir, "-c", `listen_addresses=${options.host}`, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"];
  // In a namespace: `ip netns exec` (root only) then drop to the postgres user; both exec, so the PID is the postmaster's.
  const drop = user === null ? [] : ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups"];
  const argv = options.netns === undefined ? [...drop, ...server] : ["ip", "netns", "exec", options.netns, ...drop, ...server];
  let child: ChildProcess | null = null;
  const serverLog: string[] = [];
  const killAll = () => child?.pid !== undefined && signalGroup(child.pid, "SIGKILL");
  process.once("exit", killAll);

  const start = async () => {
    const log: string[] = [];
    // A process group of its own: SIGKILL of the group takes the backends with the postmaster.
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], cwd: dir, detached: true });
    child = c;
    await waitReady(c, log);
    serverLog.push(...log.join("").split("\n"));
    c.stderr?.on("data", (d: Buffer) => serverLog.push(...d.toString().split("\n")));
  };
  const halt = async (mode: RestartMode) => {
    const c = child;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    if (mode === "kill") signalGroup(c.pid!, "SIGKILL");
    else c.kill(SIGNAL[mode]);
    const timer = setTimeout(() => signalGroup(c.pid!, "SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
    // Backends outlive a killed postmaster for a moment; the next start needs their shared memory gone.
    for (let i = 0; i < 100 && groupAlive(c.pid!); i++) await new Promise((r) => setTimeout(r, 50));
  };
  await start();
  const psqlUrl = (database: string) => `postgresql:///${database}?host=${encodeURIComponent(dir)}&port=${options.port}&user=bayests`;
  return {
    host: options.host,
    port: options.port,
    pid: () => child?.pid ?? null,
    createDatabase(name) {
      execFileSync("psql", [psqlUrl("postgres"), "-v", "ON_ERROR_STOP=1", "-q", "-c", `CREATE DATABASE "${name}"`], { stdio: "pipe" });
      return `postgres://bayests@${options.host}:${options.port}/${name}`;
    },
    query(database, sql) {
      return execFileSync("psql", [psqlUrl(database), "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30 }).trim();
    },
    logLines: (pattern) => serverLog.filter((l) => pattern.test(l)),
    async restart(mode, downMs = 0) {
      await halt(mode);
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async stop() {
      await halt("fast");
      process.off("exit", killAll);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

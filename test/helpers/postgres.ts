/**
 * A throw-away PostgreSQL server for the cluster tests and `bench:cluster`: `initdb` into a
 * temporary directory, `postgres` on a free loopback port (its unix socket in that directory
 * too), trust authentication, no fsync (the data die with the test). As root (CI), the server
 * runs as the `postgres` system user, which PostgreSQL requires. `stop()` ends the server by
 * its PID and removes the directory; a process exit kills it too.
 *
 * `BAYESTS_TEST_DATABASE_URL` (an admin URL of a server that is already running) makes it use
 * that server instead: databases are then created there and dropped at `stop()`.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../supervisors/cluster/free-port.js";

export interface LocalPostgres {
  /** The server's PID (null for a server given by `BAYESTS_TEST_DATABASE_URL`). */
  readonly pid: number | null;
  readonly port: number;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (or drops the databases made on a given one) and removes its files. */
  stop(): Promise<void>;
}

/** The directory of PostgreSQL's server programs (`initdb`, `postgres`), or null. */
export function postgresBin(): string | null {
  if (process.env.BAYESTS_PG_BIN) return process.env.BAYESTS_PG_BIN;
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(base, versions[0]!, "bin");
  }
  try {
    const initdb = execFileSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).trim();
    return initdb === "" ? null : join(initdb, "..");
  } catch {
    return null;
  }
}

/** PostgreSQL refuses to run as root: the `postgres` system user's ids then. */
export function serverUser(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    throw new Error("PostgreSQL does not run as root and there is no `postgres` user (apt-get install postgresql creates it)");
  }
}

function psql(url: string, sql: string): void {
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], { stdio: "pipe" });
}

export function waitReady(child: ChildProcess, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`PostgreSQL did not start within 60 s:\n${log.join("")}`)), 60_000);
    const onData = (d: Buffer) => {
      log.push(d.toString());
      if (log.join("").includes("database system is ready to accept connections")) {
        clearTimeout(timer);
        child.stderr?.off("data", onData);
        resolve();
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited with code ${code}:\n${log.join("")}`));
    });
  });
}

function givenServer(admin: string): LocalPostgres {
  const made: string[] = [];
  const port = Number(new URL(admin).port || 5432);
  return {
    pid: null,
    port,
    async createDatabase(name) {
      psql(admin, `DROP DATABASE IF EXISTS "${name}"`);
      psql(admin, `CREATE DATABASE "${name}"`);
      made.push(name);
      const url = new URL(admin);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stop() {
      for (const name of made.splice(0)) psql(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** Starts a throw-away server (or uses `BAYESTS_TEST_DATABASE_URL`). */
export async function startPostgres(): Promise<LocalPostgres> {
  const given = process.env.BAYESTS_TEST_DATABASE_URL;
  if (given) return givenServer(given);
  const bin = postgresBin();
  if (bin === null) throw new Error("PostgreSQL's server programs were not found (Debian: apt-get install postgresql; or set BAYESTS_PG_BIN)");
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), "bayests-pg-"));
  if (user !== null) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const ids = user ?? {};
  execFileSync(join(bin, "initdb"), ["-D", data, "-U", "bayests", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"], {
    stdio: "pipe",
    cwd: dir,
    ...ids,
  });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const log: string[] = [];
    const child = spawn(
      join(bin, "postgres"),
      ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"],
      { stdio: ["ignore", "ignore", "pipe"], cwd: dir, ...ids },
    );
    const kill = () => child.kill("SIGKILL");
    process.once("exit", kill);
    try {
      await waitReady(child, log);
    } catch (e) {
      process.off("exit", kill);
      child.kill("SIGKILL");
      // Another process may have taken the port between our probe and the server's bind.
      if (attempt < 3 && log.join("").includes("could not bind")) continue;
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    // Keep reading its log so that a full pipe never blocks the server.
    child.stderr?.resume();
    const admin = `postgres://bayests@127.0.0.1:${port}/postgres`;
    return {
      pid: child.pid ?? null,
      port,
      async createDatabase(name) {
        psql(admin, `CREATE DATABASE "${name}"`);
        return `postgres://bayests@127.0.0.1:${port}/${name}`;
      },
      async stop() {
        process.off("exit", kill);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
          // SIGINT: PostgreSQL's fast shutdown (ends the sessions, no waiting for clients).
          child.kill("SIGINT");
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

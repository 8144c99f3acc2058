/**
 * The fault harness (Jepsen's shape: a workload, a nemesis, a checker): a cluster of
 * PostgreSQL, runner processes and a client process, each in a network namespace of its own
 * (`netns.ts`) or all on loopback, with an audit of what the store accepted (triggers that
 * copy every stored request and reply, with the session that stored it and the shard's lease
 * holder at that instant), so that the checker (`checker.ts`) judges the run through the
 * store, not through what the processes say of themselves.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { RunEvent } from "../../actors/events.js";
import { freePort } from "../../supervisors/cluster/free-port.js";
import { projectRoot, startRunner, type RunnerProcess } from "../helpers/runners.js";
import type { FaultClientConfig } from "./client-main.js";
import { createTopology, type Topology } from "./netns.js";
import { startFaultPostgres, type FaultPostgres } from "./postgres-server.js";
import { startProxy, type FaultProxy, type ProxyOptions } from "./proxy.js";

/** The timings of the tests (a dead runner's chains move within seconds) and the defaults, as runner options. */
export const FAST_TIMINGS = ["--lock-expiration", "4", "--health-check", "1", "--refresh", "0.5", "--message-poll", "1"] as const;
export const DEFAULT_TIMINGS: readonly string[] = [];

export interface ClusterOptions {
  readonly runners: number;
  /** Each process in a namespace of its own (partitions possible); false: all on loopback. */
  readonly netns: boolean;
  readonly runnerArgs: readonly string[];
  /** On loopback only: every connection to a runner (the client's, the other runners') through a fault proxy (`proxy.ts`). */
  readonly link?: Omit<ProxyOptions, "listenHost" | "listenPort" | "targetHost" | "targetPort">;
  readonly workload: Omit<FaultClientConfig, "database" | "key">;
}

export interface TimedEvent {
  /** Seconds since the client started. */
  readonly t: number;
  readonly event: RunEvent;
}

export interface ClientDone {
  readonly seconds: number;
  readonly status: string;
  readonly chainStatus: readonly string[];
  readonly digests: readonly string[];
}

export interface ClientRun {
  readonly pid: number;
  readonly events: TimedEvent[];
  /** The run's id once the client has joined. */
  run(): string | null;
  /** The client's last line: the run's result, or the error it failed with; null if the process died without one. */
  readonly done: Promise<{ readonly done?: ClientDone; readonly error?: string } | null>;
  readonly stderr: string[];
  kill(): Promise<void>;
}

export interface FaultCluster {
  readonly key: string;
  readonly database: string;
  readonly dbName: string;
  readonly pg: FaultPostgres;
  readonly topology: Topology | null;
  /** Runner i lives on node `r<i>`. */
  readonly runners: RunnerProcess[];
  /** The fault proxies in front of the runners (`link`), with their connection and reset counts. */
  readonly proxies: readonly FaultProxy[];
  startClient(): ClientRun;
  /** SQL through the admin's unix socket (works whatever the partitions). */
  query(sql: string): string;
  /** The database's clock (seconds since the epoch). */
  dbNow(): number;
  /** Every process (client, runners, PostgreSQL) stopped and every namespace deleted; what is still alive or present. */
  stop(): Promise<{ processes: number[]; namespaces: string[] }>;
}

let clusters = 0;

function aliveP(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Audit tables and triggers: what the store accepted, when, from which session, and who held the shard then. */
const AUDIT = `
CREATE TABLE fault_messages AS SELECT m.*, clock_timestamp() AS stored_at FROM cluster_messages m WITH NO DATA;
CREATE TABLE fault_replies AS SELECT r.*, clock_timestamp() AS stored_at, ''::text AS session, ''::text AS shard, ''::text AS holder FROM cluster_replies r WITH NO DATA;
CREATE FUNCTION fault_audit_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO fault_messages SELECT NEW.*, clock_timestamp(); RETURN NEW; END $$;
CREATE FUNCTION fault_audit_reply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE s TEXT; h TEXT;
BEGIN
  SELECT m.shard_id INTO s FROM cluster_messages m WHERE m.id = NEW.request_id;
  SELECT l.address INTO h FROM cluster_locks l WHERE l.shard_id = s AND l.acquired_at > NOW() - INTERVAL '1 second' * (SELECT COALESCE(MAX((regexp_match(current_setting('application_name'), '^bayests-runner ([0-9]+) '))[1]::INT), 15));
  INSERT INTO fault_replies SELECT NEW.*, clock_timestamp(), current_setting('application_name'), s, h;
  RETURN NEW;
END $$;
CREATE TABLE fault_locks (shard_id TEXT, address TEXT, at TIMESTAMPTZ);
CREATE FUNCTION fault_audit_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR OLD.address IS DISTINCT FROM NEW.address THEN INSERT INTO fault_locks VALUES (NEW.shard_id, NEW.address, clock_timestamp()); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault_audit_lock AFTER INSERT OR UPDATE ON cluster_locks FOR EACH ROW EXECUTE FUNCTION fault_audit_lock();
CREATE TABLE fault_reads (id BIGINT, at TIMESTAMPTZ, session TEXT);
CREATE FUNCTION fault_audit_read() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.last_read IS NOT NULL AND OLD.last_read IS DISTINCT FROM NEW.last_read THEN INSERT INTO fault_reads VALUES (NEW.id, clock_timestamp(), current_setting('application_name')); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault_audit_read AFTER UPDATE ON cluster_messages FOR EACH ROW EXECUTE FUNCTION fault_audit_read();
CREATE TRIGGER fault_audit_message AFTER INSERT ON cluster_messages FOR EACH ROW EXECUTE FUNCTION fault_audit_message();
CREATE TRIGGER fault_audit_reply AFTER INSERT ON cluster_replies FOR EACH ROW EXECUTE FUNCTION fault_audit_reply();
`;

export async function startFaultCluster(name: string, options: ClusterOptions): Promise<FaultCluster> {
  const key = `faults-${randomBytes(16).toString("hex")}`;
  const id = clusters++;
  const names = ["db", ...Array.from({ length: options.runners }, (_, i) => `r${i}`), "client"];
  const topology = options.netns ? createTopology(names) : null;
  const where = (node: string) => (topology === null ? { host: "127.0.0.1" } : { host: topology.node(node).ip, netns: topology.node(node).ns });
  const runners: RunnerProcess[] = [];
  const clients: ChildProcess[] = [];
  let pg: FaultPostgres | null = null;
  const proxies: FaultProxy[] = [];
  const stop = async () => {
    for (const c of clients) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    // A frozen runner is woken first (a stopped process does not die of SIGKILL until it runs); a dead one is gone already.
    for (const r of runners) {
      try {
        process.kill(r.pid, "SIGCONT");
      } catch {
        // exited
      }
    }
    await Promise.all(runners.map((r) => r.kill()));
    const pgPid = pg?.pid() ?? null;
    await pg?.stop();
    await Promise.all(proxies.map((x) => x.close()));
    topology?.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const pids = [...clients.map((c) => c.pid!), ...runners.map((r) => r.pid), ...(pgPid === null ? [] : [pgPid])];
    return { processes: pids.filter(aliveP), namespaces: topology?.left() ?? [] };
  };
  try {
    const db = where("db");
    pg = await startFaultPostgres({ ...db, port: topology === null ? await freePort() : 5432 });
    const dbName = `${name}_${id}`;
    const database = pg.createDatabase(dbName);
    const p = pg;
    const runnerAt = async (i: number) => {
      if (options.link === undefined || topology !== null) return { args: options.runnerArgs, ...where(`r${i}`) };
      // The runner listens on 127.0.0.1 and registers 127.0.0.<10+i>, where the proxy listens.
      const port = await freePort();
      const host = `127.0.0.${10 + i}`;
      proxies.push(await startProxy({ ...options.link, listenHost: host, listenPort: port, targetHost: "127.0.0.1", targetPort: port }));
      return { args: [...options.runnerArgs, "--port", String(port), "--listen-host", "127.0.0.1"], host };
    };
    const started = await Promise.all(
      Array.from({ length: options.runners }, (_, i) => runnerAt(i).then((at) => startRunner({ database, key, startTimeoutMs: 180_000, ...at })).then((r) => (runners.push(r), r))),
    );
    runners.sort((a, b) => started.indexOf(a) - started.indexOf(b));
    p.query(dbName, AUDIT);
    await waitForShardsVia(p, dbName, options.runners);
    const query = (sql: string) => p.query(dbName, sql);
    return {
      key,
      database,
      dbName,
      pg: p,
      topology,
      runners: started,
      proxies,
      query,
      dbNow: () => Number(query("SELECT EXTRACT(EPOCH FROM clock_timestamp())")),
      stop,
      startClient: () => {
        const config: FaultClientConfig = { ...options.workload, database, key };
        const script = join(projectRoot(), "dist", "test", "faults", "client-main.js");
        const c = where("client");
        const [command, argv] = c.netns === undefined ? [process.execPath, [script]] : ["ip", ["netns", "exec", c.netns, process.execPath, script]];
        const child = spawn(command, argv, { env: { ...process.env, FAULT_CLIENT: JSON.stringify(config) }, stdio: ["ignore", "pipe", "pipe"] });
        clients.push(child);
        const events: TimedEvent[] = [];
        const stderr: string[] = [];
        let runId: string | null = null;
        let last: { done?: ClientDone; error?: string } | null = null;
        child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
        createInterface({ input: child.stdout! }).on("line", (line) => {
          let o: { t?: number; event?: RunEvent; done?: ClientDone; error?: string };
          try {
            o = JSON.parse(line);
          } catch {
            return;
          }
          if (o.event !== undefined) {
            events.push({ t: o.t!, event: o.event });
            if (o.event.type === "cluster-connected") runId = o.event.run;
          } else last = o;
        });
        const done = new Promise<{ done?: ClientDone; error?: string } | null>((resolve) => child.once("close", () => resolve(last)));
        return {
          pid: child.pid!,
          events,
          run: () => runId,
          done,
          stderr,
          kill: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
            await done;
          },
        };
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** `waitForShards` through the admin socket (the harness's own namespace cannot reach a namespaced server by TCP). */
async function waitForShardsVia(pg: FaultPostgres, dbName: string, runners: number): Promise<void> {
  const want = `300 ${runners}`;
  const t0 = Date.now();
  let since: number | null = null;
  for (;;) {
    const got = pg.query(dbName, `SELECT count(*) || ' ' || count(DISTINCT address) FROM cluster_locks WHERE address IN (SELECT address FROM cluster_runners WHERE healthy AND last_heartbeat > NOW() - INTERVAL '1 minute')`);
    if (got === want) {
      since ??= Date.now();
      if (Date.now() - since >= 1500) return;
    } else since = null;
    if (Date.now() - t0 > 180_000) throw new Error(`the shards did not settle on ${runners} runners within 180 s (${got})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}


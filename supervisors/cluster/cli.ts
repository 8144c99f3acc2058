/**
 * `bayests-runner`: starts a cluster runner process (see `runner.ts`) and keeps it until
 * SIGINT or SIGTERM, when it leaves the cluster politely (its chains' shards move at once,
 * its threads end). It prints one JSON line when it has joined
 * (`{"event":"runner-ready","address":"host:port",...}`) and one when it has left, with the
 * bytes its sockets carried (`runner-stopped`); logs go to stderr.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { NodeRuntime } from "@effect/platform-node";
import { Duration, Effect, Either, ExecutionStrategy, Exit, Layer, Logger, LogLevel, Scope } from "effect";
import { DEFAULT_TIMINGS, MIN_KEY_CHARS } from "./config.js";
import { freePort } from "./free-port.js";
import { runnerLayer, type RunnerConfig } from "./runner.js";
import { meterSocketBytes } from "./wire-bytes.js";

const HELP = `bayests-runner: a runner of a @bayests/runtime cluster (chains of sample(model, { cluster }) run here)

  --database URL         PostgreSQL the runners and clients share (or BAYESTS_CLUSTER_DATABASE);
                         a password in it shows in ps: prefer the variable or --database-file
  --database-file PATH   file holding that URL
  --key-file PATH        file holding the cluster key (or BAYESTS_CLUSTER_KEY); at least ${MIN_KEY_CHARS} characters
  --host HOST            address others reach this runner at (127.0.0.1: this machine only)
  --listen-host HOST     address to listen on (default: --host; e.g. 0.0.0.0)
  --port N               port (0, the default: a free one)
  --threads N            worker threads (default: the cores, ${availableParallelism()} here)
  --max-old-generation-mb N   heap limit of each worker thread
  --simulators DIR       a folder whose ABC simulator modules this runner may import (repeatable;
                         without it the runner refuses ABC batches)
  --lock-expiration S    seconds without renewing its shard locks after which a runner's chains move (15)
  --health-check S       seconds between pings of the other runners (5)
  --refresh S            seconds between reads of who the runners are (1)
  --message-poll S       seconds between looks in storage for messages (2)
  --idle S               seconds after which an idle chain entity is stopped (60)
  --sweep-every S        seconds between sweeps of ended runs' messages (60)
  --sweep-grace S        seconds after a run's lease ended before it is swept (60)
  --log-level LEVEL      error, warning (default), info, debug
  --help`;

function fail(message: string, code = 2): never {
  process.stderr.write(`bayests-runner: ${message}\n`);
  process.exit(code);
}

function seconds(name: string, value: string | undefined, fallback: Duration.DurationInput): Duration.DurationInput {
  if (value === undefined) return fallback;
  const s = Number(value);
  if (!(s > 0) || !Number.isFinite(s)) fail(`--${name} must be a number of seconds > 0, got ${value}`);
  return Duration.millis(s * 1000);
}

function integer(name: string, value: string | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got ${value}`);
  return n;
}

/** A file's text, trimmed (a secret kept out of the command line); a clear exit when it cannot be read. */
function readText(option: string, path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    return fail(`${option} ${path}: ${(e as Error).message}`);
  }
}

const LEVELS: Record<string, LogLevel.LogLevel> = { error: LogLevel.Error, warning: LogLevel.Warning, info: LogLevel.Info, debug: LogLevel.Debug };

async function main(): Promise<void> {
  // pg 8.16 warns about query queueing that @effect/sql-pg does on purpose; the runner's stderr is for its own news.
  process.noDeprecation = true;
  const { values } = parseArgs({
    options: {
      database: { type: "string" },
      "database-file": { type: "string" },
      "key-file": { type: "string" },
      host: { type: "string" },
      "listen-host": { type: "string" },
      port: { type: "string" },
      threads: { type: "string" },
      "max-old-generation-mb": { type: "string" },
      "lock-expiration": { type: "string" },
      "health-check": { type: "string" },
      refresh: { type: "string" },
      "message-poll": { type: "string" },
      idle: { type: "string" },
      "sweep-every": { type: "string" },
      "sweep-grace": { type: "string" },
      "log-level": { type: "string" },
      simulators: { type: "string", multiple: true },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  if (values.database !== undefined && values["database-file"] !== undefined) fail("--database and --database-file: give one");
  const database = values["database-file"] !== undefined ? readText("--database-file", values["database-file"]) : (values.database ?? process.env.BAYESTS_CLUSTER_DATABASE);
  if (database === undefined || database === "") fail("--database URL, --database-file PATH or BAYESTS_CLUSTER_DATABASE is needed: the PostgreSQL the cluster shares");
  const key = values["key-file"] !== undefined ? readFileSync(values["key-file"], "utf8").trim() : process.env.BAYESTS_CLUSTER_KEY;
  if (key === undefined) fail("--key-file PATH (or BAYESTS_CLUSTER_KEY) is needed: the cluster key clients sign with");
  if (key.length < MIN_KEY_CHARS) fail(`the cluster key must have at least ${MIN_KEY_CHARS} characters`);
  const level = LEVELS[values["log-level"] ?? "warning"] ?? fail(`--log-level must be one of ${Object.keys(LEVELS).join(", ")}`);
  const host = values.host ?? "127.0.0.1";
  const listenHost = values["listen-host"];
  const requested = integer("port", values.port, 0, 0);
  // Runners register the port they will listen on, so a free one is chosen first.
  const port = requested === 0 ? await freePort(listenHost ?? host) : requested;
  const maxOld = values["max-old-generation-mb"];
  const config: RunnerConfig = {
    database,
    key: Buffer.from(key),
    host,
    port,
    ...(listenHost !== undefined ? { listenHost } : {}),
    threads: integer("threads", values.threads, 1, availableParallelism()),
    resourceLimits: maxOld === undefined ? undefined : { maxOldGenerationSizeMb: integer("max-old-generation-mb", maxOld, 16, 0) },
    timings: {
      lockExpiration: seconds("lock-expiration", values["lock-expiration"], DEFAULT_TIMINGS.lockExpiration),
      healthCheck: seconds("health-check", values["health-check"], DEFAULT_TIMINGS.healthCheck),
      refreshAssignments: seconds("refresh", values.refresh, DEFAULT_TIMINGS.refreshAssignments),
      messagePoll: seconds("message-poll", values["message-poll"], DEFAULT_TIMINGS.messagePoll),
    },
    entityMaxIdle: seconds("idle", values.idle, "60 seconds"),
    sweepEvery: seconds("sweep-every", values["sweep-every"], "60 seconds"),
    sweepGrace: seconds("sweep-grace", values["sweep-grace"], "60 seconds"),
    simulators: (values.simulators ?? []).map((dir) => {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`--simulators ${dir}: not a folder`);
      return resolve(dir);
    }),
  };
  const meter = meterSocketBytes();
  const line = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const program = Effect.gen(function* () {
    const scope = yield* Effect.scope;
    let joined = config;
    for (let attempt = 1; ; attempt++) {
      // Each attempt in a scope of its own: a failed one releases what it had opened (its database pool).
      const attemptScope = yield* Scope.fork(scope, ExecutionStrategy.sequential);
      const built = yield* Effect.either(Layer.buildWithScope(runnerLayer(joined), attemptScope));
      if (Either.isRight(built)) break;
      yield* Scope.close(attemptScope, Exit.void);
      // A port chosen here can be taken by another process before the runner listens on it: choose again.
      if (requested === 0 && attempt < 3 && built.left._tag === "RunnerStartError" && built.left.portTaken) {
        joined = { ...joined, port: yield* Effect.promise(() => freePort(listenHost ?? host)) };
        continue;
      }
      // One line saying why, and exit code 1 (no stack trace: the reason is the database's or the port's).
      fail(`could not join the cluster at ${host}:${joined.port}: ${built.left.message}`, 1);
    }
    const address = `${host}:${joined.port}`;
    line({ event: "runner-ready", address, pid: process.pid, threads: config.threads });
    yield* Effect.addFinalizer(() => Effect.sync(() => line({ event: "runner-stopped", address, pid: process.pid, wireBytes: meter.stop() })));
    return yield* Effect.never;
  }).pipe(Effect.scoped, Logger.withMinimumLogLevel(level), Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))));
  NodeRuntime.runMain(program, { disablePrettyLogger: true });
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));

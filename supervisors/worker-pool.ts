/**
 * Worker threads: a piscina pool of threads that run chunk tasks (`actors/worker.ts`).
 *
 * A run makes its own pool by default (a scoped resource: started with the run, and only
 * released once every thread it started has exited). A `WorkerPool` made by the user
 * (`createWorkerPool`, or `workerPoolScoped` for Effect) is shared by the runs given it, one
 * after another or at once, and lives until closed: its threads keep their loaded modules,
 * their instantiated models and their JIT-compiled code from one run to the next, so a run
 * on a warm pool pays no start-up (DECISIONS.md D22). Idle threads do not keep the process
 * alive.
 *
 * Worker file. Workers run compiled JavaScript: from `dist/` (the package as installed, or
 * `npm run build` output) this module finds `../actors/worker.js` next to itself. When this
 * module runs from TypeScript sources (vitest), it uses `<project>/dist/actors/worker.js`;
 * the test suite builds it first (`test/runtime/global-setup.ts`).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import { Data, Effect, type Scope } from "effect";
import { Piscina } from "piscina";
import type { WorkerTask } from "../actors/protocol.js";
import { workerTrustData } from "../src/compile/trust.js";

/** V8 heap limits of each worker thread (Node's `resourceLimits`). */
export interface WorkerResourceLimits {
  readonly maxOldGenerationSizeMb?: number;
  readonly maxYoungGenerationSizeMb?: number;
  readonly codeRangeSizeMb?: number;
  readonly stackSizeMb?: number;
}

export interface WorkerPoolConfig {
  readonly threads: number;
  readonly resourceLimits?: WorkerResourceLimits | undefined;
}

export class PoolStartError extends Data.TaggedError("PoolStartError")<{ readonly message: string }> {}

/**
 * Chunks a thread may hold at once: the one it runs and the next, waiting in its queue (the
 * run's scheduler decides how many it hands out; see `chunksPerThread` in scheduler.ts).
 */
export const MAX_CHUNKS_PER_THREAD = 2;

function findProjectRoot(from: string): string | null {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Absolute path of the compiled worker entry. */
export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".js")) return join(dirname(here), "..", "actors", "worker.js");
  const root = findProjectRoot(here);
  return join(root ?? dirname(here), "dist", "actors", "worker.js");
}

// Every worker thread started by any pool, until it has exited.
const liveThreads = new Set<Worker>();

/**
 * Worker threads that have not exited yet: those of runs still going and of `WorkerPool`s
 * not closed (0 once every run has ended and every user pool is closed).
 */
export function liveWorkerThreads(): number {
  return liveThreads.size;
}

export class WorkerPool {
  readonly threads: number;
  readonly resourceLimits: WorkerResourceLimits | undefined;
  private readonly piscina: Piscina;
  /** Threads of this pool that have not exited. */
  private readonly started = new Set<Worker>();
  private closing: Promise<void> | null = null;

  /** Throws a `PoolStartError` when the compiled worker is missing. */
  constructor(config: WorkerPoolConfig) {
    const filename = workerFile();
    if (!existsSync(filename)) {
      throw new PoolStartError({ message: `the compiled worker ${filename} is missing: run \`npm run build\` first` });
    }
    this.threads = config.threads;
    this.resourceLimits = config.resourceLimits;
    this.piscina = new Piscina({
      filename,
      minThreads: config.threads,
      maxThreads: config.threads,
      // Tasks carry no abort signal: piscina gives a thread running an abortable task
      // nothing else, and a thread may hold two chunks.
      concurrentTasksPerWorker: MAX_CHUNKS_PER_THREAD,
      idleTimeout: 60_000,
      // The process key: a thread runs only compiled models signed with it (DECISIONS.md D24).
      workerData: workerTrustData(),
      ...(config.resourceLimits !== undefined ? { resourceLimits: config.resourceLimits } : {}),
    });
    this.scan();
    this.piscina.on("workerCreate", () => this.scan());
    // Without a listener piscina would throw errors of idle workers at the process.
    this.piscina.on("error", () => undefined);
  }

  get isClosed(): boolean {
    return this.closing !== null;
  }

  /** Runs a task on the least busy thread (piscina's queue holds it while all are full). */
  run(task: WorkerTask): Promise<unknown> {
    if (this.closing !== null) return Promise.reject(new Error("the worker pool is closed"));
    const result = this.piscina.run(task) as Promise<unknown>;
    // Threads start lazily and are replaced when they die: keep track of every one.
    this.scan();
    setImmediate(() => this.scan());
    return result;
  }

  /** Terminates the thread with this id (nothing else stops an endless loop); piscina replaces it. */
  terminateThread(threadId: number): void {
    for (const w of this.piscina.threads) if (w.threadId === threadId) void w.terminate();
  }

  private scan(): void {
    for (const w of this.piscina.threads) {
      if (this.started.has(w)) continue;
      this.started.add(w);
      liveThreads.add(w);
      w.once("exit", () => {
        liveThreads.delete(w);
        this.started.delete(w);
      });
    }
  }

  private exited(workers: Iterable<Worker>, terminate: boolean): Promise<void> {
    return Promise.all(
      [...workers].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (!this.started.has(w)) return resolve();
            w.once("exit", () => resolve());
            if (terminate) void w.terminate();
          }),
      ),
    ).then(() => undefined);
  }

  /**
   * Ends every thread and resolves once all have exited (idempotent). Chunks still running
   * or queued fail.
   *
   * piscina replaces a worker when it sees the exit of one it had already let go (an
   * aborted task's), unless it is destroying at that moment; such an exit arriving after
   * `destroy()` returned would start a fresh thread nobody stops. So: first wait for the
   * threads already on their way out, then destroy, then check that nothing is left.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (let round = 0; round < 5; round++) {
        this.scan();
        const current = new Set(this.piscina.threads);
        await this.exited([...this.started].filter((w) => !current.has(w)), false);
        this.scan();
        await this.piscina.destroy();
        await this.exited([...this.started], true);
        if (this.started.size === 0 && this.piscina.threads.length === 0) return;
      }
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A pool as a scoped resource: closed when the scope closes. */
export function acquireWorkerPool(config: WorkerPoolConfig): Effect.Effect<WorkerPool, PoolStartError, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.try({
      try: () => new WorkerPool(config),
      catch: (e) => (e instanceof PoolStartError ? e : new PoolStartError({ message: e instanceof Error ? e.message : String(e) })),
    }),
    (pool) => Effect.promise(() => pool.close()),
  );
}

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
import { Worker } from "node:worker_threads";
import { Data, Effect, type Scope } from "effect";
import { Piscina } from "piscina";
import type { WorkerTask } from "../actors/protocol.js";
import { workerTrustData } from "../src/compile/trust.js";

/**
 * Node flags of the threads: the process's own that threads accept, with `require()` of ES modules off where Node
 * has it (20.19+). piscina loads the worker with `require()` first and `import()` when that
 * throws; a thread handed a task while that `import()` is still linking calls `require()`
 * again, and Node then aborts the whole process (V8: "IsGraphAsync must be used on an
 * instantiated module"; seen in CI). Without require(esm) every load is an `import()`, and
 * concurrent imports share one (DECISIONS.md D89).
 */
function threadExecArgv(): string[] {
  const own = threadFlags(process.execArgv);
  return process.allowedNodeEnvironmentFlags.has("--no-experimental-require-module") ? [...own, "--no-experimental-require-module"] : own;
}

/**
 * The process's Node flags (`execArgv`, each flag with its separate value if it has one) that
 * a worker thread accepts. Per-process and V8 flags (`--max-old-space-size`, `--expose-gc`,
 * `--stack-size`, `--title`...) make `new Worker` throw `ERR_WORKER_INVALID_EXEC_ARGV`: each
 * flag is tried once on a thread that runs nothing, and those refused are left out
 * (DECISIONS.md D96). Probed once per process, and only when some flag is there.
 */
export function threadFlags(execArgv: readonly string[]): string[] {
  const key = execArgv.join("\0");
  const cached = acceptedFlags.get(key);
  if (cached !== undefined) return cached;
  const groups: string[][] = [];
  for (const a of execArgv) {
    if (a.startsWith("-") || groups.length === 0) groups.push([a]);
    else groups[groups.length - 1]!.push(a);
  }
  const accepted = (flags: readonly string[]): boolean => {
    try {
      const w = new Worker("", { eval: true, execArgv: [...flags], stdout: true, stderr: true });
      w.unref();
      void w.terminate();
      return true;
    } catch {
      return false;
    }
  };
  const out = groups.length === 0 || accepted(execArgv) ? [...execArgv] : groups.filter(accepted).flat();
  acceptedFlags.set(key, out);
  return out;
}
const acceptedFlags = new Map<string, string[]>();

/**
 * The heap limit the process was started with (`--max-old-space-size=N`, in MB), which threads
 * cannot take as a flag: it becomes their `resourceLimits.maxOldGenerationSizeMb` unless the
 * run sets one. Null when absent.
 */
export function processHeapLimitMb(execArgv: readonly string[]): number | null {
  let mb: number | null = null;
  for (let i = 0; i < execArgv.length; i++) {
    const m = /^--max[-_]old[-_]space[-_]size(?:=(.*))?$/.exec(execArgv[i]!);
    if (m === null) continue;
    const v = Number(m[1] ?? execArgv[i + 1]);
    if (Number.isFinite(v) && v > 0) mb = v;
  }
  return mb;
}

function threadLimits(limits: WorkerResourceLimits | undefined): WorkerResourceLimits | undefined {
  const heap = processHeapLimitMb(process.execArgv);
  if (heap === null || limits?.maxOldGenerationSizeMb !== undefined) return limits;
  return { ...limits, maxOldGenerationSizeMb: heap };
}

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
    const limits = threadLimits(config.resourceLimits);
    this.piscina = new Piscina({
      filename,
      minThreads: config.threads,
      maxThreads: config.threads,
      // Tasks carry no abort signal: piscina gives a thread running an abortable task
      // nothing else, and a thread may hold two chunks.
      concurrentTasksPerWorker: MAX_CHUNKS_PER_THREAD,
      idleTimeout: 60_000,
      // Nothing reads piscina's run and wait time histograms: not recording them saves a
      // histogram update and clock reads per chunk on the main thread (D196).
      recordTiming: false,
      // The process key: a thread runs only compiled models signed with it (DECISIONS.md D24).
      workerData: workerTrustData(),
      execArgv: threadExecArgv(),
      ...(limits !== undefined ? { resourceLimits: limits } : {}),
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

/**
 * The run's piscina pool as a scoped resource: made when the run starts, destroyed when its
 * scope closes (completion, abort, failure or interruption), and only released once every
 * worker thread it ever started has exited.
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
import { Data, Duration, Effect, Exit, type Scope } from "effect";
import { Piscina } from "piscina";
import type { ChunkResult, ChunkTask, WorkerData } from "../actors/protocol.js";

/** V8 heap limits of each worker thread (Node's `resourceLimits`). */
export interface WorkerResourceLimits {
  readonly maxOldGenerationSizeMb?: number;
  readonly maxYoungGenerationSizeMb?: number;
  readonly codeRangeSizeMb?: number;
  readonly stackSizeMb?: number;
}

export interface PoolConfig {
  readonly threads: number;
  readonly workerData: WorkerData;
  readonly resourceLimits?: WorkerResourceLimits;
}

export class PoolStartError extends Data.TaggedError("PoolStartError")<{ readonly message: string }> {}

/** A chunk task that failed: the worker threw, exited, ran out of memory, or was aborted. */
export class ChunkFailed extends Data.TaggedError("ChunkFailed")<{ readonly message: string }> {}

/** The watchdog ended a chunk that ran too long (its thread was terminated). */
export class ChunkTimeout extends Data.TaggedError("ChunkTimeout")<{ readonly message: string }> {}

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

// Every worker thread started by any run's pool, until it has exited.
const liveThreads = new Set<Worker>();

/** Worker threads started by runs that have not exited yet (0 once every run has ended). */
export function liveWorkerThreads(): number {
  return liveThreads.size;
}

function track(worker: Worker, mine: Set<Worker>): void {
  if (mine.has(worker)) return;
  mine.add(worker);
  liveThreads.add(worker);
  worker.once("exit", () => {
    liveThreads.delete(worker);
    mine.delete(worker);
  });
}

type JobExit = Exit.Exit<ChunkResult, ChunkFailed>;

/** A chunk on its way through the pool. */
interface Job {
  readonly task: ChunkTask;
  readonly controller: AbortController;
  state: "queued" | "running" | "done";
  /** Called when the job gets a thread. */
  onStart: (() => void) | null;
  /** The outcome, once known, and who waits for it. */
  exit: JobExit | null;
  onEnd: ((exit: JobExit) => void) | null;
}

export class Pool {
  /** Threads of this pool that have not exited. */
  private readonly started = new Set<Worker>();
  /**
   * Chunks waiting for a thread, first come first served. A chunk enters piscina only when
   * a thread is free, and the next one is posted from the completion callback of the last,
   * so a thread never waits for the main thread's fibers to be scheduled (that hand-over
   * through Effect fibers took a median 1 ms, p90 4 ms per chunk: 12% of a long run of
   * `simple` on one thread). The watchdog counts from when a chunk got its thread.
   */
  private readonly queue: Job[] = [];
  private running = 0;

  constructor(
    private readonly piscina: Piscina,
    private readonly threads: number,
  ) {
    const scan = () => {
      for (const w of piscina.threads) track(w, this.started);
    };
    scan();
    piscina.on("workerCreate", scan);
    // Without a listener piscina would throw errors of idle workers at the process.
    piscina.on("error", () => undefined);
  }

  private pump(): void {
    while (this.running < this.threads && this.queue.length > 0) this.start(this.queue.shift()!);
  }

  private start(job: Job): void {
    job.state = "running";
    this.running++;
    this.piscina.run(job.task, { signal: job.controller.signal }).then(
      (r: ChunkResult) => this.finish(job, Exit.succeed(r)),
      (e: unknown) => this.finish(job, Exit.fail(new ChunkFailed({ message: e instanceof Error ? e.message : String(e) }))),
    );
    // Threads start lazily and are replaced when they die: keep track of every one.
    this.scan();
    setImmediate(() => this.scan());
    job.onStart?.();
  }

  private finish(job: Job, exit: JobExit): void {
    if (job.state === "done") return;
    job.state = "done";
    this.running--;
    this.pump();
    job.exit = exit;
    job.onEnd?.(exit);
  }

  /** Gives a job up: dequeued, or aborted while it runs (piscina then terminates its thread). */
  private cancel(job: Job): void {
    if (job.state === "queued") {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      job.state = "done";
    } else if (job.state === "running") {
      job.state = "done";
      this.running--;
      job.controller.abort();
      this.pump();
    }
  }

  /**
   * Runs a chunk on the next free thread, killed by the watchdog (`Effect.timeoutFail`)
   * after `timeout` of running. Interrupting the effect aborts the task, which terminates
   * its thread.
   */
  run(task: ChunkTask, timeout: Duration.Duration): Effect.Effect<ChunkResult, ChunkFailed | ChunkTimeout> {
    return Effect.suspend(() => {
      const job: Job = { task, controller: new AbortController(), state: "queued", onStart: null, exit: null, onEnd: null };
      const started = Effect.async<void>((resume, signal) => {
        signal.addEventListener("abort", () => this.cancel(job));
        job.onStart = () => resume(Effect.void);
        this.queue.push(job);
        this.pump();
      });
      const ended = Effect.async<ChunkResult, ChunkFailed>((resume, signal) => {
        signal.addEventListener("abort", () => this.cancel(job));
        if (job.exit !== null) return resume(job.exit);
        job.onEnd = (exit) => resume(exit);
      });
      return started.pipe(
        Effect.zipRight(
          ended.pipe(
            Effect.timeoutFail({
              duration: timeout,
              onTimeout: () => new ChunkTimeout({ message: `chunk of chain ${task.chain} ran longer than ${Duration.format(timeout)}` }),
            }),
          ),
        ),
      );
    });
  }

  private scan(): void {
    for (const w of this.piscina.threads) track(w, this.started);
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
   * Destroys the pool and waits until every thread it started has exited.
   *
   * piscina replaces a worker when it sees the exit of one it had already let go (an
   * aborted task's), unless it is destroying at that moment; such an exit arriving after
   * `destroy()` returned would start a fresh thread nobody stops. So: first wait for the
   * threads already on their way out, then destroy, then check that nothing is left.
   */
  async destroy(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      this.scan();
      const current = new Set(this.piscina.threads);
      await this.exited([...this.started].filter((w) => !current.has(w)), false);
      this.scan();
      await this.piscina.destroy();
      await this.exited([...this.started], true);
      if (this.started.size === 0 && this.piscina.threads.length === 0) return;
    }
  }
}

/** The pool as a scoped resource. */
export function acquirePool(config: PoolConfig): Effect.Effect<Pool, PoolStartError, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.try({
      try: () => {
        const filename = workerFile();
        if (!existsSync(filename)) {
          throw new Error(`the compiled worker ${filename} is missing: run \`npm run build\` first`);
        }
        return new Pool(
          new Piscina({
            filename,
            minThreads: config.threads,
            maxThreads: config.threads,
            idleTimeout: 60_000,
            workerData: config.workerData,
            ...(config.resourceLimits !== undefined ? { resourceLimits: config.resourceLimits } : {}),
          }),
          config.threads,
        );
      },
      catch: (e) => new PoolStartError({ message: e instanceof Error ? e.message : String(e) }),
    }),
    (pool) => Effect.promise(() => pool.destroy()),
  );
}

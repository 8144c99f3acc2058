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
  /** Chains of the run (whether threads can hold a second chunk without tying chains to threads). */
  readonly chains: number;
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

type JobExit = Exit.Exit<ChunkResult, ChunkFailed | ChunkTimeout>;

/**
 * Chunks handed to each thread at once: 2 (the one it runs and the next, waiting in its
 * queue) on one thread, or when there are at least three chains per thread; otherwise 1.
 * With every chain's chunk in some thread's queue, a chain's next chunk goes back to the
 * thread it came from (the only one with room): chains get tied to threads in pairs, and a
 * thread whose pair has more work finishes last (sv, whose chains differ by 1.7x: 1.53x
 * instead of 1.61x on 2 threads). On one thread there is nothing to balance.
 */
export function chunksPerThread(threads: number, chains: number): number {
  return threads === 1 || chains >= 3 * threads ? 2 : 1;
}
/** How long a thread is kept for the chain with the most work left while it commits its last chunk. */
const RESERVE_MS = 2;
/** A chunk that failed before it ever started (its thread died under another chunk) is re-queued at most this often. */
const MAX_REQUEUES = 3;
/** Longest a timer may be armed for (Node caps setTimeout at 2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How often the watchdog looks whether a chunk waiting in a thread's queue has started. */
const START_POLL_MS = 100;

/** A chunk on its way through the pool. */
interface Job {
  readonly task: ChunkTask;
  /** Estimated seconds of work its chain has left (read when a thread frees up). */
  readonly remaining: () => number;
  readonly timeout: Duration.Duration;
  /** Whether its chain goes straight on to another chunk once this one is done. */
  readonly continues: boolean;
  state: "queued" | "posted" | "done";
  /** The shared cell of the current post (`ChunkTask.started`). */
  started: Float64Array | null;
  /** Times it was re-queued after a failure before it started. */
  requeues: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** Delivers the outcome (once). */
  readonly resume: (exit: JobExit) => void;
}

export class Pool {
  /** Threads of this pool that have not exited. */
  private readonly started = new Set<Worker>();
  /**
   * Chunks not yet handed to a thread. A thread may be handed two chunks (of different
   * chains; see `chunksPerThread`): the one it runs and the next, which it starts the moment
   * the first returns, without waiting for the main thread (on this 2-core VM a round trip
   * through an idle main thread costs ~0.5-0.8 ms per chunk: 4% of a 1 s run of `simple` on
   * one thread). The next chunk is posted from the completion callback of the last, so no
   * hand-over waits for Effect fibers either (a fair hand-off through fibers once left each
   * thread idle a median 1 ms per chunk).
   *
   * The chunk handed out next is that of the chain with the most work left (estimated
   * seconds; unknown estimates first, ties first come first served): the chains then
   * finish together rather than one chain running alone at the end while other threads
   * idle, and chains that fell behind catch up before a barrier. Draws do not depend on
   * the order.
   *
   * The watchdog counts from when a chunk starts running on its thread: the worker writes
   * the time (and its thread id) into the chunk's shared cell (`ChunkTask.started`), and
   * the watchdog reads it. A chunk that fails before it started (or after it ended, its
   * result lost), because its thread died under another chunk (a crash, or the watchdog
   * ending another chunk), is not at fault: it is handed out again, without counting as a
   * failure.
   */
  private readonly queue: Job[] = [];
  private posted = 0;
  /**
   * A thread kept for one chain: when a chunk ends and its chain has more work left than
   * every waiting chain (and goes straight on), its next chunk, a moment away (the main
   * thread commits the last one first), gets the thread rather than a waiting chain with
   * less left. Without this the chain with the most work runs at most about two thirds of
   * the time on 2 threads and 4 chains, and ends last, alone (sv: 0.4 s after the others).
   */
  private reserved: { readonly chain: number; readonly timer: ReturnType<typeof setTimeout> } | null = null;

  constructor(
    private readonly piscina: Piscina,
    private readonly threads: number,
    private readonly perThread: number,
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
    const slots = this.threads * this.perThread - (this.reserved !== null ? 1 : 0);
    while (this.posted < slots && this.queue.length > 0) this.post(this.takeNext());
  }

  /** Keeps a slot for `chain` for up to RESERVE_MS (see `reserved`). */
  private reserve(chain: number): void {
    const timer = setTimeout(() => {
      if (this.reserved?.timer !== timer) return;
      this.reserved = null;
      this.pump();
    }, RESERVE_MS);
    this.reserved = { chain, timer };
  }

  /** Whether the chain of a job that just ended should keep its thread (see `reserved`). */
  private keepsThread(job: Job, exit: JobExit): boolean {
    if (!job.continues || !Exit.isSuccess(exit) || this.perThread !== 1 || this.reserved !== null || this.queue.length === 0) return false;
    // Its estimate still counts the chunk just done.
    const left = job.remaining() - exit.value.seconds;
    if (!(left > 0)) return false;
    for (const q of this.queue) if (!(left > q.remaining())) return false;
    return true;
  }

  /** Removes and returns the queued job whose chain has the most work left. */
  private takeNext(): Job {
    let best = 0;
    let bestRemaining = this.queue[0]!.remaining();
    for (let i = 1; i < this.queue.length && !Number.isNaN(bestRemaining); i++) {
      const r = this.queue[i]!.remaining();
      // NaN (no estimate yet) counts as the most; ties keep arrival order.
      if (Number.isNaN(r) || r > bestRemaining) {
        best = i;
        bestRemaining = r;
      }
    }
    return this.queue.splice(best, 1)[0]!;
  }

  private post(job: Job): void {
    job.state = "posted";
    this.posted++;
    // [start time (Date.now()), thread id, end time]: written by the worker.
    const started = new Float64Array(new SharedArrayBuffer(3 * Float64Array.BYTES_PER_ELEMENT));
    job.started = started;
    this.piscina.run({ ...job.task, started }).then(
      (r: ChunkResult) => this.settle(job, started, Exit.succeed(r)),
      (e: unknown) => this.failed(job, started, e),
    );
    this.arm(job, started, Duration.toMillis(job.timeout));
    // Threads start lazily and are replaced when they die: keep track of every one.
    this.scan();
    setImmediate(() => this.scan());
  }

  private arm(job: Job, started: Float64Array, ms: number): void {
    if (!Number.isFinite(ms)) return;
    job.timer = setTimeout(() => this.watch(job, started), Math.max(1, Math.min(MAX_TIMER_MS, ms)));
  }

  /** The watchdog: ends the chunk once it has run `timeout` on its thread. */
  private watch(job: Job, started: Float64Array): void {
    job.timer = null;
    if (job.state !== "posted" || job.started !== started) return;
    const since = started[0]!;
    if (since === 0) return this.arm(job, started, START_POLL_MS); // still waiting in its thread's queue
    if (started[2]! !== 0) return this.arm(job, started, 10); // finished: its result is on its way
    const timeout = Duration.toMillis(job.timeout);
    const left = since + timeout - Date.now();
    if (left > 0) return this.arm(job, started, left);
    this.terminateThreadOf(started);
    this.settle(job, started, Exit.fail(new ChunkTimeout({ message: `chunk of chain ${job.task.chain} ran longer than ${Duration.format(job.timeout)}` })));
  }

  /** Terminates the thread a started chunk runs on (nothing else stops an endless loop). */
  private terminateThreadOf(started: Float64Array): void {
    const id = started[1]!;
    for (const w of this.piscina.threads) if (w.threadId === id) void w.terminate();
  }

  private settle(job: Job, started: Float64Array, exit: JobExit): void {
    if (job.state !== "posted" || job.started !== started) return;
    job.state = "done";
    this.posted--;
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
    if (this.keepsThread(job, exit)) this.reserve(job.task.chain);
    this.pump();
    job.resume(exit);
  }

  private failed(job: Job, started: Float64Array, e: unknown): void {
    if (job.state !== "posted" || job.started !== started) return;
    // It never ran, or it ran to its end and its result was lost: the thread died under
    // another chunk. Hand it out again (the kernel is deterministic: the same draws).
    const notAtFault = started[0] === 0 || started[2] !== 0;
    if (notAtFault && job.requeues < MAX_REQUEUES) {
      job.requeues++;
      job.state = "queued";
      job.started = null;
      this.posted--;
      if (job.timer !== null) clearTimeout(job.timer);
      job.timer = null;
      this.queue.unshift(job);
      this.pump();
      return;
    }
    this.settle(job, started, Exit.fail(new ChunkFailed({ message: e instanceof Error ? e.message : String(e) })));
  }

  /**
   * Gives a job up (its fiber was interrupted): dequeued; if it runs, its thread is
   * terminated; if it waits in a thread's queue, it is left to run and its result ignored
   * (terminating the thread would end another chain's chunk).
   */
  private cancel(job: Job): void {
    if (job.state === "queued") {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      job.state = "done";
    } else if (job.state === "posted") {
      const started = job.started!;
      job.state = "done";
      this.posted--;
      if (job.timer !== null) clearTimeout(job.timer);
      job.timer = null;
      if (started[0] !== 0 && started[2] === 0) this.terminateThreadOf(started);
      this.pump();
    }
  }

  /**
   * Runs a chunk on a thread, killed by the watchdog after `timeout` of running (its thread
   * is terminated). `remaining` estimates the seconds of work its chain has left (scheduling
   * priority; NaN when unknown). Interrupting the effect gives the chunk up.
   */
  run(task: ChunkTask, timeout: Duration.Duration, remaining: () => number = () => NaN, continues = false): Effect.Effect<ChunkResult, ChunkFailed | ChunkTimeout> {
    return Effect.async<ChunkResult, ChunkFailed | ChunkTimeout>((resume, signal) => {
      const job: Job = { task, remaining, timeout, continues, state: "queued", started: null, requeues: 0, timer: null, resume: (exit) => resume(exit) };
      signal.addEventListener("abort", () => this.cancel(job));
      if (this.reserved !== null && this.reserved.chain === task.chain && task.attempt === 0) {
        // The thread kept for this chain.
        clearTimeout(this.reserved.timer);
        this.reserved = null;
        this.post(job);
      } else {
        this.queue.push(job);
      }
      this.pump();
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
    if (this.reserved !== null) clearTimeout(this.reserved.timer);
    this.reserved = null;
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
        const perThread = chunksPerThread(config.threads, config.chains);
        return new Pool(
          new Piscina({
            filename,
            minThreads: config.threads,
            maxThreads: config.threads,
            // A thread may hold the chunk it runs and the next (tasks carry no abort
            // signal: piscina gives a thread running an abortable task nothing else).
            concurrentTasksPerWorker: perThread,
            idleTimeout: 60_000,
            workerData: config.workerData,
            ...(config.resourceLimits !== undefined ? { resourceLimits: config.resourceLimits } : {}),
          }),
          config.threads,
          perThread,
        );
      },
      catch: (e) => new PoolStartError({ message: e instanceof Error ? e.message : String(e) }),
    }),
    (pool) => Effect.promise(() => pool.destroy()),
  );
}

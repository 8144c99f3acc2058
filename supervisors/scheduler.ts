/**
 * The run's chunk scheduler, on a `WorkerPool` (the run's own, or one the user shares between
 * runs): which chain's chunk a thread gets next, how many chunks a thread holds, the
 * watchdog, and re-queueing chunks whose thread died under another chunk.
 */
import { Data, Duration, Effect, Exit, type Scope } from "effect";
import type { ApproxTask, ResultOf } from "../actors/approx-protocol.js";
import { TASK_CELL, type ChunkProgress, type ChunkResult, type ChunkTask, type LoadTask, type ModelDescription, type WorkerTask } from "../actors/protocol.js";
import { acquireWorkerPool, MAX_CHUNKS_PER_THREAD, type PoolStartError, type WorkerPool, type WorkerResourceLimits } from "./worker-pool.js";

/**
 * A task that failed: the worker threw, exited, ran out of memory, or was aborted. `progress`:
 * what a chunk had completed before it failed.
 */
export class ChunkFailed extends Data.TaggedError("ChunkFailed")<{ readonly message: string; readonly progress: ChunkProgress }> {}

/** The watchdog ended a task that ran too long (its thread was terminated). */
export class ChunkTimeout extends Data.TaggedError("ChunkTimeout")<{ readonly message: string; readonly progress: ChunkProgress }> {}

function progressOf(cell: Float64Array): ChunkProgress {
  return { written: cell[TASK_CELL.WRITTEN]!, gradients: cell[TASK_CELL.GRADIENTS]! };
}

type JobExit = Exit.Exit<unknown, ChunkFailed | ChunkTimeout>;

/**
 * Chunks handed to each thread at once: 2 (the one it runs and the next, waiting in its
 * queue) on one thread, or when there are at least three chains per thread; otherwise 1.
 * With every chain's chunk in some thread's queue, a chain's next chunk goes back to the
 * thread it came from (the only one with room): chains get tied to threads in pairs, and a
 * thread whose pair has more work finishes last (sv, whose chains differ by 1.7x: 1.53x
 * instead of 1.61x on 2 threads). On one thread there is nothing to balance.
 */
export function chunksPerThread(threads: number, chains: number): number {
  return threads === 1 || chains >= 3 * threads ? MAX_CHUNKS_PER_THREAD : 1;
}
/** How long a thread is kept for the chain with the most work left while it commits its last chunk. */
const RESERVE_MS = 2;
/** A chunk that failed before it ever started (its thread died under another chunk) is re-queued at most this often. */
const MAX_REQUEUES = 3;
/** Longest a timer may be armed for (Node caps setTimeout at 2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How often the watchdog looks whether a chunk waiting in a thread's queue has started. */
const START_POLL_MS = 100;

/** A task (mostly a chunk) on its way through the pool. */
interface Job {
  readonly task: WorkerTask;
  /** Estimated seconds of work its chain has left (read when a thread frees up). */
  readonly remaining: () => number;
  readonly timeout: Duration.Duration;
  /** Whether its chain goes straight on to another chunk once this one is done. */
  readonly continues: boolean;
  state: "queued" | "posted" | "done";
  /** The shared cell of the current post (`TASK_CELL`). */
  started: Float64Array | null;
  /** Times it was re-queued after a failure before it started. */
  requeues: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** Delivers the outcome (once). */
  readonly resume: (exit: JobExit) => void;
}

export class Scheduler {
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

  /**
   * @param threads the pool's threads this run uses (at most one per chain)
   * @param perThread chunks handed to each of them at once (`chunksPerThread`)
   */
  constructor(
    private readonly pool: WorkerPool,
    private readonly threads: number,
    private readonly perThread: number,
  ) {}

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
    const left = job.remaining() - (exit.value as ChunkResult).seconds;
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
    // Written by the worker (TASK_CELL).
    const started = new Float64Array(new SharedArrayBuffer(TASK_CELL.LENGTH * Float64Array.BYTES_PER_ELEMENT));
    job.started = started;
    this.pool.run({ ...job.task, started }).then(
      (r) => this.settle(job, started, Exit.succeed(r)),
      (e: unknown) => this.failed(job, started, e),
    );
    this.arm(job, started, Duration.toMillis(job.timeout));
  }

  private arm(job: Job, started: Float64Array, ms: number): void {
    if (!Number.isFinite(ms)) return;
    job.timer = setTimeout(() => this.watch(job, started), Math.max(1, Math.min(MAX_TIMER_MS, ms)));
  }

  /** The watchdog: ends the chunk once it has run `timeout` on its thread. */
  private watch(job: Job, started: Float64Array): void {
    job.timer = null;
    if (job.state !== "posted" || job.started !== started) return;
    const since = started[TASK_CELL.STARTED]!;
    if (since === 0) return this.arm(job, started, START_POLL_MS); // still waiting in its thread's queue
    if (started[TASK_CELL.ENDED]! !== 0) return this.arm(job, started, 10); // finished: its result is on its way
    const timeout = Duration.toMillis(job.timeout);
    const left = since + timeout - Date.now();
    if (left > 0) return this.arm(job, started, left);
    this.terminateThreadOf(started);
    const what = job.task.kind === "chunk" ? `chunk of chain ${job.task.chain}` : "loading the model";
    this.settle(job, started, Exit.fail(new ChunkTimeout({ message: `${what} ran longer than ${Duration.format(job.timeout)}`, progress: progressOf(started) })));
  }

  /** Terminates the thread a started chunk runs on (nothing else stops an endless loop). */
  private terminateThreadOf(started: Float64Array): void {
    this.pool.terminateThread(started[TASK_CELL.THREAD]!);
  }

  private settle(job: Job, started: Float64Array, exit: JobExit): void {
    if (job.state !== "posted" || job.started !== started) return;
    job.state = "done";
    this.posted--;
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
    if (job.task.kind === "chunk" && this.keepsThread(job, exit)) this.reserve(job.task.chain);
    this.pump();
    job.resume(exit);
  }

  private failed(job: Job, started: Float64Array, e: unknown): void {
    if (job.state !== "posted" || job.started !== started) return;
    // It never ran, or it ran to its end and its result was lost: the thread died under
    // another chunk. Hand it out again (the kernel is deterministic: the same draws).
    const notAtFault = started[TASK_CELL.STARTED] === 0 || started[TASK_CELL.ENDED] !== 0;
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
    this.settle(job, started, Exit.fail(new ChunkFailed({ message: e instanceof Error ? e.message : String(e), progress: progressOf(started) })));
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
      if (started[TASK_CELL.STARTED] !== 0 && started[TASK_CELL.ENDED] === 0) this.terminateThreadOf(started);
      this.pump();
    }
  }

  /**
   * Runs a chunk on a thread, killed by the watchdog after `timeout` of running (its thread
   * is terminated). `remaining` estimates the seconds of work its chain has left (scheduling
   * priority; NaN when unknown). Interrupting the effect gives the chunk up.
   */
  run(task: ChunkTask, timeout: Duration.Duration, remaining: () => number = () => NaN, continues = false): Effect.Effect<ChunkResult, ChunkFailed | ChunkTimeout> {
    return this.submit(task, timeout, remaining, continues) as Effect.Effect<ChunkResult, ChunkFailed | ChunkTimeout>;
  }

  /** Runs a Pathfinder, ADVI or SMC task (approx-protocol.ts) under the same queue and watchdog. */
  runApprox<T extends ApproxTask>(task: T, timeout: Duration.Duration): Effect.Effect<ResultOf<T>, ChunkFailed | ChunkTimeout> {
    return this.submit(task, timeout, () => NaN, false) as Effect.Effect<ResultOf<T>, ChunkFailed | ChunkTimeout>;
  }

  /** Loads a module model on a thread (which keeps it for the run's chunks) under the watchdog, and describes it. */
  load(task: LoadTask, timeout: Duration.Duration): Effect.Effect<ModelDescription, ChunkFailed | ChunkTimeout> {
    return this.submit(task, timeout, () => NaN, false) as Effect.Effect<ModelDescription, ChunkFailed | ChunkTimeout>;
  }

  private submit(task: WorkerTask, timeout: Duration.Duration, remaining: () => number, continues: boolean): Effect.Effect<unknown, ChunkFailed | ChunkTimeout> {
    // A canceller effect, not the abort signal: for a callback that takes the signal Effect
    // makes an AbortController and a listener per chunk (D196).
    return Effect.async<unknown, ChunkFailed | ChunkTimeout>((resume) => {
      const job: Job = { task, remaining, timeout, continues, state: "queued", started: null, requeues: 0, timer: null, resume };
      if (task.kind === "chunk" && this.reserved !== null && this.reserved.chain === task.chain && task.attempt === 0) {
        // The thread kept for this chain.
        clearTimeout(this.reserved.timer);
        this.reserved = null;
        this.post(job);
      } else {
        this.queue.push(job);
      }
      this.pump();
      return Effect.sync(() => this.cancel(job));
    });
  }

  /** The run is over (its chains' fibers have ended, so nothing is queued): drops the thread kept for a chain. */
  stop(): void {
    if (this.reserved !== null) clearTimeout(this.reserved.timer);
    this.reserved = null;
  }
}

/**
 * The run's scheduler, on the user's pool (left open at the end) or on a pool of its own
 * (`threads` threads, closed when the scope closes: every thread has exited by then).
 */
export function acquireScheduler(config: {
  readonly shared: WorkerPool | null;
  readonly threads: number;
  readonly chains: number;
  readonly resourceLimits?: WorkerResourceLimits | undefined;
}): Effect.Effect<Scheduler, PoolStartError, Scope.Scope> {
  return Effect.gen(function* () {
    const pool = config.shared ?? (yield* acquireWorkerPool({ threads: config.threads, resourceLimits: config.resourceLimits }));
    const threads = Math.min(config.chains, pool.threads);
    return yield* Effect.acquireRelease(
      Effect.sync(() => new Scheduler(pool, threads, chunksPerThread(threads, config.chains))),
      (scheduler) => Effect.sync(() => scheduler.stop()),
    );
  });
}

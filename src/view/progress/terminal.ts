/**
 * Terminal progress of a run: on a terminal, the table of `render.ts` redrawn in place
 * (log-update, at most `fps` times a second, only when something changed); elsewhere (logs,
 * CI) one plain line every `plainEverySeconds` and one per notable event. It only subscribes
 * to `progress$`, `events$`, `batches$` (their divergent flags only) and (with early stop)
 * `diagnostics$`: automatic acknowledgement, no part in flow control.
 */
import { createLogUpdate } from "log-update";
import type { Subscription } from "rxjs";
import type { EarlyStopOptions } from "../../../actors/coordinator.js";
import type { SampleRun } from "../../api/sample.js";
import { ProgressModel, type ProgressFrame } from "./model.js";
import { renderPlainLine, renderProgress } from "./render.js";

export interface ProgressDisplayOptions {
  /** Where to write (process.stderr). */
  readonly stream?: NodeJS.WriteStream;
  /** "tty": redrawn in place; "plain": lines for logs. Default: "tty" when `stream` is a terminal. */
  readonly mode?: "tty" | "plain";
  /** A name shown in the header (e.g. the model's). */
  readonly title?: string | null;
  /** The run's early-stop targets: its convergence line is shown (and the end says "converged at N draws"). */
  readonly earlyStop?: Pick<EarlyStopOptions, "rhat" | "essBulk" | "essTail"> | null;
  /** Most redraws a second on a terminal (10). */
  readonly fps?: number;
  /** Seconds between plain lines (5). */
  readonly plainEverySeconds?: number;
  /** Colours on a terminal (true unless NO_COLOR is set). */
  readonly color?: boolean;
}

export interface ProgressDisplay {
  /** Resolves once the run's streams have ended and the last frame is written. */
  readonly done: Promise<void>;
  /** Stops displaying (the last frame stays on screen). */
  stop(): void;
  /** The latest frame (what is on screen). */
  frame(): ProgressFrame;
}

const now = () => performance.now() / 1000;

/** Shows a run's progress on stderr (or `options.stream`) until its streams end. */
export function showProgress(run: SampleRun, options: ProgressDisplayOptions = {}): ProgressDisplay {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode ?? (stream.isTTY === true ? "tty" : "plain");
  const model = new ProgressModel({ chains: run.chains, title: options.title ?? null, earlyStop: options.earlyStop ?? null });
  const color = options.color ?? process.env.NO_COLOR === undefined;
  const subscriptions: Subscription[] = [];
  let dirty = true;
  let stopped = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const tty = mode === "tty" ? createLogUpdate(stream) : null;
  let notesWritten = 0;
  let lastPlain = -Infinity;

  const draw = (final: boolean) => {
    const t = now();
    const f = model.frame(t);
    if (tty !== null) {
      tty(renderProgress(f, { columns: stream.columns ?? 80, color }));
      if (final) tty.done();
    } else {
      // Notable events as they come, a summary line every few seconds and at the end.
      const notes = f.notes;
      const fresh = Math.min(notes.length, model.notesSeen - notesWritten);
      for (const n of notes.slice(notes.length - fresh)) stream.write(`${n}\n`);
      notesWritten = model.notesSeen;
      if (final || t - lastPlain >= (options.plainEverySeconds ?? 5)) {
        stream.write(renderPlainLine(f) + "\n");
        lastPlain = t;
      }
    }
    dirty = false;
  };

  const finish = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    for (const s of subscriptions) s.unsubscribe();
    draw(true);
    resolveDone();
  };

  const guard =
    <T>(f: (x: T) => void) =>
    (x: T) => {
      // A display must never disturb the run: its own failure ends the display only.
      try {
        f(x);
        dirty = true;
      } catch (e) {
        stream.write(`progress display stopped: ${(e as Error).message}\n`);
        stopped = true;
        clearInterval(timer);
        for (const s of subscriptions) s.unsubscribe();
        resolveDone();
      }
    };

  const interval = mode === "tty" ? 1000 / Math.max(1, Math.min(60, options.fps ?? 10)) : 250;
  let lastDraw = -Infinity;
  const timer = setInterval(() => {
    // Redrawn when something changed, and every second for the clock.
    if (stopped || (!dirty && tty !== null && now() - lastDraw < 1)) return;
    lastDraw = now();
    draw(false);
  }, interval);
  timer.unref();

  subscriptions.push(run.events$.subscribe({ next: guard((e) => model.event(e, now())), complete: finish, error: finish }));
  subscriptions.push(run.progress$.subscribe({ next: guard((p) => model.progress(p, now())), error: () => undefined }));
  // Divergences of the kept draws only (a batch's flags: one native scan per batch).
  subscriptions.push(run.batches$.subscribe({ next: guard((b) => model.batch(b.chain, b.phase, b.placeholder, b.divergent)), error: () => undefined }));
  if (options.earlyStop) subscriptions.push(run.diagnostics$.subscribe({ next: guard((d) => model.diagnostics(d)), error: () => undefined }));
  // `events$` completes when the run's streams end, after its last event; a rejected result
  // (the model failed to load) ends the display too.
  run.result.then(
    () => undefined,
    () => finish(),
  );

  return {
    done,
    stop: finish,
    frame: () => model.frame(now()),
  };
}

/**
 * `sample` with what a person sees of the run: terminal progress (`progress`) and a live
 * dashboard (`dashboard`). The run itself is src/api's; this floor only subscribes to its
 * streams (no manual acknowledgement, no part in flow control). The package root exports
 * these, so `import { sample } from "@bayests/runtime"` shows progress on a terminal.
 */
import { basename } from "node:path";
import { Effect, type Scope } from "effect";
import { resolveModelSync, type ModelInput } from "../api/model-input.js";
import { InvalidModelError, InvalidOptionError } from "../api/errors.js";
import type { RunPosterior } from "../api/run-posterior.js";
import { sample as startRun, sampleEffect as runEffect, type SampleError, type SampleRun } from "../api/sample.js";
import { validateOptions, validateViewOptions, type SampleOptions } from "../api/sample-options.js";
import { serveDashboard, type Dashboard } from "./dashboard/server.js";
import { showProgress, type ProgressDisplay } from "./progress/terminal.js";

export interface ViewedRun extends SampleRun {
  /** The live dashboard (option `dashboard`) once it listens (`url`), or null. */
  readonly dashboard: Promise<Dashboard> | null;
  /** The terminal progress display (option `progress`), or null. */
  readonly progressDisplay: ProgressDisplay | null;
}

function modelTitle(model: ModelInput): string {
  const m = model as { name?: unknown; backend?: unknown; module?: unknown };
  if (typeof m.name === "string" && m.name !== "") return m.name;
  if (m.backend === "module" && typeof m.module === "string") return basename(m.module);
  return "model";
}

/** Options must be an object (or left out): `sample(model, null)` is a typed error, not a crash. */
function checkOptionsObject(options: unknown): asserts options is SampleOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionError({ option: "options", value: options, message: `the options of sample must be an object (or left out), got ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}` });
  }
}

/** Whether `options` ask for a display: progress on ("auto" on a terminal) or a dashboard. */
function wanted(options: SampleOptions): { progress: boolean; dashboard: boolean } {
  checkOptionsObject(options);
  const v = validateViewOptions(options);
  return { progress: v.progress === true || (v.progress === "auto" && process.stderr.isTTY === true), dashboard: v.dashboard !== null };
}

class ViewedRunHandle implements ViewedRun {
  readonly draws$: SampleRun["draws$"];
  readonly batches$: SampleRun["batches$"];
  readonly progress$: SampleRun["progress$"];
  readonly diagnostics$: SampleRun["diagnostics$"];
  readonly events$: SampleRun["events$"];
  readonly result: Promise<RunPosterior>;
  readonly seed: number;
  readonly threads: number;
  readonly chains: number;

  constructor(
    private readonly run: SampleRun,
    readonly dashboard: Promise<Dashboard> | null,
    readonly progressDisplay: ProgressDisplay | null,
  ) {
    this.draws$ = run.draws$;
    this.batches$ = run.batches$;
    this.progress$ = run.progress$;
    this.diagnostics$ = run.diagnostics$;
    this.events$ = run.events$;
    this.result = run.result;
    this.seed = run.seed;
    this.threads = run.threads;
    this.chains = run.chains;
  }

  get paused(): boolean {
    return this.run.paused;
  }

  abort(reason?: string): Promise<RunPosterior> {
    return this.run.abort(reason);
  }

  pause(): void {
    this.run.pause();
  }

  resume(): void {
    this.run.resume();
  }
}

/** `dashboard.quantities` must name quantities of the model (checked before the run starts, when the names are known without loading a module). */
function checkDashboardQuantities(model: ModelInput, options: SampleOptions): void {
  const quantities = validateViewOptions(options).dashboard?.quantities;
  if (quantities === undefined) return;
  let names: readonly string[] | null = null;
  try {
    names = resolveModelSync(model)?.density.names ?? null;
  } catch {
    return; // the model's own error is reported by the run
  }
  if (names === null) return;
  const unknown = quantities.filter((q) => !names!.includes(q));
  if (unknown.length > 0) {
    throw new InvalidOptionError({
      option: "dashboard.quantities",
      value: quantities,
      message: `option dashboard.quantities names ${unknown.map((q) => JSON.stringify(q)).join(", ")}, not quantities of the model (${names.slice(0, 10).join(", ")}${names.length > 10 ? ", ..." : ""})`,
    });
  }
}

/** Attaches the displays `options` ask for to a run that was just started. */
function withViews(run: SampleRun, model: ModelInput, options: SampleOptions): ViewedRun {
  const want = wanted(options);
  if (!want.progress && !want.dashboard) return new ViewedRunHandle(run, null, null);
  const earlyStop = validateOptions(options).earlyStop;
  const title = modelTitle(model);
  const progressDisplay = want.progress ? showProgress(run, { title, earlyStop }) : null;
  let dashboard: Promise<Dashboard> | null = null;
  if (want.dashboard) {
    const d = validateViewOptions(options).dashboard!;
    dashboard = serveDashboard(run, { ...d, title, earlyStop });
    // The run goes on without its dashboard; the reason is said, and `run.dashboard` rejects with it.
    dashboard.catch((e: Error) => process.stderr.write(`${e.message}\n`));
  }
  return new ViewedRunHandle(run, dashboard, progressDisplay);
}

/**
 * Starts a supervised multi-chain run (src/api's `sample`) and shows it: terminal progress
 * on stderr (`progress`: "auto" by default, on when stderr is a terminal; true gives plain
 * lines elsewhere) and, with `dashboard`, a live dashboard on 127.0.0.1.
 */
export function sample(model: ModelInput, options: SampleOptions = {}): ViewedRun {
  checkOptionsObject(options);
  checkDashboardQuantities(model, options);
  const run = startRun(model, options);
  return withViews(run, model, options);
}

/**
 * `sample` as an Effect (succeeds with the posterior, fails with a typed `SampleError`;
 * interrupting it aborts the run), with the same displays.
 */
export function sampleEffect(model: ModelInput, options: SampleOptions = {}): Effect.Effect<RunPosterior, SampleError> {
  return Effect.suspend(() => {
    let want: { progress: boolean; dashboard: boolean };
    try {
      want = wanted(options);
    } catch (e) {
      return Effect.fail(e as InvalidOptionError);
    }
    if (!want.progress && !want.dashboard) return runEffect(model, options);
    return Effect.scoped(
      sampleRunEffect(model, options).pipe(Effect.flatMap((run) => Effect.tryPromise({ try: () => run.result, catch: (e) => e as SampleError }))),
    );
  });
}

/**
 * The run handle as a scoped resource (closing the scope aborts the run and closes its
 * dashboard), with the same displays as `sample`.
 */
export function sampleRunEffect(model: ModelInput, options: SampleOptions = {}): Effect.Effect<ViewedRun, InvalidOptionError | InvalidModelError, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.try({
      try: () => sample(model, options),
      catch: (e) => (e instanceof InvalidOptionError || e instanceof InvalidModelError ? e : new InvalidModelError({ message: String(e), cause: e })),
    }),
    (run) =>
      Effect.promise(async () => {
        await run.abort("scope closed").catch(() => undefined);
        run.progressDisplay?.stop();
        await run.dashboard?.then((d) => d.close()).catch(() => undefined);
      }),
  );
}

/** What the actors of Pathfinder, ADVI and SMC share: their status and how they fail. */
import type { ApproxActorProgress, ApproxSink } from "./approx-events.js";

export abstract class ApproxActor {
  status: "running" | "completed" | "failed" = "running";
  error: string | null = null;

  constructor(protected readonly sink: ApproxSink) {}

  /** "path 0", "advi", "chain 2", ... */
  abstract get label(): string;
  abstract progress(): ApproxActorProgress;

  /** Gives up: the actor's draws are left out (or NaN placeholders) and the others go on. */
  fail(message: string): void {
    this.status = "failed";
    this.error = message;
    this.sink.event({ type: "actor-failed", actor: this.label, message });
    this.sink.progress(this.progress(), 1);
  }
}

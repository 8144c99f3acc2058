/**
 * Runs fuzz cases in child processes (`dist/test/fuzz/child.js`), each case under a time
 * limit, and classifies every outcome:
 * - typed: a typed error (ModelError, InvalidOptionError, InvalidModelError, PoolStartError,
 *   InitializationError) before any draw was made;
 * - untyped: any other error, or a typed one after draws were made;
 * - crash or hang: the child died without an answer, or the case ran past its limit;
 * - injected: a hostile string ran as code (the canary file appeared, or exit code 86);
 * - accepted garbage: an invalid input was accepted, or a valid one gave a result that is not
 *   sane (non-finite values, failed chains, the wrong number of draws);
 * - accepted: a valid input ran and its result is sane.
 *
 * `perCase: true` starts a fresh process for every case; otherwise a child runs cases one
 * after another and is replaced after any crash, hang or injection (the case it was running
 * is charged with it), which is what makes the fast slice fast enough for `npm test`.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FuzzCase } from "./cases.js";
import type { Outcome } from "./child.js";

export type Verdict = "typed" | "untyped" | "crash" | "injected" | "garbage" | "accepted";

export interface CaseResult {
  readonly case: FuzzCase;
  readonly verdict: Verdict;
  readonly detail: string;
  /** A valid input answered with a typed error (counted as typed; listed to catch over-strict checks). */
  readonly falseReject: boolean;
}

export interface RunConfig {
  readonly jobs: number;
  readonly timeoutMs: number;
  readonly perCase: boolean;
  readonly onResult?: (r: CaseResult) => void;
}

/** The compiled child, from sources (vitest) or from dist/. */
export function childFile(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".js")) return join(dirname(here), "child.js");
  return join(dirname(here), "..", "..", "dist", "test", "fuzz", "child.js");
}

function verdictOf(c: FuzzCase, o: Outcome): CaseResult {
  const detail = o.error ? `${o.error.name}${o.error.code ? ` (${o.error.code})` : ""}: ${o.error.message}` : (o.garbage ?? "ok");
  if (o.kind === "typed") return { case: c, verdict: "typed", detail, falseReject: c.expect === "accept" };
  if (o.kind === "untyped") return { case: c, verdict: "untyped", detail, falseReject: false };
  return { case: c, verdict: o.garbage ? "garbage" : "accepted", detail, falseReject: false };
}

/** Runs `cases` through one child process at a time; resolves with one result per case. */
async function runQueue(queue: FuzzCase[], config: RunConfig, dir: string, results: CaseResult[]): Promise<void> {
  while (queue.length > 0) {
    const batch = config.perCase ? [queue.shift()!] : queue.splice(0);
    const file = join(dir, `cases-${batch[0]!.id}.json`);
    const canary = join(dir, `canary-${batch[0]!.id}`);
    writeFileSync(file, JSON.stringify(batch));
    const done = new Set<number>();
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [childFile(), file], { env: { ...process.env, FUZZ_CANARY: canary }, stdio: ["ignore", "pipe", "pipe"] });
      let current: FuzzCase | undefined;
      let timer: NodeJS.Timeout | undefined;
      let stderr = "";
      let buffer = "";
      const finish = (r: CaseResult) => {
        done.add(r.case.id);
        results.push(r);
        config.onResult?.(r);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (current !== undefined) finish({ case: current, verdict: "crash", detail: `hang: no answer within ${config.timeoutMs} ms`, falseReject: false });
          current = undefined;
          child.kill("SIGKILL");
        }, config.timeoutMs);
      };
      child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      child.stdout.on("data", (d: Buffer) => {
        buffer += d.toString();
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          let msg: { start?: number } & Partial<Outcome>;
          try {
            msg = JSON.parse(line);
          } catch {
            continue; // a stray line (a hostile module's output?)
          }
          if (typeof msg.start === "number") {
            current = batch.find((c) => c.id === msg.start);
            arm();
          } else if (current !== undefined && msg.id === current.id) {
            const injected = existsSync(canary);
            if (injected) rmSync(canary);
            finish(injected ? { case: current, verdict: "injected", detail: "the canary file was written", falseReject: false } : verdictOf(current, msg as Outcome));
            current = undefined;
          }
        }
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        // A child that dies before it starts its first case (it cannot even load) charges that case.
        if (current === undefined && done.size === 0 && !batch.some((c) => results.some((r) => r.case.id === c.id))) current = batch[0];
        if (current !== undefined) {
          const injected = code === 86 || existsSync(canary);
          if (injected && existsSync(canary)) rmSync(canary);
          finish({
            case: current,
            verdict: injected ? "injected" : "crash",
            detail: injected ? `injected code ran (exit ${code})` : `the child exited (code ${code}, signal ${signal}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
            falseReject: false,
          });
        }
        resolve();
      });
    });
    // Cases the child never reached (it died or hung on an earlier one) go back to the queue.
    queue.unshift(...batch.filter((c) => !done.has(c.id)));
  }
}

export async function runCases(cases: readonly FuzzCase[], config: RunConfig): Promise<CaseResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "bayests-fuzz-"));
  const results: CaseResult[] = [];
  try {
    const queues: FuzzCase[][] = Array.from({ length: config.jobs }, () => []);
    cases.forEach((c, i) => queues[i % config.jobs]!.push(c));
    await Promise.all(queues.map((q) => runQueue(q, config, dir, results)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results.sort((a, b) => a.case.id - b.case.id);
}

export interface Tally {
  readonly cases: number;
  readonly typed: number;
  readonly untyped: number;
  readonly crashes: number;
  readonly injected: number;
  readonly garbage: number;
  readonly accepted: number;
  readonly falseRejects: number;
}

export function tally(results: readonly CaseResult[]): Tally {
  const n = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  return {
    cases: results.length,
    typed: n("typed"),
    untyped: n("untyped"),
    crashes: n("crash"),
    injected: n("injected"),
    garbage: n("garbage"),
    accepted: n("accepted"),
    falseRejects: results.filter((r) => r.falseReject).length,
  };
}

/** The issue's summary line. */
export const tallyLine = (t: Tally): string =>
  `fuzz: ${t.cases} cases, typed errors ${t.typed}, untyped ${t.untyped}, crashes or hangs ${t.crashes}, injected ${t.injected}, accepted garbage ${t.garbage}`;

/** Every result that needs a look: anything but typed errors on invalid input and sane acceptances. */
export const problems = (results: readonly CaseResult[]): CaseResult[] =>
  results.filter((r) => r.falseReject || (r.verdict !== "typed" && r.verdict !== "accepted"));

export const describeResult = (r: CaseResult): string =>
  `#${r.case.id} ${r.case.family} (${r.case.expect}) -> ${r.falseReject ? "typed error on valid input" : r.verdict}: ${r.detail}\n    ${JSON.stringify(r.case.spec).slice(0, 400)}`;

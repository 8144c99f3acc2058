/**
 * The terminal progress attached to a real run (showProgress): plain lines for logs, and the
 * redrawn frame on a terminal at most `fps` times a second.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { sample as runOnly } from "../../src/api/sample.js";
import { showProgress } from "../../src/view/progress/terminal.js";
import { eightSchools } from "./models.js";

function stream(tty: boolean): NodeJS.WriteStream & { writes: { t: number; text: string }[] } {
  const writes: { t: number; text: string }[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      writes.push({ t: performance.now(), text: String(chunk) });
      cb();
    },
  });
  return Object.assign(w, { writes, isTTY: tty, columns: 100, rows: 30 }) as unknown as NodeJS.WriteStream & { writes: { t: number; text: string }[] };
}

const options = { chains: 4, warmup: 300, draws: 20_000, seed: 4, threads: 2, chunk: { targetMs: 5 } } as const;

describe("showProgress on a run", () => {
  it("not a terminal: plain lines every few seconds, notes as they come, the last line at the end", async () => {
    const out = stream(false);
    const run = runOnly(eightSchools, { ...options, faults: [{ chain: 0, atIteration: 100, kind: "throw", attempts: 1 }] });
    const display = showProgress(run, { stream: out, plainEverySeconds: 0.2 });
    await run.result;
    await display.done;
    const text = out.writes.map((w) => w.text).join("");
    expect(text).not.toContain("\u001b[");
    const lines = text.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("progress ")).length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toMatch(/^progress 100% \| elapsed [\d.]+ s \| completed( \| chain \d done 20300\/20300( div \d+)?){4}$/);
    expect(text).toMatch(/chain 0: chunk from iteration \d+ failed \(error, try 1\): injected fault/);
    expect(text).toMatch(/chain 0: restarted from iteration \d+ \(restart 1\)/);
  });

  it("a terminal: the frame redrawn in place, at most fps times a second, and left on screen at the end", async () => {
    const out = stream(true);
    const run = runOnly(eightSchools, options);
    const display = showProgress(run, { stream: out, fps: 5, title: "eight schools" });
    const t0 = performance.now();
    await run.result;
    await display.done;
    const seconds = (performance.now() - t0) / 1000;
    const frames = out.writes.filter((w) => w.text.includes("Sampling eight schools"));
    expect(frames.length).toBeGreaterThan(0);
    // At most 5 a second (plus the last one), whatever the run emits (it emits per chunk).
    expect(frames.length).toBeLessThanOrEqual(Math.ceil(5 * seconds) + 2);
    const last = frames.at(-1)!.text;
    expect(last).toContain("100%");
    expect(last).toContain("completed");
    expect(display.frame().fraction).toBe(1);
  });
});

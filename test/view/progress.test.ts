/**
 * The terminal progress, rendered from recorded streams (test/view/fixtures/progress-events.json,
 * made by fixtures/record-progress.ts from real runs): what a person sees at each moment.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { OnlineDiagnostics, RunEvent, RunProgress } from "../../actors/events.js";
import { ProgressModel, type ProgressFrame } from "../../src/view/progress/model.js";
import { renderPlainLine, renderProgress } from "../../src/view/progress/render.js";
import type { Recorded } from "./fixtures/record-progress.js";

const recorded = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "progress-events.json"), "utf8")) as Record<"earlyStop" | "failed", Recorded[]>;
const targets = { rhat: 1.01, essBulk: 1500, essTail: 1500 }; // the recorded run's (fixtures/record-progress.ts)

/** Replays emissions up to time `until` (all by default) into a model. */
function replay(items: readonly Recorded[], earlyStop: boolean, until = Infinity): { model: ProgressModel; t: number } {
  const model = new ProgressModel({ chains: 4, title: "eight_schools", earlyStop: earlyStop ? targets : null });
  let t = 0;
  for (const r of items) {
    if (r.t > until) break;
    t = r.t;
    if (r.kind === "event") model.event(r.value as RunEvent, r.t);
    else if (r.kind === "progress") model.progress(r.value as RunProgress, r.t);
    else model.diagnostics(r.value as OnlineDiagnostics);
  }
  return { model, t };
}

const text = (f: ProgressFrame, columns = 120) => renderProgress(f, { columns, color: false });

describe("terminal progress from recorded streams", () => {
  it("lists every chain from the first frame, before any has reported", () => {
    const first = recorded.earlyStop[0]!;
    const { model } = replay([first], true);
    const screen = text(model.frame(first.t));
    const chainLines = screen.split("\n").filter((l) => /^\s+\d\s/.test(l));
    expect(chainLines.map((l) => l.trim()[0])).toEqual(["0", "1", "2", "3"]);
    expect(screen).toContain("Sampling eight_schools · 4 chains on 2 threads · seed 3");
    expect(screen).toContain("early stop: first check once every chain is sampling");
  });

  it("shows per chain phase, bar, iterations, divergences, step size, gradients per draw, draws per second while running", () => {
    const items = recorded.earlyStop;
    const mid = items[Math.floor(items.length / 2)]!.t;
    const { model, t } = replay(items, true, mid);
    const f = model.frame(t);
    const screen = text(f);
    expect(screen).toMatch(/chain\s+phase\s+progress\s+iterations\s+div\s+step\s+grad\/draw\s+draws\/s\s+status/);
    for (const c of f.chains) {
      expect(c.planned).toBe(500 + 3000); // the most planned: one denominator all along
      expect(c.done).toBeGreaterThan(0);
      expect(c.stepSize).toBeGreaterThan(0);
      expect(c.gradientsPerDraw).toBeGreaterThan(1);
    }
    expect(f.chains.some((c) => c.drawsPerSecond > 0)).toBe(true);
    expect(f.fraction).toBeGreaterThan(0);
    expect(f.fraction).toBeLessThan(1);
    // With early stop the end is not known: no ETA is promised.
    expect(screen).toMatch(/elapsed [\d.]+ s · until converged · \d+%/);
    expect(screen).not.toMatch(/ETA/);
    // The bar is exactly as wide at every line, and no line is wider than the terminal.
    for (const line of screen.split("\n")) expect(line.length).toBeLessThanOrEqual(120);
  });

  it("a restart shows on the chain and in the notes", () => {
    const items = recorded.earlyStop;
    const failedAt = items.find((r) => r.kind === "event" && (r.value as RunEvent).type === "chunk-failed")!.t;
    const during = replay(items, true, failedAt);
    expect(during.model.frame(during.t).chains[1]!.state).toBe("restarting");
    expect(text(during.model.frame(during.t))).toMatch(/chain 1: chunk from iteration \d+ failed \(error, try 1\): injected fault/);
    const after = replay(items, true);
    const screen = text(after.model.frame(after.t));
    expect(screen).toMatch(/chain 1: restarted from iteration \d+ \(restart 1\)/);
    expect(screen).toMatch(/\n\s+1\s.*stopped early \(1 restart\)/);
  });

  it("a run that stops early ends with 'early-stop targets met at N draws per chain', its denominator unchanged", () => {
    const items = recorded.earlyStop;
    const stop = items.find((r) => r.kind === "event" && (r.value as RunEvent).type === "early-stop")!.value as Extract<RunEvent, { type: "early-stop" }>;
    const { model, t } = replay(items, true);
    const f = model.frame(t + 5);
    expect(f.status).toBe("stopped-early");
    // The share of what was planned that was done (the same denominator as during the run).
    expect(f.fraction).toBeCloseTo(f.chains.reduce((a, c) => a + c.done, 0) / f.chains.reduce((a, c) => a + c.planned, 0), 12);
    const screen = text(f);
    expect(screen.split("\n")[0]).toMatch(/elapsed [\d.]+ s · stopped early$/);
    expect(screen).toContain(`early-stop targets met at ${stop.draws} draws per chain: max R-hat ${stop.maxRhat.toFixed(3)} (< 1.01)`);
    // The convergence line comes after the notes: events in the order they happened.
    expect(screen.trimEnd().split("\n").at(-1)).toContain("early-stop targets met at");
    for (const c of f.chains) {
      expect(c.state).toBe("stopped-early");
      expect(c.draws).toBe(stop.draws); // draws made past the stop point are not shown
      expect(c.done).toBe(c.numWarmup + stop.draws);
      expect(c.planned).toBe(500 + 3000);
    }
    // The elapsed time stops with the run.
    expect(model.frame(t + 60).elapsedSeconds).toBe(f.elapsedSeconds);
    expect(renderPlainLine(f)).toMatch(/^progress \d+% \| elapsed [\d.]+ s \| stopped-early \|/);
    expect(renderPlainLine(f)).toContain(`early-stop targets met at ${stop.draws} draws per chain`);
  });

  it("the latest check point's R-hat and ESS against the targets while the run goes on", () => {
    const items = recorded.earlyStop;
    // Tables for diagnostics$ are computed after the decision, so on a busy machine they may
    // all come after the stop: replay the run up to the stop, then the first table.
    const stopAt = items.findIndex((r) => r.kind === "event" && (r.value as RunEvent).type === "early-stop");
    const first = items.find((r) => r.kind === "diagnostics")!;
    const d = first.value as OnlineDiagnostics;
    expect(d.converged).toBe(false);
    const { model, t } = replay([...items.slice(0, stopAt), first], true);
    const screen = text(model.frame(t));
    expect(screen).toContain(`early stop at ${d.draws} draws/chain: max R-hat ${d.maxRhat.toFixed(3)} (< 1.01) · min bulk ESS ${d.minEssBulk.toFixed(0)} / 1500 · min tail ESS ${d.minEssTail.toFixed(0)} / 1500`);
  });

  it("a chain given up on is shown FAILED with its placeholders, and counts as done", () => {
    const { model, t } = replay(recorded.failed, false);
    const f = model.frame(t);
    expect(f.chains[2]!.state).toBe("failed");
    expect(f.chains[2]!.placeholders).toBeGreaterThan(0);
    expect(f.fraction).toBe(1);
    const screen = text(f);
    expect(screen).toMatch(/\n\s+2\s.*FAILED \(1 restart, \d+ placeholders\)/);
    expect(screen).toMatch(/chain 2: FAILED at iteration \d+ after 1 restart\(s\): injected fault/);
    expect(screen).not.toContain("early stop");
    expect(renderPlainLine(f)).toMatch(/chain 2 FAILED \d+\/900/);
  });

  it("colours only on request, and many chains collapse into a summary line", () => {
    const { model, t } = replay(recorded.earlyStop, true);
    expect(renderProgress(model.frame(t), { color: true })).toContain("\u001b[");
    expect(renderProgress(model.frame(t), { color: false })).not.toContain("\u001b[");
    const many = new ProgressModel({ chains: 40 });
    const screen = renderProgress(many.frame(0), { color: false, maxChainLines: 8 });
    expect(screen.split("\n").filter((l) => /^\s+\d+\s/.test(l)).length).toBe(7);
    expect(screen).toContain("... 33 more chains");
  });
});

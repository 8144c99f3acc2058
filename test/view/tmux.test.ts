/**
 * The terminal progress as a person sees it: `npm start`'s script (examples/live-sampling.js,
 * built by the global setup) runs in a tmux session, and the screen is read with
 * `tmux capture-pane` while it runs and when it is done. The last screen is kept in
 * test-output/tmux-npm-start.txt.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const hasTmux = (() => {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
// A server of our own, so that nothing here touches anyone else's tmux sessions.
const socket = `bayests-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });

describe.skipIf(!hasTmux)("terminal progress in tmux", () => {
  afterAll(() => {
    try {
      tmux("kill-server");
    } catch {
      // already gone
    }
  });

  it("npm start redraws one table in place and ends at 100% with 'converged at N draws per chain'", async () => {
    const script = join(root, "dist", "examples", "live-sampling.js");
    tmux("new-session", "-d", "-x", "120", "-y", "50", "-s", "start", `cd '${root}' && '${process.execPath}' '${script}'; echo "__EXIT__ $?"; sleep 60`);
    const screens: string[] = [];
    const end = Date.now() + 120_000;
    let screen = "";
    while (Date.now() < end) {
      screen = tmux("capture-pane", "-p", "-t", "start");
      if (screens.at(-1) !== screen) screens.push(screen);
      if (screen.includes("__EXIT__")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    mkdirSync(join(root, "test-output"), { recursive: true });
    writeFileSync(join(root, "test-output", "tmux-npm-start.txt"), screen);
    expect(screen).toContain("__EXIT__ 0");
    const lines = screen.split("\n");
    // One header and one table: redrawn in place, never appended.
    const headers = lines.filter((l) => l.startsWith("Sampling eight_schools"));
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatch(/^Sampling eight_schools · 4 chains on \d threads? · seed 1 · elapsed [\d.]+ s · 100% · stopped early$/);
    expect(lines.filter((l) => /^chain\s+phase\s+progress\s+iterations\s+div\s+step\s+grad\/draw\s+draws\/s\s+status$/.test(l))).toHaveLength(1);
    const chains = lines.filter((l) => /^\s+\d\s+sampling\s+━+\s+\d+ \/ \d+\s+\d+\s+[\d.]+\s+[\d.]+\s+converged$/.test(l));
    expect(chains.map((l) => l.trim()[0])).toEqual(["0", "1", "2", "3"]);
    const converged = /converged at (\d+) draws per chain: max R-hat ([\d.]+) \(< 1\.01\), min bulk ESS (\d+), min tail ESS (\d+) \(>= 400\)/.exec(screen);
    expect(converged).not.toBeNull();
    expect(Number(converged![3])).toBeGreaterThanOrEqual(400);
    // The summary, below the progress, says how long warmup was: it ends when the metric stops
    // moving (adaptive length, at most the 1000 asked for).
    expect(screen.indexOf("variable   mean")).toBeGreaterThan(screen.indexOf("converged at"));
    const summary = /4 chains, (\d+) warmup \+ (\d+) draws each/.exec(screen);
    expect(summary).not.toBeNull();
    const warmup = Number(summary![1]);
    expect(warmup).toBeGreaterThan(0);
    expect(warmup).toBeLessThanOrEqual(1000);
    expect(summary![2]).toBe(converged![1]);
    // Every chain's bar is full: iterations done = planned = warmup + the stop point.
    for (const l of chains) {
      const [, done, planned] = /(\d+) \/ (\d+)/.exec(l)!;
      expect(done).toBe(planned);
      expect(Number(planned)).toBe(warmup + Number(converged![1]));
    }
    // While it ran, the same place showed the chains at work (if the screen was read in time).
    const running = screens.filter((s) => /ETA/.test(s));
    for (const s of running) expect(s.split("\n").filter((l) => l.startsWith("Sampling eight_schools"))).toHaveLength(1);
  });
});

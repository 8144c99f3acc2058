/**
 * The terminal progress as a person sees it: `npm start`'s script (examples/live-sampling.js,
 * built by the global setup) runs in a tmux session, and the screen is read with
 * `tmux capture-pane` while it runs and when it is done, with colour and with NO_COLOR=1. The
 * last screens are kept in test-output/tmux-npm-start.txt and tmux-npm-start-no-color.txt.
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

  for (const colour of [true, false]) {
    it(`npm start${colour ? "" : " with NO_COLOR=1"} redraws one table in place, bars readable without colour, and ends with the stop point and diagnose's findings`, async () => {
      const script = join(root, "dist", "examples", "live-sampling.js");
      const session = colour ? "start" : "start-plain";
      const env = colour ? "" : "NO_COLOR=1 ";
      tmux("new-session", "-d", "-x", "120", "-y", "60", "-s", session, `cd '${root}' && ${env}'${process.execPath}' '${script}'; echo "__EXIT__ $?"; sleep 60`);
      const screens: string[] = [];
      const end = Date.now() + 120_000;
      let screen = "";
      let ansi = "";
      while (Date.now() < end) {
        screen = tmux("capture-pane", "-p", "-t", session);
        if (screens.at(-1) !== screen) screens.push(screen);
        if (screen.includes("__EXIT__")) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      ansi = tmux("capture-pane", "-p", "-e", "-t", session);
      mkdirSync(join(root, "test-output"), { recursive: true });
      writeFileSync(join(root, "test-output", `tmux-npm-start${colour ? "" : "-no-color"}.txt`), screen);
      if (colour) writeFileSync(join(root, "test-output", "tmux-npm-start-ansi.txt"), ansi); // with its escape codes (cat it on a terminal)
      expect(screen).toContain("__EXIT__ 0");
      // Colours only where asked for.
      expect(/\x1b\[3\dm/.test(ansi)).toBe(colour);
      const lines = screen.split("\n");
      // One header and one table: redrawn in place, never appended.
      const headers = lines.filter((l) => l.startsWith("Sampling eight_schools"));
      expect(headers).toHaveLength(1);
      expect(headers[0]).toMatch(/^Sampling eight_schools · 4 chains on \d threads? · seed 1 · elapsed [\d.]+ s · stopped early$/);
      expect(lines.filter((l) => /^chain\s+phase\s+progress\s+iterations\s+div\s+step\s+grad\/draw\s+draws\/s\s+status$/.test(l))).toHaveLength(1);
      // The bar in characters: warmup ▒, sampling █, not done ·.
      const chains = lines.filter((l) => /^\s+\d\s+sampling\s+▒+█+·*\s+\d+ \/ \d+\s+\d+\s+[\d.]+\s+[\d.]+\s+stopped early$/.test(l));
      expect(chains.map((l) => l.trim()[0])).toEqual(["0", "1", "2", "3"]);
      const met = /early-stop targets met at (\d+) draws per chain: max R-hat ([\d.]+) \(< 1\.01\), min bulk ESS (\d+), min tail ESS (\d+) \(>= 400\)/.exec(screen);
      expect(met).not.toBeNull();
      expect(Number(met![3])).toBeGreaterThanOrEqual(400);
      // The summary, below the progress, says how long warmup was: `warmup: 1000` is 1000 iterations.
      expect(screen.indexOf("variable   mean")).toBeGreaterThan(screen.indexOf("targets met at"));
      const summary = /4 chains, (\d+) warmup \+ (\d+) draws each/.exec(screen);
      expect(summary).not.toBeNull();
      expect(Number(summary![1])).toBe(1000);
      expect(summary![2]).toBe(met![1]);
      expect(screen).toMatch(/warmup length fixed: 1000/);
      // diagnose's findings close the summary; none contradicts the progress above it.
      expect(screen).toMatch(/diagnose: (no problems found|problems found)/);
      expect(screen).toMatch(/divergent transitions: \d+ of \d+/);
      // One denominator all along: iterations done of warmup + the most draws (5000) planned.
      for (const l of chains) {
        const [, done, planned] = /(\d+) \/ (\d+)/.exec(l)!;
        expect(Number(planned)).toBe(1000 + 5000);
        expect(Number(done)).toBe(1000 + Number(met![1]));
      }
      for (const s of screens) {
        const m = / \/ (\d+)\s/.exec(s.split("\n").find((l) => /^\s+0\s/.test(l)) ?? "");
        if (m !== null) expect(Number(m[1])).toBe(6000);
      }
      // While it ran, the same place showed the chains at work; with early stop no ETA is promised.
      for (const s of screens) {
        expect(s.split("\n").filter((l) => l.startsWith("Sampling eight_schools")).length).toBeLessThanOrEqual(1);
        expect(s).not.toMatch(/ETA/);
      }
    });
  }
});

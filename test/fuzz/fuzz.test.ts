/**
 * The fuzz suite's fast slice: the reproduction and one case of every family of bad
 * (and good) input, through the public API in a child process with a time limit per case
 * (the long run: `npm run fuzz`). Every invalid input must be a typed error before any work
 * starts, every valid one must give a sane result, nothing may run injected code, crash or hang.
 */
import { describe, expect, it } from "vitest";
import { fastSlice } from "./cases.js";
import { describeResult, problems, runCases, tally, tallyLine } from "./runner.js";

describe("fuzz (fast slice)", () => {
  it("no injection, crash, hang, untyped error or accepted garbage", async () => {
    const cases = fastSlice();
    const results = await runCases(cases, { jobs: 1, timeoutMs: 60_000, perCase: false });
    const t = tally(results);
    console.log(tallyLine(t));
    expect(problems(results).map(describeResult)).toEqual([]);
    expect(t.cases).toBe(cases.length);
    expect(t.typed + t.accepted).toBe(t.cases);
    expect(t.typed).toBeGreaterThan(cases.length / 2);
  });
});

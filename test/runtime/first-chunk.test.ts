import { describe, expect, it } from "vitest";
import { benchmarkModel } from "../../bench/models/index.js";
import { compile } from "../../src/compile/index.js";
import { sample } from "../../src/api/sample.js";
import type { SampleOptions } from "../../src/api/sample-options.js";
import type { RunPosterior } from "../../src/api/run-posterior.js";
import { firstWindowEnd } from "../../src/inference/index.js";
import { expectSameDraws } from "./helpers.js";

const eightSchools = compile(benchmarkModel("eight_schools"));
const base: SampleOptions = { chains: 4, warmup: 300, draws: 100, seed: 5, threads: 2, metric: "diag", schedule: "stan" };
const windowEnd = firstWindowEnd({ numWarmup: 300, metric: "diag", schedule: "stan" })!;

/** The run's posterior and the size of each chain's first warmup batch (its first chunk). */
async function firstChunks(options: SampleOptions): Promise<{ post: RunPosterior; first: number[] }> {
  const run = sample(eightSchools, options);
  const first: number[] = [];
  run.batches$.subscribe((b) => {
    if (b.phase === "warmup" && b.start === 0) first[b.chain] = b.count;
  });
  return { post: await run.result, first };
}

describe("a chain's first chunk (D240)", () => {
  it("goes on past `initial` iterations to the first window end while the time allows; the draws are the same wherever it stops", async () => {
    expect(windowEnd).toBeGreaterThan(20);
    // A budget no chunk can use up: the first chunk always reaches the first window end.
    const extended = await firstChunks({ ...base, chunk: { targetMs: 1e9 } });
    expect(extended.first).toEqual([windowEnd, windowEnd, windowEnd, windowEnd]);
    // A first chunk the user sized is left as sized.
    const sized = await firstChunks({ ...base, chunk: { initial: 20 } });
    expect(sized.first).toEqual([20, 20, 20, 20]);
    // The default: somewhere in between, as the time decides.
    const timed = await firstChunks(base);
    for (const n of timed.first) expect(n >= 20 && n <= windowEnd, `first chunk of ${n}`).toBe(true);
    expectSameDraws(extended.post, sized.post);
    expectSameDraws(timed.post, sized.post);
  });
});

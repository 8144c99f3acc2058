/**
 * The fault checker's comparison of a stored reply with the local run (D138's open finding):
 * a chain's warmup may end later than asked (the adaptive warmup extension, on by default
 * under Stan's diag metric), so a sampling reply is placed by the reference's own warmup
 * length. Placed by the requested warmup, about half the stored replies of a diag run looked
 * different from the local run while the final chains were identical.
 */
import { describe, expect, test } from "vitest";
import type { ChainResult } from "../../src/api/posterior.js";
import type { ChainState } from "../../src/inference/index.js";
import { allocateStats, STAT_KEYS, type SamplerStatsArrays } from "../../src/inference/stats.js";
import type { RemoteReply } from "../../actors/chain-entity.js";
import { matchesReference } from "./checker.js";

const WIDTH = 2;
const ASKED_WARMUP = 100;
// Two extensions of 75 iterations, as the logistic workload of the matrix gets (seed 11).
const WARMUP = 250;
const DRAWS = 400;

/** Statistics whose every value tells its iteration and statistic apart. */
function stats(n: number, from: number): SamplerStatsArrays {
  const s = allocateStats(n);
  STAT_KEYS.forEach((key, j) => {
    for (let i = 0; i < n; i++) s[key][i] = key === "divergent" ? (from + i) % 2 : from + i + j / 10;
  });
  return s;
}

const reference: ChainResult = {
  chain: 0,
  values: Float64Array.from({ length: WIDTH * DRAWS }, (_, i) => i + 0.5),
  stats: stats(DRAWS, WARMUP),
  warmupValues: null,
  warmupStats: stats(WARMUP, 0),
  stepSize: 0.5,
  metric: { kind: "diag", inverse: new Float64Array(WIDTH) } as unknown as ChainResult["metric"],
  gradientEvaluations: 0,
  warmupSeconds: 0,
  samplingSeconds: 0,
};

/** A reply holding the reference's iterations `start` .. `start + count` (the chain's iteration numbering). */
function reply(start: number, count: number, numWarmup: number, shiftedBy = 0): RemoteReply {
  const warmup = start < numWarmup;
  const from = warmup ? start : start - numWarmup + shiftedBy;
  const src = warmup ? reference.warmupStats : reference.stats;
  const draws = Object.fromEntries(STAT_KEYS.map((k) => [k, src[k].slice(from, from + count)])) as unknown as SamplerStatsArrays;
  const values = new Float64Array(WIDTH * count);
  if (!warmup) for (let k = 0; k < WIDTH; k++) values.set(reference.values.subarray(k * DRAWS + from, k * DRAWS + from + count), k * count);
  const state = { numWarmup, iteration: start + count } as unknown as ChainState;
  return {
    run: "r",
    chain: 0,
    seq: 1,
    runnerSeconds: 0,
    result: { state, start, count, warmup, divergences: 0, seconds: 0, cpuSeconds: 0 },
    draws: { count, values, ...draws },
  };
}

describe("the fault checker's reply comparison", () => {
  test("a warmup reply, before and after an extension, is the reference's at its iterations", () => {
    expect(matchesReference(reply(40, 20, ASKED_WARMUP), reference)).toBe(true);
    expect(matchesReference(reply(180, 30, WARMUP), reference)).toBe(true);
  });

  test("a sampling reply after an extended warmup is compared at its own draw", () => {
    expect(matchesReference(reply(WARMUP + 37, 50, WARMUP), reference)).toBe(true);
  });

  test("a reply with other draws, or from a chain with another warmup length, differs", () => {
    expect(matchesReference(reply(WARMUP + 37, 50, WARMUP, 1), reference)).toBe(false);
    // A sampling chunk whose chain ended warmup where the reference's did not (150 iterations earlier).
    expect(matchesReference(reply(ASKED_WARMUP + 37, 50, ASKED_WARMUP), reference)).toBe(false);
    const changed = reply(WARMUP + 37, 50, WARMUP);
    changed.draws.values[3] = Math.fround(changed.draws.values[3]!) + 1e-9;
    expect(matchesReference(changed, reference)).toBe(false);
  });
});

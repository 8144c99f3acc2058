import { afterEach, expect } from "vitest";
import type { Posterior } from "../../src/api/posterior.js";
import type { SampleRun } from "../../src/api/sample.js";

/**
 * Registers the runs a test starts and aborts them after each test, so that a failed
 * assertion does not leave a run (and its threads) behind for the next test.
 */
export function abortedAfterEach(): (run: SampleRun) => SampleRun {
  const runs: SampleRun[] = [];
  afterEach(async () => {
    await Promise.all(runs.splice(0).map((r) => r.abort().catch(() => undefined)));
  });
  return (run) => {
    runs.push(run);
    return run;
  };
}

/** Every value and sampler statistic of the given chains, bit for bit (NaN equal to NaN). */
export function expectSameDraws(a: Posterior, b: Posterior, chains: readonly number[] = a.chains.map((c) => c.chain)): void {
  expect(a.numDraws).toBe(b.numDraws);
  expect(a.names).toEqual(b.names);
  for (const c of chains) {
    const x = a.chains[c]!;
    const y = b.chains[c]!;
    expect(same(x.values, y.values), `values of chain ${c}`).toBe(true);
    for (const k of ["lp", "stepSize", "treeDepth", "nLeapfrog", "divergent", "energy", "acceptStat"] as const) {
      expect(same(x.stats[k], y.stats[k]), `${k} of chain ${c}`).toBe(true);
      expect(same(x.warmupStats[k], y.warmupStats[k]), `warmup ${k} of chain ${c}`).toBe(true);
    }
    expect(Array.from(x.metric.inverse)).toEqual(Array.from(y.metric.inverse));
    expect(x.stepSize).toBe(y.stepSize);
    expect(x.gradientEvaluations).toBe(y.gradientEvaluations);
  }
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `condition()` holds, or after `timeoutMs` (the caller's expectations then fail with the state reached). */
export async function waitUntil(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  for (let waited = 0; !condition() && waited < timeoutMs; waited += 50) await sleep(50);
}

/**
 * A chain's result as one SHA-256: its draws, warmup and sampling statistics, metric and step
 * size, bit for bit. The fault harness's client runs in a network namespace of its own and
 * reports these; the test compares them with the local pool's run of the same seed.
 */
import { createHash } from "node:crypto";
import type { ChainResult } from "../../src/api/posterior.js";

const STATS = ["lp", "stepSize", "treeDepth", "nLeapfrog", "divergent", "energy", "acceptStat"] as const;

function bytesOf(a: ArrayLike<number>): Buffer {
  return Buffer.from(Float64Array.from(a).buffer);
}

/** SHA-256 (hex) of everything a chain's result holds that a cluster run must reproduce exactly. */
export function chainDigest(c: ChainResult): string {
  const h = createHash("sha256");
  h.update(bytesOf(c.values));
  for (const s of STATS) h.update(bytesOf(c.stats[s])).update(bytesOf(c.warmupStats[s]));
  h.update(bytesOf(c.metric.inverse)).update(bytesOf([c.stepSize, c.gradientEvaluations]));
  return h.digest("hex");
}

/**
 * The dashboard's bounded copy of a run (src/view/dashboard/collector.ts) and the page's copy
 * built from its frames (src/view/browser/state.ts): thinning on one grid, energy
 * transitions and E-BFMI over every draw, divergences, bounded memory, and frames that, applied
 * in any rhythm (with halvings in between), give the page exactly the collector's state.
 */
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../actors/events.js";
import { ebfmi } from "../../src/diagnostics/index.js";
import { DashboardCollector, freshCursor, type BatchLike } from "../../src/view/dashboard/collector.js";
import { PageState } from "../../src/view/browser/state.js";

/** Uniforms from a small seeded generator (Park-Miller). */
function mulberry(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

const names = ["a", "b", "c"];

/** Quantity k at iteration it of chain c: a code that tells where a kept value came from. */
const valueAt = (c: number, it: number, k: number) => c * 1e7 + it * 10 + k;
const energyAt = (c: number, it: number) => Math.sin(it * 0.37 + c) * 5 + it * 1e-3;
const divergentAt = (c: number, it: number) => (it * 7 + c) % 13 === 0;

function batch(c: number, start: number, count: number, warmup: number): BatchLike {
  const cols = names.map((_, k) => Float64Array.from({ length: count }, (_, i) => valueAt(c, start + i, k)));
  return {
    names,
    chain: c,
    start,
    count,
    phase: start >= warmup ? "sampling" : "warmup",
    placeholder: false,
    quantity: (k) => cols[k]!,
    lp: Float64Array.from({ length: count }, (_, i) => -(start + i)),
    energy: Float64Array.from({ length: count }, (_, i) => energyAt(c, start + i)),
    divergent: Uint8Array.from({ length: count }, (_, i) => (divergentAt(c, start + i) ? 1 : 0)),
  };
}

/** Batches of varying sizes, chains interleaved, warmup and sampling split as a run does. */
function* run(chains: number, warmup: number, draws: number, seed = 1): Generator<BatchLike> {
  const next = new Array<number>(chains).fill(0);
  let s = seed;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  while (next.some((n) => n < warmup + draws)) {
    const c = Math.floor(rand() * chains);
    const from = next[c]!;
    if (from >= warmup + draws) continue;
    const end = Math.min(from < warmup ? warmup : warmup + draws, from + 1 + Math.floor(rand() * 300));
    yield batch(c, from, end - from, warmup);
    next[c] = end;
  }
}

const options = { chains: 3, title: "t", earlyStop: null, theme: "dark" as const, kind: "live" as const };

describe("dashboard collector", () => {
  it("keeps one thinned grid for all chains, bounded, every kept point the draw at its iteration", () => {
    const col = new DashboardCollector({ ...options, capacity: 100 });
    for (const b of run(3, 500, 9500)) col.batch(b);
    const stride = col.currentStride;
    expect(stride).toBe(128); // 10000 iterations into at most 100 points: the smallest power of two that fits
    const page = new PageState();
    page.apply(col.frame(freshCursor()));
    for (let c = 0; c < 3; c++) {
      const t = page.traces[c]!;
      expect(t.values[0]!.length).toBe(Math.floor(9999 / stride) + 1);
      expect(t.values[0]!.length).toBeLessThanOrEqual(100);
      t.values.forEach((v, k) => v.forEach((x, j) => expect(x).toBe(valueAt(c, j * stride, k))));
      t.lp.forEach((x, j) => expect(x).toBe(-j * stride));
      // The energy transition is from the true previous iteration, not the previous kept point.
      t.energyDiff.forEach((x, j) => (j === 0 ? expect(x).toBeNaN() : expect(x).toBeCloseTo(energyAt(c, j * stride) - energyAt(c, j * stride - 1), 12)));
    }
  });

  it("E-BFMI over every sampling draw and every sampling divergence", () => {
    const col = new DashboardCollector({ ...options, capacity: 64 });
    for (const b of run(3, 300, 5000)) col.batch(b);
    const f = col.frame(freshCursor());
    for (let c = 0; c < 3; c++) {
      const energy = Float64Array.from({ length: 5000 }, (_, i) => energyAt(c, 300 + i));
      expect(f.ebfmi[c]).toBeCloseTo(ebfmi(energy), 10);
      const expected: number[] = [];
      for (let it = 300; it < 5300; it++) if (divergentAt(c, it)) expected.push(it);
      const d = f.divergent!.chains[c]!;
      expect(d.iterations).toEqual(expected); // warmup divergences are not shown
      expect(d.values[1]).toEqual(expected.map((it) => valueAt(c, it, 1)));
    }
  });

  it("memory stays bounded: points, divergences, check points and events", () => {
    const col = new DashboardCollector({ ...options, capacity: 200, maxDivergent: 50, maxDiagnostics: 30, maxEvents: 20 });
    for (const b of run(3, 1000, 60_000)) col.batch(b);
    for (let i = 0; i < 100; i++) {
      col.diagnostics({ draws: 100 * (i + 1), chains: [0, 1, 2], params: [], maxRhat: 1 + 1 / (i + 1), minEssBulk: 10 * i, minEssTail: 9 * i, converged: false, gradientEvaluations: 0 });
      col.event({ type: "resumed" });
    }
    expect(Math.max(...col.keptPoints())).toBeLessThanOrEqual(200);
    const f = col.frame(freshCursor());
    for (const d of f.divergent!.chains) expect(d.iterations.length).toBeLessThanOrEqual(50);
    expect(f.diagnostics!.points.length).toBeLessThanOrEqual(30);
    expect(f.diagnostics!.points.at(-1)!.draws).toBe(10_000); // the latest check point is always kept
    expect(f.events.length).toBe(20);
  });

  it("a page that applies frames now and then (halvings in between) ends with the collector's state", () => {
    const col = new DashboardCollector({ ...options, capacity: 64, maxDivergent: 40 });
    const page = new PageState();
    const cursor = freshCursor();
    let n = 0;
    const events: RunEvent[] = [{ type: "run-started", chains: 3, threads: 2, seed: 1 }, { type: "paused" }, { type: "resumed" }];
    for (const b of run(3, 200, 8000, 7)) {
      col.batch(b);
      if (n < events.length) col.event(events[n]!);
      if (n % 5 === 0) col.chainProgress({ chain: b.chain, status: "running", iteration: b.start + b.count, phase: b.phase, numWarmup: 200, numDraws: 8000, gradientEvaluations: 0, divergences: 0, stepSize: 0.5, restarts: 0 });
      if (n % 17 === 0) col.diagnostics({ draws: n, chains: [0, 1, 2], params: [{ name: "b", rhat: 1.1, essBulk: 50, essTail: 40 }], maxRhat: 1.1, minEssBulk: 50, minEssTail: 40, converged: false, gradientEvaluations: 0 });
      // Frames at irregular moments, as a page acknowledges them.
      if (n % 11 === 3) page.apply(col.frame(cursor));
      n++;
    }
    page.apply(col.frame(cursor));
    const fresh = new PageState();
    fresh.apply(col.frame(freshCursor()));
    expect(page.stride).toBe(fresh.stride);
    expect(page.traces).toEqual(fresh.traces);
    expect(page.divergent).toEqual(fresh.divergent);
    expect(page.diagnostics).toEqual(fresh.diagnostics);
    expect(page.params).toEqual(fresh.params);
    expect(page.events.map((e) => e.event.type)).toEqual(["run-started", "paused", "resumed"]);
    expect(page.progress).toEqual(fresh.progress);
    expect(page.params![0]).toEqual({ name: "a", rhat: NaN, essBulk: NaN, essTail: NaN }); // not in the table: unknown
    expect(page.params![1]).toEqual({ name: "b", rhat: 1.1, essBulk: 50, essTail: 40 });
  });

  it("names come with the first batch when not known upfront; unknown quantities are named", () => {
    const col = new DashboardCollector({ ...options, quantities: ["c", "a"] });
    expect(col.frame(freshCursor()).meta!.names).toEqual([]);
    col.batch(batch(0, 0, 10, 5));
    const f = col.frame(freshCursor());
    expect(f.meta!.names).toEqual(["c", "a"]);
    expect(f.traces[0]!.values[0]![3]).toBe(valueAt(0, 3, 2));
    const bad = new DashboardCollector({ ...options, quantities: ["nope"] });
    expect(() => bad.batch(batch(0, 0, 10, 5))).toThrow(/unknown quantity "nope"/);
  });

  it("without early stop its own check points keep coming as the run grows, through every halving of the kept copy", () => {
    const col = new DashboardCollector({ chains: 2, capacity: 64, title: "t", earlyStop: null, theme: "dark", kind: "live", pageCheckSeconds: 1e-9 });
    const cursor = freshCursor();
    const warmup = 50;
    const seen: number[] = [];
    const rand = mulberry(5);
    for (let start = 0; start < 20_000; start += 100) {
      for (let c = 0; c < 2; c++) {
        const b = batch(c, start, 100, warmup);
        // Values of a well-mixed chain (the coded values would not do for R-hat).
        const cols = names.map(() => Float64Array.from({ length: 100 }, rand));
        col.batch({ ...b, quantity: (k) => cols[k]! });
        col.chainProgress({ chain: c, status: "running", iteration: start + 100, phase: start + 100 > warmup ? "sampling" : "warmup", numWarmup: warmup, numDraws: 1e6, gradientEvaluations: 0, divergences: 0, stepSize: 1, restarts: 0 });
      }
      const f = col.frame(cursor);
      for (const p of f.diagnostics?.points ?? []) seen.push(p.draws);
    }
    expect(col.currentStride).toBeGreaterThanOrEqual(512); // halved many times
    // A point at every stage of the run, the last near its end, each at more draws than the one before.
    expect(seen.length).toBeGreaterThan(100);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    expect(seen.at(-1)!).toBeGreaterThan(20_000 - warmup - 2 * col.currentStride);
  });
});

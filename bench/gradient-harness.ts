/**
 * Generated vs hand-written log-density gradients: first check that each pair computes the
 * same function (gradients to `gradRelTol`, log-density differences between points to
 * `lpRelTol`, so additive constants may differ), then time `logDensityGradient` of both,
 * interleaved in this one process, and print a table.
 */
import type { LogDensity } from "../src/compile/types.js";

export interface GradientPair {
  readonly name: string;
  readonly generated: LogDensity;
  readonly handwritten: LogDensity;
}

export interface CompareOptions {
  /** Random points per pair for the agreement check (default 4). */
  readonly points?: number;
  /** Seed of the point generator (default 1). */
  readonly seed?: number;
  /** Points are independent normal(0, scale) per coordinate (default 1). */
  readonly scale?: number;
  /** Per-component gradient tolerance: |a - b| <= tol * max(|a|, |b|, 1) (default 1e-9). */
  readonly gradRelTol?: number;
  /** Tolerance on log-density differences, relative to max(1, |log-densities|) (default 1e-9). */
  readonly lpRelTol?: number;
  /** Target duration of one timed block (default 50 ms). */
  readonly blockMs?: number;
  /** Timed rounds; each times one block of each side of every pair (default 9). */
  readonly rounds?: number;
  /** Untimed warm-up per side before calibration (default 200 ms). */
  readonly warmupMs?: number;
  /** Where the table goes (default console.log). */
  readonly log?: (line: string) => void;
}

export interface GradientRow {
  readonly model: string;
  readonly dim: number;
  /** Median ns per `logDensityGradient` call over the rounds. */
  readonly generatedNs: number;
  readonly handwrittenNs: number;
  /** generatedNs / handwrittenNs: how many times slower the generated code is. */
  readonly ratio: number;
}

/** Deterministic standard normals (xoshiro128** and Box-Muller); no dependency on the runtime's RNG. */
function normalSource(seed: number): () => number {
  let s0 = (seed >>> 0) ^ 0x9e3779b9;
  let s1 = Math.imul(seed >>> 0, 0x85ebca6b) ^ 0xc2b2ae35;
  let s2 = 0x27d4eb2f;
  let s3 = 0x165667b1;
  const u32 = (): number => {
    const m = Math.imul(s1, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return r;
  };
  for (let i = 0; i < 16; i++) u32();
  const uniform = (): number => (u32() + 0.5) / 4294967296; // in (0, 1)
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function checkPair(pair: GradientPair, opts: Required<Pick<CompareOptions, "points" | "seed" | "scale" | "gradRelTol" | "lpRelTol">>): Float64Array {
  const { name, generated: gen, handwritten: hand } = pair;
  if (gen.dim !== hand.dim) {
    throw new Error(`${name}: dimensions differ: generated ${gen.dim}, hand-written ${hand.dim}`);
  }
  const dim = gen.dim;
  const normal = normalSource(opts.seed);
  const points: Float64Array[] = [];
  for (let p = 0; p < Math.max(2, opts.points); p++) {
    const q = new Float64Array(dim);
    for (let k = 0; k < dim; k++) q[k] = opts.scale * normal();
    points.push(q);
  }
  const gG = new Float64Array(dim);
  const gH = new Float64Array(dim);
  const lpG: number[] = [];
  const lpH: number[] = [];
  const where = (k: number): string =>
    `coordinate ${k} (${hand.unconstrainedNames[k] ?? gen.unconstrainedNames[k] ?? "?"})`;
  points.forEach((q, p) => {
    const a = gen.logDensityGradient(q, gG);
    const b = hand.logDensityGradient(q, gH);
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      throw new Error(`${name}: non-finite log-density at point ${p}: generated ${a}, hand-written ${b}`);
    }
    const a2 = gen.logDensity(q);
    const b2 = hand.logDensity(q);
    const sc = Math.max(1, Math.abs(a), Math.abs(b));
    if (Math.abs(a2 - a) > opts.lpRelTol * sc || Math.abs(b2 - b) > opts.lpRelTol * sc) {
      throw new Error(
        `${name}: logDensity and logDensityGradient disagree at point ${p}: generated ${a2} vs ${a}, hand-written ${b2} vs ${b}`,
      );
    }
    for (let k = 0; k < dim; k++) {
      const x = gG[k]!;
      const y = gH[k]!;
      if (!(Math.abs(x - y) <= opts.gradRelTol * Math.max(Math.abs(x), Math.abs(y), 1))) {
        throw new Error(
          `${name}: gradients differ at point ${p}, ${where(k)}: generated ${x}, hand-written ${y} ` +
            `(relative ${Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1)}, tolerance ${opts.gradRelTol}; ` +
            `q[${k}] = ${q[k]}). Both must use the same order of unconstrained coordinates.`,
        );
      }
    }
    lpG.push(a);
    lpH.push(b);
  });
  for (let p = 1; p < points.length; p++) {
    const dG = lpG[p]! - lpG[0]!;
    const dH = lpH[p]! - lpH[0]!;
    const sc = Math.max(1, Math.abs(lpG[p]!), Math.abs(lpG[0]!), Math.abs(lpH[p]!), Math.abs(lpH[0]!));
    if (!(Math.abs(dG - dH) <= opts.lpRelTol * sc)) {
      throw new Error(
        `${name}: log-density differences between point ${p} and point 0 disagree: generated ${dG}, ` +
          `hand-written ${dH} (the constants may differ, the differences may not: ` +
          `the densities are not the same function)`,
      );
    }
  }
  return points[0]!;
}

/** Keeps the timed results observable so the calls cannot be optimised away. */
let sink = 0;

type Timer = (ld: LogDensity, q: Float64Array, grad: Float64Array, calls: number) => number;

/**
 * A fresh timing loop for one side of one pair. Each is compiled separately (new Function)
 * so that its call site `ld.logDensityGradient` only ever sees one function, as a
 * sampler's would: a loop shared by all models would go megamorphic and add a dispatch
 * cost to every call, which on a 30 ns model is not negligible.
 */
function makeTimer(): Timer {
  const loop = new Function(
    "ld",
    "q",
    "grad",
    "calls",
    "now",
    `let acc = 0;
     const t0 = now();
     for (let i = 0; i < calls; i++) acc += ld.logDensityGradient(q, grad);
     const t1 = now();
     return [Number(t1 - t0) / calls, acc + grad[0]];`,
  ) as (ld: LogDensity, q: Float64Array, grad: Float64Array, calls: number, now: () => bigint) => [number, number];
  return (ld, q, grad, calls) => {
    const [ns, acc] = loop(ld, q, grad, calls, process.hrtime.bigint);
    sink += acc;
    return ns;
  };
}

/** Calls per block so that one block lasts about `ms`, after `warmupMs` of warm-up. */
function calibrate(timeBlock: Timer, ld: LogDensity, q: Float64Array, grad: Float64Array, ms: number, warmupMs: number): number {
  let calls = 1;
  let spent = 0;
  let ns = Infinity;
  // Grow until a block lasts >= 10 ms, and keep running until the warm-up time is spent.
  for (;;) {
    const per = timeBlock(ld, q, grad, calls);
    spent += (per * calls) / 1e6;
    ns = per;
    if (per * calls >= 10e6 && spent >= warmupMs) break;
    if (per * calls < 10e6) calls *= 2;
  }
  return Math.max(1, Math.round((ms * 1e6) / ns));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!);
}

function fmtNs(ns: number): string {
  return ns >= 100 ? ns.toFixed(0) : ns >= 10 ? ns.toFixed(1) : ns.toFixed(2);
}

/**
 * Verifies every pair, then times both sides of every pair interleaved (rounds of one
 * block each, alternating which side goes first), prints the table and returns its rows.
 * Throws on the first disagreement, before any timing.
 */
export function compareGradients(pairs: readonly GradientPair[], opts: CompareOptions = {}): GradientRow[] {
  const check = {
    points: opts.points ?? 4,
    seed: opts.seed ?? 1,
    scale: opts.scale ?? 1,
    gradRelTol: opts.gradRelTol ?? 1e-9,
    lpRelTol: opts.lpRelTol ?? 1e-9,
  };
  const blockMs = opts.blockMs ?? 50;
  const rounds = Math.max(1, opts.rounds ?? 9);
  const warmupMs = opts.warmupMs ?? 200;
  const log = opts.log ?? ((line: string) => console.log(line));

  const qs = pairs.map((pair) => checkPair(pair, check));

  const setups = pairs.map((pair, i) => {
    const q = qs[i]!;
    const gradG = new Float64Array(pair.generated.dim);
    const gradH = new Float64Array(pair.handwritten.dim);
    const timeG = makeTimer();
    const timeH = makeTimer();
    return {
      pair,
      q,
      gradG,
      gradH,
      timeG,
      timeH,
      callsG: calibrate(timeG, pair.generated, q, gradG, blockMs, warmupMs),
      callsH: calibrate(timeH, pair.handwritten, q, gradH, blockMs, warmupMs),
      nsG: [] as number[],
      nsH: [] as number[],
    };
  });

  for (let r = 0; r < rounds; r++) {
    for (const s of setups) {
      const g = (): void => void s.nsG.push(s.timeG(s.pair.generated, s.q, s.gradG, s.callsG));
      const h = (): void => void s.nsH.push(s.timeH(s.pair.handwritten, s.q, s.gradH, s.callsH));
      if (r % 2 === 0) {
        g();
        h();
      } else {
        h();
        g();
      }
    }
  }

  const rows: GradientRow[] = setups.map((s) => {
    const generatedNs = median(s.nsG);
    const handwrittenNs = median(s.nsH);
    return {
      model: s.pair.name,
      dim: s.pair.generated.dim,
      generatedNs,
      handwrittenNs,
      ratio: generatedNs / handwrittenNs,
    };
  });

  const header = ["model", "dim", "generated ns/call", "handwritten ns/call", "ratio gen/hand"];
  const cells = rows.map((r) => [r.model, String(r.dim), fmtNs(r.generatedNs), fmtNs(r.handwrittenNs), r.ratio.toFixed(2)]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]): string =>
    row.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join("  ");
  log(line(header));
  log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of cells) log(line(row));
  if (!Number.isFinite(sink)) log(`(note: a timed log-density was not finite: ${sink})`);
  return rows;
}

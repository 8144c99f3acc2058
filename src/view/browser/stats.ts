/** Summaries the plots draw, computed in the page from its thinned copy of the draws. */

/** Finite values of several arrays, pooled. */
export function pooled(arrays: readonly ArrayLike<number>[]): number[] {
  const out: number[] = [];
  for (const a of arrays) for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) out.push(a[i]!);
  return out;
}

export function finite(a: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) out.push(a[i]!);
  return out;
}

export function mean(a: readonly number[]): number {
  let s = 0;
  for (const x of a) s += x;
  return a.length > 0 ? s / a.length : NaN;
}

export function extent(a: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of a) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (!(lo <= hi)) return [0, 1];
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

export interface Histograms {
  /** Bin edges (bins + 1). */
  readonly edges: number[];
  /** Densities per set (each integrates to 1 over the edges). */
  readonly densities: number[][];
  /** Values counted per set. */
  readonly totals: number[];
}

/** Histograms of several sets on common bins over [lo, hi]. */
export function histograms(sets: readonly (readonly number[])[], bins: number, range?: [number, number]): Histograms {
  const [lo, hi] = range ?? extent(sets.flat());
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const densities = sets.map((set) => {
    const counts = new Array<number>(bins).fill(0);
    for (const x of set) {
      const b = Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / width)));
      counts[b]!++;
    }
    return counts.map((c) => (set.length > 0 ? c / (set.length * width) : 0));
  });
  return { edges, densities, totals: sets.map((s) => s.length) };
}

/**
 * Rank histograms: every chain's draws ranked among all chains' (ties averaged), each
 * chain's ranks binned into `bins` equal bins. Counts per chain; the uniform expectation is
 * (draws per chain) / bins.
 */
export function rankHistograms(chains: readonly (readonly number[])[], bins: number): { counts: number[][]; expected: number } {
  const all: { v: number; c: number }[] = [];
  chains.forEach((set, c) => set.forEach((v) => all.push({ v, c })));
  all.sort((a, b) => a.v - b.v);
  const n = all.length;
  const counts = chains.map(() => new Array<number>(bins).fill(0));
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && all[j + 1]!.v === all[i]!.v) j++;
    const rank = (i + j) / 2; // 0-based average rank
    for (let k = i; k <= j; k++) counts[all[k]!.c]![Math.min(bins - 1, Math.floor((rank / n) * bins))]!++;
    i = j + 1;
  }
  const per = chains.length > 0 ? n / chains.length : 0;
  return { counts, expected: per / bins };
}

/** The narrowest interval holding `prob` of the draws (highest density interval of a sample). */
export function hdi(values: readonly number[], prob: number): [number, number] {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return [NaN, NaN];
  const k = Math.max(1, Math.min(n, Math.ceil(prob * n)));
  let best = 0;
  let width = Infinity;
  for (let i = 0; i + k - 1 < n; i++) {
    const w = s[i + k - 1]! - s[i]!;
    if (w < width) {
      width = w;
      best = i;
    }
  }
  return [s[best]!, s[best + k - 1]!];
}

/**
 * Per-parameter summary table, like posterior's summarise_draws() with the
 * default measures or CmdStan's stansummary. One DrawSet per parameter, so
 * the draws are copied and sorted once and every column reuses them.
 */
import {
  DrawSet,
  essBulkDS,
  essTailDS,
  mcseMeanDS,
  mcseSdDS,
  meanDS,
  quantileDS,
  rhatDS,
  sdDS,
} from "./convergence.js";

export interface SummaryRow {
  name: string;
  mean: number;
  sd: number;
  /** Highest-density interval of probability `hdiProb` (ArviZ's `hdi`, over all draws). */
  hdiLower: number;
  hdiUpper: number;
  hdiProb: number;
  /** Median (R's `median`: the mean of the two middle draws for an even count). */
  median: number;
  /** Median absolute deviation around the median, scaled by 1.4826 as R's `mad` (and posterior's summary). */
  mad: number;
  q5: number;
  /** The 50% quantile as R's `quantile(type = 7)` (equal to `median` up to rounding). */
  q50: number;
  q95: number;
  mcseMean: number;
  mcseSd: number;
  essBulk: number;
  essTail: number;
  rhat: number;
}

export interface SummaryParam {
  name: string;
  chains: ArrayLike<number>[];
}

export interface SummaryOptions {
  /** Probability of the highest-density interval (0.94, ArviZ's default). */
  hdiProb?: number;
}

export const DEFAULT_HDI_PROB = 0.94;

function checkHdiProb(prob: number): void {
  if (!(prob > 0 && prob < 1)) throw new RangeError(`hdiProb must be in (0, 1), got ${prob}`);
}

/**
 * ArviZ's `hdi` (unimodal) over sorted draws: the narrowest interval holding floor(prob * n) + 1
 * draws, the first one when several are equally narrow.
 */
function hdiSorted(sorted: Float64Array, prob: number): [number, number] {
  const n = sorted.length;
  const inc = Math.floor(prob * n);
  const count = n - inc;
  if (count <= 0 || n === 0) return [NaN, NaN];
  let best = 0;
  let width = Infinity;
  for (let i = 0; i < count; i++) {
    const w = sorted[i + inc]! - sorted[i]!;
    if (w < width) {
      width = w;
      best = i;
    }
  }
  return [sorted[best]!, sorted[best + inc]!];
}

/** R's median of sorted values. */
function medianSorted(sorted: Float64Array, n = sorted.length): number {
  if (n === 0) return NaN;
  const half = (n + 1) >> 1;
  return n % 2 === 1 ? sorted[half - 1]! : (sorted[half - 1]! + sorted[half]!) / 2;
}

/** R's `mad`: 1.4826 * median(|x - median(x)|). */
function madDS(d: DrawSet, med: number): number {
  const w = d.ws.get("summary.mad", d.total).subarray(0, d.total);
  for (let i = 0; i < d.total; i++) w[i] = Math.abs(d.data[i]! - med);
  w.sort();
  return 1.4826 * medianSorted(w);
}

/** Highest-density interval of all draws of `chains` (ArviZ's `az.hdi`, unimodal), 94% by default. */
export function hdi(chains: ArrayLike<number>[], prob = DEFAULT_HDI_PROB): [number, number] {
  checkHdiProb(prob);
  const d = new DrawSet(chains);
  if (d.total === 0 || d.hasNaN()) return [NaN, NaN];
  return hdiSorted(d.sortedAll(), prob);
}

/** Median absolute deviation of all draws, scaled as R's `mad` (1.4826). */
export function mad(chains: ArrayLike<number>[]): number {
  const d = new DrawSet(chains);
  if (d.total === 0 || d.hasNaN()) return NaN;
  return madDS(d, medianSorted(d.sortedAll()));
}

export function summarizeParam(name: string, chains: ArrayLike<number>[], options: SummaryOptions = {}): SummaryRow {
  const hdiProb = options.hdiProb ?? DEFAULT_HDI_PROB;
  checkHdiProb(hdiProb);
  const d = new DrawSet(chains);
  const defined = d.total > 0 && !d.hasNaN();
  const [hdiLower, hdiUpper] = defined ? hdiSorted(d.sortedAll(), hdiProb) : [NaN, NaN];
  const median = defined ? medianSorted(d.sortedAll()) : NaN;
  return {
    name,
    mean: meanDS(d),
    sd: sdDS(d),
    hdiLower,
    hdiUpper,
    hdiProb,
    median,
    mad: defined ? madDS(d, median) : NaN,
    q5: quantileDS(d, 0.05),
    q50: quantileDS(d, 0.5),
    q95: quantileDS(d, 0.95),
    mcseMean: mcseMeanDS(d),
    mcseSd: mcseSdDS(d),
    essBulk: essBulkDS(d),
    essTail: essTailDS(d),
    rhat: rhatDS(d),
  };
}

export function summary(params: SummaryParam[], options: SummaryOptions = {}): SummaryRow[] {
  const rows: SummaryRow[] = new Array(params.length);
  for (let i = 0; i < params.length; i++) rows[i] = summarizeParam(params[i]!.name, params[i]!.chains, options);
  return rows;
}

// ---- text table ------------------------------------------------------------------

/** Significant-digit format without exponents for ordinary magnitudes. */
function fmtSig(x: number, sig: number): string {
  if (Number.isNaN(x)) return "NA";
  if (!Number.isFinite(x)) return x > 0 ? "Inf" : "-Inf";
  if (x === 0) return "0";
  const ax = Math.abs(x);
  if (ax >= 1e15 || ax < 1e-4) return x.toExponential(sig - 1);
  const mag = Math.floor(Math.log10(ax));
  const decimals = Math.max(0, sig - 1 - mag);
  return x.toFixed(decimals);
}

function fmtInt(x: number): string {
  if (Number.isNaN(x)) return "NA";
  if (!Number.isFinite(x)) return x > 0 ? "Inf" : "-Inf";
  return Math.round(x).toString();
}

function fmtRhat(x: number): string {
  if (Number.isNaN(x)) return "NA";
  if (!Number.isFinite(x)) return "Inf";
  // Three decimals: the usual 1.01 threshold must stay readable.
  return x.toFixed(3);
}

/** ArviZ's column name for an HDI bound: `hdi_3%` and `hdi_97%` for 94%. */
function hdiHeader(prob: number, upper: boolean): string {
  const alpha = 1 - prob;
  return `hdi_${Number((100 * (upper ? 1 - alpha / 2 : alpha / 2)).toPrecision(6))}%`;
}

const COLUMNS: { header: string | ((r: SummaryRow | undefined) => string); cell: (r: SummaryRow) => string }[] = [
  { header: "mean", cell: (r) => fmtSig(r.mean, 3) },
  { header: "sd", cell: (r) => fmtSig(r.sd, 3) },
  { header: (r) => hdiHeader(r?.hdiProb ?? DEFAULT_HDI_PROB, false), cell: (r) => fmtSig(r.hdiLower, 3) },
  { header: (r) => hdiHeader(r?.hdiProb ?? DEFAULT_HDI_PROB, true), cell: (r) => fmtSig(r.hdiUpper, 3) },
  { header: "median", cell: (r) => fmtSig(r.median, 3) },
  { header: "mad", cell: (r) => fmtSig(r.mad, 3) },
  { header: "q5", cell: (r) => fmtSig(r.q5, 3) },
  { header: "q95", cell: (r) => fmtSig(r.q95, 3) },
  { header: "mcse_mean", cell: (r) => fmtSig(r.mcseMean, 2) },
  { header: "mcse_sd", cell: (r) => fmtSig(r.mcseSd, 2) },
  { header: "ess_bulk", cell: (r) => fmtInt(r.essBulk) },
  { header: "ess_tail", cell: (r) => fmtInt(r.essTail) },
  { header: "rhat", cell: (r) => fmtRhat(r.rhat) },
];

/**
 * Aligned plain-text table: names left-aligned, numbers right-aligned, NA
 * where a diagnostic is undefined.
 */
export function formatSummary(rows: readonly SummaryRow[]): string {
  const nameHeader = "variable";
  const headers = COLUMNS.map((c) => (typeof c.header === "string" ? c.header : c.header(rows[0])));
  const cells = rows.map((r) => COLUMNS.map((c) => c.cell(r)));
  const nameWidth = Math.max(nameHeader.length, ...rows.map((r) => r.name.length));
  const widths = headers.map((h, j) => Math.max(h.length, ...cells.map((row) => row[j]!.length)));
  const line = (name: string, values: string[]): string =>
    [name.padEnd(nameWidth), ...values.map((v, j) => v.padStart(widths[j]!))].join("  ").trimEnd();
  const out = [line(nameHeader, headers)];
  for (let i = 0; i < rows.length; i++) out.push(line(rows[i]!.name, cells[i]!));
  return out.join("\n");
}

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
  q5: number;
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

export function summarizeParam(name: string, chains: ArrayLike<number>[]): SummaryRow {
  const d = new DrawSet(chains);
  return {
    name,
    mean: meanDS(d),
    sd: sdDS(d),
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

export function summary(params: SummaryParam[]): SummaryRow[] {
  const rows: SummaryRow[] = new Array(params.length);
  for (let i = 0; i < params.length; i++) rows[i] = summarizeParam(params[i]!.name, params[i]!.chains);
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

const COLUMNS: { header: string; cell: (r: SummaryRow) => string }[] = [
  { header: "mean", cell: (r) => fmtSig(r.mean, 3) },
  { header: "sd", cell: (r) => fmtSig(r.sd, 3) },
  { header: "q5", cell: (r) => fmtSig(r.q5, 3) },
  { header: "q50", cell: (r) => fmtSig(r.q50, 3) },
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
  const cells = rows.map((r) => COLUMNS.map((c) => c.cell(r)));
  const nameWidth = Math.max(nameHeader.length, ...rows.map((r) => r.name.length));
  const widths = COLUMNS.map((c, j) => Math.max(c.header.length, ...cells.map((row) => row[j]!.length)));
  const line = (name: string, values: string[]): string =>
    [name.padEnd(nameWidth), ...values.map((v, j) => v.padStart(widths[j]!))].join("  ").trimEnd();
  const out = [line(nameHeader, COLUMNS.map((c) => c.header))];
  for (let i = 0; i < rows.length; i++) out.push(line(rows[i]!.name, cells[i]!));
  return out.join("\n");
}

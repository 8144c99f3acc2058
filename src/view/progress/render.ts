/**
 * Text of the terminal progress: a table of chains (nutpie's columns and a few more) under a
 * header line, the early-stop convergence line, and the latest notable events; or one plain
 * line for logs (stderr not a terminal). Pure functions of a `ProgressFrame`.
 */
import { createColors } from "picocolors";
import type { ChainLine, ChainState, ProgressFrame } from "./model.js";

export interface RenderOptions {
  /** Terminal width in columns (80). */
  readonly columns?: number;
  /** ANSI colours (true). */
  readonly color?: boolean;
  /** Chains listed one per line, at most (the rest summed up in one line; 16). */
  readonly maxChainLines?: number;
}

type Colors = ReturnType<typeof createColors>;

export function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return "?";
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function formatRate(r: number): string {
  if (!Number.isFinite(r)) return "";
  if (r >= 1e6) return `${(r / 1e6).toFixed(1)}M`;
  if (r >= 1e4) return `${(r / 1e3).toFixed(0)}k`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return r.toFixed(0);
}

function formatStep(x: number): string {
  if (!Number.isFinite(x)) return "";
  return x >= 0.01 && x < 100 ? x.toFixed(3) : x.toExponential(1);
}

const STATE_LABEL: Record<ChainState, string> = {
  starting: "starting",
  running: "running",
  restarting: "restarting",
  completed: "done",
  "stopped-early": "stopped early",
  failed: "FAILED",
  aborted: "aborted",
};

function stateText(c: ChainLine, k: Colors): Cell {
  const label = STATE_LABEL[c.state];
  const extra = [c.restarts > 0 ? `${c.restarts} restart${c.restarts === 1 ? "" : "s"}` : "", c.placeholders > 0 ? `${c.placeholders} placeholders` : ""]
    .filter((s) => s !== "")
    .join(", ");
  const text = extra === "" ? label : `${label} (${extra})`;
  switch (c.state) {
    case "failed":
      return [text, (x) => k.red(k.bold(x))];
    case "restarting":
    case "aborted":
      return [text, k.yellow];
    case "completed":
    case "stopped-early":
      return [text, k.green];
    default:
      return [text, c.restarts > 0 ? k.yellow : k.dim];
  }
}

/** Characters of the bar, so that it reads without colour too: warmup done, sampling done, left. */
export const BAR_CHARS = { warmup: "▒", sampling: "█", left: "·" } as const;

/** A bar of `width` cells: warmup done (▒), sampling done (█), and what is left (·). */
function bar(c: ChainLine, width: number, k: Colors): string {
  if (c.planned <= 0) return k.dim(BAR_CHARS.left.repeat(width));
  const warm = Math.min(c.done, c.numWarmup);
  const cells = (n: number) => Math.floor((width * n) / c.planned);
  const doneCells = Math.min(width, cells(c.done));
  const warmCells = Math.min(doneCells, cells(warm));
  const sampCells = doneCells - warmCells;
  const fill = c.state === "failed" ? k.red : c.state === "restarting" ? k.yellow : null;
  const w = BAR_CHARS.warmup.repeat(warmCells);
  const s = BAR_CHARS.sampling.repeat(sampCells);
  return (fill ? fill(w + s) : k.yellow(w) + k.green(s)) + k.dim(BAR_CHARS.left.repeat(width - doneCells));
}

/** A table cell: its plain text (padded before it is coloured) and its colour. */
type Cell = readonly [string, (s: string) => string];

const plain = (s: string) => s;

function pad(s: string, width: number, right: boolean): string {
  return right ? s.padStart(width) : s.padEnd(width);
}

function headerLine(f: ProgressFrame, k: Colors): string {
  const parts = [k.bold(f.title === null ? "Sampling" : `Sampling ${f.title}`), `${f.chains.length} chain${f.chains.length === 1 ? "" : "s"}`];
  if (f.threads !== null) parts[1] += ` on ${f.threads} thread${f.threads === 1 ? "" : "s"}`;
  if (f.seed !== null) parts.push(`seed ${f.seed}`);
  const pct = `${(100 * f.fraction).toFixed(0)}%`;
  const time = [`elapsed ${formatSeconds(f.elapsedSeconds)}`];
  // An ETA only when the pace is known; with early stop the end is not known before it comes.
  if (f.status === "running" && f.etaSeconds !== null) time.push(`ETA ${formatEta(f.etaSeconds)}`);
  else if (f.status === "running" && f.convergence !== null) time.push("until converged");
  const running = f.status === "running" || f.status === "paused";
  const status = f.status === "running" ? "" : f.status === "paused" ? k.yellow("paused") : f.status === "aborted" ? k.yellow("aborted") : f.status === "failed" ? k.red("failed: every chain failed") : k.green(f.status === "stopped-early" ? "stopped early" : "completed");
  // A run that stopped early did not do what was planned: its end says so instead of "100%".
  return [...parts, ...time, running || f.status === "completed" ? k.bold(pct) : "", status].filter((s) => s !== "").join(" · ");
}

/** Seconds left, rounded up (never "0.0 s" while something is left). */
function formatEta(s: number): string {
  return s < 1 ? "< 1 s" : formatSeconds(Math.ceil(s));
}

function convergenceLine(f: ProgressFrame, k: Colors): string | null {
  const c = f.convergence;
  if (c === null) return null;
  const t = c.targets;
  if (c.stoppedAt !== null) {
    const l = c.latest!;
    return k.green(`early-stop targets met at ${c.stoppedAt} draws per chain`) + `: max R-hat ${l.maxRhat.toFixed(3)} (< ${t.rhat}), min bulk ESS ${l.minEssBulk.toFixed(0)}, min tail ESS ${l.minEssTail.toFixed(0)} (>= ${t.essBulk === t.essTail ? t.essBulk : `${t.essBulk} / ${t.essTail}`})`;
  }
  if (c.latest === null) return k.dim(`early stop: first check once every chain is sampling (targets: R-hat < ${t.rhat}, bulk and tail ESS >= ${t.essBulk === t.essTail ? t.essBulk : `${t.essBulk} / ${t.essTail}`})`);
  const l = c.latest;
  const mark = (ok: boolean, s: string) => (ok ? k.green(s) : k.yellow(s));
  return (
    `early stop at ${l.draws} draws/chain: ` +
    `max R-hat ${mark(l.maxRhat < t.rhat, l.maxRhat.toFixed(3))} (< ${t.rhat}) · ` +
    `min bulk ESS ${mark(l.minEssBulk >= t.essBulk, l.minEssBulk.toFixed(0))} / ${t.essBulk} · ` +
    `min tail ESS ${mark(l.minEssTail >= t.essTail, l.minEssTail.toFixed(0))} / ${t.essTail}`
  );
}

/** The whole display (several lines, no trailing newline). */
export function renderProgress(f: ProgressFrame, options: RenderOptions = {}): string {
  const k = createColors(options.color ?? true);
  const columns = Math.max(40, options.columns ?? 80);
  const maxChains = options.maxChainLines ?? 16;
  const lines = [headerLine(f, k)];
  const digits = Math.max(4, String(Math.max(...f.chains.map((c) => c.planned), 0)).length);
  const heads = ["chain", "phase", "progress", "iterations", "div", "step", "grad/draw", "draws/s", "status"];
  const fixed = [5, 8, 0, 2 * digits + 3, 4, 6, 9, 7];
  const shownChains = f.chains.length > maxChains ? f.chains.slice(0, maxChains - 1) : f.chains;
  const statusWidth = Math.max(6, ...shownChains.map((c) => stateText(c, k)[0].length));
  // The bar takes what the other columns (two spaces apart) leave of the width.
  const barWidth = Math.max(8, Math.min(40, columns - fixed.reduce((a, b) => a + b, 0) - 2 * fixed.length - statusWidth));
  fixed[2] = barWidth;
  const rightAligned = [true, false, false, true, true, true, true, true, false];
  // The bar (column 2) comes coloured and exactly barWidth wide; every other cell is padded, then coloured.
  const row = (cells: readonly Cell[], isHeader = false) =>
    cells.map(([text, color], i) => color(i < fixed.length && (i !== 2 || isHeader) ? pad(text, fixed[i]!, rightAligned[i]!) : text)).join("  ");
  lines.push(row(heads.map((h) => [h, k.dim] as const), true));
  const shown = shownChains;
  for (const c of shown) {
    lines.push(
      row([
        [String(c.chain), plain],
        c.state === "starting" ? ["-", k.dim] : c.phase === "warmup" ? ["warmup", k.yellow] : ["sampling", k.green],
        [bar(c, barWidth, k), plain],
        [`${String(c.done).padStart(digits)} / ${(c.planned > 0 ? String(c.planned) : "?").padEnd(digits)}`, plain],
        [String(c.divergences), c.divergences > 0 ? k.red : plain],
        [formatStep(c.stepSize), plain],
        [Number.isFinite(c.gradientsPerDraw) ? c.gradientsPerDraw.toFixed(1) : "", plain],
        [formatRate(c.drawsPerSecond), plain],
        stateText(c, k),
      ]),
    );
  }
  if (shown.length < f.chains.length) {
    const rest = f.chains.slice(shown.length);
    const done = rest.reduce((a, c) => a + c.done, 0);
    const planned = rest.reduce((a, c) => a + c.planned, 0);
    const div = rest.reduce((a, c) => a + c.divergences, 0);
    const failed = rest.filter((c) => c.state === "failed").length;
    lines.push(k.dim(`  ... ${rest.length} more chains: ${done} / ${planned} iterations, ${div} divergences${failed > 0 ? `, ${failed} failed` : ""}`));
  }
  // Events in the order they happened, then where the convergence stands now.
  for (const n of f.notes) lines.push(k.dim("· ") + (n.includes("FAILED") ? k.red(n) : n));
  const conv = convergenceLine(f, k);
  if (conv !== null) lines.push(conv);
  return lines.join("\n");
}

/** One line for logs: overall, then each chain in short (or a summary for many chains). */
export function renderPlainLine(f: ProgressFrame): string {
  const parts = [`progress ${(100 * f.fraction).toFixed(0)}%`, `elapsed ${formatSeconds(f.elapsedSeconds)}`];
  if (f.status === "running") {
    if (f.etaSeconds !== null) parts.push(`ETA ${formatEta(f.etaSeconds)}`);
  } else parts.push(f.status);
  if (f.chains.length <= 8) {
    for (const c of f.chains) {
      const st = c.state === "running" ? c.phase : STATE_LABEL[c.state];
      parts.push(`chain ${c.chain} ${st} ${c.done}/${c.planned > 0 ? c.planned : "?"}${c.divergences > 0 ? ` div ${c.divergences}` : ""}`);
    }
  } else {
    const done = f.chains.reduce((a, c) => a + c.done, 0);
    const planned = f.chains.reduce((a, c) => a + c.planned, 0);
    const div = f.chains.reduce((a, c) => a + c.divergences, 0);
    const failed = f.chains.filter((c) => c.state === "failed").length;
    parts.push(`${f.chains.length} chains ${done}/${planned}, divergences ${div}${failed > 0 ? `, ${failed} failed` : ""}`);
  }
  const c = f.convergence;
  if (c !== null && c.stoppedAt !== null) parts.push(`early-stop targets met at ${c.stoppedAt} draws per chain`);
  else if (c !== null && c.latest !== null) {
    parts.push(`max R-hat ${c.latest.maxRhat.toFixed(3)}/${c.targets.rhat} min ESS bulk ${c.latest.minEssBulk.toFixed(0)} tail ${c.latest.minEssTail.toFixed(0)}/${c.targets.essBulk}`);
  }
  return parts.join(" | ");
}

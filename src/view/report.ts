/**
 * `writeReport(posterior, "report.html")`: the dashboard's plots and the summary table of a
 * finished (or aborted) run in one self-contained HTML file: the page's code, its styles
 * and the data are inside; opening it fetches nothing.
 */
import { writeFileSync } from "node:fs";
import type { ChainProgress, RunEvent } from "../../actors/events.js";
import type { Posterior } from "../api/posterior.js";
import { RunPosterior } from "../api/run-posterior.js";
import { DrawSet, essBulkDS, essTailDS, rhatDS } from "../diagnostics/convergence.js";
import { pageAssets, pageHtml } from "./assets.js";
import { DashboardCollector, freshCursor, type BatchLike } from "./dashboard/collector.js";
import { pageFindings, summaryLines } from "./final.js";

export interface ReportOptions {
  /** The page's title (default: the model's name). */
  readonly title?: string;
  readonly theme?: "dark" | "light";
  /** Quantities to plot (default: the first `maxQuantities`, 32). The summary table has every quantity (up to 1000 rows). */
  readonly quantities?: readonly string[];
  readonly maxQuantities?: number;
  /** Points per chain drawn (2000). */
  readonly capacity?: number;
  /** Draw counts at which R-hat and ESS are computed for the "over time" plot (20). */
  readonly checkPoints?: number;
}


/** A chain's draws of one phase as the collector reads a run's batches: the real ones, then placeholders (a failed chain's). */
function phaseBatches(p: Posterior, chain: number, names: readonly string[], phase: "warmup" | "sampling"): BatchLike[] {
  const c = p.chains[chain]!;
  const n = phase === "warmup" ? p.numWarmup : p.numDraws;
  const values = phase === "warmup" ? c.warmupValues : c.values;
  if (values === null || n === 0) return [];
  const stats = phase === "warmup" ? c.warmupStats : c.stats;
  const run = p instanceof RunPosterior ? p.chains[chain]! : null;
  const flags = run === null ? null : phase === "warmup" ? run.warmupPlaceholder : run.placeholder;
  const real = flags === null || flags.indexOf(1) < 0 ? n : flags.indexOf(1);
  const start = phase === "warmup" ? 0 : p.numWarmup;
  const part = (from: number, to: number, placeholder: boolean): BatchLike => ({
    names,
    chain,
    start: start + from,
    count: to - from,
    phase,
    placeholder,
    quantity: (k) => values.subarray(k * n + from, k * n + to),
    lp: stats.lp.subarray(from, to),
    energy: stats.energy.subarray(from, to),
    divergent: stats.divergent.subarray(from, to),
  });
  return [part(0, real, false), ...(real < n ? [part(real, n, true)] : [])].filter((b) => b.count > 0);
}

function events(p: Posterior): RunEvent[] {
  if (!(p instanceof RunPosterior)) return [];
  const out: RunEvent[] = [{ type: "run-started", chains: p.numChains, threads: p.threads, seed: p.seed }];
  for (const s of p.chainStatus) {
    if (s.restarts > 0 && s.status !== "failed") out.push({ type: "chain-restarted", chain: s.chain, fromIteration: -1, attempt: s.restarts });
    if (s.status === "failed") out.push({ type: "chain-failed", chain: s.chain, atIteration: s.failedAt ?? -1, restarts: s.restarts, message: s.error ?? "" });
  }
  if (p.warmupExtensions > 0) out.push({ type: "warmup-extended", iteration: p.numWarmup, by: 0, extension: p.warmupExtensions, maxRhat: NaN, numWarmup: p.numWarmup });
  const d = p.onlineDiagnostics;
  if (p.status === "stopped-early" && d !== null) out.push({ type: "early-stop", draws: d.draws, maxRhat: d.maxRhat, minEssBulk: d.minEssBulk, minEssTail: d.minEssTail });
  if (p.status === "aborted") out.push({ type: "aborted", reason: p.abortReason ?? "" });
  out.push({ type: "run-completed", status: p.status, seconds: p.seconds });
  return out;
}

function chainProgress(p: Posterior, chain: number): ChainProgress {
  const c = p.chains[chain]!;
  const status = p instanceof RunPosterior ? p.chainStatus[chain]! : null;
  let divergences = 0;
  for (let i = 0; i < c.stats.divergent.length; i++) divergences += c.stats.divergent[i]!;
  return {
    chain,
    status: status?.status ?? "completed",
    iteration: p.numWarmup + p.numDraws,
    phase: "sampling",
    numWarmup: p.numWarmup,
    numDraws: p.numDraws,
    gradientEvaluations: c.gradientEvaluations,
    divergences,
    stepSize: c.stepSize,
    restarts: status?.restarts ?? 0,
  };
}

/** The HTML of a report (what `writeReport` writes). */
export function reportHtml(posterior: Posterior, options: ReportOptions = {}): string {
  const p = posterior;
  const names = p.names;
  const healthy = p instanceof RunPosterior ? p.healthyChains() : p.chains.map((c) => c.chain);
  const title = options.title ?? p.modelName;
  const hasWarmup = p.chains.every((c) => c.warmupValues !== null) && p.numWarmup > 0;
  const collector = new DashboardCollector({
    names,
    chains: p.numChains,
    ...(options.quantities !== undefined ? { quantities: options.quantities } : {}),
    ...(options.maxQuantities !== undefined ? { maxQuantities: options.maxQuantities } : {}),
    capacity: options.capacity ?? 2000,
    origin: hasWarmup ? 0 : p.numWarmup,
    title,
    earlyStop: null,
    theme: options.theme ?? "dark",
    kind: "report",
  });
  // Only the start and the end have known times: the rest are rebuilt from the result.
  const seconds = p instanceof RunPosterior ? p.seconds : null;
  for (const e of events(p)) collector.event(e, e.type === "run-started" ? 0 : e.type === "run-completed" ? seconds : null);
  for (let c = 0; c < p.numChains; c++) {
    for (const phase of ["warmup", "sampling"] as const) {
      for (const b of phaseBatches(p, c, names, phase)) collector.batch(b);
    }
    collector.chainProgress(chainProgress(p, c));
  }
  // R-hat and ESS over time: at evenly spaced draw counts of the healthy chains.
  const kept = collector.meta.names;
  const points = Math.min(options.checkPoints ?? 20, Math.floor(p.numDraws / 20));
  if (healthy.length >= 2 && points > 0) {
    for (let i = 1; i <= points; i++) {
      const n = Math.round((i * p.numDraws) / points);
      const params = kept.map((name) => {
        const all = p.draws(name);
        const ds = new DrawSet(healthy.map((c) => all[c]!.subarray(0, n)));
        return { name, rhat: rhatDS(ds), essBulk: essBulkDS(ds), essTail: essTailDS(ds) };
      });
      const finite = (xs: number[]) => xs.filter((x) => Number.isFinite(x));
      const rh = finite(params.map((q) => q.rhat));
      const bulk = finite(params.map((q) => q.essBulk));
      const tail = finite(params.map((q) => q.essTail));
      collector.diagnostics({
        draws: n,
        chains: healthy,
        params,
        maxRhat: rh.length > 0 ? Math.max(...rh) : NaN,
        minEssBulk: bulk.length > 0 ? Math.min(...bulk) : NaN,
        minEssTail: tail.length > 0 ? Math.min(...tail) : NaN,
        converged: false,
        gradientEvaluations: 0,
      });
    }
  }
  collector.final(summaryLines(p), pageFindings(p));
  const status = p instanceof RunPosterior ? p.status : "completed";
  collector.finish(status, p instanceof RunPosterior ? p.seconds : 0);
  const frame = collector.frame(freshCursor());
  return pageHtml({ title, theme: options.theme ?? "dark", inline: { assets: pageAssets(), data: frame } });
}

/** Writes a self-contained HTML report of a posterior (a finished or aborted run) to `path`. */
export function writeReport(posterior: Posterior, path: string, options: ReportOptions = {}): void {
  writeFileSync(path, reportHtml(posterior, options));
}

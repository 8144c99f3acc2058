/**
 * What the page shows of a finished run, the same for the live dashboard (once the run has
 * ended) and the report: `formatSummary`'s table and `diagnose`'s findings.
 */
import type { Posterior } from "../api/posterior.js";
import type { Num, PageFinding, SummaryLine } from "./dashboard/protocol.js";

/** Rows of the summary table at most (the page is not the place for more). */
export const MAX_SUMMARY_ROWS = 1000;

const num = (x: number): Num => (Number.isFinite(x) ? x : null);

/** `formatSummary`'s rows (lp__ first), for the page. */
export function summaryLines(p: Posterior): SummaryLine[] {
  return p.summary(p.names.slice(0, MAX_SUMMARY_ROWS), { includeLp: true }).map((r) => ({
    name: r.name,
    mean: num(r.mean),
    sd: num(r.sd),
    hdiLower: num(r.hdiLower),
    hdiUpper: num(r.hdiUpper),
    hdiProb: r.hdiProb,
    median: num(r.median),
    mad: num(r.mad),
    q5: num(r.q5),
    q95: num(r.q95),
    mcseMean: num(r.mcseMean),
    mcseSd: num(r.mcseSd),
    essBulk: num(r.essBulk),
    essTail: num(r.essTail),
    rhat: num(r.rhat),
  }));
}

/** `diagnose`'s findings, for the page. */
export function pageFindings(p: Posterior): PageFinding[] {
  return p.diagnose().findings.map((f) => ({ level: f.level, check: f.check, text: f.advice === null ? f.message : `${f.message}: ${f.advice}` }));
}

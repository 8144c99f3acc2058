/**
 * `diagnose(posterior)`: the checks a finished run should pass, with thresholds and advice
 * (src/diagnostics/diagnose.ts has them). The terminal summary (`formatSummary`), the live
 * dashboard and the report print the same findings.
 */
import { formatDiagnosis, type Diagnosis } from "../diagnostics/diagnose.js";
import type { Posterior } from "./posterior.js";

export { formatDiagnosis, type Diagnosis, type Finding, type FindingLevel } from "../diagnostics/diagnose.js";

/**
 * Divergences, tree-depth hits, E-BFMI, R-hat, bulk and tail ESS, Pareto k where there are
 * importance weights, and label switching in mixtures: one finding per check (level "ok",
 * "info", "warn" or "bad"), each with its threshold and advice. Resampled approximations
 * (Pathfinder with PSIS) get R-hat and ESS as not applicable.
 */
export function diagnose(posterior: Posterior): Diagnosis {
  return posterior.diagnose();
}

/** The findings that need attention as text lines (every finding with `all`). */
export function formatDiagnose(posterior: Posterior, all = false): string {
  return formatDiagnosis(posterior.diagnose(), all);
}

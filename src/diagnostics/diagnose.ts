/**
 * `diagnose`: the checks a finished run should pass, each with its threshold and advice, in
 * the spirit of CmdStan's `diagnose` and ArviZ's warnings: divergent transitions, tree-depth
 * hits, E-BFMI, R-hat, bulk and tail ESS, Pareto k of importance weights, and label switching
 * between chains of a mixture. Pure: it reads draws and statistics, nothing else. The
 * terminal summary, the dashboard and the report print its findings, so they agree.
 */
import { describeOdeFailures, noOdeFailures, ODE_FAILURE_REASONS, totalOdeFailures, type OdeFailureCounts } from "../ode/index.js";
import type { SummaryRow } from "./summary.js";

/** R-hat at or above this: the chains disagree (Vehtari et al. 2021). */
export const RHAT_THRESHOLD = 1.01;
/** Bulk or tail ESS below this many per chain: too few effective draws for stable estimates (Vehtari et al. 2021). */
export const ESS_PER_CHAIN = 100;
/** E-BFMI below this: the momentum resampling explores the energy poorly (Betancourt 2016, Stan). */
export const EBFMI_THRESHOLD = 0.3;
/** Pareto k above this: importance weights unreliable; above `PARETO_K_WARN`: be careful (Vehtari et al. 2024). */
export const PARETO_K_BAD = 0.7;
export const PARETO_K_WARN = 0.5;

export type FindingLevel = "ok" | "warn" | "bad" | "info";

export interface Finding {
  /** Which check. */
  readonly check: "divergences" | "tree-depth" | "ebfmi" | "rhat" | "ess-bulk" | "ess-tail" | "pareto-k" | "label-switching" | "resampled" | "ode-failures";
  readonly level: FindingLevel;
  /** What was found, with the figures. */
  readonly message: string;
  /** The threshold the check uses. */
  readonly threshold: string;
  /** What to do about it (null when nothing needs doing). */
  readonly advice: string | null;
  /** The quantities concerned (R-hat, ESS, label switching), worst first. */
  readonly quantities?: readonly string[];
}

/** What `diagnose` reads of a posterior. */
export interface DiagnoseInput {
  readonly chains: number;
  readonly drawsPerChain: number;
  /** Summary rows of the reported quantities (lp__ left out). */
  readonly rows: readonly SummaryRow[];
  /** NUTS statistics per chain (null for approximations). */
  readonly nuts: {
    readonly divergences: readonly number[];
    readonly treeDepthHits: readonly number[];
    readonly maxTreeDepth: number;
    readonly ebfmi: readonly number[];
    /** The adapted metric's kind ("diag", "dense", "low-rank", CmdStan's "diag_e", ...), where known. */
    readonly metric?: string;
  } | null;
  /** Draws that were importance-resampled (Pathfinder with PSIS): R-hat and ESS do not apply to them. */
  readonly resampled?: { readonly distinct: number } | null;
  /** Pareto k of the importance weights, where there are weights. */
  readonly paretoK?: number | null;
  /** ODE solves that failed, per chain, in warmup and in sampling (absent or null: none failed, or no ODE). */
  readonly odeFailures?: { readonly warmup: readonly OdeFailureCounts[]; readonly sampling: readonly OdeFailureCounts[] } | null;
  /** Per-chain means of each vector variable's elements, for label switching (variable -> [chain][element]). */
  readonly vectorMeans?: ReadonlyMap<string, { readonly elements: readonly string[]; readonly means: readonly (readonly number[])[] }>;
}

export interface Diagnosis {
  readonly findings: readonly Finding[];
  /** No finding worse than "info". */
  readonly ok: boolean;
}

const pct = (k: number, n: number) => (n > 0 ? `${((100 * k) / n).toFixed(k * 1000 < n ? 2 : 1)}%` : "0%");
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function listed(names: readonly string[], max = 5): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/** Diagonal metrics, by the names runs and Stan CSV files give them. */
const DIAGONAL_METRICS = new Set(["diag", "diag-fisher", "diag_e", "unit_e"]);

/**
 * Long trees under a diagonal metric usually mean correlated or badly scaled parameters, which a
 * metric that learns correlations removes (DECISIONS.md D229: 49x to 340x in CPU seconds on
 * posteriordb's unscaled regressions).
 */
function treeDepthAdvice(metric: string | undefined): string {
  const base = "raise maxTreeDepth, or reparameterise to remove strong correlations";
  if (metric === undefined || !DIAGONAL_METRICS.has(metric)) return base;
  return `${base}; or adapt a metric that learns them: metric "low-rank" (the bayests command line: --metric low-rank)`;
}

/** The checks on `input`, in the order CmdStan's diagnose prints them, then ArviZ's. */
export function diagnose(input: DiagnoseInput): Diagnosis {
  const out: Finding[] = [];
  const total = input.chains * input.drawsPerChain;
  const n = input.nuts;
  if (n !== null) {
    const div = n.divergences.reduce((a, b) => a + b, 0);
    out.push(
      div > 0
        ? {
            check: "divergences",
            level: "bad",
            message: `divergent transitions: ${div} of ${total} after warmup (${pct(div, total)}; per chain ${n.divergences.join(", ")}): the sampler could not follow the posterior's curvature there, so its estimates may be biased`,
            threshold: "none",
            advice: "raise targetAccept (e.g. 0.95), or reparameterise (non-centred hierarchies); the pair plot shows where they are",
          }
        : { check: "divergences", level: "ok", message: `divergent transitions: 0 of ${total}`, threshold: "none", advice: null },
    );
    const hits = n.treeDepthHits.reduce((a, b) => a + b, 0);
    out.push(
      hits > 0
        ? {
            check: "tree-depth",
            level: "warn",
            message: `${plural(hits, "transition")} hit the maximum tree depth ${n.maxTreeDepth} (${pct(hits, total)}): an efficiency concern, not a bias`,
            threshold: `tree depth < ${n.maxTreeDepth}`,
            advice: treeDepthAdvice(n.metric),
          }
        : { check: "tree-depth", level: "ok", message: `no transition hit the maximum tree depth ${n.maxTreeDepth}`, threshold: `tree depth < ${n.maxTreeDepth}`, advice: null },
    );
    const low = n.ebfmi.map((b, c) => [b, c] as const).filter(([b]) => b < EBFMI_THRESHOLD);
    out.push(
      low.length > 0
        ? {
            check: "ebfmi",
            level: "warn",
            message: `E-BFMI below ${EBFMI_THRESHOLD} in ${plural(low.length, "chain")} (${low.map(([b, c]) => `chain ${c}: ${b.toFixed(2)}`).join(", ")}): the momentum resampling explores the energy poorly`,
            threshold: `E-BFMI >= ${EBFMI_THRESHOLD}`,
            advice: "reparameterise (heavy tails, funnels); the energy plot shows the mismatch",
          }
        : { check: "ebfmi", level: "ok", message: `E-BFMI ${n.ebfmi.map((b) => (Number.isFinite(b) ? b.toFixed(2) : "NA")).join(", ")} (all >= ${EBFMI_THRESHOLD})`, threshold: `E-BFMI >= ${EBFMI_THRESHOLD}`, advice: null },
    );
  }
  if (input.resampled != null) {
    out.push({
      check: "resampled",
      level: "info",
      message: `draws importance-resampled (${input.resampled.distinct} distinct of ${total}): R-hat and ESS do not apply to them and are not shown`,
      threshold: "not applicable",
      advice: null,
    });
  } else if (input.chains >= 2) {
    const rows = input.rows;
    const bad = rows.filter((r) => r.rhat >= RHAT_THRESHOLD).sort((a, b) => b.rhat - a.rhat);
    const worst = rows.reduce((m, r) => (Number.isFinite(r.rhat) && !(r.rhat <= m) ? r.rhat : m), NaN);
    out.push(
      bad.length > 0
        ? {
            check: "rhat",
            level: "bad",
            message: `R-hat >= ${RHAT_THRESHOLD} for ${plural(bad.length, "quantity", "quantities")} (${listed(bad.map((r) => `${r.name} ${r.rhat.toFixed(3)}`))}): the chains do not agree`,
            threshold: `R-hat < ${RHAT_THRESHOLD}`,
            advice: "run longer (more draws and warmup); if it stays, look at the trace and rank plots for a chain stuck elsewhere",
            quantities: bad.map((r) => r.name),
          }
        : { check: "rhat", level: "ok", message: `R-hat < ${RHAT_THRESHOLD} for every quantity (max ${Number.isFinite(worst) ? worst.toFixed(3) : "NA"})`, threshold: `R-hat < ${RHAT_THRESHOLD}`, advice: null },
    );
    const need = ESS_PER_CHAIN * input.chains;
    for (const [check, key, what] of [
      ["ess-bulk", "essBulk", "bulk"],
      ["ess-tail", "essTail", "tail"],
    ] as const) {
      const low = rows.filter((r) => r[key] < need).sort((a, b) => a[key] - b[key]);
      const min = rows.reduce((m, r) => (Number.isFinite(r[key]) && !(r[key] >= m) ? r[key] : m), NaN);
      out.push(
        low.length > 0
          ? {
              check,
              level: "warn",
              message: `${what} ESS < ${need} for ${plural(low.length, "quantity", "quantities")} (${listed(low.map((r) => `${r.name} ${r[key].toFixed(0)}`))}): ${what === "bulk" ? "means and medians" : "tail quantiles and intervals"} are unreliable`,
              threshold: `${what} ESS >= ${ESS_PER_CHAIN} per chain (${need})`,
              advice: "run more draws (or reparameterise if ESS per draw is low)",
              quantities: low.map((r) => r.name),
            }
          : { check, level: "ok", message: `${what} ESS >= ${need} for every quantity (min ${Number.isFinite(min) ? min.toFixed(0) : "NA"})`, threshold: `${what} ESS >= ${ESS_PER_CHAIN} per chain (${need})`, advice: null },
      );
    }
  }
  if (input.paretoK != null && Number.isFinite(input.paretoK)) {
    const k = input.paretoK;
    out.push({
      check: "pareto-k",
      level: k > PARETO_K_BAD ? "bad" : k > PARETO_K_WARN ? "warn" : "ok",
      message: `Pareto k of the importance weights ${k.toFixed(2)}${k > PARETO_K_BAD ? ": the approximation is poor" : k > PARETO_K_WARN ? ": the approximation is rough" : ""}`,
      threshold: `k <= ${PARETO_K_WARN} good, <= ${PARETO_K_BAD} usable`,
      advice: k > PARETO_K_WARN ? "use sample (NUTS) for inference; the approximation can still give inits" : null,
    });
  }
  if (input.odeFailures != null) {
    const f = odeFailuresFinding(input.odeFailures.warmup, input.odeFailures.sampling);
    if (f !== null) out.push(f);
  }
  for (const [variable, v] of input.vectorMeans ?? []) {
    const finding = labelSwitching(variable, v.elements, v.means, input.rows);
    if (finding !== null) out.push(finding);
  }
  return { findings: out, ok: out.every((f) => f.level === "ok" || f.level === "info") };
}

/**
 * Failed ODE solves (DECISIONS.md D132, D163): each rejected its proposal, as Stan does. In
 * sampling they show among the divergent transitions (a warning: the solver gave up where the
 * posterior has mass); in warmup only, far from the typical set, they need nothing (info).
 */
function odeFailuresFinding(warmup: readonly OdeFailureCounts[], sampling: readonly OdeFailureCounts[]): Finding | null {
  const sum = (per: readonly OdeFailureCounts[]) => {
    const all = noOdeFailures();
    for (const c of per) for (const r of ODE_FAILURE_REASONS) all[r] += c[r];
    return all;
  };
  const w = sum(warmup);
  const s = sum(sampling);
  const nw = totalOdeFailures(w);
  const ns = totalOdeFailures(s);
  if (nw + ns === 0) return null;
  const parts = [
    ...(ns > 0 ? [`${ns} in sampling (${describeOdeFailures(s)}; per chain ${sampling.map(totalOdeFailures).join(", ")})`] : []),
    ...(nw > 0 ? [`${nw} in warmup (${describeOdeFailures(w)}; per chain ${warmup.map(totalOdeFailures).join(", ")})`] : []),
  ];
  return {
    check: "ode-failures",
    level: ns > 0 ? "warn" : "info",
    message: `ODE solves failed: ${parts.join(", ")}; each rejected its proposal (the log density is -Infinity there, as in Stan)`,
    threshold: "no failed solve after warmup",
    advice:
      ns > 0
        ? `the solver gave up where the posterior has mass: raise maxSteps, use method "bdf" if the system is stiff, or bound the parameters that make it blow up${
            s["invalid-times"] > 0 ? "; output times out of order: declare the parameters that set them so that they stay in order (positive increments after t0)" : ""
          }`
        : null,
  };
}

/**
 * Label switching: a vector's elements disagree between chains (R-hat high) while each chain
 * holds the same set of values in another order, i.e. the chains' sorted means agree far
 * better than their means do.
 */
function labelSwitching(variable: string, elements: readonly string[], means: readonly (readonly number[])[], rows: readonly SummaryRow[]): Finding | null {
  if (means.length < 2 || elements.length < 2) return null;
  const rhat = new Map(rows.map((r) => [r.name, r.rhat]));
  if (!elements.some((e) => (rhat.get(e) ?? 0) >= RHAT_THRESHOLD)) return null;
  const spread = (per: readonly (readonly number[])[]) => {
    let worst = 0;
    for (let i = 0; i < elements.length; i++) {
      const xs = per.map((m) => m[i]!);
      worst = Math.max(worst, Math.max(...xs) - Math.min(...xs));
    }
    return worst;
  };
  const raw = spread(means);
  const sorted = spread(means.map((m) => [...m].sort((a, b) => a - b)));
  if (!(raw > 0) || !(sorted < 0.25 * raw)) return null;
  return {
    check: "label-switching",
    level: "bad",
    message: `label switching in ${variable}: the chains hold the same values in different orders (per-chain means differ by up to ${raw.toPrecision(3)}, sorted by ${sorted.toPrecision(3)}); R-hat of its elements is meaningless`,
    threshold: "sorted per-chain means agree (4x closer) while the means do not",
    advice: `identify the components: order them (e.g. an ordered prior on ${variable}), or relabel the draws after sampling`,
    quantities: elements,
  };
}

/** The findings as lines ("ok" ones included when `all`). */
export function formatDiagnosis(d: Diagnosis, all = false): string {
  return d.findings
    .filter((f) => all || f.level !== "ok")
    .map((f) => `${FINDING_MARK[f.level].padEnd(7)}  ${f.message}${f.advice !== null ? `: ${f.advice}` : ""}`)
    .join("\n");
}

/** How each level is marked in text (the same words on the terminal, the dashboard and the report). */
export const FINDING_MARK: Record<FindingLevel, string> = { ok: "ok", info: "note", warn: "warning", bad: "PROBLEM" };

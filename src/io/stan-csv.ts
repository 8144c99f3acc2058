/**
 * Stan CSV: the sampler output format CmdStan writes (one file per chain), read by R's
 * posterior / cmdstanr / rstan (`rstan::read_stan_csv`), Python's ArviZ and CmdStanPy.
 *
 * Layout of a file, as CmdStan 2.33 writes it:
 *
 *   # stan_version_major = 2            comment header: the run's configuration,
 *   # ...                               indented as CmdStan's argument tree
 *   lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,mu,theta.1,...
 *   (warmup draws, when save_warmup = 1)
 *   # Adaptation terminated
 *   # Step size = 0.87
 *   # Diagonal elements of inverse mass matrix:
 *   # 1.2, 0.3, ...
 *   (sampling draws)
 *   #
 *   #  Elapsed Time: 0.012 seconds (Warm-up)
 *   #                0.010 seconds (Sampling)
 *   #                0.022 seconds (Total)
 *   #
 *
 * Columns after the sampler's are the reported quantities with Stan's flattened names:
 * `theta[1]` becomes `theta.1`, `L[2,1]` becomes `L.2.1`, and within one variable the
 * elements are in Stan's column-major order (first index fastest), whatever our order.
 * Numbers are written in the shortest form that reads back to the same double (so a file
 * round-trips exactly: more than CmdStan's default 6 significant digits); non-finite
 * values as CmdStan writes them (`nan`, `inf`, `-inf`).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Posterior, SamplerStatsArrays } from "../api/posterior.js";
import { flatNames } from "../compile/compile.js";
import type { Metric } from "../inference/metric.js";
import { shapedDraws, type GroupVariable } from "./inference-data.js";

/** The sampler's columns, in CmdStan's order. */
export const STAN_CSV_SAMPLER_COLUMNS = ["lp__", "accept_stat__", "stepsize__", "treedepth__", "n_leapfrog__", "divergent__", "energy__"] as const;

/** The run's configuration for the comment header (defaults: Stan's and this runtime's). */
export interface StanCsvOptions {
  /** Model name (written as `model = <name>_model`, as stanc names it). Default: the posterior's model name. */
  readonly model?: string;
  /** Dual averaging's target (adapt delta, 0.8). */
  readonly targetAccept?: number;
  /** Maximum tree depth (10). */
  readonly maxTreeDepth?: number;
  readonly gamma?: number;
  readonly kappa?: number;
  readonly t0?: number;
  readonly initBuffer?: number;
  readonly termBuffer?: number;
  readonly window?: number;
  /** Initial step size before the search (1). */
  readonly initStepSize?: number;
  /** Random inits in (-initRadius, initRadius) on the unconstrained scale (2). */
  readonly initRadius?: number;
  /** Data file to name in the header (empty). */
  readonly dataFile?: string;
  /**
   * Write the warmup draws before the adaptation comment (`save_warmup = 1`); needs the
   * posterior's warmup draws (`saveWarmup: true` when sampling). Default false.
   */
  readonly saveWarmup?: boolean;
  /** Time stamp of the header (now). */
  readonly startTime?: Date;
  /** Extra `key = value` lines for the header (written after CmdStan's, before the columns). */
  readonly extra?: Readonly<Record<string, string | number>>;
  /**
   * Write the pointwise log-likelihood as Stan's `log_lik` generated quantity (`log_lik.1`, ...:
   * every observed node's observations, in declaration order), what loo and ArviZ's
   * `from_cmdstan(..., log_likelihood="log_lik")` read. Default: when the model has observed nodes.
   */
  readonly logLik?: boolean;
  /**
   * More generated quantities, e.g. posterior predictive draws: name -> `[chain][draw]` values
   * (numbers, or flattened row-major arrays), optionally with their shape.
   */
  readonly generatedQuantities?: Readonly<Record<string, GroupVariable>>;
}

/** Per chain: the extra columns' names and, per column, its values over the draws (and warmup draws). */
interface ExtraColumns {
  readonly names: string[];
  readonly values: (chain: number) => Float64Array[];
  readonly warmupValues: (chain: number) => Float64Array[];
}

const LOG_LIK = "log_lik";

function flatDraws(name: string, v: GroupVariable, posterior: Posterior): { names: string[]; perChain: Float64Array[][] } {
  const { draws, shape: given } = shapedDraws(v);
  if (draws.length !== posterior.numChains) throw new RangeError(`Stan CSV: generated quantity ${name} has ${draws.length} chains, the posterior ${posterior.numChains}`);
  const first = draws[0]?.[0];
  const size = typeof first === "number" ? 1 : (first as ArrayLike<number> | undefined)?.length ?? 0;
  const shape = given ?? (typeof first === "number" ? [] : [size]);
  const perChain = Array.from({ length: draws.length }, (_, c) => {
    const chain = draws[c]!;
    if (chain.length !== posterior.numDraws) throw new RangeError(`Stan CSV: generated quantity ${name}, chain ${c} has ${chain.length} draws, the posterior ${posterior.numDraws}`);
    const cols = Array.from({ length: size }, () => new Float64Array(chain.length));
    for (let d = 0; d < chain.length; d++) {
      const x = chain[d]!;
      if (typeof x === "number") cols[0]![d] = x;
      else {
        if (x.length !== size) throw new RangeError(`Stan CSV: generated quantity ${name}, chain ${c}, draw ${d} has ${x.length} values, the first draw has ${size}`);
        for (let k = 0; k < size; k++) cols[k]![d] = x[k]!;
      }
    }
    return cols;
  });
  return { names: flatNames(name, shape), perChain };
}

/** Columns of `[chain][draw][k]` values: per chain, one array over the draws per k. */
function columnsOf(values: Float64Array[][]): Float64Array[][] {
  return values.map((chain) => Array.from({ length: chain[0]?.length ?? 0 }, (_, k) => Float64Array.from(chain, (draw) => draw[k]!)));
}

/**
 * log_lik and the given generated quantities as extra columns, computed once for all chains.
 * Warmup rows get log_lik of the warmup draws; other generated quantities are NaN there (not given).
 */
function extraColumns(posterior: Posterior, o: StanCsvOptions): ExtraColumns {
  const names: string[] = [];
  const chains: Float64Array[][] = posterior.chains.map(() => []);
  const warmup: Float64Array[][] = posterior.chains.map(() => []);
  const observed = posterior.model?.observed.length ?? 0;
  if (o.logLik === true && observed === 0) throw new RangeError(`Stan CSV: logLik needs observed nodes; model ${posterior.modelName} has none`);
  if (o.logLik ?? observed > 0) {
    names.push(...flatNames(LOG_LIK, [posterior.model!.logLikSize]));
    columnsOf(posterior.logLikelihood()).forEach((cols, c) => chains[c]!.push(...cols));
    const w = o.saveWarmup ? posterior.warmupLogLikelihood() : null;
    if (w !== null) columnsOf(w).forEach((cols, c) => warmup[c]!.push(...cols));
  }
  for (const [name, v] of Object.entries(o.generatedQuantities ?? {})) {
    const { names: flat, perChain } = flatDraws(name, v, posterior);
    names.push(...flat);
    perChain.forEach((cols, c) => chains[c]!.push(...cols));
  }
  const missing = (c: number) => names.map((_, k) => warmup[c]![k] ?? new Float64Array(posterior.numWarmup).fill(NaN));
  return { names, values: (c) => chains[c]!, warmupValues: missing };
}

/** Stan's flattened name of one of our names: `theta[1]` -> `theta.1`, `L[2,1]` -> `L.2.1`. */
export function stanFlatName(name: string): string {
  const m = /^(.*)\[([0-9,\s]+)\]$/.exec(name);
  if (m === null) return name;
  return `${m[1]}.${m[2]!.split(",").map((s) => s.trim()).join(".")}`;
}

function splitName(name: string): { base: string; index: number[] } {
  const m = /^(.*)\[([0-9,\s]+)\]$/.exec(name);
  if (m === null) return { base: name, index: [] };
  return { base: m[1]!, index: m[2]!.split(",").map((s) => Number(s.trim())) };
}

/** Column-major order of indices: the last index varies slowest. */
function compareColumnMajor(a: readonly number[], b: readonly number[]): number {
  for (let k = Math.max(a.length, b.length) - 1; k >= 0; k--) {
    const d = (a[k] ?? 0) - (b[k] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The parameter columns of a Stan CSV for our `names`: Stan's flattened names, and for each
 * column the index into `names` it comes from (elements of one variable are reordered to
 * column-major; variables keep their order).
 */
export function stanCsvColumns(names: readonly string[]): { readonly columns: string[]; readonly source: number[] } {
  const columns: string[] = [];
  const source: number[] = [];
  let i = 0;
  while (i < names.length) {
    const { base } = splitName(names[i]!);
    let j = i + 1;
    if (base !== names[i]) while (j < names.length && splitName(names[j]!).base === base && names[j] !== base) j++;
    const group = [];
    for (let k = i; k < j; k++) group.push({ k, index: splitName(names[k]!).index });
    group.sort((a, b) => compareColumnMajor(a.index, b.index));
    for (const g of group) {
      const col = stanFlatName(names[g.k]!);
      if (/[,"\r\n]/.test(col)) throw new Error(`Stan CSV: quantity name "${names[g.k]}" cannot be a CSV column (comma, quote or newline)`);
      columns.push(col);
      source.push(g.k);
    }
    i = j;
  }
  return { columns, source };
}

/** A number as CmdStan would read it back: shortest exact form, `nan`, `inf`, `-inf`. */
export function formatStanNumber(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  return String(x);
}

const CMDSTAN_DEFAULTS: Record<string, string> = {
  num_samples: "1000",
  num_warmup: "1000",
  save_warmup: "0",
  thin: "1",
  engaged: "1",
  gamma: "0.05",
  delta: "0.8",
  kappa: "0.75",
  t0: "10",
  init_buffer: "75",
  term_buffer: "50",
  window: "25",
  save_metric: "0",
  max_depth: "10",
  metric: "diag_e",
  stepsize: "1",
  stepsize_jitter: "0",
  init: "2",
};

function configLine(depth: number, key: string, value: string | number): string {
  const v = String(value);
  const def = CMDSTAN_DEFAULTS[key] === v ? " (Default)" : "";
  return `# ${"  ".repeat(depth)}${key} = ${v}${def}`;
}

function stanMetricName(metric: string): string {
  return metric === "dense" ? "dense_e" : "diag_e";
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

function timestamp(d: Date): string {
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} UTC`;
}

function headerLines(posterior: Posterior, chain: number, o: StanCsvOptions): string[] {
  const adapt = posterior.numWarmup > 0;
  const lines = [
    configLine(0, "stan_version_major", 2),
    configLine(0, "stan_version_minor", 33),
    configLine(0, "stan_version_patch", 0),
    configLine(0, "model", `${o.model ?? posterior.modelName}_model`),
    configLine(0, "start_datetime", timestamp(o.startTime ?? new Date())),
    "# method = sample (Default)",
    "#   sample",
    configLine(2, "num_samples", posterior.numDraws),
    configLine(2, "num_warmup", posterior.numWarmup),
    configLine(2, "save_warmup", o.saveWarmup ? 1 : 0),
    configLine(2, "thin", 1),
    "#     adapt",
    configLine(3, "engaged", adapt ? 1 : 0),
    configLine(3, "gamma", o.gamma ?? 0.05),
    configLine(3, "delta", o.targetAccept ?? 0.8),
    configLine(3, "kappa", o.kappa ?? 0.75),
    configLine(3, "t0", o.t0 ?? 10),
    configLine(3, "init_buffer", o.initBuffer ?? 75),
    configLine(3, "term_buffer", o.termBuffer ?? 50),
    configLine(3, "window", o.window ?? 25),
    configLine(3, "save_metric", 0),
    "#     algorithm = hmc (Default)",
    "#       hmc",
    "#         engine = nuts (Default)",
    "#           nuts",
    configLine(6, "max_depth", o.maxTreeDepth ?? 10),
    configLine(4, "metric", stanMetricName(posterior.metricKind)),
    "#         metric_file =  (Default)",
    configLine(4, "stepsize", o.initStepSize ?? 1),
    configLine(4, "stepsize_jitter", 0),
    configLine(2, "num_chains", 1),
    configLine(0, "id", chain + 1),
    "# data",
    `#   file = ${o.dataFile ?? ""}`,
    configLine(0, "init", o.initRadius ?? 2),
    "# random",
    configLine(1, "seed", posterior.seed),
    "# output",
    `#   file = ${o.model ?? posterior.modelName}_${chain + 1}.csv`,
    "#   diagnostic_file =  (Default)",
    "#   refresh = 100 (Default)",
    "#   sig_figs = 17",
    "#   profile_file = profile.csv (Default)",
    "#   save_cmdstan_config = 0 (Default)",
    "# num_threads = 1 (Default)",
    "# stanc_version = none (model compiled by @bayests/runtime)",
    "# stancflags = ",
    "# generator = @bayests/runtime (written in the format of CmdStan 2.33)",
    `# metric_adaptation = ${posterior.metricKind}`,
  ];
  for (const [k, v] of Object.entries(o.extra ?? {})) lines.push(configLine(0, k, v));
  return lines;
}

function metricLines(metric: Metric, dim: number): string[] {
  const inv = Array.from(metric.inverse, formatStanNumber);
  if (metric.kind === "diag") return ["# Diagonal elements of inverse mass matrix:", `# ${inv.join(", ")}`];
  const rows = ["# Elements of inverse mass matrix:"];
  for (let i = 0; i < dim; i++) rows.push(`# ${inv.slice(i * dim, (i + 1) * dim).join(", ")}`);
  return rows;
}

function drawRows(values: Float64Array, stats: SamplerStatsArrays, n: number, source: readonly number[], extra: readonly Float64Array[], out: string[]): void {
  const row = new Array<string>(7 + source.length + extra.length);
  for (let i = 0; i < n; i++) {
    row[0] = formatStanNumber(stats.lp[i]!);
    row[1] = formatStanNumber(stats.acceptStat[i]!);
    row[2] = formatStanNumber(stats.stepSize[i]!);
    row[3] = String(stats.treeDepth[i]!);
    row[4] = String(stats.nLeapfrog[i]!);
    row[5] = String(stats.divergent[i]!);
    row[6] = formatStanNumber(stats.energy[i]!);
    for (let k = 0; k < source.length; k++) row[7 + k] = formatStanNumber(values[source[k]! * n + i]!);
    for (let k = 0; k < extra.length; k++) row[7 + source.length + k] = formatStanNumber(extra[k]![i]!);
    out.push(row.join(","));
  }
}

function seconds(x: number): string {
  return (Number.isFinite(x) ? x : 0).toFixed(6);
}

/**
 * The text of chain `chain`'s Stan CSV file: the sampler's columns, the reported quantities
 * (parameters, then deterministics as Stan's transformed parameters / generated quantities),
 * then `log_lik` and any other generated quantities given.
 */
export function formatStanCsv(posterior: Posterior, chain: number, options: StanCsvOptions = {}): string {
  return formatChain(posterior, chain, options, extraColumns(posterior, options));
}

function formatChain(posterior: Posterior, chain: number, options: StanCsvOptions, extra: ExtraColumns): string {
  const c = posterior.chains[chain];
  if (c === undefined) throw new RangeError(`chain ${chain} out of range (${posterior.numChains} chains)`);
  const { columns, source } = stanCsvColumns(posterior.names);
  const { columns: extraNames, source: extraOrder } = stanCsvColumns(extra.names);
  const extraValues = extra.values(chain);
  const out = headerLines(posterior, chain, options);
  out.push([...STAN_CSV_SAMPLER_COLUMNS, ...columns, ...extraNames].join(","));
  if (options.saveWarmup) {
    if (c.warmupValues === null) throw new Error("Stan CSV: saveWarmup needs the warmup draws (sample with saveWarmup: true)");
    const warm = extra.warmupValues(chain);
    drawRows(c.warmupValues, c.warmupStats, posterior.numWarmup, source, extraOrder.map((k) => warm[k]!), out);
  }
  if (posterior.numWarmup > 0) {
    out.push("# Adaptation terminated", `# Step size = ${formatStanNumber(c.stepSize)}`, ...metricLines(c.metric, Math.round(Math.sqrt(c.metric.inverse.length))));
  }
  drawRows(c.values, c.stats, posterior.numDraws, source, extraOrder.map((k) => extraValues[k]!), out);
  out.push(
    "# ",
    `#  Elapsed Time: ${seconds(c.warmupSeconds)} seconds (Warm-up)`,
    `#                ${seconds(c.samplingSeconds)} seconds (Sampling)`,
    `#                ${seconds(c.warmupSeconds + c.samplingSeconds)} seconds (Total)`,
    "# ",
  );
  return out.join("\n") + "\n";
}

/**
 * Writes one Stan CSV file per chain, `<prefix>_<chain>.csv` (chains numbered from 1, as
 * CmdStan names them), creating the folder; returns the paths.
 */
export function writeStanCsv(posterior: Posterior, prefix: string, options: StanCsvOptions = {}): string[] {
  mkdirSync(dirname(prefix), { recursive: true });
  const start = options.startTime ?? new Date();
  const extra = extraColumns(posterior, options);
  return posterior.chains.map((_, c) => {
    const path = `${prefix}_${c + 1}.csv`;
    writeFileSync(path, formatChain(posterior, c, { ...options, startTime: start }, extra));
    return path;
  });
}

// ---- reading -------------------------------------------------------------------------

/** One parsed Stan CSV file. */
export interface StanCsv {
  /** `key = value` lines of the header (the last one wins for a repeated key), "(Default)" removed. */
  readonly config: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  /** Warmup draws (rows before "Adaptation terminated" when save_warmup = 1), one array per row. */
  readonly warmup: readonly Float64Array[];
  /** Sampling draws, one array per row (all columns). */
  readonly draws: readonly Float64Array[];
  /** From the adaptation comment (null when absent). */
  readonly stepSize: number | null;
  readonly inverseMetric: Float64Array | null;
  readonly metricKind: "diag" | "dense" | null;
  /** From the timing comment (null when absent). */
  readonly warmupSeconds: number | null;
  readonly samplingSeconds: number | null;
}

/** Parses a number as CmdStan writes it (`nan`, `inf`, `-inf` included). */
export function parseStanNumber(s: string): number {
  const t = s.trim().toLowerCase();
  if (t === "nan" || t === "-nan") return NaN;
  if (t === "inf" || t === "+inf" || t === "infinity") return Infinity;
  if (t === "-inf" || t === "-infinity") return -Infinity;
  const x = Number(t);
  if (t === "" || Number.isNaN(x)) throw new Error(`Stan CSV: "${s}" is not a number`);
  return x;
}

/** Parses the text of one Stan CSV file (CmdStan's or ours). */
export function parseStanCsv(text: string): StanCsv {
  const config: Record<string, string> = {};
  let columns: string[] | null = null;
  const warmup: Float64Array[] = [];
  const draws: Float64Array[] = [];
  let adapted = false;
  let stepSize: number | null = null;
  const metricRows: number[][] = [];
  let metricKind: "diag" | "dense" | null = null;
  let inMetric = false;
  const times: number[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const body = line.replace(/^#\s?/, "");
      if (columns === null) {
        const eq = body.indexOf("=");
        if (eq >= 0) config[body.slice(0, eq).trim()] = body.slice(eq + 1).replace(/\(Default\)\s*$/, "").trim();
        continue;
      }
      if (/Adaptation terminated/.test(body)) {
        adapted = true;
        continue;
      }
      const step = /Step size\s*=\s*(\S+)/.exec(body);
      if (step !== null) {
        stepSize = parseStanNumber(step[1]!);
        continue;
      }
      if (/Diagonal elements of inverse mass matrix/.test(body)) {
        metricKind = "diag";
        inMetric = true;
        continue;
      }
      if (/Elements of inverse mass matrix/.test(body)) {
        metricKind = "dense";
        inMetric = true;
        continue;
      }
      const time = /([0-9.eE+-]+) seconds/.exec(body);
      if (time !== null) {
        inMetric = false;
        times.push(Number(time[1]));
        continue;
      }
      if (inMetric && /[0-9]/.test(body)) {
        metricRows.push(body.split(",").map(parseStanNumber));
        continue;
      }
      inMetric = false;
      continue;
    }
    inMetric = false;
    if (columns === null) {
      columns = line.split(",");
      continue;
    }
    const cells = line.split(",");
    if (cells.length !== columns.length) throw new Error(`Stan CSV: a row has ${cells.length} cells for ${columns.length} columns`);
    const warmupRows = config["save_warmup"] === "1" ? Number(config["num_warmup"] ?? 0) : 0;
    (warmup.length < warmupRows && !adapted ? warmup : draws).push(Float64Array.from(cells, parseStanNumber));
  }
  if (columns === null) throw new Error("Stan CSV: no column header");
  return {
    config,
    columns,
    warmup,
    draws,
    stepSize,
    inverseMetric: metricRows.length > 0 ? Float64Array.from(metricRows.flat()) : null,
    metricKind,
    warmupSeconds: times.length >= 2 ? times[0]! : null,
    samplingSeconds: times.length >= 2 ? times[1]! : null,
  };
}

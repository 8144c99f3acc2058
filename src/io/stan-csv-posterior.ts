/**
 * A `Posterior` read back from Stan CSV files (CmdStan's or this runtime's, one file per
 * chain), so that its summaries and `diagnose` apply to runs made elsewhere: `npx bayests
 * diagnose out_*.csv` reads them so.
 */
import { Posterior, type ChainResult } from "../api/posterior.js";
import { allocateStats } from "../inference/stats.js";
import { STAN_CSV_SAMPLER_COLUMNS, type StanCsv } from "./stan-csv.js";

/** Stan CSV's `theta.2.1` as this runtime names it, `theta[2,1]`. */
function flatName(column: string): string {
  const m = /^(.*?)\.(\d+(?:\.\d+)*)$/.exec(column);
  return m === null ? column : `${m[1]}[${m[2]!.replace(/\./g, ",")}]`;
}

/**
 * The chains of Stan CSV files (parsed with `parseStanCsv`), one chain per file, as a
 * `Posterior`: its quantities are the files' columns after the sampler's (`theta.1` read as
 * `theta[1]`), its draws the sampling rows (the shortest file's count, for every chain), its
 * statistics the sampler's columns. Throws a `RangeError` naming the file (by position) whose
 * columns differ from the first's, or that lacks Stan's sampler columns.
 */
export function posteriorFromStanCsv(csvs: readonly StanCsv[], modelName?: string): Posterior {
  if (csvs.length === 0) throw new RangeError("Stan CSV: no file given");
  const first = csvs[0]!;
  const missing = STAN_CSV_SAMPLER_COLUMNS.filter((c) => !first.columns.includes(c));
  if (missing.length > 0) throw new RangeError(`Stan CSV file 1: no sampler column ${missing.join(", ")} (is it the output of a sampling run?)`);
  csvs.forEach((c, i) => {
    if (c.columns.length !== first.columns.length || c.columns.some((name, k) => name !== first.columns[k])) {
      throw new RangeError(`Stan CSV file ${i + 1}: its columns differ from file 1's (chains of one model are expected)`);
    }
  });
  const columns = first.columns;
  const quantities = columns.map((c, k) => ({ c, k })).filter(({ c }) => !(STAN_CSV_SAMPLER_COLUMNS as readonly string[]).includes(c));
  const at = (name: string) => columns.indexOf(name);
  const numDraws = Math.min(...csvs.map((c) => c.draws.length));
  if (numDraws === 0) throw new RangeError("Stan CSV: a file has no sampling draws");
  const chains: ChainResult[] = csvs.map((csv, chain) => {
    const values = new Float64Array(quantities.length * numDraws);
    const stats = allocateStats(numDraws);
    for (let i = 0; i < numDraws; i++) {
      const row = csv.draws[i]!;
      quantities.forEach(({ k }, q) => (values[q * numDraws + i] = row[k]!));
      stats.lp[i] = row[at("lp__")]!;
      stats.acceptStat[i] = row[at("accept_stat__")]!;
      stats.stepSize[i] = row[at("stepsize__")]!;
      stats.treeDepth[i] = row[at("treedepth__")]!;
      stats.nLeapfrog[i] = row[at("n_leapfrog__")]!;
      stats.divergent[i] = row[at("divergent__")]!;
      stats.energy[i] = row[at("energy__")]!;
    }
    return {
      chain,
      values,
      stats,
      warmupValues: null,
      warmupStats: allocateStats(0),
      stepSize: csv.stepSize ?? stats.stepSize[0]!,
      metric: { kind: "diag", inverse: csv.inverseMetric ?? new Float64Array(0) },
      gradientEvaluations: stats.nLeapfrog.reduce((a, b) => a + b, 0),
      warmupSeconds: csv.warmupSeconds ?? NaN,
      samplingSeconds: csv.samplingSeconds ?? NaN,
    };
  });
  const config = first.config;
  const int = (key: string, fallback: number) => (Number.isInteger(Number(config[key])) && config[key] !== undefined ? Number(config[key]) : fallback);
  return new Posterior({
    names: quantities.map(({ c }) => flatName(c)),
    paramCount: quantities.length,
    numWarmup: int("num_warmup", 0),
    numDraws,
    seed: int("seed", 0),
    metric: config.metric ?? "diag_e",
    chains,
    maxTreeDepth: int("max_depth", 10),
    modelName: modelName ?? config.model ?? "model",
  });
}

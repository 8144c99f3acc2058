/**
 * The command line's arguments (`bayests sample|check`), in CmdStan's habits, parsed with
 * `node:util` parseArgs and checked before any work starts: every problem is a `UsageError`
 * naming the argument and what it expects.
 */
import { parseArgs } from "node:util";

/** A bad command line: the message names the argument; the process exits with status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `usage:
  bayests sample MODEL.stan [--data DATA.json] [options]
  bayests check MODEL.stan
  bayests diagnose OUT_1.csv [OUT_2.csv ...]
  bayests --help | --version

sample options (CmdStan's defaults):
  --data FILE          data in Stan's JSON format (none: a program without data)
  --chains N           chains (4)
  --warmup N           warmup iterations per chain (1000)
  --draws N            draws per chain after warmup (1000; with --early-stop, the most per chain, 10000 unless given)
  --seed N             random seed (1)
  --early-stop         stop once every quantity has bulk and tail ESS >= 400 and R-hat < 1.01
  --threads N          worker threads (min(chains, cores))
  --adapt-delta X      target acceptance rate of step-size adaptation (0.8)
  --max-depth N        maximum tree depth (10)
  --metric M           the metric adapted in warmup: diag (CmdStan's diag_e), dense (dense_e), or
                       low-rank (nutpie's low-rank Fisher metric on its schedule, adaptive warmup
                       length: often far faster on correlated or unscaled predictors) (diag)
  --output FILE        Stan CSV, one file per chain: out.csv -> out_1.csv, out_2.csv, ... (output.csv)
  --idata FILE         InferenceData (netCDF-4) for ArviZ (none)
  --dashboard          serve the live dashboard on 127.0.0.1 and print its address
  --port N             the dashboard's port (any free one)
  --quiet              no progress display, no summary

check: parses and type-checks MODEL.stan; exit status 1 when it has errors.

diagnose: reads Stan CSV files (CmdStan's or bayests', one chain per file) and prints what
  diagnose found: divergences, tree depth, E-BFMI, R-hat, bulk and tail ESS, label switching.`;

export interface SampleArgs {
  readonly command: "sample";
  readonly model: string;
  readonly data: string | null;
  readonly chains: number;
  readonly warmup: number;
  readonly draws: number;
  readonly seed: number;
  readonly earlyStop: boolean;
  readonly threads: number | null;
  readonly adaptDelta: number;
  readonly maxDepth: number;
  readonly metric: CliMetric;
  readonly output: string;
  readonly idata: string | null;
  readonly dashboard: boolean;
  readonly port: number | null;
  readonly quiet: boolean;
}

export interface CheckArgs {
  readonly command: "check";
  readonly model: string;
}

export interface DiagnoseArgs {
  readonly command: "diagnose";
  readonly files: readonly string[];
}

/** The metrics `--metric` takes (CmdStan's `diag_e` and `dense_e` are read as diag and dense). */
export type CliMetric = "diag" | "dense" | "low-rank";

const METRIC_NAMES: Readonly<Record<string, CliMetric>> = { diag: "diag", diag_e: "diag", dense: "dense", dense_e: "dense", "low-rank": "low-rank" };

export type CliArgs = SampleArgs | CheckArgs | DiagnoseArgs | { readonly command: "help" | "version" };

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`--${name} must be an integer, got "${text}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${text}`);
  return value;
}

function modelPath(positionals: string[], command: string): string {
  if (positionals.length === 0) throw new UsageError(`${command}: name the Stan program, e.g. bayests ${command} model.stan`);
  if (positionals.length > 1) throw new UsageError(`${command}: one Stan program only, got ${positionals.length} (${positionals.join(", ")})`);
  const model = positionals[0]!;
  if (!model.endsWith(".stan")) throw new UsageError(`${command}: the program must be a .stan file, got "${model}"`);
  return model;
}

/** Parses `argv` (without node and the script); throws `UsageError` on anything it does not know. */
export function parseCommandLine(argv: readonly string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") return { command: "help" };
  if (command === "--version" || command === "-v") return { command: "version" };
  if (command === "diagnose") {
    const bad = rest.find((a) => a.startsWith("-"));
    if (bad !== undefined) throw new UsageError(`diagnose: unknown option "${bad}" (it takes Stan CSV files only)`);
    if (rest.length === 0) throw new UsageError("diagnose: name the Stan CSV files, e.g. bayests diagnose output_1.csv output_2.csv");
    return { command, files: rest };
  }
  if (command !== "sample" && command !== "check") throw new UsageError(`unknown command "${command}": expected sample, check or diagnose`);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      allowPositionals: true,
      strict: true,
      options:
        command === "check"
          ? {}
          : {
              data: { type: "string" },
              chains: { type: "string" },
              warmup: { type: "string" },
              draws: { type: "string" },
              seed: { type: "string" },
              "early-stop": { type: "boolean" },
              threads: { type: "string" },
              "adapt-delta": { type: "string" },
              "max-depth": { type: "string" },
              metric: { type: "string" },
              output: { type: "string" },
              idata: { type: "string" },
              dashboard: { type: "boolean" },
              port: { type: "string" },
              quiet: { type: "boolean" },
            },
    });
  } catch (e) {
    // parseArgs' own messages name the option ("Unknown option '--chain'", "Option '--seed <value>' argument missing").
    throw new UsageError(`${command}: ${e instanceof Error ? e.message.replace(/\. To specify a positional.*$/s, "") : String(e)}`);
  }
  const model = modelPath(parsed.positionals, command);
  if (command === "check") return { command, model };
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const str = (k: string) => v[k] as string | undefined;
  const earlyStop = v["early-stop"] === true;
  const adaptText = str("adapt-delta");
  const adaptDelta = adaptText === undefined ? 0.8 : Number(adaptText);
  if (!(adaptDelta > 0 && adaptDelta < 1)) throw new UsageError(`--adapt-delta must be a number in (0, 1), got "${adaptText}"`);
  const metricText = str("metric") ?? "diag";
  const metric = METRIC_NAMES[metricText];
  if (metric === undefined) throw new UsageError(`--metric must be diag, dense or low-rank (or CmdStan's diag_e, dense_e), got "${metricText}"`);
  const port = str("port") === undefined ? null : integer("port", str("port"), 0, 0);
  if (port !== null && port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  if (port !== null && v.dashboard !== true) throw new UsageError("--port is the dashboard's: give --dashboard too");
  for (const k of ["output", "idata", "data"]) {
    if (str(k) === "") throw new UsageError(`--${k} needs a file name`);
  }
  const idata = str("idata") ?? null;
  if (idata !== null && !/\.(nc|h5|hdf5|netcdf)$/.test(idata)) throw new UsageError(`--idata writes netCDF-4: name a .nc file, got "${idata}"`);
  return {
    command,
    model,
    data: str("data") ?? null,
    chains: integer("chains", str("chains"), 4, 1),
    warmup: integer("warmup", str("warmup"), 1000, 0),
    draws: integer("draws", str("draws"), earlyStop ? 10000 : 1000, 1),
    seed: integer("seed", str("seed"), 1, 0),
    earlyStop,
    threads: str("threads") === undefined ? null : integer("threads", str("threads"), 1, 1),
    adaptDelta,
    maxDepth: integer("max-depth", str("max-depth"), 10, 1),
    metric,
    output: str("output") ?? "output.csv",
    idata,
    dashboard: v.dashboard === true,
    port,
    quiet: v.quiet === true,
  };
}

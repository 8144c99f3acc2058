/**
 * `bayests`: Stan programs from the command line, in CmdStan's habits.
 *
 *   bayests sample model.stan --data data.json [--chains 4 --warmup 1000 --draws 1000 --seed 1
 *                             --early-stop --threads N --output out.csv --idata out.nc --dashboard]
 *   bayests check model.stan
 *   bayests diagnose out_1.csv out_2.csv ...
 *
 * `sample` shows the terminal progress on stderr, prints the summary on stdout, and writes Stan
 * CSV (one file per chain, as CmdStan names them) and, when asked, InferenceData. `check` parses
 * and type-checks only. This floor calls the package's public API and nothing below it.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { checkStanProgram, formatDiagnosis, parseStanCsv, posteriorFromStanCsv, sample, StanError, stanModel, writeInferenceData, writeStanCsv } from "../index.js";
import { parseCommandLine, USAGE, UsageError, type SampleArgs } from "./args.js";

/** Where the command writes: the process's streams, or a test's. */
export interface CliStreams {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A file the user named could not be read: the message names it. */
class InputError extends Error {}

function readInput(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read the ${what} ${path}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message}`);
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

async function runSample(args: SampleArgs, io: CliStreams): Promise<number> {
  const source = readInput(args.model, "Stan program");
  const data = args.data === null ? {} : readInput(args.data, "data file");
  const model = stanModel(source, data, { file: args.model, onWarning: (m) => io.stderr.write(`${m}\n`) });
  const started = new Date();
  const run = sample(model, {
    chains: args.chains,
    warmup: args.warmup,
    draws: args.draws,
    seed: args.seed,
    earlyStop: args.earlyStop,
    targetAccept: args.adaptDelta,
    maxTreeDepth: args.maxDepth,
    metric: args.metric,
    ...(args.threads !== null ? { threads: args.threads } : {}),
    progress: !args.quiet,
    ...(args.dashboard ? { dashboard: args.port !== null ? { port: args.port } : true } : {}),
  });
  // Ctrl-C ends the run as CmdStan's does not: the draws so far are still written.
  const interrupt = () => void run.abort("interrupted (SIGINT)");
  process.once("SIGINT", interrupt);
  let posterior;
  try {
    posterior = await run.result;
    await run.progressDisplay?.done;
  } finally {
    process.off("SIGINT", interrupt);
  }
  if (!args.quiet) io.stdout.write(`${posterior.formatSummary()}\n`);
  const prefix = args.output.replace(/\.csv$/, "");
  const files = writeStanCsv(posterior, prefix, {
    model: basename(args.model).replace(/\.stan$/, ""),
    targetAccept: args.adaptDelta,
    maxTreeDepth: args.maxDepth,
    dataFile: args.data ?? "",
    startTime: started,
  });
  io.stderr.write(`Stan CSV: ${files.join(", ")}\n`);
  if (args.idata !== null) io.stderr.write(`InferenceData: ${await writeInferenceData(args.idata, posterior)}\n`);
  const dashboard = run.dashboard === null ? null : await run.dashboard;
  if (dashboard !== null) {
    io.stderr.write(`dashboard: ${dashboard.url} stays up until Ctrl-C\n`);
    await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
    await dashboard.close();
  }
  return posterior.status === "completed" || posterior.status === "stopped-early" ? 0 : 1;
}

function runCheck(file: string, io: CliStreams): number {
  const result = checkStanProgram(readInput(file, "Stan program"), { file });
  for (const w of result.warnings) io.stderr.write(`${w.formatted}\n`);
  for (const e of result.errors) io.stderr.write(`${e.formatted}\n`);
  if (result.ok) io.stdout.write(`${file}: no syntax or type errors\n`);
  return result.ok ? 0 : 1;
}

/** CmdStan's `diagnose`: the findings of `diagnose` on the chains of Stan CSV files (exit status 0 either way, as CmdStan's). */
function runDiagnose(files: readonly string[], io: CliStreams): number {
  const csvs = files.map((f) => {
    const text = readInput(f, "Stan CSV file");
    try {
      return parseStanCsv(text);
    } catch (e) {
      throw new InputError(`${f} is not Stan CSV: ${(e as Error).message}`);
    }
  });
  let posterior;
  try {
    posterior = posteriorFromStanCsv(csvs);
  } catch (e) {
    throw new InputError(`${(e as Error).message.replace(/file (\d+)/, (_, n: string) => files[Number(n) - 1]!)}`);
  }
  const d = posterior.diagnose();
  io.stdout.write(`${files.length} chain${files.length === 1 ? "" : "s"} of ${posterior.numDraws} draws: ${d.ok ? "no problems found" : "problems found"}\n${formatDiagnosis(d, true)}\n`);
  return 0;
}

/**
 * Runs the command line `argv` (without node and the script) and resolves to the exit status:
 * 0 done, 1 the program or the run failed, 2 a bad command line.
 */
export async function main(argv: readonly string[], io: CliStreams = process): Promise<number> {
  try {
    const args = parseCommandLine(argv);
    switch (args.command) {
      case "help":
        io.stdout.write(`${USAGE}\n`);
        return 0;
      case "version":
        io.stdout.write(`bayests ${version()}\n`);
        return 0;
      case "check":
        return runCheck(args.model, io);
      case "sample":
        return await runSample(args, io);
      case "diagnose":
        return runDiagnose(args.files, io);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`bayests: ${e.message}\n(bayests --help for the options)\n`);
      return 2;
    }
    if (e instanceof InputError) {
      io.stderr.write(`bayests: ${e.message}\n`);
      return 2;
    }
    if (e instanceof StanError) {
      io.stderr.write(`${e.message}\n`);
      return 1;
    }
    io.stderr.write(`bayests: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

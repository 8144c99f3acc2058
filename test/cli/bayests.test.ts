/**
 * The `bayests` command line: arguments checked before any work (exit 2, naming the argument),
 * `check` on good and broken programs, and `sample` on a small .stan file run through the real
 * executable (bin/bayests.js on the built dist), its Stan CSV read back and its posterior mean
 * checked against the exact answer in units of MCSE.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseCommandLine, UsageError } from "../../src/cli/args.js";
import { mcseMean, parseStanCsv, posteriorFromStanCsv } from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "bayests-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bayests(...args: string[]) {
  const r = spawnSync(process.execPath, [join("bin", "bayests.js"), ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// y_i ~ normal(mu, 1), mu ~ normal(0, 10): the posterior of mu is normal with precision n + 1/100.
const y = [1.2, 0.4, 2.1, 1.7, 0.9, 1.5, 2.4, 0.8, 1.1, 1.9];
const program = `data {
  int<lower=0> N;
  array[N] real y;
}
parameters {
  real mu;
}
model {
  mu ~ normal(0, 10);
  y ~ normal(mu, 1);
}
`;
const modelFile = join(dir, "normal.stan");
const dataFile = join(dir, "normal.json");
writeFileSync(modelFile, program);
writeFileSync(dataFile, JSON.stringify({ N: y.length, y }));

describe("arguments", () => {
  test("CmdStan's defaults", () => {
    expect(parseCommandLine(["sample", "m.stan"])).toMatchObject({ chains: 4, warmup: 1000, draws: 1000, seed: 1, earlyStop: false, threads: null, output: "output.csv", idata: null, dashboard: false });
    expect(parseCommandLine(["sample", "m.stan", "--early-stop"])).toMatchObject({ earlyStop: true, draws: 10000 });
    expect(parseCommandLine(["check", "m.stan"])).toEqual({ command: "check", model: "m.stan" });
    expect(parseCommandLine(["sample", "m.stan"])).toMatchObject({ metric: "diag" });
    for (const [given, metric] of [["low-rank", "low-rank"], ["dense_e", "dense"], ["diag_e", "diag"]] as const) {
      expect(parseCommandLine(["sample", "m.stan", "--metric", given])).toMatchObject({ metric });
    }
  });

  test.each([
    [["sample", "m.stan", "--chains", "0"], "--chains must be an integer >= 1, got 0"],
    [["sample", "m.stan", "--draws", "1e3"], '--draws must be an integer, got "1e3"'],
    [["sample", "m.stan", "--chain", "2"], "Unknown option '--chain'"],
    [["sample", "m.stan", "--seed"], "--seed"],
    [["sample"], "name the Stan program"],
    [["sample", "m.json"], "must be a .stan file"],
    [["sample", "a.stan", "b.stan"], "one Stan program only"],
    [["sample", "m.stan", "--adapt-delta", "1.2"], "--adapt-delta must be a number in (0, 1)"],
    [["sample", "m.stan", "--idata", "out.csv"], "name a .nc file"],
    [["sample", "m.stan", "--metric", "unit_e"], '--metric must be diag, dense or low-rank (or CmdStan\'s diag_e, dense_e), got "unit_e"'],
    [["sample", "m.stan", "--port", "8080"], "give --dashboard too"],
    [["check", "m.stan", "--chains", "2"], "Unknown option '--chains'"],
    [["fit", "m.stan"], 'unknown command "fit"'],
  ])("%j is refused: %s", (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });

  test("a bad command line exits with status 2 before any work, naming the problem", () => {
    const r = bayests("sample", modelFile, "--chains", "two");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--chains must be an integer, got "two"');
    const missing = bayests("sample", join(dir, "nowhere.stan"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("cannot read the Stan program");
    expect(missing.stderr).toContain("no such file");
  });
});

describe("bayests check", () => {
  test("a good program", () => {
    const r = bayests("check", modelFile);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("no syntax or type errors");
  });

  test("a syntax error names the file, line and column and shows the line", () => {
    const broken = join(dir, "broken.stan");
    writeFileSync(broken, program.replace("mu ~ normal(0, 10);", "mu ~ normal(0, 10)"));
    const r = bayests("check", broken);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(broken);
    expect(r.stderr).toMatch(/line 10, column \d+/);
    expect(r.stderr).toContain("y ~ normal(mu, 1);");
    expect(r.stderr).toContain("^");
  });
});

describe("bayests sample", () => {
  test("runs a .stan file: summary on stdout, Stan CSV per chain, the exact posterior mean within MCSE", () => {
    const out = join(dir, "out", "normal.csv");
    const r = bayests("sample", modelFile, "--data", dataFile, "--chains", "2", "--warmup", "300", "--draws", "500", "--seed", "7", "--output", out);
    expect(r.stderr).not.toContain("bayests:");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^mu\s/m);
    const files = [1, 2].map((c) => join(dir, "out", `normal_${c}.csv`));
    for (const f of files) expect(existsSync(f)).toBe(true);
    const csvs = files.map((f) => parseStanCsv(readFileSync(f, "utf8")));
    expect(csvs[0]!.config["seed"]).toBe("7");
    const k = csvs[0]!.columns.indexOf("mu");
    const chains = csvs.map((c) => Float64Array.from(c.draws, (row) => row[k]!));
    for (const c of chains) expect(c.length).toBe(500);
    const precision = y.length + 1 / 100;
    const exact = y.reduce((s, v) => s + v, 0) / precision;
    const mean = chains.reduce((s, c) => s + c.reduce((a, b) => a + b, 0), 0) / 1000;
    expect(Math.abs(mean - exact)).toBeLessThan(4 * mcseMean(chains));
  });

  test("--metric low-rank samples with nutpie's low-rank metric: the summary says so, the mean is within MCSE", () => {
    const out = join(dir, "out", "lowrank.csv");
    const r = bayests("sample", modelFile, "--data", dataFile, "--chains", "2", "--warmup", "300", "--draws", "500", "--seed", "7", "--metric", "low-rank", "--output", out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/metric low-rank/);
    const chains = [1, 2].map((c) => {
      const csv = parseStanCsv(readFileSync(join(dir, "out", `lowrank_${c}.csv`), "utf8"));
      const k = csv.columns.indexOf("mu");
      return Float64Array.from(csv.draws, (row) => row[k]!);
    });
    const exact = y.reduce((s, v) => s + v, 0) / (y.length + 1 / 100);
    const mean = chains.reduce((s, c) => s + c.reduce((a, b) => a + b, 0), 0) / 1000;
    expect(Math.abs(mean - exact)).toBeLessThan(4 * mcseMean(chains));
  });

  test("diagnose reads the Stan CSV files back: the run's findings; planted divergences found; a bad file named, status 2", () => {
    const files = [1, 2].map((c) => join(dir, "out", `normal_${c}.csv`));
    const r = bayests("diagnose", ...files);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^2 chains of 500 draws: no problems found$/m);
    expect(r.stdout).toMatch(/^ok\s+divergent transitions: 0 of 1000$/m);
    expect(r.stdout).toMatch(/R-hat/);
    // The same draws as a Posterior: its mean is the files' mean.
    const csvs = files.map((f) => parseStanCsv(readFileSync(f, "utf8")));
    const k = csvs[0]!.columns.indexOf("mu");
    const mean = csvs.reduce((s, c) => s + c.draws.reduce((a, row) => a + row[k]!, 0), 0) / 1000;
    expect(posteriorFromStanCsv(csvs).summary(["mu"])[0]!.mean).toBeCloseTo(mean, 12);
    // Three divergent transitions planted in chain 2.
    const lines = readFileSync(files[1]!, "utf8").split("\n");
    const header = lines.findIndex((l) => l.startsWith("lp__,"));
    const column = lines[header]!.split(",").indexOf("divergent__");
    const rows = lines.map((l, i) => i).filter((i) => i > header && lines[i] !== "" && !lines[i]!.startsWith("#"));
    for (const row of [rows[0]!, rows[49]!, rows[99]!]) {
      const cells = lines[row]!.split(",");
      cells[column] = "1";
      lines[row] = cells.join(",");
    }
    const planted = join(dir, "planted_2.csv");
    writeFileSync(planted, lines.join("\n"));
    const p = bayests("diagnose", files[0]!, planted);
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/problems found/);
    expect(p.stdout).toMatch(/^PROBLEM\s+divergent transitions: 3 of 1000 after warmup .*per chain 0, 3/m);
    const missing = bayests("diagnose", join(dir, "nope.csv"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("nope.csv: no such file");
    expect(bayests("diagnose").status).toBe(2);
  });

  test("a program that does not fit its data fails with Stan's message and status 1", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ N: 3, y }));
    const r = bayests("sample", modelFile, "--data", bad, "--quiet");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/y/);
  });
});

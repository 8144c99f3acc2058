/**
 * rstan 2.21 from Node: `Rscript bench/stan/run-stan.R` (compile cache in bench/stan/.cache/),
 * shared by `bench:stan` and `bench:adaptation`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./paths.js";

export interface StanOutput {
  readonly versions: { readonly R: string; readonly rstan: string; readonly StanHeaders: string };
  readonly compile: { readonly seconds: number; readonly cached: boolean; readonly load_seconds: number; readonly compiled_at: string };
  readonly wall_seconds: number;
  readonly chains: readonly {
    readonly warmup_seconds: number;
    readonly sampling_seconds: number;
    readonly n_leapfrog_warmup: number[];
    readonly n_leapfrog: number[];
    readonly divergent: number[];
    readonly stepsize: number;
    readonly draws: Record<string, (number | null)[]>;
  }[];
}

/** Why Stan cannot run here, or null when it can. */
export function probeStan(): string | null {
  const r = spawnSync("Rscript", ["-e", 'for (p in c("rstan", "jsonlite", "digest", "posterior")) if (!requireNamespace(p, quietly = TRUE)) { cat(p); quit(status = 3) }'], {
    encoding: "utf8",
  });
  if (r.error !== undefined) return (r.error as NodeJS.ErrnoException).code === "ENOENT" ? "Rscript not found on PATH" : `Rscript failed to start: ${r.error.message}`;
  if (r.status === 3) return `R package ${r.stdout.trim()} is not installed (needs rstan, jsonlite, digest, posterior)`;
  if (r.status !== 0) return `Rscript exited with status ${r.status}: ${r.stderr.trim().slice(-300)}`;
  return null;
}

export interface StanRunOptions {
  readonly recompile?: boolean;
  readonly adaptDelta?: number;
  readonly maxTreedepth?: number;
}

/**
 * One rstan run: 4 chains x (1000 + 1000), `seed`. `model` is a benchmark model's name or a
 * folder (relative to the project root) with model.stan and data.json. `workDir` receives the JSON.
 */
export function runRstan(model: string, seed: number, workDir: string, o: StanRunOptions = {}): { output: StanOutput | null; error: string | null } {
  const root = projectRoot();
  mkdirSync(workDir, { recursive: true });
  const out = join(workDir, `${model.replace(/[/\\]/g, "_")}-${seed}.json`);
  rmSync(out, { force: true });
  const args = [join("bench", "stan", "run-stan.R"), model, String(seed), out];
  if (o.recompile) args.push("--recompile");
  if (o.adaptDelta !== undefined) args.push("--adapt-delta", String(o.adaptDelta));
  if (o.maxTreedepth !== undefined) args.push("--max-treedepth", String(o.maxTreedepth));
  const r = spawnSync("Rscript", args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0 || !existsSync(out)) return { output: null, error: `rstan run failed (status ${r.status}): ${(r.stderr ?? "").trim().slice(-500)}` };
  return { output: JSON.parse(readFileSync(out, "utf8")) as StanOutput, error: null };
}

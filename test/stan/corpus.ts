/**
 * posteriordb's Stan programs as vendored in test/stan/posteriordb/ (see its README): the
 * manifest, each program's source, each posterior's data (Stan JSON text) and Stan's log density
 * and gradient at a few unconstrained points (fixtures from rstan 2.21). Shared by
 * `npm run validate:stan`, `npm run bench:stan-front-end` and the fast slice in `npm test`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { projectRoot } from "../../bench/paths.js";

export const corpusDir = join(projectRoot(), "test", "stan", "posteriordb");
const referenceDir = join(projectRoot(), "test", "posteriordb");

export interface CorpusPosterior {
  readonly posterior: string;
  readonly model: string;
  readonly data: string;
  readonly keywords: readonly string[];
  readonly dimensions: Readonly<Record<string, number>>;
  readonly data_vendored: boolean;
  readonly reference_draws: boolean;
}

export interface StanPoint {
  readonly upars: readonly number[];
  readonly log_prob: number;
  readonly gradient: readonly number[];
  /** one_comp_mm_elim_abs only: the program re-solved with integrate_ode_rk45 at 1e-12. */
  readonly log_prob_tight?: number;
}

/** Stan's points for a posterior, or why there are none. */
export type Fixture =
  | { readonly kind: "points"; readonly points: readonly StanPoint[]; readonly file: string }
  | { readonly kind: "stan-failed"; readonly stage: string; readonly message: string }
  | { readonly kind: "missing" };

export function loadManifest(): readonly CorpusPosterior[] {
  return (JSON.parse(readFileSync(join(corpusDir, "manifest.json"), "utf8")) as { posteriors: CorpusPosterior[] }).posteriors;
}

/** The programs, each with its posteriors (manifest order). */
export function programs(manifest = loadManifest()): Map<string, CorpusPosterior[]> {
  const byModel = new Map<string, CorpusPosterior[]>();
  for (const p of manifest) byModel.set(p.model, [...(byModel.get(p.model) ?? []), p]);
  return new Map([...byModel.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

export function programSource(model: string): string {
  return readFileSync(join(corpusDir, "models", `${model}.stan`), "utf8");
}

export function programPath(model: string): string {
  return join("test", "stan", "posteriordb", "models", `${model}.stan`);
}

/** The data set's Stan JSON text, or null when it is not vendored (mnist). */
export function dataText(data: string): string | null {
  const file = join(corpusDir, "data", `${data}.json.gz`);
  return existsSync(file) ? gunzipSync(readFileSync(file)).toString("utf8") : null;
}

/**
 * Stan's points for `posterior`: test/stan/posteriordb/fixtures/<posterior>.json, or for the 26
 * posteriors of test/posteriordb (same program and data) that folder's stan-logprob.json.
 */
export function loadFixture(posterior: string): Fixture {
  const own = join(corpusDir, "fixtures", `${posterior}.json`);
  const reference = join(referenceDir, posterior, "stan-logprob.json");
  const failed = join(corpusDir, "fixtures", `${posterior}.failed.json`);
  for (const file of [own, reference]) {
    if (existsSync(file)) return { kind: "points", points: (JSON.parse(readFileSync(file, "utf8")) as { points: StanPoint[] }).points, file };
  }
  if (existsSync(failed)) {
    const f = JSON.parse(readFileSync(failed, "utf8")) as { stage: string; message: string };
    return { kind: "stan-failed", stage: f.stage, message: f.message };
  }
  return { kind: "missing" };
}

export interface PointComparison {
  /** Worst |(ours_i - ours_0) - (stan_i - stan_0)| / max(1, |stan_i - stan_0|) over points. */
  readonly worstDifference: number;
  /** Worst |g - g_stan| / max(1, |g_stan|) over points and coordinates. */
  readonly worstGradient: number;
  readonly matches: boolean;
  /** The first mismatch, in words (empty when it matches). */
  readonly detail: string;
}

/** Log-density difference tolerance (relative) and gradient tolerance, from issue 21. */
export const DIFFERENCE_TOLERANCE = 1e-8;
export const GRADIENT_TOLERANCE = 1e-6;

/**
 * Compares a log density (`logDensity`, `logDensityGradient` on Stan's unconstrained
 * coordinates) with Stan's at its points: the difference from the first point must be Stan's
 * (the constant `~` drops cancels), the gradient Stan's.
 */
export function comparePoints(
  ld: { readonly dim: number; logDensity(q: Float64Array): number; logDensityGradient(q: Float64Array, g: Float64Array): number },
  points: readonly StanPoint[],
  useTight = false,
): PointComparison {
  const dim = points[0]!.upars.length;
  if (ld.dim !== dim) return { worstDifference: Infinity, worstGradient: Infinity, matches: false, detail: `${ld.dim} unconstrained coordinates, Stan has ${dim}` };
  const stan = points.map((p) => (useTight && p.log_prob_tight !== undefined ? p.log_prob_tight : p.log_prob));
  const ours: number[] = [];
  let worstDifference = 0;
  let worstGradient = 0;
  let detail = "";
  const g = new Float64Array(dim);
  points.forEach((p, i) => {
    const q = Float64Array.from(p.upars);
    ours.push(ld.logDensityGradient(q, g));
    for (let k = 0; k < dim; k++) {
      const err = Math.abs(g[k]! - p.gradient[k]!) / Math.max(1, Math.abs(p.gradient[k]!));
      if (!(err <= worstGradient)) {
        worstGradient = Number.isNaN(err) ? Infinity : err;
        if (!(err <= GRADIENT_TOLERANCE) && detail === "") detail = `gradient[${k}] at point ${i}: ${g[k]} vs Stan ${p.gradient[k]}`;
      }
    }
    if (i > 0) {
      const [dOurs, dStan] = [ours[i]! - ours[0]!, stan[i]! - stan[0]!];
      const err = Math.abs(dOurs - dStan) / Math.max(1, Math.abs(dStan));
      if (!(err <= worstDifference)) {
        worstDifference = Number.isNaN(err) ? Infinity : err;
        if (!(err <= DIFFERENCE_TOLERANCE) && detail === "") detail = `log density at point ${i} minus point 0: ${dOurs} vs Stan ${dStan}`;
      }
    }
  });
  const matches = worstDifference <= DIFFERENCE_TOLERANCE && worstGradient <= GRADIENT_TOLERANCE;
  return { worstDifference, worstGradient, matches, detail };
}

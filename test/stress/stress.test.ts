/**
 * The stress corpus (issue 26) through `sample` with the default and every other adaptation
 * configuration, at three seeds each (a configuration passes only if every seed does): each run
 * completes (divergences counted in the result, not hidden), and where `sampleSync`'s
 * Stan-diagonal posterior is right, every parameter's mean and sd agree with it within 4 MCSE.
 * Then the same corpus through pathfinder, advi and smc: a result or a typed error, nothing else.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  advi,
  ApproxFailedError,
  compile,
  createWorkerPool,
  InvalidModelError,
  InvalidOptionError,
  pathfinder,
  sample,
  sampleSync,
  smc,
  type Posterior,
  type SampleOptions,
} from "../../src/index.js";
import { stressCorpus, type StressCase } from "./corpus.js";

const corpus = stressCorpus();
const pool = createWorkerPool({ threads: 2 });
afterAll(() => pool.close());

/** Every adaptation `sample` offers, the default first. */
const CONFIGS: Record<string, SampleOptions> = {
  default: {},
  "diag per chain": { pooledWarmup: false },
  dense: { metric: "dense" },
  "diag-fisher (nutpie)": { metric: "diag-fisher" },
  "diag-fisher (stan windows)": { metric: "diag-fisher", schedule: "stan" },
  "low-rank": { metric: "low-rank" },
  "low-rank per chain": { metric: "low-rank", pooledWarmup: false },
  "low-rank fixed length": { metric: "low-rank", adaptiveWarmup: false },
};
const SEEDS = [1, 2, 3];

interface Moments {
  mean: number;
  sd: number;
  mcseMean: number;
  mcseSd: number;
}

function moments(p: Posterior, names: readonly string[]): Map<string, Moments> {
  return new Map(p.summary(names, false).map((r) => [r.name, { mean: r.mean, sd: r.sd, mcseMean: r.mcseMean, mcseSd: r.mcseSd }]));
}

// Stan's diagonal posterior of each case where it is right: 4 chains x 1000 draws.
const references = new Map<string, Map<string, Moments>>();
function reference(c: StressCase): Map<string, Moments> {
  let r = references.get(c.name);
  if (r === undefined) {
    const p = sampleSync(compile(c.model), { chains: 4, warmup: 1000, draws: 1000, seed: 101 });
    r = moments(p, c.compare ?? p.names);
    references.set(c.name, r);
  }
  return r;
}

function disagreements(c: StressCase, p: Posterior): string[] {
  const ref = reference(c);
  const got = moments(p, [...ref.keys()]);
  const out: string[] = [];
  for (const [name, r] of ref) {
    const g = got.get(name)!;
    const zMean = (g.mean - r.mean) / Math.hypot(g.mcseMean, r.mcseMean);
    const zSd = (g.sd - r.sd) / Math.hypot(g.mcseSd, r.mcseSd);
    if (!(Math.abs(zMean) <= 4)) out.push(`${name} mean ${g.mean.toPrecision(4)} vs ${r.mean.toPrecision(4)} (z ${zMean.toFixed(1)})`);
    if (!(Math.abs(zSd) <= 4)) out.push(`${name} sd ${g.sd.toPrecision(4)} vs ${r.sd.toPrecision(4)} (z ${zSd.toFixed(1)})`);
  }
  return out;
}

describe("stress corpus through sample: the default and every other adaptation", () => {
  for (const [label, options] of Object.entries(CONFIGS)) {
    describe(label, () => {
      for (const c of corpus) {
        it(`${c.name}: completes at seeds ${SEEDS.join(", ")}${c.stanRight ? ", agrees with Stan's diagonal within 4 MCSE" : ""}`, async () => {
          const failures: string[] = [];
          for (const seed of SEEDS) {
            const p = await sample(c.model, { chains: 4, warmup: c.warmup, draws: c.draws, seed, pool, progress: false, ...options }).result;
            expect(p.status, `seed ${seed}`).toBe("completed");
            if (c.stanRight) for (const d of disagreements(c, p)) failures.push(`seed ${seed}: ${d}`);
            if (c.drawsCheck !== undefined) {
              const draws = Object.fromEntries(p.names.map((n) => [n, p.draws(n).flatMap((x) => Array.from(x))]));
              if (!c.drawsCheck(draws)) failures.push(`seed ${seed}: the draws fail the case's check`);
            }
          }
          expect(failures).toEqual([]);
        }, 300_000);
      }
    });
  }
});

describe("stress corpus through pathfinder, advi and smc: a result or a typed error", () => {
  const typed = (e: unknown) => e instanceof ApproxFailedError || e instanceof InvalidModelError || e instanceof InvalidOptionError;
  for (const c of corpus) {
    it(c.name, async () => {
      // Bad input (smc on a flat prior) throws a typed error at the call; anything else fails `result`.
      const runs: [string, () => Promise<unknown>][] = [
        ["pathfinder", () => pathfinder(c.model, { seed: 1, pool, paths: 2, draws: 200, psisDraws: 200 }).result],
        ["advi", () => advi(c.model, { seed: 1, pool, maxIterations: 2000 }).result],
        ["smc", () => smc(c.model, { seed: 1, pool, chains: 1, particles: 200 }).result],
      ];
      for (const [method, start] of runs) {
        const outcome = await Promise.resolve()
          .then(start)
          .then(
            (p) => ({ ok: true as const, p }),
            (e: unknown) => ({ ok: false as const, e }),
          );
        if (!outcome.ok) expect(typed(outcome.e), `${method} on ${c.name}: ${String(outcome.e)}`).toBe(true);
      }
    }, 300_000);
  }
});

/**
 * Group models for the parameterisation measurements (`bench/reparam.ts`): hierarchical GLMs
 * whose groups are weakly or strongly informed by their data, made from a fixed seed.
 *
 * - `poisson5`: the issue's example, a Poisson GLM with 5 observations per group (40 groups,
 *   counts near 1): D10's count keeps it centred, though the data inform each group weakly.
 * - `poisson5Strong`: the same design with counts near 50 (strongly informed groups).
 * - `normal3Weak` / `normal20Strong`: normal observations, 3 per group with noise sd 5 against a
 *   group sd of 0.5 (weak), 20 per group with noise sd 0.5 against a group sd of 2 (strong).
 */
import { add, dist, exp, gather, model, type Model, type ModelOptions } from "../src/model/index.js";
import { Rng } from "../src/rng/index.js";

export interface GroupModel {
  readonly name: string;
  readonly build: (options?: ModelOptions) => Model;
  readonly description: string;
}

function poissonDraw(rng: Rng, lambda: number): number {
  // Knuth's method for small rates, normal approximation (rounded, at least 0) beyond.
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * rng.normal()));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng.uniform();
  } while (p > l);
  return k - 1;
}

function poissonGroups(name: string, groups: number, perGroup: number, alpha: number, tau: number, seed: number, description: string): GroupModel {
  const rng = Rng.fromSeed(seed, 0);
  const effects = Array.from({ length: groups }, () => tau * rng.normal());
  const group = Array.from({ length: groups * perGroup }, (_, i) => Math.floor(i / perGroup));
  const y = group.map((g) => poissonDraw(rng, Math.exp(alpha + effects[g]!)));
  return {
    name,
    description,
    build: (options) =>
      model(
        name,
        (m) => {
          const a = m.param("alpha", dist.normal(0, 5));
          const t = m.param("tau", dist.halfNormal(1));
          const b = m.param("b", dist.normal(0, t), { shape: [groups] });
          m.observe("y", dist.poisson(exp(add(a, gather(b, group)))), y);
        },
        options,
      ),
  };
}

function normalGroups(name: string, groups: number, perGroup: number, tau: number, sigma: number, seed: number, description: string): GroupModel {
  const rng = Rng.fromSeed(seed, 0);
  const effects = Array.from({ length: groups }, () => tau * rng.normal());
  const group = Array.from({ length: groups * perGroup }, (_, i) => Math.floor(i / perGroup));
  const y = group.map((g) => 1 + effects[g]! + sigma * rng.normal());
  return {
    name,
    description,
    build: (options) =>
      model(
        name,
        (m) => {
          const mu = m.param("mu", dist.normal(0, 5));
          const t = m.param("tau", dist.halfNormal(5));
          const th = m.param("theta", dist.normal(mu, t), { shape: [groups] });
          m.data("sigma", sigma);
          m.observe("y", dist.normal(gather(th, group), sigma), y);
        },
        options,
      ),
  };
}

export const GROUP_MODELS: readonly GroupModel[] = [
  poissonGroups("poisson5", 40, 5, 0, 0.3, 5, "Poisson GLM, 40 groups x 5 observations, counts near 1, group sd 0.3 (weakly informed)"),
  poissonGroups("poisson5Strong", 40, 5, 4, 0.3, 6, "Poisson GLM, 40 groups x 5 observations, counts near 55, group sd 0.3 (strongly informed)"),
  normalGroups("normal3Weak", 30, 3, 0.5, 5, 7, "normal, 30 groups x 3 observations, noise sd 5, group sd 0.5 (weakly informed)"),
  normalGroups("normal20Strong", 30, 20, 2, 0.5, 8, "normal, 30 groups x 20 observations, noise sd 0.5, group sd 2 (strongly informed)"),
];

/**
 * The `init` option of `sample` (random inits, or Pathfinder's: pathfinder-init.ts runs it),
 * checked with the other options before any worker starts. Apart from pathfinder-init.ts so that
 * the options' validation (sample-options.ts) does not import the run that uses it.
 */
import { validatePathfinderOptions, type PathfinderOptions } from "./approx-options.js";
import { bad, record } from "./validators.js";

/** Pathfinder's options for `init` (its run options are the sample's). */
export type PathfinderInitOptions = Omit<PathfinderOptions, "seed" | "threads" | "pool" | "restart" | "chunkTimeout" | "workerResourceLimits" | "inits">;

/** `init`: "random" (Stan's uniform(-2, 2), the default), "pathfinder", or `{ pathfinder: options }`. */
export type InitOption = "random" | "pathfinder" | { readonly pathfinder: PathfinderInitOptions };

export interface ValidatedInit {
  readonly pathfinder: PathfinderInitOptions;
}

/** Checks `init` (and that it does not meet `inits`); null for random inits. */
export function validateInit(options: { readonly init?: InitOption; readonly inits?: unknown }): ValidatedInit | null {
  const v = options.init ?? "random";
  if (v === "random") return null;
  let pathfinder: PathfinderInitOptions;
  if (v === "pathfinder") pathfinder = {};
  else {
    const r = record("init", v, ["pathfinder"]);
    pathfinder = (r.pathfinder ?? {}) as PathfinderInitOptions;
  }
  if (options.inits !== undefined) bad("init", v, 'left out with `inits` (the chains start at the given values), or "random"');
  if (pathfinder.psisResample === false) bad("init.pathfinder.psisResample", false, "true (the inits are importance-resampled draws)");
  // Checked now, before any worker starts (seed and pool come from the run).
  validatePathfinderOptions({ ...pathfinder, seed: 0 });
  return { pathfinder };
}

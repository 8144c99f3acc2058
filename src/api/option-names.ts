/**
 * The nearest known option name to an unknown one, for error messages: Stan's, CmdStan's
 * and PyMC's spellings of the same options first (`adapt_delta` -> `targetAccept`), then the
 * closest name by edit distance (case and underscores ignored), when close enough.
 */

/** Other tools' names of our options. */
const ALIASES: Readonly<Record<string, string>> = {
  adapt_delta: "targetAccept",
  adaptdelta: "targetAccept",
  delta: "targetAccept",
  target_accept: "targetAccept",
  num_warmup: "warmup",
  iter_warmup: "warmup",
  tune: "warmup",
  num_samples: "draws",
  iter_sampling: "draws",
  samples: "draws",
  iter: "draws",
  num_chains: "chains",
  chain: "chains",
  cores: "threads",
  parallel_chains: "threads",
  random_seed: "seed",
  max_treedepth: "maxTreeDepth",
  max_depth: "maxTreeDepth",
  treedepth: "maxTreeDepth",
  stepsize: "stepSize",
  step_size: "stepSize",
  save_warmup: "saveWarmup",
  discard_tuned_samples: "saveWarmup",
  init_radius: "initRadius",
  initvals: "inits",
  refresh: "progress",
  progressbar: "progress",
};

function squash(s: string): string {
  return s.toLowerCase().replace(/[_\-\s]/g, "");
}

/** Levenshtein distance (small strings: option names). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The known name `name` most likely meant, or null when none is close. */
export function nearestName(name: string, known: Iterable<string>): string | null {
  const names = [...known];
  const alias = ALIASES[name.toLowerCase()];
  if (alias !== undefined && names.includes(alias)) return alias;
  const s = squash(name);
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of names) {
    const d = distance(s, squash(k));
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  // Close: at most a third of the name's letters differ (and at least one letter may).
  return best !== null && bestD <= Math.max(1, Math.floor(s.length / 3)) ? best : null;
}

/** " (did you mean targetAccept?)", or "" when nothing is close. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const n = nearestName(name, known);
  return n === null ? "" : ` (did you mean ${n}?)`;
}

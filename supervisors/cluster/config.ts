/**
 * What the API needs of the cluster without loading it (a run without `cluster` never loads
 * `@effect/cluster` or a database driver): its typed error and its timings.
 */
import { Data, type Duration } from "effect";

/**
 * A cluster run could not start: the database is unreachable or refused a query, no runner
 * is alive in it, or the in-process runner's threads could not start.
 */
export class ClusterStartError extends Data.TaggedError("ClusterStartError")<{ readonly message: string }> {}

/** The packages cluster runs need: optional peer dependencies of @bayests/runtime (a local run does without them). */
export const CLUSTER_PACKAGES = ["@effect/cluster", "@effect/experimental", "@effect/platform", "@effect/platform-node", "@effect/rpc", "@effect/sql", "@effect/sql-pg", "@effect/workflow"] as const;

/** Cluster timings of runners and clients (the defaults suit a LAN; the tests shorten them). */
export interface ClusterTimings {
  /** A runner that stops renewing its shard locks for this long loses them (its chains move). */
  readonly lockExpiration: Duration.DurationInput;
  /** How often a runner pings the others (a dead one is found about this fast). */
  readonly healthCheck: Duration.DurationInput;
  /** How often runners and clients re-read who the runners are. */
  readonly refreshAssignments: Duration.DurationInput;
  /** How often a runner looks in storage for messages it was not told about. */
  readonly messagePoll: Duration.DurationInput;
}

export const DEFAULT_TIMINGS: ClusterTimings = {
  lockExpiration: "15 seconds",
  healthCheck: "5 seconds",
  refreshAssignments: "1 second",
  messagePoll: "2 seconds",
};

/** Characters a cluster key needs at least (it signs models as an operator key: `trustModelKey`'s minimum). */
export const MIN_KEY_CHARS = 32;

/** An error's message and its cause's (the database driver's reason: "connect ECONNREFUSED ..."). */
export function withCause(e: unknown): string {
  const text = (x: unknown) => (typeof x === "object" && x !== null && "message" in x ? String((x as { message: unknown }).message) : String(x));
  const cause = typeof e === "object" && e !== null && "cause" in e ? (e as { cause: unknown }).cause : undefined;
  return cause === undefined || cause === null ? text(e) : `${text(e)} (${text(cause)})`;
}

/** Whether `e`, or an error in its chain of causes, has this system error code ("EADDRINUSE"). */
export function hasErrorCode(e: unknown, code: string): boolean {
  const seen = new Set<unknown>();
  for (let x: unknown = e; typeof x === "object" && x !== null && !seen.has(x); x = (x as { cause?: unknown }).cause) {
    seen.add(x);
    if ((x as { code?: unknown }).code === code) return true;
  }
  return false;
}

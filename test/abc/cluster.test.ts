/**
 * ABC on the cluster: simulation batches sent to runners as chains' chunks are. The same seed
 * must give the local pool's population bit for bit, on the in-process runner and on runner
 * processes sharing a throw-away PostgreSQL (started here unless BAYESTS_TEST_DATABASE_URL
 * names one); a simulator that crashes, hangs or throws on runners must give the clean
 * simulator's population; a runner not allowed the simulator's folder refuses with a typed
 * failure naming `--simulators`.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abcSmc, ApproxFailedError, dist, model, sample, simulator, type AbcPosterior } from "../../src/index.js";
import { liveWorkerThreads } from "../../supervisors/worker-pool.js";
import { startPostgres, type LocalPostgres } from "../helpers/postgres.js";
import { alive, FAST_FAILOVER, startRunner, waitForShards, type RunnerProcess } from "../helpers/runners.js";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const KEY = `abc-cluster-test-${randomBytes(12).toString("hex")}`;
const observed = [1.42, 0.31, 2.12, 1.05, 0.66, 1.9, 1.28, 0.04, 1.73, 1.15, 0.88, 2.4, 0.52, 1.61, 0.97, 1.33, 0.12, 1.84, 1.07, 0.76];
const prior = model("mu_prior", (b) => {
  b.param("mu", dist.normal(0, 5));
});
const OPTIONS = { prior, observed, particles: 200, seed: 4, maxGenerations: 3 } as const;

function expectSamePopulation(got: AbcPosterior, want: AbcPosterior): void {
  expect(got.simulations).toBe(want.simulations);
  expect(Array.from(got.particles)).toEqual(Array.from(want.particles));
  expect(Array.from(got.weights)).toEqual(Array.from(want.weights));
  expect(got.generations.map((g) => g.tolerance)).toEqual(want.generations.map((g) => g.tolerance));
}

let pg: LocalPostgres;
let local: AbcPosterior;
const runners: RunnerProcess[] = [];

beforeAll(async () => {
  [pg, local] = await Promise.all([startPostgres(), abcSmc(simulator(fixture("normal-mean.mjs")), { ...OPTIONS, threads: 2 }).result]);
}, 300_000);

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await pg?.stop();
  for (const r of runners) expect(alive(r.pid), `runner ${r.address}`).toBe(false);
  if (pg?.pid != null) expect(alive(pg.pid), "PostgreSQL").toBe(false);
  expect(liveWorkerThreads()).toBe(0);
}, 120_000);

describe("ABC on the cluster", () => {
  it("on the in-process runner: the local pool's population for the same seed", async () => {
    const post = await abcSmc(simulator(fixture("normal-mean.mjs")), { ...OPTIONS, threads: 2, cluster: true }).result;
    expectSamePopulation(post, local);
    expect([...post.runners!.entries()]).toEqual([["in-process", 2]]);
  });

  it("on two runner processes: the local pool's population, the runners and their threads named; faults dropped as locally; a runner without the simulator's folder refuses", async () => {
    const database = await pg.createDatabase("abc_cluster");
    const allowed = ["--simulators", dirname(fixture("normal-mean.mjs"))];
    const started = await Promise.all([
      startRunner({ database, key: KEY, threads: 1, args: [...FAST_FAILOVER, ...allowed] }),
      startRunner({ database, key: KEY, threads: 2, args: [...FAST_FAILOVER, ...allowed] }),
    ]);
    runners.push(...started);
    await waitForShards(database, 2);
    const cluster = { database, key: KEY };

    const events: string[] = [];
    const run = abcSmc(simulator(fixture("normal-mean.mjs")), { ...OPTIONS, cluster });
    run.events$.subscribe((e) => events.push(e.type));
    const post = await run.result;
    expectSamePopulation(post, local);
    expect(events).toContain("cluster-connected");
    expect(new Set(post.runners!.keys())).toEqual(new Set(started.map((r) => r.address)));
    expect(post.threads).toBe(3);
    expect(post.toString()).toContain("on 2 runners with 3 threads");

    // A sampling run's summary on the same runners names them and their threads (issue 25).
    const chains = await sample(prior, { chains: 8, warmup: 100, draws: 100, seed: 1, progress: false, cluster }).result;
    const threadsOf = new Map(started.map((r, i) => [r.address, i + 1]));
    const used = [...chains.runners!];
    expect(used.length).toBeGreaterThan(0);
    for (const [address, threads] of used) expect(threads).toBe(threadsOf.get(address));
    expect(chains.threads).toBe(used.reduce((t, [, n]) => t + n, 0));
    const each = used.map(([address, n]) => `${address}: ${n}`).join(", ");
    expect(chains.formatSummary()).toContain(`${used.length} runner${used.length === 1 ? "" : "s"} with ${chains.threads} thread${chains.threads === 1 ? "" : "s"} (${each})`);

    // Crashes, hangs and throws on the runners: the clean run's population, as on local threads.
    const faultOptions = { ...OPTIONS, seed: 8, simulationTimeout: "1 second" } as const;
    const faulty = await abcSmc(simulator(fixture("faulty-normal.mjs")), { ...faultOptions, cluster }).result;
    const clean = await abcSmc(simulator(fixture("faulty-normal.mjs"), { simulate: "clean" }), { ...faultOptions, threads: 2 }).result;
    const count = (k: "crashed" | "timedOut" | "failed") => faulty.generations.reduce((s, g) => s + g[k], 0);
    console.log(`faulty simulator on runners: ${faulty.simulations} simulations, ${count("crashed")} crashed, ${count("timedOut")} timed out, ${count("failed")} threw`);
    expect(count("crashed")).toBeGreaterThan(0);
    expect(count("timedOut")).toBeGreaterThan(0);
    expect(count("failed")).toBeGreaterThan(0);
    expectSamePopulation(faulty, clean);

    // A simulator outside the runners' --simulators folders: refused, typed, and the run fails.
    const outside = join(mkdtempSync(join(tmpdir(), "abc-outside-")), "normal-mean.mjs");
    copyFileSync(fixture("normal-mean.mjs"), outside);
    const refused = await abcSmc(simulator(outside), { ...OPTIONS, cluster }).result.catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApproxFailedError);
    expect((refused as Error).message).toMatch(/--simulators/);
  }, 300_000);
});

/**
 * The fault harness's client: one cluster run of the `logistic` benchmark model in a process
 * of its own (so that it can live in a network namespace), its options from `FAULT_CLIENT`
 * (JSON), its events on stdout as JSON lines (`{"t":seconds,"event":{...}}`), then one line
 * `{"done":{...}}` with the run's status and each chain's digest (`chainDigest`), or
 * `{"error":"..."}` if the run failed as a whole.
 */
import type { Duration } from "effect";
import { compile } from "../../src/compile/index.js";
import { sample } from "../../src/api/sample.js";
import { benchmarkModel } from "../../bench/models/index.js";
import { chainDigest } from "./digest.js";

/** What the client is asked to run. */
export interface FaultClientConfig {
  readonly database: string;
  readonly key: string;
  readonly chains: number;
  readonly warmup: number;
  readonly draws: number;
  readonly seed: number;
  readonly lease?: Duration.DurationInput;
  readonly replyTimeout?: Duration.DurationInput;
  readonly chunkTimeout?: Duration.DurationInput;
}

const config = JSON.parse(process.env.FAULT_CLIENT ?? "null") as FaultClientConfig | null;
if (config === null) {
  process.stderr.write("client-main: FAULT_CLIENT (JSON) is needed\n");
  process.exit(2);
}
const t0 = performance.now();
const line = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const run = sample(compile(benchmarkModel("logistic")), {
  chains: config.chains,
  warmup: config.warmup,
  draws: config.draws,
  seed: config.seed,
  progress: false,
  ...(config.chunkTimeout === undefined ? {} : { chunkTimeout: config.chunkTimeout }),
  cluster: {
    database: config.database,
    key: config.key,
    ...(config.lease === undefined ? {} : { lease: config.lease }),
    ...(config.replyTimeout === undefined ? {} : { replyTimeout: config.replyTimeout }),
  },
});
run.events$.subscribe((e) => line({ t: (performance.now() - t0) / 1000, event: e }));
try {
  const p = await run.result;
  finish({
    done: {
      seconds: (performance.now() - t0) / 1000,
      status: p.status,
      chainStatus: p.chainStatus.map((s) => s.status),
      digests: p.chains.map(chainDigest),
    },
  });
} catch (e) {
  finish({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
}

/** The last line, then exit (whatever the run left open). */
function finish(o: object): void {
  process.stdout.write(`${JSON.stringify(o)}\n`, () => process.exit(0));
}

/**
 * A live dashboard of a run long enough to watch: centred eight schools (a funnel, so there
 * are divergences to see in red on the pair plot), 4 chains x (1000 + 100000) draws, with the
 * terminal progress as well. Prints the URL; open it in a browser. When the run is over the
 * page stays up until Ctrl-C (on a terminal; otherwise the script ends with the run).
 *
 *   npm run example:dashboard [-- --draws 100000 --port 8080 --theme light --host 127.0.0.1]
 */
import { parseArgs } from "node:util";
import { dist, model, sample } from "../src/index.js";

const { values } = parseArgs({
  options: {
    draws: { type: "string", default: "100000" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    theme: { type: "string", default: "dark" },
  },
});

const centred = model("eight_schools_centred", (m) => {
  const sigma = m.data("sigma", [15, 10, 16, 11, 9, 11, 10, 18]);
  const mu = m.param("mu", dist.normal(0, 5));
  const tau = m.param("tau", dist.halfCauchy(5));
  const theta = m.param("theta", dist.normal(mu, tau), { shape: [8], noncentered: false });
  m.observe("y", dist.normal(theta, sigma), [28, 8, -3, 7, -1, 1, 18, 12]);
});

const run = sample(centred, {
  chains: 4,
  warmup: 1000,
  draws: Number(values.draws),
  seed: 1,
  progress: true,
  dashboard: { port: Number(values.port), host: values.host, theme: values.theme === "light" ? "light" : "dark" },
});
const dashboard = await run.dashboard!;
const posterior = await run.result;
await run.progressDisplay?.done;
console.log("\n" + posterior.formatSummary(["mu", "tau", "theta[1]"]));
if (process.stdin.isTTY) {
  console.log(`\nThe dashboard stays at ${dashboard.url} until Ctrl-C.`);
  // A signal handler alone does not keep Node running: a timer does, until Ctrl-C.
  const keepAlive = setInterval(() => undefined, 60_000);
  await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  clearInterval(keepAlive);
}
await dashboard.close();

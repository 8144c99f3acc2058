/**
 * The Effect-native API: `sampleEffect` (typed errors, the pool as a scoped resource) and
 * `sampleRunEffect` (the run handle in a Scope: leaving the scope aborts the run and
 * returns its partial posterior).
 *
 *   npm run example:effect
 */
import { Console, Effect } from "effect";
import { dist, model, sampleEffect, sampleRunEffect } from "../src/index.js";

const coin = model("coin", (m) => {
  const p = m.param("p", dist.beta(1, 1));
  m.observe("flips", dist.bernoulli(p), [1, 0, 1, 1, 0, 1, 1, 1, 0, 1]);
});

const program = Effect.gen(function* () {
  // 1. A run as an Effect; its errors are typed.
  const posterior = yield* sampleEffect(coin, { chains: 4, seed: 3 });
  yield* Console.log(posterior.formatSummary());

  // 2. A bad option fails before any worker starts, as a tagged error.
  const bad = yield* Effect.either(sampleEffect(coin, { chains: 4, draws: -5 }));
  if (bad._tag === "Left") yield* Console.log(`\n${bad.left._tag}: ${bad.left.message}`);

  // 3. A long run bound to a scope: a second of streaming, then the scope closes and aborts it.
  const run = yield* Effect.scoped(
    Effect.gen(function* () {
      const run = yield* sampleRunEffect(coin, { chains: 4, warmup: 200, draws: 10_000_000, seed: 3 });
      let draws = 0;
      run.batches$.subscribe((b) => (draws += b.count));
      yield* Effect.sleep("1 second");
      yield* Console.log(`\n${draws} draws streamed in 1 s; closing the scope`);
      return run;
    }),
  );
  const partial = yield* Effect.promise(() => run.result);
  yield* Console.log(`run ${partial.status} (${partial.abortReason}): ${partial.numDraws} draws per chain kept, p mean ${partial.summary(["p"], false)[0]!.mean.toFixed(3)}`);
});

await Effect.runPromise(program);

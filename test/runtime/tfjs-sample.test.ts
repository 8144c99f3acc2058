/**
 * `sample` runs a tfjs-backed model on its worker threads (each thread validates the tfjs form
 * and builds its tensors once), and the draws pass posteriordb's pass rule against a js-backend
 * reference. The large run is `npm run validate:tfjs` (N = 10,000, P = 20); here a smaller one
 * keeps the suite short.
 */
import { expect, test } from "vitest";
import { runTfjsLogistic } from "../validate/tfjs-logistic.js";

test("a logistic regression sampled with the tfjs backend (wasm) on worker threads passes the pass rule against js", async () => {
  const { check, tfjs, float32 } = await runTfjsLogistic({ n: 2000, p: 5, warmup: 300, draws: 300, device: "wasm" });
  expect(tfjs.backend).toMatchObject({ backend: "tfjs", device: "wasm", requested: "tfjs" });
  expect(check.failures).toEqual([]);
  expect(check.passed).toBe(true);
  // What float32 adds to the energy error of a transition (lp_tfjs - lp_js varies by this much
  // between draws): far below NUTS's own energy errors (0.1-1).
  expect(float32.sd).toBeLessThan(1e-3);
}, 300_000);

/**
 * posteriordb's lotka_volterra (hudson_lynx_hare data) through the builder's `ode`, as the
 * Stan program writes it: integrate_ode_rk45(dz_dt, z_init, 0, ts, theta, ..., 1e-5, 1e-3, 5e2).
 */
import { dist, log, model, ode, stack, sub, mul, add, neg, type Model } from "../src/model/index.js";
import type { OdeMethod } from "../src/ode/index.js";

export interface LotkaVolterraData {
  readonly N: number;
  readonly ts: readonly number[];
  readonly y_init: readonly number[];
  readonly y: readonly (readonly number[])[];
}

/** The model; `method` (default rk45, as Stan's program) and tolerances can be changed for benchmarks. */
export function lotkaVolterra(d: LotkaVolterraData, o: { method?: OdeMethod; rtol?: number; atol?: number; maxSteps?: number } = {}): Model {
  return model("lotka_volterra", (b) => {
    const theta = b.param("theta", dist.normal([1, 0.05, 1, 0.05], [0.5, 0.05, 0.5, 0.05]), { shape: [4], lower: 0 });
    const zInit = b.param("z_init", dist.logNormal(Math.log(10), 1), { shape: [2], lower: 0 });
    const sigma = b.param("sigma", dist.logNormal(-1, 1), { shape: [2], lower: 0 });
    const z = ode(
      (_t, z, [th]) => {
        const [u, v] = [z.at(0), z.at(1)];
        const [alpha, beta, gamma, delta] = [th!.at(0), th!.at(1), th!.at(2), th!.at(3)];
        return stack([mul(sub(alpha, mul(beta, v)), u), mul(add(neg(gamma), mul(delta, u)), v)]);
      },
      { y0: zInit, t0: 0, ts: d.ts, args: [theta], method: o.method ?? "rk45", rtol: o.rtol ?? 1e-5, atol: o.atol ?? 1e-3, maxSteps: o.maxSteps ?? 500 },
    );
    b.deterministic("z", z);
    for (let k = 0; k < 2; k++) {
      b.observe(`y_init_${k}`, dist.logNormal(log(zInit.at(k)), sigma.at(k)), d.y_init[k]!);
      b.observe(`y_${k}`, dist.logNormal(log(z.reshape([d.N * 2]).at(Array.from({ length: d.N }, (_, i) => i * 2 + k))), sigma.at(k)), d.y.map((r) => r[k]!));
    }
  });
}

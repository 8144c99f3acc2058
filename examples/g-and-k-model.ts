/**
 * The g-and-k distribution's exact likelihood, written with the builder: its density has no
 * closed form, but for each observation x the normal quantile z with Q(z) = x can be found by
 * Newton's method, and then log f(x) = log phi(z) - log Q'(z). The iterations run inside
 * `scan` (a vector of z, one per observation), so reverse mode differentiates through them;
 * once they have converged that derivative is the implicit one. Steps are damped (tanh of the
 * Newton step, at most 1 in z) so that no step overshoots where Q bends sharply.
 */
import { add, constant, div, log, model, mul, pow, reshape, scan, slice, square, sub, sum, tanh, type Expr, type Model } from "../src/index.js";
import { C } from "./simulators/g-and-k.js";

/**
 * Newton iterations per evaluation. From the start below, 11 steps reach 1e-10 in z for every
 * z in [-4, 4] over the prior's corners (a, b in {0.1, 5}, g, k up to 9; measured); 14 leave room.
 */
const NEWTON_STEPS = 14;

/** The g-and-k model for `data` with Uniform(0, 10) priors on a, b, g and k (the usual benchmark's). */
export function gAndKModel(data: readonly number[]): Model {
  return model("g_and_k", (m) => {
    const a = m.param("a", { lower: 0, upper: 10 });
    const b = m.param("b", { lower: 0, upper: 10 });
    const g = m.param("g", { lower: 0, upper: 10 });
    const k = m.param("k", { lower: 0, upper: 10 });
    const x = constant(data);
    const q = (z: Expr) => add(a, mul(mul(mul(b, add(1, mul(C, tanh(mul(div(g, 2), z))))), z), pow(add(1, square(z)), k)));
    // Q'(z) = b (1 + z^2)^(k - 1) [(1 + c t)(1 + (1 + 2k) z^2) + c g z (1 + z^2)(1 - t^2) / 2], t = tanh(g z / 2).
    const dq = (z: Expr) => {
      const t = tanh(mul(div(g, 2), z));
      const z2 = square(z);
      const first = mul(add(1, mul(C, t)), add(1, mul(add(1, mul(2, k)), z2)));
      const second = mul(mul(mul(mul(C / 2, g), z), add(1, z2)), sub(1, square(t)));
      return mul(mul(b, pow(add(1, z2), sub(k, 1))), add(first, second));
    };
    // Start from the tails' growth, Q ~ a + b z |z|^2k: z0 = sign(y) |y|^(1 / (1 + 2k)), y = (x - a) / b.
    const y = div(sub(x, a), b);
    const z0 = mul(y, pow(add(square(y), 1e-300), div(sub(div(1, add(1, mul(2, k))), 1), 2)));
    const steps = scan({ init: z0, length: NEWTON_STEPS }, (z) => sub(z, tanh(div(sub(q(z), x), dq(z)))));
    // The scan stacks z after every step: its last row is the solution.
    const n = data.length;
    const zn = slice(reshape(steps, [NEWTON_STEPS * n]), (NEWTON_STEPS - 1) * n);
    m.potential("likelihood", sub(mul(-0.5, sum(square(zn))), sum(log(dq(zn)))));
  });
}

/**
 * The reference problems of scripts/ode-reference.py as OdeProblems with hand-written Jacobians,
 * and the builder's forced oscillator with the points at which the tests of parameter-dependent
 * times check gradients.
 */
import { add, exp, mul, neg, stack, sub, type Expr } from "../../src/model/index.js";
import type { OdeProblem } from "../../src/ode/index.js";

/** A forced, damped oscillator: y0' = y1, y1' = -a y0 - 0.3 y1 + 0.5 exp(-t) (f reads t, so a shift of the times is no mere shift). */
export const forcedOscillator = (t: Expr, y: Expr, [a]: Expr[]) => stack([y.at(1), add(sub(mul(neg(a!), y.at(0)), mul(0.3, y.at(1))), mul(0.5, exp(neg(t))))]);

/** Unconstrained points (the first `dim` coordinates are used) where those gradients are checked. */
export const TIME_GRADIENT_POINTS = [Float64Array.of(0.1, -0.2, 0.9), Float64Array.of(-0.3, 0.4, 1.2), Float64Array.of(0.5, 0.1, 0.7)];

type Rhs = (t: number, y: Float64Array, p: Float64Array) => number[];
/** Jacobian rows: [df_s/dy (n), df_s/dp (np)] for each state s. */
type Jac = (t: number, y: Float64Array, p: Float64Array) => [number[], number[]][];

function problem(n: number, np: number, rhs: Rhs, jac: Jac): OdeProblem {
  return {
    n,
    np,
    rhs(t, y, p, dy) {
      rhs(t, y, p).forEach((v, k) => (dy[k] = v));
    },
    vjp(t, y, p, w, gy, gp) {
      gy.fill(0);
      gp.fill(0);
      jac(t, y, p).forEach(([dy, dp], s) => {
        dy.forEach((v, k) => (gy[k]! += w[s]! * v));
        dp.forEach((v, k) => (gp[k]! += w[s]! * v));
      });
    },
  };
}

export const PROBLEMS: Record<string, OdeProblem> = {
  lotka_volterra: problem(
    2,
    4,
    (_t, [u, v], [a, b, g, d]) => [(a! - b! * v!) * u!, (-g! + d! * u!) * v!],
    (_t, [u, v], [a, b, g, d]) => [
      [[a! - b! * v!, -b! * u!], [u!, -v! * u!, 0, 0]],
      [[d! * v!, -g! + d! * u!], [0, 0, -v!, u! * v!]],
    ],
  ),
  sir: problem(
    4,
    5,
    (_t, [S, I, , B], [beta, kappa, gamma, xi, delta]) => {
      const inf = ((beta! * B!) / (B! + kappa!)) * S!;
      return [-inf, inf - gamma! * I!, gamma! * I!, xi! * I! - delta! * B!];
    },
    (_t, [S, I, , B], [beta, kappa, gamma, xi, delta]) => {
      const r = B! / (B! + kappa!);
      const dS = [beta! * r, 0, 0, (beta! * S! * kappa!) / (B! + kappa!) ** 2];
      const dP = [r * S!, (-beta! * S! * B!) / (B! + kappa!) ** 2, 0, 0, 0];
      return [
        [dS.map((v) => -v), dP.map((v) => -v)],
        [[dS[0]!, -gamma!, 0, dS[3]!], [dP[0]!, dP[1]!, -I!, 0, 0]],
        [[0, gamma!, 0, 0], [0, 0, I!, 0, 0]],
        [[0, xi!, 0, -delta!], [0, 0, 0, I!, -B!]],
      ];
    },
  ),
  one_comp_mm: problem(
    1,
    5,
    (t, [C], [ka, Km, Vm, D, V]) => [(Math.exp(-ka! * t) * D! * ka!) / V! - ((Vm! / V!) * C!) / (Km! + C!)],
    (t, [C], [ka, Km, Vm, D, V]) => {
      const e = Math.exp(-ka! * t);
      return [
        [
          [(-(Vm! / V!) * Km!) / (Km! + C!) ** 2],
          [(e * D! * (1 - ka! * t)) / V!, ((Vm! / V!) * C!) / (Km! + C!) ** 2, -C! / (V! * (Km! + C!)), (e * ka!) / V!, (-e * D! * ka!) / V! ** 2 + (Vm! * C!) / (V! ** 2 * (Km! + C!))],
        ],
      ];
    },
  ),
  robertson: problem(
    3,
    3,
    (_t, [a, b, c], [k1, k2, k3]) => [-k1! * a! + k3! * b! * c!, k1! * a! - k3! * b! * c! - k2! * b! * b!, k2! * b! * b!],
    (_t, [a, b, c], [k1, k2, k3]) => [
      [[-k1!, k3! * c!, k3! * b!], [-a!, 0, b! * c!]],
      [[k1!, -k3! * c! - 2 * k2! * b!, -k3! * b!], [a!, -b! * b!, -b! * c!]],
      [[0, 2 * k2! * b!, 0], [0, b! * b!, 0]],
    ],
  ),
  van_der_pol: problem(
    2,
    1,
    (_t, [x, v], [mu]) => [v!, mu! * (1 - x! * x!) * v! - x!],
    (_t, [x, v], [mu]) => [
      [[0, 1], [0]],
      [[-2 * mu! * x! * v! - 1, mu! * (1 - x! * x!)], [(1 - x! * x!) * v!]],
    ],
  ),
};

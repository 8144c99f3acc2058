/**
 * The g-and-k distribution (Haynes et al. 1997; a standard ABC benchmark, Drovandi and
 * Pettitt 2011): defined by its quantile function
 *
 *   Q(u) = a + b (1 + c tanh(g z / 2)) z (1 + z^2)^k,   z = Phi^-1(u),   c = 0.8,
 *
 * easy to simulate (transform standard normals) while its density has no closed form. The
 * summary is the octiles' robust measures of location, scale, skewness and kurtosis (Drovandi
 * and Pettitt's).
 */
import type { SimulatorParams, SimulatorRng } from "../../src/index.js";

export const C = 0.8;
export const SIZE = 200;

/** Q at standard normal z. */
export function gAndKQuantile(z: number, a: number, b: number, g: number, k: number): number {
  return a + b * (1 + C * Math.tanh((g * z) / 2)) * z * Math.pow(1 + z * z, k);
}

/** SIZE draws. */
export function simulate(params: SimulatorParams, rng: SimulatorRng): number[] {
  const { a, b, g, k } = params as Record<"a" | "b" | "g" | "k", number>;
  return Array.from({ length: SIZE }, () => gAndKQuantile(rng.normal(), a, b, g, k));
}

function octiles(x: readonly number[]): number[] {
  const s = [...x].sort((p, q) => p - q);
  return [1, 2, 3, 4, 5, 6, 7].map((j) => {
    const h = ((s.length - 1) * j) / 8;
    const lo = Math.floor(h);
    return s[lo]! + (h - lo) * (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!);
  });
}

/** Robust location, scale, skewness and kurtosis from the octiles E1..E7. */
export function summary(x: readonly number[]): number[] {
  const [e1, e2, e3, e4, e5, e6, e7] = octiles(x) as [number, number, number, number, number, number, number];
  const scale = e6 - e2;
  return [e4, scale, (e6 + e2 - 2 * e4) / scale, (e7 - e5 + e3 - e1) / scale];
}

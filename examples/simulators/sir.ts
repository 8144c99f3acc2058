/**
 * A stochastic SIR epidemic (Gillespie's direct method) in a closed population of 500 with 5
 * infected at day 0, observed as the number of new cases per week over 12 weeks. Parameters:
 * `beta` (infection rate) and `gamma` (recovery rate), per day. The summary is the weekly
 * counts, their total and the week of the peak: what an outbreak report gives.
 */
import type { SimulatorParams, SimulatorRng } from "../../src/index.js";

const POPULATION = 500;
const INITIAL_INFECTED = 5;
const WEEKS = 12;

/** New cases in each of the 12 weeks. */
export function simulate(params: SimulatorParams, rng: SimulatorRng): number[] {
  const beta = params.beta as number;
  const gamma = params.gamma as number;
  let s = POPULATION - INITIAL_INFECTED;
  let i = INITIAL_INFECTED;
  let t = 0;
  const weekly = new Array<number>(WEEKS).fill(0);
  while (i > 0) {
    const infection = (beta * s * i) / POPULATION;
    const recovery = gamma * i;
    const total = infection + recovery;
    t += rng.exponential(total);
    const week = Math.floor(t / 7);
    if (week >= WEEKS) break;
    if (rng.uniform() * total < infection) {
      s--;
      i++;
      weekly[week]!++;
    } else {
      i--;
    }
  }
  return weekly;
}

/** Weekly counts (square-root scaled, which steadies their variance), the total, and the peak week. */
export function summary(weekly: readonly number[]): number[] {
  let peak = 0;
  for (let w = 1; w < weekly.length; w++) if (weekly[w]! > weekly[peak]!) peak = w;
  return [...weekly.map(Math.sqrt), Math.sqrt(weekly.reduce((a, b) => a + b, 0)), peak];
}

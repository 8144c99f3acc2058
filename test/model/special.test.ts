/**
 * The generated code's runtime helpers logistic and log1pExp: logistic reuses the exp that
 * log1pExp took for the same argument (reverse mode calls them in that order), and must give
 * the bits of the plain formulas whatever was called before it.
 */
import { describe, expect, it } from "vitest";
import { log1pExp, logistic } from "../../src/model/special.js";

const plainLogistic = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const plainLog1pExp = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

const points = [0, -0, 1e-300, -1e-300, 0.5, -0.5, 3, -3, 36, -36, 709, -745, 800, -800, Infinity, -Infinity, NaN];

describe("logistic and log1pExp", () => {
  it("log1pExp, then logistic of the same argument: the plain formulas' bits", () => {
    for (const x of points) {
      expect(Object.is(log1pExp(x), plainLog1pExp(x))).toBe(true);
      expect(Object.is(logistic(x), plainLogistic(x))).toBe(true);
    }
  });

  it("logistic after log1pExp of another argument (or none) is not given that argument's exp", () => {
    for (const x of points) {
      for (const y of [0.25, -7, 0, -0, NaN]) {
        log1pExp(y);
        expect(Object.is(logistic(x), plainLogistic(x))).toBe(true);
      }
    }
    expect(logistic(2)).toBe(plainLogistic(2));
  });
});

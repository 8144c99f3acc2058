/**
 * Elementwise operations for log CDFs (templates like ops.ts's): the value calls
 * `rt.cdf.<name>`, each partial derivative `rt.cdf.<name>Grad(args..., value, k)`, which
 * computes all partials of one element at once and returns the k-th (special-cdf.ts). Names and
 * argument positions here are compiler constants: no user text reaches the generated code.
 */
import type { ElementwiseOp } from "./elementwise-op.js";
import "./special-cdf.js";

const cdfOp = (name: string, arity: number, gradTakesIndex: boolean): ElementwiseOp => ({
  name,
  arity,
  fwd: (args) => `rt.cdf.${name}(${args.join(",")})`,
  der: (k, args, v) => `rt.cdf.${name}Grad(${args.join(",")},${v}${gradTakesIndex ? `,${k}` : ""})`,
});

/** log Phi(z); d/dz. */
export const CDF_OPS: readonly ElementwiseOp[] = [
  cdfOp("logPhi", 1, false),
  cdfOp("halfNormalLcdf", 1, false),
  cdfOp("halfNormalLccdf", 1, false),
  cdfOp("cauchyLcdf", 1, false),
  cdfOp("halfCauchyLcdf", 1, false),
  cdfOp("halfCauchyLccdf", 1, false),
  { ...cdfOp("log1mExpNegExp", 1, false), der: (_k, [a]) => `rt.cdf.log1mExpNegExpGrad(${a})` },
  { ...cdfOp("laplaceLcdf", 1, false), der: (_k, [z]) => `rt.cdf.laplaceLcdfGrad(${z})` },
  cdfOp("uniformLcdf", 3, true),
  cdfOp("logDiffExp", 2, true),
  cdfOp("logIntervalMass", 4, true),
  cdfOp("studentTLcdf", 2, true),
  cdfOp("logGammaP", 2, true),
  cdfOp("logGammaQ", 2, true),
  cdfOp("logIncBeta", 4, true),
];

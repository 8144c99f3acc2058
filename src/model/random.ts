/**
 * What random draws need besides each distribution's own algorithm: where an argument's value
 * for element i of a batch sits (broadcasting), scalar versions of a distribution's log
 * density / CDF / CCDF compiled from the same expressions (for inversion), and draws of a
 * distribution restricted to an interval (truncation) by rejection or by inversion.
 */
import { checkGeneratedSource } from "./source-check.js";
import { ModelError } from "./errors.js";
import { Expr } from "./expr.js";
import { ELEMENTWISE } from "./ops.js";
import { sizeOf, type Shape } from "./shape.js";
import { runtime } from "./special.js";
import type { Distribution, RandomSource } from "./distribution-types.js";

/** For each element of `shape` (row-major), the flat index of a broadcast operand of shape `operand`; null when it is the identity or a scalar. */
export function broadcastMap(operand: Shape, shape: Shape): Int32Array | null {
  const n = sizeOf(shape);
  if (sizeOf(operand) === 1 || (sizeOf(operand) === n && operand.length === shape.length)) return null;
  const map = new Int32Array(n);
  const offset = shape.length - operand.length;
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let flat = 0;
    for (let k = 0; k < operand.length; k++) flat = flat * operand[k]! + (operand[k] === 1 ? 0 : idx[k + offset]!);
    map[i] = flat;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return map;
}

/** Reads argument values at element i of a batch: `at(args, k, i)`. */
export function argumentReader(argShapes: readonly Shape[], shape: Shape) {
  const maps = argShapes.map((s) => broadcastMap(s, shape));
  return (args: readonly Float64Array[], k: number, i: number): number => {
    const v = args[k]!;
    if (v.length === 1) return v[0]!;
    const m = maps[k];
    return v[m === null || m === undefined ? i : m[i]!]!;
  };
}

const placeholder = (label: string) => new Expr({ kind: "placeholder" }, [], [], label);

/**
 * A scalar JavaScript function of `inputs` (scalar placeholders) computing `output`, from the
 * elementwise templates of ops.ts: the expressions that generated code differentiates, now
 * evaluated at single points (random draws by inversion).
 */
function compileScalar(inputs: readonly Expr[], output: Expr): (values: readonly number[]) => number {
  const lines: string[] = [];
  const names = new Map<Expr, string>();
  inputs.forEach((e, k) => names.set(e, `X[${k}]`));
  const visit = (e: Expr): string => {
    const known = names.get(e);
    if (known) return known;
    let code: string;
    if (e.node.kind === "const") {
      if (e.size !== 1) throw new ModelError("invalid-argument", `scalar evaluation of ${e.label} needs scalar constants`);
      const v = e.constValues[0]!;
      code = `(${Object.is(v, -0) ? "-0" : String(v)})`;
    } else if (e.node.kind === "elementwise") {
      const args = e.inputs.map((i) => `(${visit(i)})`);
      const name = `t${names.size}`;
      lines.push(`const ${name} = ${ELEMENTWISE[e.node.op]!.fwd(args)};`);
      code = name;
    } else {
      throw new ModelError("invalid-argument", `scalar evaluation of ${e.label}: ${e.node.kind} nodes are not supported`);
    }
    names.set(e, code);
    return code;
  };
  const result = visit(output);
  const source = `${lines.join("\n")}\nreturn ${result};`;
  checkGeneratedSource(source);
  const fn = new Function("rt", "X", source) as (rt: typeof runtime, x: readonly number[]) => number;
  return (values) => fn(runtime, values);
}

export interface ScalarForms {
  lpdf(x: number, args: readonly number[]): number;
  lcdf(x: number, args: readonly number[]): number;
  lccdf(x: number, args: readonly number[]): number;
}

const scalarCache = new WeakMap<object, ScalarForms>();

/** Scalar log density, log CDF and log CCDF of a univariate distribution (compiled once per distribution object). */
export function scalarForms(dist: Distribution): ScalarForms {
  const cached = scalarCache.get(dist);
  if (cached) return cached;
  const keys = Object.keys(dist.args);
  if (!dist.withArgs || !dist.lcdf || !dist.lccdf) {
    throw new ModelError("invalid-argument", `${dist.name} has no log CDF: it cannot be truncated or censored`);
  }
  const xs = placeholder("x");
  const as = keys.map((k) => placeholder(k));
  const scalarDist = dist.withArgs(Object.fromEntries(keys.map((k, j) => [k, as[j]!])));
  const build = (f: (x: Expr) => Expr) => {
    const fn = compileScalar([xs, ...as], f(xs));
    return (x: number, args: readonly number[]) => fn([x, ...args]);
  };
  const forms: ScalarForms = {
    lpdf: build((x) => scalarDist.logpdf(x)),
    lcdf: build((x) => scalarDist.lcdf!(x)),
    lccdf: build((x) => scalarDist.lccdf!(x)),
  };
  scalarCache.set(dist, forms);
  return forms;
}

const logAddExp = (a: number, b: number) =>
  a === -Infinity ? b : b === -Infinity ? a : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
const logDiffExp = (a: number, b: number) => (b === -Infinity ? a : a + (b - a > -Math.LN2 ? Math.log(-Math.expm1(b - a)) : Math.log1p(-Math.exp(b - a))));

/** A rejection try first while the interval holds at least this much probability. */
const REJECTION_MASS = 0.3;
const REJECTION_TRIES = 64;

/**
 * One draw of a univariate distribution restricted to [lo, hi] (either may be infinite), at
 * argument values `args`: rejection when the interval holds much of the mass, else inversion of
 * the log CDF (or, in the upper tail, of the log CCDF) by safeguarded Newton steps; for counts,
 * a walk over the integers of the interval.
 */
export function drawTruncated(
  rng: RandomSource,
  forms: ScalarForms,
  discrete: boolean,
  args: readonly number[],
  lo: number,
  hi: number,
  drawBase: () => number,
): number {
  // Stan's discrete truncation T[L, U] keeps L..U: P(L <= Y <= U) = F(U) - F(L - 1).
  const below = discrete ? lo - 1 : lo;
  const cLo = lo === -Infinity ? -Infinity : forms.lcdf(below, args);
  const sLo = lo === -Infinity ? 0 : forms.lccdf(below, args);
  const cHi = hi === Infinity ? 0 : forms.lcdf(hi, args);
  const sHi = hi === Infinity ? -Infinity : forms.lccdf(hi, args);
  const upperTail = cLo > -Math.LN2;
  const logMass = upperTail ? logDiffExp(sLo, sHi) : logDiffExp(cHi, cLo);
  if (!(logMass > -Infinity)) throw new Error(`truncated draw: the interval [${lo}, ${hi}] has no probability at these arguments`);
  if (logMass > Math.log(REJECTION_MASS)) {
    for (let k = 0; k < REJECTION_TRIES; k++) {
      const x = drawBase();
      if (x >= lo && x <= hi) return x;
    }
  }
  const logU = Math.log(uniformOpen(rng));
  if (discrete) {
    // The smallest k in [lo, hi] with P(lo <= Y <= k) >= u P(lo <= Y <= hi).
    const target = logU + logMass;
    let acc = -Infinity;
    const start = Number.isFinite(lo) ? lo : 0;
    for (let k = start; k <= hi; k++) {
      acc = logAddExp(acc, forms.lpdf(k, args));
      if (acc >= target) return k;
    }
    return hi;
  }
  if (upperTail) {
    // lccdf(x) = log(S(hi) + u (S(lo) - S(hi))), decreasing in x.
    const t = logAddExp(sHi, logU + logMass);
    return solveMonotone((x) => forms.lccdf(x, args) - t, (x, g) => -Math.exp(forms.lpdf(x, args) - (g + t)), lo, hi, -1);
  }
  const t = logAddExp(cLo, logU + logMass);
  return solveMonotone((x) => forms.lcdf(x, args) - t, (x, g) => Math.exp(forms.lpdf(x, args) - (g + t)), lo, hi, 1);
}

function uniformOpen(rng: RandomSource): number {
  let u = rng.uniform();
  while (u === 0) u = rng.uniform();
  return u;
}

/**
 * The root of g, monotone with the given sign (1: increasing), in [lo, hi]: an infinite end is
 * first replaced by a point where g has the right sign, then Newton steps (derivative `dg(x, g)`)
 * that fall outside the bracket are replaced by bisection.
 */
function solveMonotone(g: (x: number) => number, dg: (x: number, gx: number) => number, lo: number, hi: number, sign: 1 | -1): number {
  const f = (x: number) => sign * g(x);
  let a = lo;
  let b = hi;
  // Finite brackets: from a finite end (or 0) outwards, doubling the step.
  const anchor = Number.isFinite(a) ? a : Number.isFinite(b) ? b : 0;
  if (!Number.isFinite(a)) {
    let step = 1;
    a = Math.min(anchor, b) - step;
    while (!(f(a) < 0)) {
      step *= 2;
      a = anchor - step;
      if (step > 1e300) break;
    }
  }
  if (!Number.isFinite(b)) {
    let step = 1;
    b = Math.max(anchor, a) + step;
    while (!(f(b) > 0)) {
      step *= 2;
      b = Math.max(anchor, a) + step;
      if (step > 1e300) break;
    }
  }
  let x = 0.5 * (a + b);
  for (let k = 0; k < 400; k++) {
    const fx = f(x);
    if (fx === 0) return x;
    if (fx < 0) a = x;
    else b = x;
    const gx = sign * fx;
    const slope = sign * dg(x, gx);
    let next = x - fx / slope;
    if (!(next > a && next < b)) next = 0.5 * (a + b);
    if (Math.abs(next - x) <= 1e-14 * Math.max(1, Math.abs(x)) || b - a <= 1e-14 * Math.max(1, Math.abs(a), Math.abs(b))) return next;
    x = next;
  }
  return x;
}

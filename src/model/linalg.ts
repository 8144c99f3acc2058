/**
 * Non-elementwise operations: matrix-vector product, cumulative sum, concatenation,
 * log-sum-exp, Cholesky factor, triangular solve, symmetric eigen-decomposition. Each is a forward code template and a
 * hand-derived reverse-mode template (the reverse of the forward statements, in reverse order).
 */
import { ModelError } from "./errors.js";
import { access, custom, lift, type Expr, type ExprLike } from "./expr.js";
import { defineCustomOp, type CustomCodeContext, type CustomOp } from "./ops.js";
import { formatShape, sizeOf } from "./shape.js";
import { describeValue } from "./values.js";

const accumulate = (lvalue: string | null, value: string): string => (lvalue === null ? "" : `${lvalue} += ${value};`);

/**
 * Rows are taken four at a time (then one at a time for the rest): x[j] is read once for four
 * rows, and in reverse mode the adjoint of x[j] is read and written once per four rows instead
 * of once per row. Every sum still adds its terms in the order of the plain row loop, so the
 * results are the same bits. These loops took 24 of a logistic regression's 36.5 us gradient
 * (500 x 20), and the gradient takes 25.6 us blocked (V8 keeps four running sums in registers;
 * eight spill).
 */
const MATVEC_BLOCK = 4;

const matvecOp: CustomOp = defineCustomOp({
  name: "matvec",
  fwd: (c) => {
    const [m, n] = c.inShapes[0]!;
    const [i, j, s, xj] = [c.fresh("i"), c.fresh("j"), c.fresh("s"), c.fresh("x")];
    const blocked = m! - (m! % MATVEC_BLOCK);
    const sums = Array.from({ length: MATVEC_BLOCK }, () => c.fresh("s"));
    const block =
      blocked === 0
        ? ""
        : `for (let ${i} = 0; ${i} < ${blocked}; ${i} += ${MATVEC_BLOCK}) { ${sums.map((t) => `let ${t} = 0;`).join(" ")}
      for (let ${j} = 0; ${j} < ${n}; ${j}++) { const ${xj} = ${c.x(1, j)}; ${sums.map((t, r) => `${t} += ${c.x(0, `${blockRow(i, r)}*${n}+${j}`)} * ${xj};`).join(" ")} }
      ${sums.map((t, r) => `${c.y(blockRow(i, r))} = ${t};`).join(" ")} }
`;
    if (blocked === m) return block;
    return `${block}for (let ${i} = ${blocked}; ${i} < ${m}; ${i}++) { let ${s} = 0;
      for (let ${j} = 0; ${j} < ${n}; ${j}++) ${s} += ${c.x(0, `${i}*${n}+${j}`)} * ${c.x(1, j)};
      ${c.y(i)} = ${s}; }`;
  },
  bwd: (c) => {
    const [m, n] = c.inShapes[0]!;
    const [i, j, g] = [c.fresh("i"), c.fresh("j"), c.fresh("g")];
    const blocked = m! - (m! % MATVEC_BLOCK);
    const gs = Array.from({ length: MATVEC_BLOCK }, () => c.fresh("g"));
    const gx = c.gx(1, j);
    // gx[j] += g_0 A[i][j]; ... ; gx[j] += g_3 A[i+3][j] as one left-to-right sum: the same bits.
    const blockBody =
      gs.map((t, r) => accumulate(c.gx(0, `${blockRow(i, r)}*${n}+${j}`), `${t} * ${c.x(1, j)}`)).join(" ") +
      (gx === null ? "" : `${gx} = ${gx}${gs.map((t, r) => ` + ${t} * ${c.x(0, `${blockRow(i, r)}*${n}+${j}`)}`).join("")};`);
    const block =
      blocked === 0
        ? ""
        : `for (let ${i} = 0; ${i} < ${blocked}; ${i} += ${MATVEC_BLOCK}) { ${gs.map((t, r) => `const ${t} = ${c.gy(blockRow(i, r))};`).join(" ")}
      for (let ${j} = 0; ${j} < ${n}; ${j}++) { ${blockBody} } }
`;
    if (blocked === m) return block;
    const body =
      accumulate(c.gx(0, `${i}*${n}+${j}`), `${g} * ${c.x(1, j)}`) + accumulate(gx, `${g} * ${c.x(0, `${i}*${n}+${j}`)}`);
    return `${block}for (let ${i} = ${blocked}; ${i} < ${m}; ${i}++) { const ${g} = ${c.gy(i)};
      for (let ${j} = 0; ${j} < ${n}; ${j}++) { ${body} } }`;
  },
});

/** Row r of the block starting at row i (code). */
const blockRow = (i: string, r: number): string => (r === 0 ? i : `(${i}+${r})`);

/** Matrix-vector product A x for A of shape [m, n] and x of shape [n]. */
export function matvec(a: ExprLike, x: ExprLike): Expr {
  const [A, X] = [lift(a), lift(x)];
  if (A.shape.length !== 2 || X.shape.length !== 1 || A.shape[1] !== X.shape[0]) {
    throw new ModelError(
      "shape-mismatch",
      `matvec(${A.label}, ${X.label}): shapes ${formatShape(A.shape)} and ${formatShape(X.shape)} do not multiply`,
    );
  }
  return custom(matvecOp, [A, X], [A.shape[0]!], `${A.label} * ${X.label}`);
}

const cumsumOp: CustomOp = defineCustomOp({
  name: "cumsum",
  fwd: (c) => {
    const n = c.outShape[0]!;
    const [i, s] = [c.fresh("i"), c.fresh("s")];
    return `let ${s} = 0; for (let ${i} = 0; ${i} < ${n}; ${i}++) { ${s} += ${c.x(0, i)}; ${c.y(i)} = ${s}; }`;
  },
  bwd: (c) => {
    const n = c.outShape[0]!;
    const [i, s] = [c.fresh("i"), c.fresh("s")];
    return `let ${s} = 0; for (let ${i} = ${n - 1}; ${i} >= 0; ${i}--) { ${s} += ${c.gy(i)}; ${accumulate(c.gx(0, i), s)} }`;
  },
});

export function cumsum(x: ExprLike): Expr {
  const X = lift(x);
  if (X.shape.length !== 1) throw new ModelError("shape-mismatch", `cumsum(${X}) needs a vector`);
  return custom(cumsumOp, [X], X.shape, `cumsum(${X.label})`);
}

const concatOp: CustomOp = defineCustomOp({
  name: "concat",
  fwd: (c) => {
    let offset = 0;
    return c.inShapes
      .map((s, k) => {
        const n = sizeOf(s);
        const i = c.fresh("i");
        const code = `for (let ${i} = 0; ${i} < ${n}; ${i}++) ${c.y(`${offset}+${i}`)} = ${c.x(k, i)};`;
        offset += n;
        return code;
      })
      .join("\n");
  },
  bwd: (c) => {
    let offset = 0;
    return c.inShapes
      .map((s, k) => {
        const n = sizeOf(s);
        const i = c.fresh("i");
        const target = c.gx(k, i);
        const code = target === null ? "" : `for (let ${i} = 0; ${i} < ${n}; ${i}++) ${target} += ${c.gy(`${offset}+${i}`)};`;
        offset += n;
        return code;
      })
      .join("\n");
  },
});

/** Concatenation of scalars and vectors into one vector (Stan's `append_row`, `{a, b}`). */
export function concat(parts: readonly ExprLike[]): Expr {
  if (!Array.isArray(parts)) throw new ModelError("invalid-argument", `concat needs an array of parts, got ${describeValue(parts)}`);
  const xs = parts.map((p) => lift(p, "a part of concat"));
  for (const x of xs) {
    if (x.shape.length > 1) throw new ModelError("shape-mismatch", `concat: ${x} is not a scalar or vector`);
  }
  const n = xs.reduce((s, x) => s + x.size, 0);
  return custom(concatOp, xs, [n], `concat(${xs.map((x) => x.label).join(", ")})`);
}

/** Stacks equally shaped scalars or vectors into a vector or a matrix (one row each). */
export function stack(parts: readonly ExprLike[]): Expr {
  if (!Array.isArray(parts)) throw new ModelError("invalid-argument", `stack needs an array of parts, got ${describeValue(parts)}`);
  const xs = parts.map((p) => lift(p, "a part of stack"));
  const first = xs[0];
  if (!first) throw new ModelError("invalid-argument", "stack of nothing");
  for (const x of xs) {
    if (x.shape.length !== first.shape.length || x.shape.some((d, k) => d !== first.shape[k]) || x.shape.length > 1) {
      throw new ModelError("shape-mismatch", `stack: ${x} does not match ${first} (scalars or vectors of one length)`);
    }
  }
  const flat = concat(xs);
  return first.shape.length === 0 ? flat : flat.reshape([xs.length, first.shape[0]!]);
}

const makeLogSumExpOp = (axis: number | null): CustomOp =>
  defineCustomOp({
    name: `logSumExp${axis ?? ""}`,
    ...reduceAxis(axis, {
      fwd: (c, read, write, len) => {
        const [k, m, s] = [c.fresh("k"), c.fresh("m"), c.fresh("s")];
        return `let ${m} = -Infinity; for (let ${k} = 0; ${k} < ${len}; ${k}++) { const t = ${read(k)}; if (t > ${m}) ${m} = t; }
          let ${s} = 0; for (let ${k} = 0; ${k} < ${len}; ${k}++) ${s} += Math.exp(${read(k)} - ${m});
          ${write} = ${m} === -Infinity ? -Infinity : ${m} + Math.log(${s});`;
      },
      bwd: (c, read, adjIn, out, gOut, len) => {
        const k = c.fresh("k");
        return adjIn === null ? "" : `for (let ${k} = 0; ${k} < ${len}; ${k}++) ${adjIn(k)} += ${gOut} * Math.exp(${read(k)} - ${out});`;
      },
    }),
  });

/** log-sum-exp over all elements, down columns (0) or along rows (1). */
const logSumExpOps = new Map<number | null, CustomOp>([null, 0, 1].map((a) => [a, makeLogSumExpOp(a)]));

type Reader = (k: string) => string;
interface AxisReduction {
  fwd(c: CustomCodeContext, read: Reader, write: string, len: number): string;
  bwd(c: CustomCodeContext, read: Reader, adjIn: Reader | null, out: string, gOut: string, len: number): string;
}

/** Lifts a reduction over one run of elements to a whole input (axis null) or one axis of a matrix. */
function reduceAxis(axis: number | null, r: AxisReduction): Pick<CustomOp, "fwd" | "bwd"> {
  const plan = (c: CustomCodeContext) => {
    const shape = c.inShapes[0]!;
    if (axis === null) return { outer: 1, len: sizeOf(shape), index: (_o: string, k: string) => k };
    const [rows, cols] = shape as [number, number];
    return axis === 0
      ? { outer: cols, len: rows, index: (o: string, k: string) => `${k}*${cols}+${o}` }
      : { outer: rows, len: cols, index: (o: string, k: string) => `${o}*${cols}+${k}` };
  };
  return {
    fwd: (c) => {
      const { outer, len, index } = plan(c);
      const o = c.fresh("o");
      return `for (let ${o} = 0; ${o} < ${outer}; ${o}++) { ${r.fwd(c, (k) => c.x(0, index(o, k)), c.y(o), len)} }`;
    },
    bwd: (c) => {
      const { outer, len, index } = plan(c);
      const o = c.fresh("o");
      const adj = c.gx(0, "0") === null ? null : (k: string) => c.gx(0, index(o, k))!;
      return `for (let ${o} = 0; ${o} < ${outer}; ${o}++) { ${r.bwd(c, (k) => c.x(0, index(o, k)), adj, c.y(o), c.gy(o), len)} }`;
    },
  };
}

/** log(sum(exp(x))) over all elements, or over `axis` (0: down columns, 1: along rows) of a matrix. */
export function logSumExp(x: ExprLike, axis?: 0 | 1): Expr {
  const X = lift(x);
  if (axis === undefined) return custom(logSumExpOps.get(null)!, [X], [], `logSumExp(${X.label})`);
  if (axis !== 0 && axis !== 1) throw new ModelError("invalid-argument", `logSumExp(${X}): axis must be 0 or 1, got ${describeValue(axis)}`);
  if (X.shape.length !== 2) throw new ModelError("shape-mismatch", `logSumExp(${X}, axis ${axis}) needs a matrix`);
  return custom(logSumExpOps.get(axis)!, [X], [X.shape[1 - axis]!], `logSumExp(${X.label}, ${axis})`);
}

const choleskyOp: CustomOp = defineCustomOp({
  name: "cholesky",
  // Cholesky-Banachiewicz; reads the lower triangle only.
  fwd: (c) => {
    const n = c.outShape[0]!;
    const [i, j, k, s] = [c.fresh("i"), c.fresh("j"), c.fresh("k"), c.fresh("s")];
    return `for (let ${i} = 0; ${i} < ${n}; ${i}++) {
      for (let ${j} = ${i} + 1; ${j} < ${n}; ${j}++) ${c.y(`${i}*${n}+${j}`)} = 0;
      for (let ${j} = 0; ${j} <= ${i}; ${j}++) {
        let ${s} = ${c.x(0, `${i}*${n}+${j}`)};
        for (let ${k} = 0; ${k} < ${j}; ${k}++) ${s} -= ${c.y(`${i}*${n}+${k}`)} * ${c.y(`${j}*${n}+${k}`)};
        ${c.y(`${i}*${n}+${j}`)} = ${i} === ${j} ? Math.sqrt(${s}) : ${s} / ${c.y(`${j}*${n}+${j}`)};
      } }`;
  },
  bwd: (c) => {
    const n = c.outShape[0]!;
    const gA = (idx: string) => c.gx(0, idx);
    if (gA("0") === null) return "";
    const lb = c.scratch(n * n);
    const [i, j, k, sb] = [c.fresh("i"), c.fresh("j"), c.fresh("k"), c.fresh("sb")];
    const L = (idx: string) => c.y(idx);
    return `for (let ${i} = 0; ${i} < ${n * n}; ${i}++) ${lb}[${i}] = ${c.gy(i)};
      for (let ${i} = ${n - 1}; ${i} >= 0; ${i}--) {
        for (let ${j} = ${i}; ${j} >= 0; ${j}--) {
          let ${sb};
          if (${i} === ${j}) ${sb} = 0.5 * ${lb}[${i}*${n}+${i}] / ${L(`${i}*${n}+${i}`)};
          else {
            ${sb} = ${lb}[${i}*${n}+${j}] / ${L(`${j}*${n}+${j}`)};
            ${lb}[${j}*${n}+${j}] -= ${lb}[${i}*${n}+${j}] * ${L(`${i}*${n}+${j}`)} / ${L(`${j}*${n}+${j}`)};
          }
          ${gA(`${i}*${n}+${j}`)} += ${sb};
          for (let ${k} = 0; ${k} < ${j}; ${k}++) {
            ${lb}[${i}*${n}+${k}] -= ${sb} * ${L(`${j}*${n}+${k}`)};
            ${lb}[${j}*${n}+${k}] -= ${sb} * ${L(`${i}*${n}+${k}`)};
          }
        } }`;
  },
});

/** Lower Cholesky factor of a symmetric positive-definite matrix (reads its lower triangle). */
export function cholesky(a: ExprLike): Expr {
  const A = lift(a);
  if (A.shape.length !== 2 || A.shape[0] !== A.shape[1]) {
    throw new ModelError("shape-mismatch", `cholesky(${A}) needs a square matrix, got ${formatShape(A.shape)}`);
  }
  return custom(choleskyOp, [A], A.shape, `cholesky(${A.label})`);
}

const lowerSolveOp: CustomOp = defineCustomOp({
  name: "lowerSolve",
  fwd: (c) => {
    const n = c.outShape[0]!;
    const [i, k, s] = [c.fresh("i"), c.fresh("k"), c.fresh("s")];
    return `for (let ${i} = 0; ${i} < ${n}; ${i}++) { let ${s} = ${c.x(1, i)};
      for (let ${k} = 0; ${k} < ${i}; ${k}++) ${s} -= ${c.x(0, `${i}*${n}+${k}`)} * ${c.y(k)};
      ${c.y(i)} = ${s} / ${c.x(0, `${i}*${n}+${i}`)}; }`;
  },
  bwd: (c) => {
    const n = c.outShape[0]!;
    const xb = c.scratch(n);
    const [i, k, sb] = [c.fresh("i"), c.fresh("k"), c.fresh("sb")];
    const gL = (idx: string) => c.gx(0, idx);
    return `for (let ${i} = 0; ${i} < ${n}; ${i}++) ${xb}[${i}] = ${c.gy(i)};
      for (let ${i} = ${n - 1}; ${i} >= 0; ${i}--) {
        const ${sb} = ${xb}[${i}] / ${c.x(0, `${i}*${n}+${i}`)};
        ${accumulate(gL(`${i}*${n}+${i}`), `-${sb} * ${c.y(i)}`)}
        ${accumulate(c.gx(1, i), sb)}
        for (let ${k} = 0; ${k} < ${i}; ${k}++) {
          ${accumulate(gL(`${i}*${n}+${k}`), `-${sb} * ${c.y(k)}`)}
          ${xb}[${k}] -= ${sb} * ${c.x(0, `${i}*${n}+${k}`)};
        } }`;
  },
});

/** Solves L x = b for lower-triangular L (reads the lower triangle only). */
export function lowerSolve(l: ExprLike, b: ExprLike): Expr {
  const [L, B] = [lift(l), lift(b)];
  if (L.shape.length !== 2 || L.shape[0] !== L.shape[1] || B.shape.length !== 1 || B.shape[0] !== L.shape[0]) {
    throw new ModelError(
      "shape-mismatch",
      `lowerSolve(${L.label}, ${B.label}): shapes ${formatShape(L.shape)} and ${formatShape(B.shape)} do not fit`,
    );
  }
  return custom(lowerSolveOp, [L, B], B.shape, `lowerSolve(${L.label}, ${B.label})`);
}

/**
 * Eigen-decomposition of a symmetric matrix (read from its lower triangle) by cyclic Jacobi
 * rotations. Output [n + 1, n]: row 0 the eigenvalues in ascending order (as Stan's
 * eigenvalues_sym), rows 1..n the matrix whose columns are the matching unit eigenvectors, each
 * with its largest-magnitude component positive so draws do not flip sign. The reverse mode is
 * the usual one for distinct eigenvalues, G = V (diag(gλ) + F ∘ (Vᵀ gV)) Vᵀ with
 * F_ij = 1/(λ_j - λ_i), taken symmetric: its off-diagonal terms (vg_ij - vg_ji) / (2 (λ_j - λ_i)).
 */
const symmetricEigenOp: CustomOp = defineCustomOp({
  name: "symmetricEigen",
  fwd: (c) => {
    const n = c.inShapes[0]![0]!;
    const [a, v, order] = [c.scratch(n * n), c.scratch(n * n), c.scratch(n)];
    const [i, j, k, p, q, sweep, off, norm, apq, theta, t, cs, sn, x1, x2, best] = [
      "i", "j", "k", "p", "q", "sw", "of", "nr", "apq", "th", "t", "cs", "sn", "xa", "xb", "bs",
    ].map((name) => c.fresh(name));
    return `for (let ${i} = 0; ${i} < ${n}; ${i}++) for (let ${j} = 0; ${j} < ${n}; ${j}++) {
        ${a}[${i}*${n}+${j}] = ${i} >= ${j} ? ${c.x(0, `${i}*${n}+${j}`)} : ${c.x(0, `${j}*${n}+${i}`)};
        ${v}[${i}*${n}+${j}] = ${i} === ${j} ? 1 : 0; }
      let ${off} = 1, ${norm} = 0;
      for (let ${sweep} = 0; ${sweep} < 100 && ${off} > 1e-36 * ${norm}; ${sweep}++) {
        ${off} = 0; ${norm} = 0;
        for (let ${i} = 0; ${i} < ${n}; ${i}++) for (let ${j} = 0; ${j} < ${n}; ${j}++) {
          const ${x1} = ${a}[${i}*${n}+${j}] * ${a}[${i}*${n}+${j}];
          ${norm} += ${x1}; if (${i} !== ${j}) ${off} += ${x1}; }
        for (let ${p} = 0; ${p} < ${n} - 1; ${p}++) for (let ${q} = ${p} + 1; ${q} < ${n}; ${q}++) {
          const ${apq} = ${a}[${p}*${n}+${q}];
          if (${apq} !== 0) {
          const ${theta} = (${a}[${q}*${n}+${q}] - ${a}[${p}*${n}+${p}]) / (2 * ${apq});
          const ${t} = (${theta} >= 0 ? 1 : -1) / (Math.abs(${theta}) + Math.sqrt(${theta} * ${theta} + 1));
          const ${cs} = 1 / Math.sqrt(${t} * ${t} + 1), ${sn} = ${t} * ${cs};
          for (let ${k} = 0; ${k} < ${n}; ${k}++) {
            const ${x1} = ${a}[${k}*${n}+${p}], ${x2} = ${a}[${k}*${n}+${q}];
            ${a}[${k}*${n}+${p}] = ${cs} * ${x1} - ${sn} * ${x2}; ${a}[${k}*${n}+${q}] = ${sn} * ${x1} + ${cs} * ${x2}; }
          for (let ${k} = 0; ${k} < ${n}; ${k}++) {
            const ${x1} = ${a}[${p}*${n}+${k}], ${x2} = ${a}[${q}*${n}+${k}];
            ${a}[${p}*${n}+${k}] = ${cs} * ${x1} - ${sn} * ${x2}; ${a}[${q}*${n}+${k}] = ${sn} * ${x1} + ${cs} * ${x2}; }
          for (let ${k} = 0; ${k} < ${n}; ${k}++) {
            const ${x1} = ${v}[${k}*${n}+${p}], ${x2} = ${v}[${k}*${n}+${q}];
            ${v}[${k}*${n}+${p}] = ${cs} * ${x1} - ${sn} * ${x2}; ${v}[${k}*${n}+${q}] = ${sn} * ${x1} + ${cs} * ${x2}; }
        } } }
      for (let ${i} = 0; ${i} < ${n}; ${i}++) ${order}[${i}] = ${i};
      for (let ${i} = 0; ${i} < ${n}; ${i}++) {
        let ${best} = ${i};
        for (let ${j} = ${i} + 1; ${j} < ${n}; ${j}++) if (${a}[${order}[${j}]*${n}+${order}[${j}]] < ${a}[${order}[${best}]*${n}+${order}[${best}]]) ${best} = ${j};
        const ${t} = ${order}[${i}]; ${order}[${i}] = ${order}[${best}]; ${order}[${best}] = ${t}; }
      for (let ${j} = 0; ${j} < ${n}; ${j}++) {
        const ${p} = ${order}[${j}];
        ${c.y(j)} = ${a}[${p}*${n}+${p}];
        let ${best} = 0;
        for (let ${k} = 1; ${k} < ${n}; ${k}++) if (Math.abs(${v}[${k}*${n}+${p}]) > Math.abs(${v}[${best}*${n}+${p}])) ${best} = ${k};
        const ${sn} = ${v}[${best}*${n}+${p}] < 0 ? -1 : 1;
        for (let ${k} = 0; ${k} < ${n}; ${k}++) ${c.y(`(${k}+1)*${n}+${j}`)} = ${sn} * ${v}[${k}*${n}+${p}]; }`;
  },
  bwd: (c) => {
    const n = c.inShapes[0]![0]!;
    if (c.gx(0, "0") === null) return "";
    const [vg, m, t] = [c.scratch(n * n), c.scratch(n * n), c.scratch(n * n)];
    const [i, j, k, s, g] = [c.fresh("i"), c.fresh("j"), c.fresh("k"), c.fresh("s"), c.fresh("g")];
    const V = (row: string, col: string) => c.y(`(${row}+1)*${n}+${col}`);
    const gV = (row: string, col: string) => c.gy(`(${row}+1)*${n}+${col}`);
    // vg = Vᵀ gV; m = diag(gλ) + (vg - vgᵀ) / (2 (λ_j - λ_i)) off the diagonal; t = V m; G = t Vᵀ,
    // added to the lower triangle. The antisymmetric part is formed before dividing (D210): for
    // close eigenvalues vg_ij and vg_ji are large and nearly equal, and dividing each by the gap
    // first makes huge entries whose rounding the products spread into every direction. Only
    // eigenvalues equal in double are uncoupled (a 0 / 0 whose limit the op cannot know).
    return `for (let ${i} = 0; ${i} < ${n}; ${i}++) for (let ${j} = 0; ${j} < ${n}; ${j}++) {
        let ${s} = 0;
        for (let ${k} = 0; ${k} < ${n}; ${k}++) ${s} += ${V(k, i)} * ${gV(k, j)};
        ${vg}[${i}*${n}+${j}] = ${s}; }
      for (let ${i} = 0; ${i} < ${n}; ${i}++) for (let ${j} = 0; ${j} < ${n}; ${j}++) {
        const ${g} = ${c.y(j)} - ${c.y(i)};
        ${m}[${i}*${n}+${j}] = ${i} === ${j} ? ${c.gy(i)} : ${g} === 0 ? 0 : (${vg}[${i}*${n}+${j}] - ${vg}[${j}*${n}+${i}]) / (2 * ${g}); }
      for (let ${i} = 0; ${i} < ${n}; ${i}++) for (let ${j} = 0; ${j} < ${n}; ${j}++) {
        let ${s} = 0;
        for (let ${k} = 0; ${k} < ${n}; ${k}++) ${s} += ${V(i, k)} * ${m}[${k}*${n}+${j}];
        ${t}[${i}*${n}+${j}] = ${s}; }
      for (let ${i} = 0; ${i} < ${n}; ${i}++) for (let ${j} = 0; ${j} <= ${i}; ${j}++) {
        let ${s} = 0;
        for (let ${k} = 0; ${k} < ${n}; ${k}++) ${s} += ${t}[${i}*${n}+${k}] * ${V(j, k)} + (${i} === ${j} ? 0 : ${t}[${j}*${n}+${k}] * ${V(i, k)});
        ${c.gx(0, `${i}*${n}+${j}`)} += ${s}; }`;
  },
});

/**
 * Eigenvalues (ascending) and unit eigenvectors (columns, largest-magnitude component positive)
 * of a symmetric matrix, read from its lower triangle; eigenvalues equal in double are not coupled in
 * the gradient (D210).
 */
export function symmetricEigen(a: ExprLike): { values: Expr; vectors: Expr } {
  const A = lift(a);
  if (A.shape.length !== 2 || A.shape[0] !== A.shape[1]) {
    throw new ModelError("shape-mismatch", `symmetricEigen(${A}) needs a square matrix, got ${formatShape(A.shape)}`);
  }
  const n = A.shape[0]!;
  const both = custom(symmetricEigenOp, [A], [n + 1, n], `symmetricEigen(${A.label})`);
  return {
    values: access(both, Int32Array.from({ length: n }, (_, k) => k), [n], `eigenvalues(${A.label})`),
    vectors: access(both, Int32Array.from({ length: n * n }, (_, k) => n + k), [n, n], `eigenvectors(${A.label})`),
  };
}

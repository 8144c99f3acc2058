/**
 * The system a solver integrates: the states alone, or the states with their forward
 * sensitivities (Stan's coupled system). With theta = (y0, p) and S = dy/dtheta (n x m),
 * S' = J_y S + [0 | J_p], S(t0) = [I | 0]; the Jacobian rows come from the problem's
 * vector-Jacobian product, one call per state (or the problem's `jacobian`, all rows in one
 * call, where it has one; or the whole derivative from the problem's `coupled`, where it has
 * one for these columns). One system serves every solve of a problem: `setParameters`
 * points it at the next solve's p.
 */
import type { CoupledDerivative, OdeProblem } from "./types.js";

export class AugmentedSystem {
  /** Length of the integrated vector z = (y, S column by column). */
  readonly size: number;
  /** Sensitivity columns (n0 + np) when sensitivities are on, else 0. */
  readonly m: number;
  /** Columns for y0: n, or 0 where y0 is data. */
  readonly n0: number;
  /** J_y, row-major n x n, at the last `jacobian` call. */
  readonly jy: Float64Array;
  private readonly jp: Float64Array;
  private readonly y: Float64Array;
  private readonly f: Float64Array;
  private readonly w: Float64Array;
  private readonly gy: Float64Array;
  private readonly gp: Float64Array;
  /** Right-hand side evaluations (each Jacobian counts n more). */
  evaluations = 0;
  /** The problem's one-call derivative of this coupled system, where it gives one for these columns. */
  private readonly coupled: CoupledDerivative | null;

  private p: Float64Array;

  constructor(
    private readonly problem: OdeProblem,
    p: Float64Array,
    readonly sensitivities: boolean,
    initialSensitivities = true,
  ) {
    const { n, np } = problem;
    if (problem.jacobian === undefined && problem.vjp === undefined) throw new TypeError("an ODE problem needs its Jacobian: give vjp or jacobian");
    this.n0 = sensitivities && initialSensitivities ? n : 0;
    this.m = sensitivities ? this.n0 + np : 0;
    this.size = n * (1 + this.m);
    this.jy = new Float64Array(n * n);
    this.jp = new Float64Array(n * np);
    this.y = new Float64Array(n);
    this.f = new Float64Array(n);
    this.w = new Float64Array(n);
    this.gy = new Float64Array(n);
    this.gp = new Float64Array(np);
    this.p = p;
    const coupled = problem.coupled;
    this.coupled = sensitivities && coupled !== undefined && coupled.initialSensitivities === (this.n0 > 0) ? coupled : null;
  }

  /** The parameters of the next solve. */
  setParameters(p: Float64Array): void {
    this.p = p;
  }

  /** Writes the initial vector into `z`: y0 and, with sensitivities, S = [I | 0] (or 0). */
  initial(y0: ArrayLike<number>, z: Float64Array): Float64Array {
    const n = this.problem.n;
    z.fill(0);
    for (let s = 0; s < n; s++) z[s] = y0[s]!;
    for (let s = 0; s < this.n0; s++) z[n + s * n + s] = 1;
    return z;
  }

  /** dz[at .. at + size) = F(t, z); false when any component is not finite. */
  eval(t: number, z: Float64Array, dz: Float64Array, at: number): boolean {
    this.evalStage(t, z, dz, at);
    const end = at + this.size;
    for (let k = at; k < end; k++) if (!Number.isFinite(dz[k]!)) return false;
    return true;
  }

  /**
   * dz[at .. at + size) = F(t, z), unchecked: a Runge-Kutta stage that is not finite is judged
   * by the step's error estimate, as in Boost (DECISIONS.md D225).
   */
  evalStage(t: number, z: Float64Array, dz: Float64Array, at: number): void {
    if (this.coupled !== null) {
      this.evaluations++;
      this.coupled.evaluate(t, z, this.p, dz, at);
      return;
    }
    const { n } = this.problem;
    const y = this.y;
    for (let s = 0; s < n; s++) y[s] = z[s]!;
    this.evaluations++;
    const f = this.f;
    this.problem.rhs(t, y, this.p, f);
    for (let s = 0; s < n; s++) dz[at + s] = f[s]!;
    if (this.sensitivities) {
      this.jacobian(t, y);
      const { jy, jp, m, n0 } = this;
      const np = this.problem.np;
      if (n <= 2) this.smallProduct(z, dz, at);
      else
        for (let j = 0; j < m; j++) {
          const col = n + j * n;
          for (let s = 0; s < n; s++) {
            let acc = j >= n0 ? jp[s * np + j - n0]! : 0;
            for (let k = 0; k < n; k++) acc += jy[s * n + k]! * z[col + k]!;
            dz[at + col + s] = acc;
          }
        }
    }
  }

  /**
   * J_y S + [0 | J_p] for one or two states, the sums unrolled (the same terms in the same
   * order as the general loop: the common small systems spend a third of an evaluation there).
   */
  private smallProduct(z: Float64Array, dz: Float64Array, at: number): void {
    const { jy, jp, m, n0 } = this;
    const { n, np } = this.problem;
    if (n === 1) {
      const a = jy[0]!;
      for (let j = 0; j < m; j++) dz[at + 1 + j] = (j >= n0 ? jp[j - n0]! : 0) + a * z[1 + j]!;
      return;
    }
    const a = jy[0]!, b = jy[1]!, c = jy[2]!, d = jy[3]!;
    for (let j = 0; j < m; j++) {
      const col = 2 + 2 * j;
      const z0 = z[col]!;
      const z1 = z[col + 1]!;
      const p0 = j >= n0 ? jp[j - n0]! : 0;
      const p1 = j >= n0 ? jp[np + j - n0]! : 0;
      dz[at + col] = p0 + a * z0 + b * z1;
      dz[at + col + 1] = p1 + c * z0 + d * z1;
    }
  }

  /** The states' derivative alone: dz[0 .. n) = f(t, z[0 .. n)); false when not finite. */
  evalStates(t: number, z: Float64Array, dz: Float64Array): boolean {
    const { n } = this.problem;
    const y = this.y;
    for (let s = 0; s < n; s++) y[s] = z[s]!;
    this.evaluations++;
    this.problem.rhs(t, y, this.p, dz);
    for (let k = 0; k < n; k++) if (!Number.isFinite(dz[k]!)) return false;
    return true;
  }

  /** J_p, row-major n x np, at the last `jacobian` call. */
  get paramJacobian(): Float64Array {
    return this.jp;
  }

  /** Fills J_y (and J_p) at (t, y) for the states y = z[0 .. n). */
  jacobian(t: number, y: Float64Array): void {
    const problem = this.problem;
    const { n, np } = problem;
    const { w, gy, gp, jy, jp } = this;
    if (problem.jacobian !== undefined) {
      problem.jacobian(t, y, this.p, jy, jp);
      return;
    }
    for (let s = 0; s < n; s++) {
      w.fill(0);
      w[s] = 1;
      problem.vjp!(t, y, this.p, w, gy, gp);
      for (let k = 0; k < n; k++) jy[s * n + k] = gy[k]!;
      for (let k = 0; k < np; k++) jp[s * np + k] = gp[k]!;
    }
  }

  /** J_y at the states z[0 .. n) (the Newton matrix's Jacobian). */
  stateJacobian(t: number, z: Float64Array): Float64Array {
    for (let s = 0; s < this.problem.n; s++) this.y[s] = z[s]!;
    this.jacobian(t, this.y);
    return this.jy;
  }
}

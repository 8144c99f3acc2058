/** Where a solve writes its solution (and sensitivities) at the output times: the caller's buffers, set before each solve. */

const NONE = new Float64Array(0);

/**
 * Receives the integrated vector z = (y, S column by column) at each output time and copies it
 * into `y` (`y[i * n + s]`) and `sens` (`sens[(i * m + j) * n + s]`, the layout of `OdeResult.sens`).
 */
export class OdeOutput {
  y: Float64Array = NONE;
  sens: Float64Array | null = null;

  constructor(
    readonly n: number,
    readonly m: number,
  ) {}

  /** Points this output at the next solve's buffers. */
  target(y: Float64Array, sens: Float64Array | null): void {
    this.y = y;
    this.sens = sens;
  }

  /** z at output time i. */
  record(i: number, z: Float64Array): void {
    const { n, y, sens } = this;
    for (let k = 0; k < n; k++) y[i * n + k] = z[k]!;
    if (sens !== null) {
      const size = n * this.m;
      const at = i * size;
      for (let k = 0; k < size; k++) sens[at + k] = z[n + k]!;
    }
  }
}

/** Dense LU with partial pivoting for the small Newton matrices of the BDF solver. */

/** Factors the row-major n x n matrix `a` in place; returns false when it is singular. */
export function luFactor(a: Float64Array, n: number, piv: Int32Array): boolean {
  for (let k = 0; k < n; k++) {
    let p = k;
    let max = Math.abs(a[k * n + k]!);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k]!);
      if (v > max) {
        max = v;
        p = i;
      }
    }
    piv[k] = p;
    if (!(max > 0)) return false;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const tmp = a[k * n + j]!;
        a[k * n + j] = a[p * n + j]!;
        a[p * n + j] = tmp;
      }
    }
    const inv = 1 / a[k * n + k]!;
    for (let i = k + 1; i < n; i++) {
      const l = (a[i * n + k]! *= inv);
      if (l !== 0) for (let j = k + 1; j < n; j++) a[i * n + j]! -= l * a[k * n + j]!;
    }
  }
  return true;
}

/** Solves LU x = b in place for the block b[offset .. offset + n). */
export function luSolve(lu: Float64Array, n: number, piv: Int32Array, b: Float64Array, offset: number): void {
  for (let k = 0; k < n; k++) {
    const p = piv[k]!;
    if (p !== k) {
      const tmp = b[offset + k]!;
      b[offset + k] = b[offset + p]!;
      b[offset + p] = tmp;
    }
  }
  for (let i = 1; i < n; i++) {
    let s = b[offset + i]!;
    for (let j = 0; j < i; j++) s -= lu[i * n + j]! * b[offset + j]!;
    b[offset + i] = s;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[offset + i]!;
    for (let j = i + 1; j < n; j++) s -= lu[i * n + j]! * b[offset + j]!;
    b[offset + i] = s / lu[i * n + i]!;
  }
}

/**
 * Reusable scratch buffers. The diagnostics run online every few hundred
 * draws over many parameters, so buffers grow to the largest size seen and are
 * then reused instead of being reallocated on every call. Everything here is
 * synchronous, so one module-level workspace is safe as long as each buffer
 * name has a single owner at a time (see the names used in convergence.ts).
 */
export class Workspace {
  private readonly buffers = new Map<string, Float64Array>();
  private readonly intBuffers = new Map<string, Int32Array>();

  /** A buffer of at least `size` entries; contents are unspecified. */
  get(name: string, size: number): Float64Array {
    let buf = this.buffers.get(name);
    if (buf === undefined || buf.length < size) {
      // Grow geometrically so slowly growing chains do not reallocate each call.
      const cap = Math.max(size, buf === undefined ? 0 : Math.ceil(buf.length * 1.5));
      buf = new Float64Array(cap);
      this.buffers.set(name, buf);
    }
    return buf;
  }

  /** Integer counterpart of get(). */
  getInt32(name: string, size: number): Int32Array {
    let buf = this.intBuffers.get(name);
    if (buf === undefined || buf.length < size) {
      const cap = Math.max(size, buf === undefined ? 0 : Math.ceil(buf.length * 1.5));
      buf = new Int32Array(cap);
      this.intBuffers.set(name, buf);
    }
    return buf;
  }

  /** Exactly `size` entries (a view), for APIs that use the array length. */
  view(name: string, size: number): Float64Array {
    return this.get(name, size).subarray(0, size);
  }
}

export const sharedWorkspace = new Workspace();

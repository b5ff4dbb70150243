/**
 * Grow-only typed-array scratch buffers owned by one re-ranker instance. Re-rankers are
 * synchronous, so one instance never runs two requests at once on the same thread; reusing the
 * buffers keeps the request path free of per-call typed-array allocation.
 */
export class Scratch {
  private f64: Float64Array[] = [];
  private i32: Int32Array[] = [];
  private u8: Uint8Array[] = [];

  float64(slot: number, n: number): Float64Array {
    return grow(this.f64, slot, n, (m) => new Float64Array(m));
  }
  int32(slot: number, n: number): Int32Array {
    return grow(this.i32, slot, n, (m) => new Int32Array(m));
  }
  /** Zero-filled over its first n entries. */
  flags(slot: number, n: number): Uint8Array {
    const a = grow(this.u8, slot, n, (m) => new Uint8Array(m));
    a.fill(0, 0, n);
    return a;
  }
}

function grow<T extends { length: number }>(list: T[], slot: number, n: number, make: (m: number) => T): T {
  const cur = list[slot];
  if (cur !== undefined && cur.length >= n) return cur;
  const next = make(Math.max(n, 16, cur ? cur.length * 2 : 0));
  list[slot] = next;
  return next;
}

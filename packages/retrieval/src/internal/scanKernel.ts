import { SCAN_WASM_BASE64 } from './wasm/scanWasm.js';

// The part of the WebAssembly JS API used here (lib.dom types it; this Node package does not load lib.dom).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * A WebAssembly SIMD128 scan kernel (see wasm/scan.wat) over one private linear memory.
 *
 * Why hand-written: the IVF index scans a few thousand to a few tens of thousands of rows per
 * query and needs every row's score. The libraries on hand do not offer that cheaply — usearch's
 * `exactSearch` materialises and sorts every (row, query) pair (≈ 20 ns per 64-dim row for `ip`,
 * 28 for `cos`, measured), hnswlib's `BruteforceSearch` takes `number[]` queries and answers
 * in JS arrays (≈ 10 ns/row plus ≈ 100 ns per returned hit), and simsimd/NumKong's JS binding
 * only computes one pair per call. The f32 scan of wasm/scan.wat computes two rows per pass at
 * ≈ 5 ns per 64-dim row on this machine, in every Node ≥ 16 with no native build; its int8 scan
 * (`dotsI8`, for `quantization: 'i8'`) reads ≈ 3.5× fewer bytes, for scans that wait on memory.
 *
 * The memory is the index's storage too (the rows live in it), so a scan copies nothing.
 * Views are refreshed after every `memory.grow` (which detaches the old buffer).
 */
export class ScanKernel {
  /** Floats per row: dims rounded up to a multiple of 16 (the kernel's step is 64 bytes). */
  readonly stride: number;
  readonly rowBytes: number;
  private readonly memory: WasmMemory;
  private readonly fns: {
    dots(mat: number, rows: number, bytes: number, q: number, out: number): void;
    argmax(mat: number, rows: number, bytes: number, cent: number, k: number, out: number, best: number, tmp: number): void;
    above(scores: number, n: number, tau: number, idx: number): number;
    dotsAt(mat: number, idx: number, n: number, bytes: number, q: number, out: number): void;
    dotsI8(mat: number, rows: number, bytes: number, q: number, scales: number, qs: number, out: number): void;
  };
  /**
   * The int8 layout (`dotsI8`): a row is `stride` int8 values (`stride` bytes: dims padded like the
   * f32 rows) with an f32 scale beside it; a query is `stride` int16 values (2 · stride bytes)
   * quantised to ±`queryMax`, small enough that 127 · queryMax · stride < 2^31 (no i32 overflow).
   */
  readonly queryMax: number;
  f32!: Float32Array;
  i8!: Int8Array;
  i16!: Int16Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  // Scratch of the top-k selection, reused across searches (no per-search garbage but the result).
  private readonly sample = new Float64Array(512);
  private readonly count = new Int32Array(2048);
  private cut = new Float64Array(0);
  private keysA = new Uint32Array(0);
  private keysB = new Uint32Array(0);
  private valsA = new Int32Array(0);
  private valsB = new Int32Array(0);

  constructor(readonly dims: number) {
    this.stride = Math.ceil(dims / 16) * 16;
    this.rowBytes = this.stride * 4;
    this.queryMax = Math.min(32767, Math.floor((2 ** 31 - 1) / (127 * this.stride)));
    const instance = new WA.Instance(module(), {});
    this.memory = instance.exports.memory as WasmMemory;
    this.fns = instance.exports as unknown as ScanKernel['fns'];
    this.refresh();
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Grows the memory to at least `bytes` (amortised: ≥ 1.25× the current size). Throws RangeError past 4 GiB. */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const want = Math.max(bytes, Math.min(4 * 2 ** 30, Math.ceil(have * 1.25)));
    this.memory.grow(Math.ceil((want - have) / 65536));
    this.refresh();
  }

  private refresh(): void {
    const b = this.memory.buffer;
    this.f32 = new Float32Array(b);
    this.i8 = new Int8Array(b);
    this.i16 = new Int16Array(b);
    this.u32 = new Uint32Array(b);
    this.i32 = new Int32Array(b);
  }

  /** Writes `src[from .. from+dims)` × `scale` as the padded row at byte offset `off`. */
  writeRow(off: number, src: ArrayLike<number>, from: number, scale: number): void {
    const f = this.f32;
    const base = off >> 2;
    const d = this.dims;
    for (let j = 0; j < d; j++) f[base + j] = (src[from + j] as number) * scale;
    for (let j = d; j < this.stride; j++) f[base + j] = 0;
  }

  /**
   * Quantises the padded f32 row at byte offset `row` to int8 at `to` (`stride` bytes; symmetric:
   * values round(x / s) with s = max|x| / 127) and writes s as f32 at `scaleAt`. An all-zero row
   * gets s = 0.
   */
  quantizeRow(row: number, to: number, scaleAt: number): void {
    const f = this.f32;
    const base = row >> 2;
    let max = 0;
    for (let j = 0; j < this.dims; j++) max = Math.max(max, Math.abs(f[base + j] as number));
    const inv = max > 0 ? 127 / max : 0;
    const q = this.i8;
    for (let j = 0; j < this.stride; j++) q[to + j] = Math.max(-127, Math.min(127, Math.round((f[base + j] as number) * inv)));
    f[scaleAt >> 2] = max / 127;
  }

  /**
   * Quantises the padded f32 query at byte offset `row` to int16 at `to` (2 · stride bytes;
   * symmetric, ±queryMax) and returns its scale: a query kept at higher precision than the rows,
   * so the approximation error is mostly the rows' own.
   */
  quantizeQuery(row: number, to: number): number {
    const f = this.f32;
    const base = row >> 2;
    let max = 0;
    for (let j = 0; j < this.dims; j++) max = Math.max(max, Math.abs(f[base + j] as number));
    const inv = max > 0 ? this.queryMax / max : 0;
    const q = this.i16;
    const qb = to >> 1;
    for (let j = 0; j < this.stride; j++) q[qb + j] = Math.round((f[base + j] as number) * inv);
    return max / this.queryMax;
  }

  /** out[r] = row r of `mat` · `q` (byte offsets). */
  dots(mat: number, rows: number, q: number, out: number): void {
    if (rows > 0) this.fns.dots(mat, rows, this.rowBytes, q, out);
  }

  /** out[i] = the f32 row `idx[i]` (an i32 at byte offset idx + 4i) of `mat` · `q`: scores of gathered rows. */
  dotsAt(mat: number, idx: number, n: number, q: number, out: number): void {
    if (n > 0) this.fns.dotsAt(mat, idx, n, this.rowBytes, q, out);
  }

  /**
   * out[r] ≈ int8 row r of `mat` · `q` (see the int8 layout above): the exact i32 dot of the
   * quantised values × `scales[r]` × `qs` (the query's scale), as f32.
   */
  dotsI8(mat: number, rows: number, q: number, scales: number, qs: number, out: number): void {
    if (rows > 0) this.fns.dotsI8(mat, rows, this.stride, q, scales, qs, out);
  }

  /** out[r] = the index of the row of `cent` (k rows) with the largest dot with row r; best[r] = that dot. */
  argmax(mat: number, rows: number, cent: number, k: number, out: number, best: number, tmp: number): void {
    if (rows > 0 && k > 0) this.fns.argmax(mat, rows, this.rowBytes, cent, k, out, best, tmp);
  }

  /** Positions p < n with scores[p] ≥ tau written to `idx` in order; returns their count. */
  above(scores: number, n: number, tau: number, idx: number): number {
    return n > 0 ? this.fns.above(scores, n, tau, idx) : 0;
  }

  /**
   * The positions of the `want` largest of the `n` f32 scores at byte offset `scores`, best
   * first, using `idx` (4·n bytes) as scratch. One pass to a threshold estimated from a sample,
   * then a sort of the few survivors only: ≈ 1–2 ns per score plus ≈ 30 ns per survivor.
   */
  topK(scores: number, n: number, want: number, idx: number): Int32Array {
    want = Math.min(want, n);
    if (want <= 0) return new Int32Array(0);
    let c: number;
    if (want === n) {
      c = n;
      const base = idx >> 2;
      for (let p = 0; p < n; p++) this.i32[base + p] = p;
    } else if (want <= 32) {
      return this.smallTopK(scores, n, want);
    } else {
      c = this.threshold(scores, n, want, idx);
    }
    return this.sortDesc(scores, idx, c, want);
  }

  /**
   * Writes to `idx` the positions of the `want` largest of the `n` f32 scores at byte offset
   * `scores`, in increasing position order (not by score), and returns their count (min(want, n)).
   * Ties at the cut-off are broken by position. The candidate selection of an `i8` search: the
   * set is what matters, so the survivors of the threshold pass are cut by quickselect, not sorted.
   */
  select(scores: number, n: number, want: number, idx: number): number {
    want = Math.min(want, n);
    if (want <= 0) return 0;
    const ib = idx >> 2;
    if (want === n) {
      for (let p = 0; p < n; p++) this.i32[ib + p] = p;
      return n;
    }
    const c = this.threshold(scores, n, want, idx);
    if (c === want) return c;
    if (this.cut.length < c) this.cut = new Float64Array(Math.max(c, 2 * this.cut.length));
    const sb = scores >> 2;
    const f = this.f32;
    const v = this.cut.subarray(0, c);
    for (let i = 0; i < c; i++) v[i] = f[sb + (this.i32[ib + i] as number)] as number;
    const t = select(v, c - want); // the want-th largest
    let greater = 0;
    for (let i = 0; i < c; i++) if ((f[sb + (this.i32[ib + i] as number)] as number) > t) greater++;
    let ties = want - greater;
    let w = 0;
    for (let i = 0; i < c; i++) {
      const p = this.i32[ib + i] as number;
      const x = f[sb + p] as number;
      if (x > t || (x === t && ties-- > 0)) this.i32[ib + w++] = p;
    }
    return w;
  }

  /**
   * One pass keeping the positions (in order, at `idx`) of the scores at or above the want-th
   * largest score estimated from an evenly spaced sample (quickselect, no sort), set a little low
   * so one pass usually keeps ≥ want; if not, it is lowered and the pass repeated (rare; -∞ keeps
   * everything). Returns the count kept (≥ want).
   */
  private threshold(scores: number, n: number, want: number, idx: number): number {
    const m = Math.min(n, 512);
    const sample = this.sample.subarray(0, m);
    const sb = scores >> 2;
    const step = n / m;
    for (let i = 0; i < m; i++) sample[i] = this.f32[sb + Math.floor(i * step)] as number;
    const expected = (want / n) * m;
    let margin = Math.ceil(3 * Math.sqrt(expected) + 2);
    let c: number;
    for (;;) {
      const r = Math.floor(m - expected - margin);
      const tau = r <= 0 ? -Infinity : select(sample, r);
      c = this.above(scores, n, tau, idx);
      if (c >= want || tau === -Infinity) break;
      margin *= 4;
    }
    return c;
  }

  /** Top `want` (≤ 32) in one pass with a small sorted buffer: cheaper than sampling for the probe lists. */
  private smallTopK(scores: number, n: number, want: number): Int32Array {
    const sb = scores >> 2;
    const f = this.f32;
    const best = new Float64Array(want).fill(-Infinity);
    const pos = new Int32Array(want).fill(-1);
    let filled = 0;
    for (let p = 0; p < n; p++) {
      const v = f[sb + p] as number;
      if (filled === want && v <= (best[want - 1] as number)) continue;
      let j = filled === want ? want - 1 : filled++;
      while (j > 0 && (best[j - 1] as number) < v) {
        best[j] = best[j - 1] as number;
        pos[j] = pos[j - 1] as number;
        j--;
      }
      best[j] = v;
      pos[j] = p;
    }
    return pos;
  }

  /**
   * The first `want` of the `c` positions at `idx`, ordered by score descending: an LSD radix sort
   * (3 passes of 11 bits) of the scores' order-preserving 32-bit images. Hand-written because it
   * is the hot path of every IVF search and a typed-array `sort()` of packed keys measured 2–4×
   * slower for the ≈ 1.5k survivors of a k = 1000 search.
   */
  private sortDesc(scores: number, idx: number, c: number, want: number): Int32Array {
    const sb = scores >> 2;
    const ib = idx >> 2;
    if (this.keysA.length < c) {
      const cap = Math.max(c, 2 * this.keysA.length);
      this.keysA = new Uint32Array(cap);
      this.keysB = new Uint32Array(cap);
      this.valsA = new Int32Array(cap);
      this.valsB = new Int32Array(cap);
    }
    let keys = this.keysA;
    let vals = this.valsA;
    for (let i = 0; i < c; i++) {
      const p = this.i32[ib + i] as number;
      const bits = this.u32[sb + p] as number;
      keys[i] = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
      vals[i] = p;
    }
    let keys2 = this.keysB;
    let vals2 = this.valsB;
    const count = this.count;
    for (let shift = 0; shift < 32; shift += 11) {
      count.fill(0);
      for (let i = 0; i < c; i++) {
        const b = ((keys[i] as number) >>> shift) & 2047;
        count[b] = (count[b] as number) + 1;
      }
      // Survivors' scores are close, so their high bits often agree: a digit shared by all is a no-op pass.
      if (count[((keys[0] as number) >>> shift) & 2047] === c) continue;
      let sum = 0;
      for (let b = 0; b < 2048; b++) {
        const t = count[b] as number;
        count[b] = sum;
        sum += t;
      }
      for (let i = 0; i < c; i++) {
        const key = keys[i] as number;
        const b = (key >>> shift) & 2047;
        const at = count[b] as number;
        count[b] = at + 1;
        keys2[at] = key;
        vals2[at] = vals[i] as number;
      }
      [keys, keys2] = [keys2, keys];
      [vals, vals2] = [vals2, vals];
    }
    const out = new Int32Array(want);
    for (let j = 0; j < want; j++) out[j] = vals[c - 1 - j] as number;
    return out;
  }
}

/** The r-th smallest (0-based) of `a`, which is reordered (Hoare quickselect, middle pivot). */
function select(a: Float64Array, r: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (r <= j) hi = j;
    else if (r >= i) lo = i;
    else return a[r] as number;
  }
  return a[r] as number;
}

let compiled: object | undefined;
function module(): object {
  compiled ??= new WA.Module(Buffer.from(SCAN_WASM_BASE64, 'base64'));
  return compiled;
}

import { RetrievalErrors } from '../errors.js';

/** Throws a coded error unless `v` has `dims` finite components. */
export function checkVector(v: ArrayLike<number>, dims: number, stage: string, field = 'vector'): void {
  if (v.length !== dims) {
    throw RetrievalErrors.create('RECSPINE_ERR_ANN_DIMENSION', `${field}: expected ${dims} dimensions, got ${v.length}`, {
      stage,
      field,
    });
  }
  for (let i = 0; i < dims; i++) {
    if (!Number.isFinite(v[i] as number)) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_NON_FINITE', `${field}[${i}] is ${String(v[i])}`, { stage, field });
    }
  }
}

/** Throws a coded error unless `m` is a whole number of `dims`-rows of finite numbers. */
export function checkMatrix(m: Float32Array, dims: number, rows: number, stage: string, field = 'vectors'): void {
  if (m.length !== dims * rows) {
    throw RetrievalErrors.create(
      'RECSPINE_ERR_ANN_DIMENSION',
      `${field}: expected ${rows}×${dims} = ${rows * dims} values, got ${m.length}`,
      { stage, field },
    );
  }
  for (let i = 0; i < m.length; i++) {
    if (!Number.isFinite(m[i] as number)) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_NON_FINITE', `${field}: row ${Math.floor(i / dims)} has ${String(m[i])}`, {
        stage,
        field,
      });
    }
  }
}

/** Throws `RECSPINE_ERR_RETRIEVAL_BAD_ITEM` unless every id is a non-empty string. */
export function checkItemIds(itemIds: readonly string[], stage: string): void {
  for (const id of itemIds) {
    if (typeof id !== 'string' || id.length === 0) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', 'item ids must be non-empty strings', { stage, field: 'itemIds' });
    }
  }
}

/** Seeded mulberry32 in [0, 1): deterministic on every platform. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Throws a coded error unless `k` is an integer in 1..max. */
export function checkK(k: number, max: number, stage: string): void {
  if (!Number.isInteger(k) || k <= 0 || k > max) {
    throw RetrievalErrors.create('RECSPINE_ERR_ANN_BAD_K', `k must be an integer in 1..${max}, got ${String(k)}`, {
      stage,
      field: 'k',
    });
  }
}

/** L2 norm. */
export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  return Math.sqrt(s);
}

/** Dot product of two equal-length vectors. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Cosine similarity (0 when either vector is zero). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm(a);
  const nb = norm(b);
  return na === 0 || nb === 0 ? 0 : dot(a, b) / (na * nb);
}

/** Mean of equal-length vectors; undefined for an empty list. */
export function meanVector(vs: readonly Float32Array[], dims: number): Float32Array | undefined {
  if (vs.length === 0) return undefined;
  const out = new Float32Array(dims);
  for (const v of vs) for (let i = 0; i < dims; i++) out[i] = (out[i] as number) + (v[i] as number);
  for (let i = 0; i < dims; i++) out[i] = (out[i] as number) / vs.length;
  return out;
}

/**
 * `v` itself when it starts at byte 0 of its buffer, else a copy. usearch's `exactSearch` binding
 * reads typed arrays from the start of their ArrayBuffer and ignores `byteOffset` (its `Index`
 * methods do not), so a subarray would silently be read from the wrong place.
 */
export function atOffsetZero(v: Float32Array): Float32Array {
  return v.byteOffset === 0 ? v : v.slice();
}

/**
 * Synthetic embeddings with cluster structure (not uniform noise): `clusters` unit centres in
 * `dims` dimensions, each item a centre plus Gaussian noise, normalised; cluster sizes follow a
 * Zipf-like law, as catalogues do. Queries are "users": a mix of 1–3 centres plus noise, so they
 * are not item vectors themselves. Deterministic for a seed.
 */
import { mulberry32 } from '../src/internal/vector.js';

/** The package's seeded PRNG (mulberry32), under the name the benches and tests use. */
export const rng = mulberry32;

export function gaussian(r: () => number): () => number {
  return () => {
    const u = Math.max(r(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
}

function normaliseRow(m: Float32Array, off: number, d: number): void {
  let s = 0;
  for (let j = 0; j < d; j++) s += (m[off + j] as number) ** 2;
  const n = Math.sqrt(s) || 1;
  for (let j = 0; j < d; j++) m[off + j] = (m[off + j] as number) / n;
}

export interface ClusteredData {
  readonly dims: number;
  readonly ids: string[];
  readonly vectors: Float32Array;
  readonly centres: Float32Array;
  readonly clusterOf: Uint32Array;
}

export function clusteredItems(n: number, dims: number, opts: { clusters?: number; noise?: number; seed?: number } = {}): ClusteredData {
  const clusters = opts.clusters ?? Math.max(16, Math.round(Math.sqrt(n)));
  const noise = opts.noise ?? 0.6;
  const g = gaussian(rng(opts.seed ?? 42));
  const r = rng((opts.seed ?? 42) + 1);
  const centres = new Float32Array(clusters * dims);
  for (let i = 0; i < centres.length; i++) centres[i] = g();
  for (let c = 0; c < clusters; c++) normaliseRow(centres, c * dims, dims);
  // Zipf-ish cluster popularity: weight ∝ 1/(rank+10)
  const cum = new Float64Array(clusters);
  let acc = 0;
  for (let c = 0; c < clusters; c++) cum[c] = acc += 1 / (c + 10);
  const vectors = new Float32Array(n * dims);
  const clusterOf = new Uint32Array(n);
  const sigma = noise / Math.sqrt(dims);
  const ids: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const x = r() * acc;
    let lo = 0;
    let hi = clusters - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cum[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    clusterOf[i] = lo;
    const off = i * dims;
    for (let j = 0; j < dims; j++) vectors[off + j] = (centres[lo * dims + j] as number) + sigma * g();
    normaliseRow(vectors, off, dims);
    ids[i] = `item-${i}`;
  }
  return { dims, ids, vectors, centres, clusterOf };
}

export function userQueries(data: ClusteredData, count: number, seed = 7): Float32Array[] {
  const r = rng(seed);
  const g = gaussian(rng(seed + 1));
  const d = data.dims;
  const out: Float32Array[] = [];
  for (let q = 0; q < count; q++) {
    const v = new Float32Array(d);
    const mix = 1 + Math.floor(r() * 3);
    for (let m = 0; m < mix; m++) {
      const c = data.clusterOf[Math.floor(r() * data.clusterOf.length)] as number;
      for (let j = 0; j < d; j++) v[j] = (v[j] as number) + (data.centres[c * d + j] as number) * (0.5 + r());
    }
    for (let j = 0; j < d; j++) v[j] = (v[j] as number) + (0.3 / Math.sqrt(d)) * g();
    normaliseRow(v, 0, d);
    out.push(v);
  }
  return out;
}

/**
 * The locality build order's algorithm (see `localityOrder` in ../localityOrder.ts for the public
 * API and why it exists).
 *
 * Written as ONE self-contained generator function, on purpose: the worker build
 * (buildWorkerSource.ts) embeds its source text (`localityOrderSteps.toString()`) so that a
 * worker-built version is ordered by the very same code without importing this package (the
 * worker is an eval'd script). So it must not reference anything at module scope — no imports, no
 * helpers outside its body; `exactSearch` (usearch's SIMD brute-force kernel) is passed in.
 *
 * It yields after every slice of `stepRows` rows it assigns, so a caller on the serving thread can
 * give the event loop a turn between slices; a synchronous caller just runs it to the end.
 *
 * Two-level (hierarchical) k-means, not flat: usearch's `exactSearch` costs ≈ 50 ns per
 * (row, centroid) pair whatever the kernel (it materialises and sorts every pair), so assigning
 * 1M rows to 1024 flat centroids took ≈ 50 s; √C coarse groups, each split into ≈ √C fine ones,
 * need ≈ 2√C pairs per row (≈ 3 s at 1M rows, C = 1024) and give a nested order, which is
 * better for locality anyway (neighbouring fine groups share a coarse group).
 */

/** usearch's `exactSearch`, as the core calls it. */
export type ExactSearchFn = (
  dataset: Float32Array,
  queries: Float32Array,
  dims: number,
  count: number,
  metric: string,
  threads: number,
) => { keys: ArrayLike<bigint>; distances: ArrayLike<number> };

/** Fully resolved parameters of the core (the public wrapper fills in defaults and validates). */
export interface LocalityParams {
  /** Number of groups (fine centroids) in all. */
  readonly centroids: number;
  /** Rows sampled to fit the centroids. */
  readonly sample: number;
  /** Lloyd (k-means) iterations per level. */
  readonly iterations: number;
  readonly seed: number;
  /** Native threads of the assignment scans (0 = all cores). */
  readonly threads: number;
  /** Fraction of rows (random, seeded) placed first, in random order, before the grouped rest. */
  readonly scaffold: number;
  /** Rows assigned per native call (and per yield). */
  readonly stepRows: number;
}

/**
 * Yields between slices; returns the permutation: `order[j]` is the input row to insert j-th.
 * `metric`: 'cos' (direction only) or 'l2sq' (for inner-product indexes: plain Euclidean
 * locality).
 */
export function* localityOrderSteps(
  vectors: Float32Array,
  dims: number,
  metric: 'cos' | 'l2sq',
  p: LocalityParams,
  exactSearch: ExactSearchFn,
): Generator<void, Uint32Array, void> {
  const n = Math.floor(vectors.length / dims);
  const order = new Uint32Array(n);
  // Seeded mulberry32: deterministic for a seed on every platform.
  let s = p.seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const C = Math.min(p.centroids, n);
  if (C <= 1 || n <= 2) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }
  /** Partial Fisher–Yates: the first `m` entries of `a` become a random sample of it. */
  const shuffleHead = (a: Uint32Array, m: number): void => {
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(rand() * (a.length - i));
      const t = a[i] as number;
      a[i] = a[j] as number;
      a[j] = t;
    }
  };
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const S = Math.max(C, Math.min(n, p.sample));
  shuffleHead(all, S);
  const sample = all.slice(0, S);
  // Rows are copied into a private scratch buffer before every native call: exactSearch reads a
  // typed array from byte 0 of its buffer and rejects SharedArrayBuffer views (the worker's input).
  const step = Math.max(1, p.stepRows);
  const scratch = new Float32Array(Math.min(n, step) * dims);

  /** Nearest of `K` centroids for each row in `rows` (row numbers), into `out`; yields per slice. */
  function* assign(centroids: Float32Array, K: number, rows: Uint32Array, out: Uint32Array): Generator<void, void, void> {
    if (K === 1) {
      out.fill(0);
      return;
    }
    for (let off = 0; off < rows.length; off += step) {
      const m = Math.min(step, rows.length - off);
      for (let i = 0; i < m; i++) {
        const r = (rows[off + i] as number) * dims;
        scratch.set(vectors.subarray(r, r + dims), i * dims);
      }
      const res = exactSearch(centroids, scratch.subarray(0, m * dims), dims, 1, metric, p.threads);
      for (let i = 0; i < m; i++) {
        const a = Number(res.keys[i]);
        // A NaN row matches nothing sensible: group 0 (the insert rejects it later).
        out[off + i] = a >= 0 && a < K ? a : 0;
      }
      yield;
    }
  }

  /** k-means (Lloyd; spherical for 'cos') of `K` centroids on the rows `rows`, seeded from them. */
  function* kmeans(rows: Uint32Array, K: number): Generator<void, Float32Array, void> {
    const centroids = new Float32Array(K * dims);
    const init = rows.slice();
    shuffleHead(init, K);
    for (let c = 0; c < K; c++) {
      const r = (init[c] as number) * dims;
      centroids.set(vectors.subarray(r, r + dims), c * dims);
    }
    const of = new Uint32Array(rows.length);
    const sums = new Float64Array(K * dims);
    const counts = new Uint32Array(K);
    for (let it = 0; it < p.iterations; it++) {
      yield* assign(centroids, K, rows, of);
      sums.fill(0);
      counts.fill(0);
      for (let i = 0; i < rows.length; i++) {
        const c = of[i] as number;
        const r = (rows[i] as number) * dims;
        let scale = 1;
        if (metric === 'cos') {
          let q = 0;
          for (let j = 0; j < dims; j++) q += (vectors[r + j] as number) ** 2;
          scale = q > 0 ? 1 / Math.sqrt(q) : 0;
        }
        for (let j = 0; j < dims; j++) sums[c * dims + j] = (sums[c * dims + j] as number) + (vectors[r + j] as number) * scale;
        counts[c] = (counts[c] as number) + 1;
      }
      for (let c = 0; c < K; c++) {
        if (counts[c] === 0) continue; // an empty group keeps its centroid
        let q = 0;
        for (let j = 0; j < dims; j++) q += (sums[c * dims + j] as number) ** 2;
        const div = metric === 'cos' ? Math.sqrt(q) || 1 : (counts[c] as number);
        for (let j = 0; j < dims; j++) centroids[c * dims + j] = (sums[c * dims + j] as number) / div;
      }
    }
    return centroids;
  }

  /** Greedy nearest-neighbour chain through `K` centroids from centroid 0: rank[c] = position. */
  const chain = (centroids: Float32Array, K: number): Uint32Array => {
    const rank = new Uint32Array(K);
    if (K === 1) return rank;
    // One call gives every centroid's full sorted neighbour list.
    const nn = exactSearch(centroids, centroids, dims, K, metric, p.threads);
    const placed = new Uint8Array(K);
    let cur = 0;
    placed[0] = 1;
    for (let pos = 1; pos < K; pos++) {
      let next = -1;
      for (let i = 0; i < K; i++) {
        const c = Number(nn.keys[cur * K + i]);
        if (c >= 0 && c < K && placed[c] === 0) {
          next = c;
          break;
        }
      }
      if (next < 0) for (next = 0; placed[next] === 1; next++);
      placed[next] = 1;
      rank[next] = pos;
      cur = next;
    }
    return rank;
  };

  /** Row numbers grouped by `groupOf` (counting sort, stable), with each group's start offset. */
  const bucket = (rows: Uint32Array, groupOf: Uint32Array, K: number): { sorted: Uint32Array; start: Uint32Array } => {
    const start = new Uint32Array(K + 1);
    for (let i = 0; i < rows.length; i++) {
      const g = (groupOf[i] as number) + 1;
      start[g] = (start[g] as number) + 1;
    }
    for (let c = 0; c < K; c++) start[c + 1] = (start[c + 1] as number) + (start[c] as number);
    const fill = start.slice();
    const sorted = new Uint32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const g = groupOf[i] as number;
      sorted[fill[g] as number] = rows[i] as number;
      fill[g] = (fill[g] as number) + 1;
    }
    return { sorted, start };
  };

  // The scaffold: a random fraction first, in random order (HNSW graph quality needs some
  // long-range links early; see the README's measurements). The rest is grouped.
  const first = Math.min(n, Math.round(Math.max(0, p.scaffold) * n));
  let rest = all;
  if (first > 0) {
    const pick = new Uint32Array(n);
    for (let i = 0; i < n; i++) pick[i] = i;
    shuffleHead(pick, first);
    order.set(pick.subarray(0, first), 0);
    const isFirst = new Uint8Array(n);
    for (let i = 0; i < first; i++) isFirst[pick[i] as number] = 1;
    rest = new Uint32Array(n - first);
    let w = 0;
    for (let i = 0; i < n; i++) if (isFirst[i] === 0) rest[w++] = i;
  } else {
    for (let i = 0; i < n; i++) all[i] = i;
  }

  // Level 1: √C coarse groups, fitted on the sample, chained, every row assigned.
  const C1 = Math.max(1, Math.min(C, Math.round(Math.sqrt(C))));
  const coarse = yield* kmeans(sample, C1);
  const coarseRank = chain(coarse, C1);
  const restCoarse = new Uint32Array(rest.length);
  yield* assign(coarse, C1, rest, restCoarse);
  for (let i = 0; i < rest.length; i++) restCoarse[i] = coarseRank[restCoarse[i] as number] as number;
  const sampleCoarse = new Uint32Array(S);
  yield* assign(coarse, C1, sample, sampleCoarse);
  for (let i = 0; i < S; i++) sampleCoarse[i] = coarseRank[sampleCoarse[i] as number] as number;
  const byCoarse = bucket(rest, restCoarse, C1);
  const sampleByCoarse = bucket(sample, sampleCoarse, C1);

  // Level 2, per coarse group in chain order: fine groups in proportion to its share of the
  // sample, fitted on its sample rows, chained; its rows written group after group.
  let w = first;
  for (let g = 0; g < C1; g++) {
    const rows = byCoarse.sorted.subarray(byCoarse.start[g] as number, byCoarse.start[g + 1] as number);
    if (rows.length === 0) continue;
    const own = sampleByCoarse.sorted.subarray(sampleByCoarse.start[g] as number, sampleByCoarse.start[g + 1] as number);
    const K = Math.max(1, Math.min(own.length, rows.length, Math.round((C * own.length) / S)));
    if (K === 1) {
      order.set(rows, w);
      w += rows.length;
      continue;
    }
    const fine = yield* kmeans(own, K);
    const fineRank = chain(fine, K);
    const of = new Uint32Array(rows.length);
    yield* assign(fine, K, rows, of);
    for (let i = 0; i < rows.length; i++) of[i] = fineRank[of[i] as number] as number;
    const b = bucket(rows, of, K);
    order.set(b.sorted, w);
    w += rows.length;
  }
  return order;
}

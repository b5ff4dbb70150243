import usearch from 'usearch';
import type { AnnBackend, AnnMetric, AnnQuantization } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import { BaseAnnIndex, DEFAULT_MAX_K, type NativeResult } from './internal/BaseAnnIndex.js';
import { IdMap } from './internal/IdMap.js';
import { checkVector } from './internal/vector.js';
import type { Manifest } from './internal/persist.js';
import { type AnnBuildOrder, checkBuildOrder, type LocalityOrderOptions } from './localityOrder.js';

const { Index } = usearch;

/**
 * Where exact (f32) item vectors come from when a saved index with rescoring is loaded: any object
 * that returns an item's vector by id (an {@link ExactIndex}, an embedding store…).
 */
export interface RescoreVectors {
  vectorOf(itemId: string): Float32Array | undefined;
}

/**
 * Exact rescoring of a quantised (`f16`/`i8`) index: a search for `k` fetches
 * `ceil(k × oversample)` candidates from the graph, recomputes their similarity from exact f32
 * vectors, and keeps the best `k`. Recall is then bounded by the graph walk, not by the
 * quantisation error that reorders near-ties at the cut-off.
 *
 * The index keeps its own f32 copy of every vector, indexed by its internal label (so rescoring
 * reads rows directly, without an id lookup per candidate): `dims × 4` more resident bytes per item.
 * Upserts fill it. The copy is not saved with the index (the embedding store is the source of
 * truth, and it would double an i8 file): `loadAnnIndex(dir, { rescore: { oversample, vectors } })`
 * refills it from `vectors`, which must know every live item.
 */
export interface UsearchRescoreOptions {
  /** Candidates fetched per hit wanted, ≥ 1 (e.g. 2 fetches 2000 for k = 1000). */
  readonly oversample: number;
  /** Needed when loading a saved index (see above); a new index ignores it. */
  readonly vectors?: RescoreVectors;
}

/** Options of a {@link UsearchIndex}. */
export interface UsearchIndexOptions {
  readonly dims: number;
  /** Default `cos`. */
  readonly metric?: AnnMetric;
  /** `f32` (default), `f16` (half the vector bytes) or `i8` (a quarter; `cos` only). */
  readonly quantization?: AnnQuantization;
  /** HNSW degree M. Default 16. */
  readonly connectivity?: number;
  /** ef at build time. Default 128. */
  readonly expansionAdd?: number;
  /** ef at search time; every search uses max(ef, k). Default 64. */
  readonly expansionSearch?: number;
  /** Native threads for batch inserts (0 = all cores). Default 0. Searches always use 1 thread. */
  readonly buildThreads?: number;
  /** Largest k accepted. Default 10 000. */
  readonly maxK?: number;
  /** Rescore quantised candidates against exact vectors (see {@link UsearchRescoreOptions}). Default: off. */
  readonly rescore?: UsearchRescoreOptions;
  /**
   * `locality`: an `upsertBatch` of ≥ 1024 rows is inserted grouped by embedding neighbourhood
   * (`localityOrder`), so neighbours sit side by side in the index's memory and a search reads
   * far fewer scattered cache lines. Ids and results are unchanged. Insert the whole catalogue in
   * one call to order it as a whole. Default `input` (the order given).
   */
  readonly buildOrder?: AnnBuildOrder;
  /** Tuning of the `locality` order (its `threads` default to `buildThreads`). */
  readonly localityOrder?: LocalityOrderOptions;
}

type Resolved = Required<Omit<UsearchIndexOptions, 'rescore' | 'localityOrder'>> & {
  readonly rescore: UsearchRescoreOptions | undefined;
  readonly localityOrder: LocalityOrderOptions | undefined;
};

const STAGE = 'retrieval/ann/usearch';
/** Rescoring packs a candidate position into 15 bits of its sort key (see `rescored`). */
const PACK_LIMIT = 2 ** 15;

function resolve(o: UsearchIndexOptions): Resolved {
  const r: Resolved = {
    dims: o.dims,
    metric: o.metric ?? 'cos',
    quantization: o.quantization ?? 'f32',
    connectivity: o.connectivity ?? 16,
    expansionAdd: o.expansionAdd ?? 128,
    expansionSearch: o.expansionSearch ?? 64,
    buildThreads: o.buildThreads ?? 0,
    maxK: o.maxK ?? DEFAULT_MAX_K,
    rescore: o.rescore,
    buildOrder: o.buildOrder ?? 'input',
    localityOrder: o.localityOrder,
  };
  const bad = (field: string, why: string): never => {
    throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `usearch: ${field} ${why}`, { stage: STAGE, field });
  };
  if (!Number.isInteger(r.dims) || r.dims <= 0) bad('dims', `must be a positive integer, got ${String(r.dims)}`);
  if (r.metric !== 'ip' && r.metric !== 'cos') bad('metric', `must be 'ip' or 'cos', got ${String(r.metric)}`);
  if (!['f32', 'f16', 'i8'].includes(r.quantization)) bad('quantization', `must be f32, f16 or i8, got ${String(r.quantization)}`);
  if (r.quantization === 'i8' && r.metric !== 'cos') bad('quantization', "i8 needs metric 'cos' (it quantises unit vectors)");
  for (const f of ['connectivity', 'expansionAdd', 'expansionSearch', 'buildThreads', 'maxK'] as const) {
    if (!Number.isInteger(r[f]) || r[f] < 0) bad(f, `must be a non-negative integer, got ${String(r[f])}`);
  }
  if (r.connectivity < 2) bad('connectivity', 'must be at least 2');
  if (r.maxK < 1) bad('maxK', 'must be at least 1');
  checkBuildOrder(r.buildOrder, r.localityOrder, bad);
  if (r.rescore !== undefined) {
    const { oversample, vectors } = r.rescore;
    if (typeof oversample !== 'number' || !Number.isFinite(oversample) || oversample < 1) {
      bad('rescore.oversample', `must be a finite number ≥ 1, got ${String(oversample)}`);
    }
    if (vectors !== undefined && typeof (vectors as Partial<RescoreVectors>).vectorOf !== 'function') {
      bad('rescore.vectors', 'must have a vectorOf(itemId) method');
    }
  }
  return r;
}

/**
 * An {@link AnnIndex} on usearch (HNSW, SIMD distance kernels, f32/f16/i8 storage).
 *
 * - Upsert of an existing id is remove + add (usearch keeps a tombstone until the next rebuild).
 * - The predicate is applied to an over-fetched result (`filterMode: 'post'`): the JS binding has
 *   no filtered search.
 * - `search` runs on the calling thread with one native thread; it blocks the event loop for its
 *   whole duration (its cost is the beam max(ef, k): at 1M×64, k=1000 and beam 2000, p50 5–17 ms on
 *   the contended 2-core bench box; see the README).
 * - With `rescore`, an f16/i8 search over-fetches and re-ranks by exact f32 similarity
 *   ({@link UsearchRescoreOptions}): recall 0.921 → 0.952 at beam 2000 on the 1M bench.
 *
 * @example
 * ```ts
 * const index = new UsearchIndex({ dims: 64, metric: 'cos', quantization: 'i8' });
 * index.upsertBatch(ids, matrix);
 * index.search(query, 1000, { predicate: (id) => !blocked.has(id) });
 * const rescored = new UsearchIndex({ dims: 64, quantization: 'i8', expansionSearch: 2000, rescore: { oversample: 1.5 } });
 * ```
 */
export class UsearchIndex extends BaseAnnIndex {
  readonly backend: AnnBackend = 'usearch';
  readonly filterMode = 'post' as const;
  readonly buildOrder: AnnBuildOrder;
  /** @internal */
  readonly localityOptions: LocalityOrderOptions | undefined;
  private readonly native: InstanceType<typeof Index>;
  private readonly opts: Resolved;
  private readonly oneKey = new BigUint64Array(1);
  /** Rescoring only: f32 rows by label (normalised for `cos`), `dims` floats each. */
  private exact: Float32Array | undefined;

  constructor(options: UsearchIndexOptions) {
    const o = resolve(options);
    super(o.dims, o.metric, o.quantization, o.maxK, STAGE);
    this.opts = o;
    this.buildOrder = o.buildOrder;
    this.localityOptions = { threads: o.buildThreads, ...o.localityOrder };
    if (o.rescore !== undefined) this.exact = new Float32Array(o.dims * 1024);
    try {
      this.native = new Index({
        dimensions: o.dims,
        metric: o.metric as never,
        quantization: o.quantization as never,
        connectivity: o.connectivity,
        expansion_add: o.expansionAdd,
        expansion_search: o.expansionSearch,
        multi: false,
      });
    } catch (e) {
      throw this.backendError('create', e);
    }
  }

  /** @internal Restores a saved index; use `loadAnnIndex`. */
  static restore(
    manifest: Manifest,
    indexPath: string,
    ids: { ids: string[]; dead: number[] },
    rescore?: UsearchRescoreOptions,
  ): UsearchIndex {
    const o = manifest.options;
    const index = new UsearchIndex({
      dims: manifest.dims,
      metric: manifest.metric,
      quantization: manifest.quantization,
      connectivity: o.connectivity ?? 16,
      expansionAdd: o.expansionAdd ?? 128,
      expansionSearch: o.expansionSearch ?? 64,
      maxK: o.maxK ?? DEFAULT_MAX_K,
      ...(rescore === undefined ? {} : { rescore }),
    });
    index.idMap = IdMap.fromJSON(ids);
    if (rescore !== undefined) index.fillExact(rescore.vectors);
    try {
      index.native.load(indexPath);
    } catch (e) {
      throw index.backendError('load', e);
    }
    return index;
  }

  /** Refills the rescoring copy of a restored index from `vectors`; every live item must be there. */
  private fillExact(vectors: RescoreVectors | undefined): void {
    if (vectors === undefined) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', 'rescore.vectors is needed to load an index with rescoring', {
        stage: STAGE,
        field: 'rescore.vectors',
      });
    }
    const labels = this.idMap.labels;
    this.ensureExact(labels.length);
    const missing: string[] = [];
    for (let l = 0; l < labels.length; l++) {
      if (!this.idMap.isLive(l)) continue;
      const id = labels[l] as string;
      const v = vectors.vectorOf(id);
      if (v === undefined) {
        missing.push(id);
        continue;
      }
      checkVector(v, this.dims, STAGE, `rescore vector of ${id}`);
      this.putExact(l, v, 0);
    }
    if (missing.length > 0) {
      throw RetrievalErrors.create(
        'RECSPINE_ERR_ANN_CONFIG',
        `rescore.vectors has no vector for ${missing.length} live item(s), e.g. ${missing.slice(0, 3).join(', ')}`,
        { stage: STAGE, field: 'rescore.vectors' },
      );
    }
  }

  private ensureExact(rows: number): void {
    const ex = this.exact as Float32Array;
    if (rows * this.dims <= ex.length) return;
    let cap = ex.length;
    while (cap < rows * this.dims) cap *= 2;
    const grown = new Float32Array(cap);
    grown.set(ex);
    this.exact = grown;
  }

  /** Writes row `label` from `src[off .. off + dims)`, normalised for `cos`. */
  private putExact(label: number, src: Float32Array, off: number): void {
    const ex = this.exact as Float32Array;
    const d = this.dims;
    let scale = 1;
    if (this.metric === 'cos') {
      let s = 0;
      for (let j = 0; j < d; j++) s += (src[off + j] as number) ** 2;
      scale = s > 0 ? 1 / Math.sqrt(s) : 1;
    }
    const base = label * d;
    for (let j = 0; j < d; j++) ex[base + j] = (src[off + j] as number) * scale;
  }

  protected nativeAdd(labels: readonly number[], vectors: Float32Array, replace: readonly boolean[]): void {
    for (let i = 0; i < labels.length; i++) {
      if (replace[i] === true) {
        this.oneKey[0] = BigInt(labels[i] as number);
        this.native.remove(this.oneKey);
      }
    }
    const keys = new BigUint64Array(labels.length);
    for (let i = 0; i < labels.length; i++) keys[i] = BigInt(labels[i] as number);
    this.native.add(keys, vectors, labels.length > 64 ? this.opts.buildThreads : 1);
    if (this.exact !== undefined) {
      let top = 0;
      for (const l of labels) if (l + 1 > top) top = l + 1;
      this.ensureExact(top);
      for (let i = 0; i < labels.length; i++) this.putExact(labels[i] as number, vectors, i * this.dims);
    }
  }

  protected nativeRemove(label: number): void {
    this.oneKey[0] = BigInt(label);
    this.native.remove(this.oneKey);
  }

  protected nativeSearch(query: Float32Array, k: number): NativeResult {
    const exact = this.exact;
    if (exact === undefined) {
      // A single-query search returns `Matches` already cut to the number of hits found.
      const m = this.native.search(query, k, 1);
      return { labels: m.keys, distances: m.distances, count: m.keys.length };
    }
    const m = this.native.search(query, Math.ceil(k * (this.opts.rescore as UsearchRescoreOptions).oversample), 1);
    return this.rescored(query, k, m.keys, exact);
  }

  /**
   * Recomputes the candidates' similarity from the f32 rows and keeps the best `k`.
   *
   * A plain Float32Array loop, not a native kernel: the Node binding has no distance function for
   * vector pairs, and gathering the candidates into a matrix for its `exactSearch` cost more than
   * the arithmetic itself (measured: 2000 candidates × 64 dims, gather + exactSearch ≈ 3× this loop).
   * The order is a native numeric sort of packed keys (see below), not a comparator sort (≈ 5× slower).
   */
  private rescored(query: Float32Array, k: number, keys: BigUint64Array, exact: Float32Array): NativeResult {
    const n = keys.length;
    const d = this.dims;
    let qScale = 1;
    if (this.metric === 'cos') {
      let s = 0;
      for (let j = 0; j < d; j++) s += (query[j] as number) * (query[j] as number);
      qScale = s > 0 ? 1 / Math.sqrt(s) : 1;
    }
    const labelOf = new Float64Array(n);
    const sim = new Float64Array(n);
    let count = 0;
    for (let i = 0; i < n; i++) {
      const label = Number(keys[i]);
      if (!this.idMap.isLive(label)) continue;
      const base = label * d;
      let dot = 0;
      for (let j = 0; j < d; j++) dot += (query[j] as number) * (exact[base + j] as number);
      labelOf[count] = label;
      sim[count] = dot * qScale;
      count++;
    }
    const keep = Math.min(k, count);
    const outLabels = new Float64Array(keep);
    const outDist = new Float64Array(keep);
    if (count < PACK_LIMIT) {
      // Sort key = the similarity's rank on a 2^30-step scale over [min, max] (finer than f32
      // resolution), times 2^15, plus the candidate's position: one non-negative float64 < 2^46,
      // so a native numeric sort orders by similarity and carries the position along.
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < count; i++) {
        const v = sim[i] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const scale = hi > lo ? 2 ** 30 / (hi - lo) : 0;
      const packed = new Float64Array(count);
      for (let i = 0; i < count; i++) packed[i] = Math.round((hi - (sim[i] as number)) * scale) * PACK_LIMIT + i;
      packed.sort();
      for (let i = 0; i < keep; i++) {
        const o = (packed[i] as number) % PACK_LIMIT;
        outLabels[i] = labelOf[o] as number;
        outDist[i] = 1 - (sim[o] as number);
      }
    } else {
      const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => (sim[b] as number) - (sim[a] as number));
      for (let i = 0; i < keep; i++) {
        const o = order[i] as number;
        outLabels[i] = labelOf[o] as number;
        outDist[i] = 1 - (sim[o] as number);
      }
    }
    return { labels: outLabels, distances: outDist, count: keep };
  }

  protected nativeSave(path: string): void {
    this.native.save(path);
  }

  protected options(): Record<string, number> {
    const o = this.opts;
    return {
      connectivity: o.connectivity,
      expansionAdd: o.expansionAdd,
      expansionSearch: o.expansionSearch,
      maxK: o.maxK,
      ...(o.rescore === undefined ? {} : { rescoreOversample: o.rescore.oversample }),
    };
  }

  protected bytesEstimate(): number {
    const scalar = this.quantization === 'f32' ? 4 : this.quantization === 'f16' ? 2 : 1;
    // vector + base-layer neighbour list (2M slots × 4 B) + upper layers (~M/(M-1) × M slots × 4 B) + node header.
    const perNode =
      this.dims * scalar +
      2 * this.opts.connectivity * 4 +
      this.opts.connectivity * 4 * 0.07 +
      16 +
      (this.exact === undefined ? 0 : this.dims * 4);
    return Math.round(this.native.size() * perNode);
  }
}

import usearch from 'usearch';
import type { AnnBackend, AnnMetric, AnnQuantization } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import { BaseAnnIndex, DEFAULT_MAX_K, type NativeResult } from './internal/BaseAnnIndex.js';
import { IdMap } from './internal/IdMap.js';
import type { Manifest } from './internal/persist.js';

const { Index } = usearch;

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
}

const STAGE = 'retrieval/ann/usearch';

function resolve(o: UsearchIndexOptions): Required<UsearchIndexOptions> {
  const r = {
    dims: o.dims,
    metric: o.metric ?? 'cos',
    quantization: o.quantization ?? 'f32',
    connectivity: o.connectivity ?? 16,
    expansionAdd: o.expansionAdd ?? 128,
    expansionSearch: o.expansionSearch ?? 64,
    buildThreads: o.buildThreads ?? 0,
    maxK: o.maxK ?? DEFAULT_MAX_K,
  } satisfies Required<UsearchIndexOptions>;
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
  return r;
}

/**
 * An {@link AnnIndex} on usearch (HNSW, SIMD distance kernels, f32/f16/i8 storage).
 *
 * - Upsert of an existing id is remove + add (usearch keeps a tombstone until the next rebuild).
 * - The predicate is applied to an over-fetched result (`filterMode: 'post'`): the JS binding has
 *   no filtered search.
 * - `search` runs on the calling thread with one native thread; it blocks the event loop for its
 *   whole duration (about 1–3 ms for k=1000 at 1M×64, see the README).
 *
 * @example
 * ```ts
 * const index = new UsearchIndex({ dims: 64, metric: 'cos', quantization: 'i8' });
 * index.upsertBatch(ids, matrix);
 * index.search(query, 1000, { predicate: (id) => !blocked.has(id) });
 * ```
 */
export class UsearchIndex extends BaseAnnIndex {
  readonly backend: AnnBackend = 'usearch';
  readonly filterMode = 'post' as const;
  private readonly native: InstanceType<typeof Index>;
  private readonly opts: Required<UsearchIndexOptions>;
  private readonly oneKey = new BigUint64Array(1);

  constructor(options: UsearchIndexOptions) {
    const o = resolve(options);
    super(o.dims, o.metric, o.quantization, o.maxK, STAGE);
    this.opts = o;
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
  static restore(manifest: Manifest, indexPath: string, ids: { ids: string[]; dead: number[] }): UsearchIndex {
    const o = manifest.options;
    const index = new UsearchIndex({
      dims: manifest.dims,
      metric: manifest.metric,
      quantization: manifest.quantization,
      connectivity: o.connectivity ?? 16,
      expansionAdd: o.expansionAdd ?? 128,
      expansionSearch: o.expansionSearch ?? 64,
      maxK: o.maxK ?? DEFAULT_MAX_K,
    });
    try {
      index.native.load(indexPath);
    } catch (e) {
      throw index.backendError('load', e);
    }
    index.idMap = IdMap.fromJSON(ids);
    return index;
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
  }

  protected nativeRemove(label: number): void {
    this.oneKey[0] = BigInt(label);
    this.native.remove(this.oneKey);
  }

  protected nativeSearch(query: Float32Array, k: number): NativeResult {
    // A single-query search returns `Matches` already cut to the number of hits found.
    const m = this.native.search(query, k, 1);
    return { labels: m.keys, distances: m.distances, count: m.keys.length };
  }

  protected nativeSave(path: string): void {
    this.native.save(path);
  }

  protected options(): Record<string, number> {
    const o = this.opts;
    return { connectivity: o.connectivity, expansionAdd: o.expansionAdd, expansionSearch: o.expansionSearch, maxK: o.maxK };
  }

  protected bytesEstimate(): number {
    const scalar = this.quantization === 'f32' ? 4 : this.quantization === 'f16' ? 2 : 1;
    // vector + base-layer neighbour list (2M slots × 4 B) + upper layers (~M/(M-1) × M slots × 4 B) + node header.
    const perNode = this.dims * scalar + 2 * this.opts.connectivity * 4 + this.opts.connectivity * 4 * 0.07 + 16;
    return Math.round(this.native.size() * perNode);
  }
}

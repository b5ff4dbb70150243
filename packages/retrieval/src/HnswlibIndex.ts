import hnswlib from 'hnswlib-node';
import type { AnnBackend, AnnMetric, AnnQuantization } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import { BaseAnnIndex, DEFAULT_MAX_K, type NativeResult } from './internal/BaseAnnIndex.js';
import { IdMap } from './internal/IdMap.js';
import type { Manifest } from './internal/persist.js';
import { type AnnBuildOrder, checkBuildOrder, type LocalityOrderOptions } from './localityOrder.js';

const { HierarchicalNSW } = hnswlib;

/** Options of an {@link HnswlibIndex}. */
export interface HnswlibIndexOptions {
  readonly dims: number;
  /** Default `cos`. */
  readonly metric?: AnnMetric;
  /** HNSW degree M. Default 16. */
  readonly connectivity?: number;
  /** efConstruction. Default 128. */
  readonly expansionAdd?: number;
  /** ef at search time; every search uses max(ef, k). Default 64. */
  readonly expansionSearch?: number;
  /** Initial capacity; the index doubles it when full. Default 1024. */
  readonly initialCapacity?: number;
  /** Seed of the level generator. Default 100. */
  readonly seed?: number;
  /** Largest k accepted. Default 10 000. */
  readonly maxK?: number;
  /**
   * `locality`: an `upsertBatch` of ≥ 1024 rows is inserted grouped by embedding neighbourhood
   * (`localityOrder`), so neighbours sit side by side in the index's memory and a search reads
   * far fewer scattered cache lines. Ids and results are unchanged. Insert the whole catalogue in
   * one call to order it as a whole. Default `input` (the order given).
   */
  readonly buildOrder?: AnnBuildOrder;
  /** Tuning of the `locality` order. */
  readonly localityOrder?: LocalityOrderOptions;
}

const STAGE = 'retrieval/ann/hnswlib';

type Resolved = Required<Omit<HnswlibIndexOptions, 'localityOrder'>> & { readonly localityOrder: LocalityOrderOptions | undefined };

function resolve(o: HnswlibIndexOptions): Resolved {
  const r = {
    dims: o.dims,
    metric: o.metric ?? 'cos',
    connectivity: o.connectivity ?? 16,
    expansionAdd: o.expansionAdd ?? 128,
    expansionSearch: o.expansionSearch ?? 64,
    initialCapacity: o.initialCapacity ?? 1024,
    seed: o.seed ?? 100,
    maxK: o.maxK ?? DEFAULT_MAX_K,
    buildOrder: o.buildOrder ?? 'input',
    localityOrder: o.localityOrder,
  } satisfies Resolved;
  const bad = (field: string, why: string): never => {
    throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `hnswlib: ${field} ${why}`, { stage: STAGE, field });
  };
  if (!Number.isInteger(r.dims) || r.dims <= 0) bad('dims', `must be a positive integer, got ${String(r.dims)}`);
  if (r.metric !== 'ip' && r.metric !== 'cos') bad('metric', `must be 'ip' or 'cos', got ${String(r.metric)}`);
  for (const f of ['connectivity', 'expansionAdd', 'expansionSearch', 'initialCapacity', 'seed', 'maxK'] as const) {
    if (!Number.isInteger(r[f]) || r[f] < 1) bad(f, `must be a positive integer, got ${String(r[f])}`);
  }
  if (r.connectivity < 2) bad('connectivity', 'must be at least 2');
  checkBuildOrder(r.buildOrder, r.localityOrder, bad);
  return r;
}

/**
 * An {@link AnnIndex} on hnswlib-node (HNSW, f32 only).
 *
 * - The predicate is a true pre-filter (`filterMode: 'native'`): hnswlib calls it for every node
 *   the walk visits, so filtered items never take result slots; the price is a native→JS call per
 *   visited node (measured in the README).
 * - Removal is hnswlib's `markDelete`; a later upsert of the same id un-deletes and updates it.
 * - The binding takes plain `number[]`, so each vector is copied once per call.
 *
 * @example
 * ```ts
 * const index = new HnswlibIndex({ dims: 64, metric: 'ip', expansionSearch: 200 });
 * index.upsertBatch(ids, matrix);
 * index.search(query, 500, { predicate: (id) => allowedInRegion(id, 'US') });
 * ```
 */
export class HnswlibIndex extends BaseAnnIndex {
  readonly backend: AnnBackend = 'hnswlib';
  readonly filterMode = 'native' as const;
  readonly buildOrder: AnnBuildOrder;
  /** @internal */
  readonly localityOptions: LocalityOrderOptions | undefined;
  private readonly native: InstanceType<typeof HierarchicalNSW>;
  private readonly opts: Resolved;
  private capacity: number;
  private readonly row: number[];

  constructor(options: HnswlibIndexOptions, restoreFrom?: { path: string; capacity: number }) {
    const o = resolve(options);
    super(o.dims, o.metric, 'f32' satisfies AnnQuantization, o.maxK, STAGE);
    this.opts = o;
    this.buildOrder = o.buildOrder;
    this.localityOptions = o.localityOrder;
    this.row = new Array<number>(o.dims).fill(0);
    try {
      this.native = new HierarchicalNSW(o.metric === 'cos' ? 'cosine' : 'ip', o.dims);
      if (restoreFrom === undefined) {
        this.native.initIndex({
          maxElements: o.initialCapacity,
          m: o.connectivity,
          efConstruction: o.expansionAdd,
          randomSeed: o.seed,
          allowReplaceDeleted: false,
        });
        this.capacity = o.initialCapacity;
      } else {
        this.native.readIndexSync(restoreFrom.path, false);
        this.capacity = this.native.getMaxElements();
      }
      this.native.setEf(o.expansionSearch);
    } catch (e) {
      throw this.backendError(restoreFrom === undefined ? 'create' : 'load', e);
    }
  }

  /** @internal Restores a saved index; use `loadAnnIndex`. */
  static restore(manifest: Manifest, indexPath: string, ids: { ids: string[]; dead: number[] }): HnswlibIndex {
    const o = manifest.options;
    const index = new HnswlibIndex(
      {
        dims: manifest.dims,
        metric: manifest.metric,
        connectivity: o.connectivity ?? 16,
        expansionAdd: o.expansionAdd ?? 128,
        expansionSearch: o.expansionSearch ?? 64,
        maxK: o.maxK ?? DEFAULT_MAX_K,
      },
      { path: indexPath, capacity: 0 },
    );
    index.idMap = IdMap.fromJSON(ids);
    return index;
  }

  /** Sets the search beam width (ef) for later searches. */
  setExpansionSearch(ef: number): void {
    if (!Number.isInteger(ef) || ef < 1) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `ef must be a positive integer, got ${String(ef)}`, {
        stage: STAGE,
        field: 'expansionSearch',
      });
    }
    this.native.setEf(ef);
    (this.opts as { expansionSearch: number }).expansionSearch = ef;
  }

  protected nativeAdd(labels: readonly number[], vectors: Float32Array): void {
    const d = this.dims;
    let needed = 0;
    for (const l of labels) if (l + 1 > needed) needed = l + 1;
    if (needed > this.capacity) {
      let cap = this.capacity;
      while (cap < needed) cap *= 2;
      this.native.resizeIndex(cap);
      this.capacity = cap;
    }
    const row = this.row;
    for (let i = 0; i < labels.length; i++) {
      for (let j = 0; j < d; j++) row[j] = vectors[i * d + j] as number;
      this.native.addPoint(row, labels[i] as number);
    }
  }

  protected nativeRemove(label: number): void {
    this.native.markDelete(label);
  }

  protected nativeSearch(query: Float32Array, k: number, filter?: (label: number) => boolean): NativeResult {
    const row = this.row;
    for (let j = 0; j < this.dims; j++) row[j] = query[j] as number;
    const r = filter === undefined ? this.native.searchKnn(row, k) : this.native.searchKnn(row, k, filter);
    return { labels: r.neighbors, distances: r.distances, count: r.neighbors.length };
  }

  protected async nativeSave(path: string): Promise<void> {
    // writeIndex runs on a libuv worker (an AsyncWorker in the binding): it does not block the loop.
    await this.native.writeIndex(path);
  }

  protected options(): Record<string, number> {
    const o = this.opts;
    return { connectivity: o.connectivity, expansionAdd: o.expansionAdd, expansionSearch: o.expansionSearch, maxK: o.maxK };
  }

  protected bytesEstimate(): number {
    // data level 0: vector + 2M links × 4 B + header; upper levels ~ 1/M of nodes × M links.
    const perNode = this.dims * 4 + 2 * this.opts.connectivity * 4 + 8 + 4 + 8;
    return Math.round(this.native.getCurrentCount() * perNode);
  }
}

import type { AnnBackend, AnnHit, AnnIndex, AnnIndexInfo, AnnMetric, AnnQuantization, AnnSearchOptions } from '../AnnIndex.js';
import { RetrievalErrors } from '../errors.js';
import { type AnnBuildOrder, type LocalityOrderOptions, localityOrder, permuteRows } from '../localityOrder.js';
import { IdMap } from './IdMap.js';
import { saveDir } from './persist.js';
import { postFiltered } from './postFilter.js';
import { checkK, checkMatrix, checkVector } from './vector.js';

/** Raw native result: labels and distances (`1 - similarity` for both backends and metrics), `count` valid entries. */
export interface NativeResult {
  readonly labels: ArrayLike<number | bigint>;
  readonly distances: ArrayLike<number>;
  readonly count: number;
}

/** Default largest k; both backends search with ef = max(ef, k), so the cost grows with k. */
export const DEFAULT_MAX_K = 10_000;

/** `buildOrder: 'locality'` reorders batches of at least this many rows (smaller ones gain nothing). */
export const LOCALITY_MIN_ROWS = 1024;

/**
 * The shared half of the graph backends: id mapping, validation, coded errors, post-filtering,
 * and the checksummed save. Subclasses provide the native calls.
 */
export abstract class BaseAnnIndex implements AnnIndex {
  protected idMap = new IdMap();

  /**
   * Replaces the id ↔ label map (an index restored from a worker-built file gets the map built from
   * the caller's ids in slices, instead of parsing it back from JSON in one blocking call).
   * @internal
   */
  adoptIdMap(map: IdMap): void {
    this.idMap = map;
  }
  abstract readonly backend: AnnBackend;
  abstract readonly filterMode: 'native' | 'post';
  /** In which order `upsertBatch` inserts a large batch (see `buildOrder` in the backends' options). */
  abstract readonly buildOrder: AnnBuildOrder;
  /** Tuning of the `locality` order. @internal */
  abstract readonly localityOptions: LocalityOrderOptions | undefined;

  constructor(
    readonly dims: number,
    readonly metric: AnnMetric,
    readonly quantization: AnnQuantization,
    readonly maxK: number,
    protected readonly stage: string,
  ) {}

  protected abstract nativeAdd(labels: readonly number[], vectors: Float32Array, replace: readonly boolean[]): void;
  protected abstract nativeRemove(label: number): void;
  protected abstract nativeSearch(query: Float32Array, k: number, filter?: (label: number) => boolean): NativeResult;
  protected abstract nativeSave(path: string): void | Promise<void>;
  protected abstract options(): Record<string, number>;
  protected abstract bytesEstimate(): number;

  get size(): number {
    return this.idMap.liveCount;
  }

  has(itemId: string): boolean {
    return this.idMap.hasLive(itemId);
  }

  ids(): IterableIterator<string> {
    return this.idMap.liveIds();
  }

  upsert(itemId: string, vector: Float32Array): void {
    this.upsertBatch([itemId], vector);
  }

  upsertBatch(itemIds: readonly string[], vectors: Float32Array): void {
    this.insert(itemIds, vectors, this.buildOrder === 'locality');
  }

  /**
   * `upsertBatch` in exactly the order given, whatever `buildOrder` says: for a caller that
   * inserts a catalogue already put in locality order in slices (`IndexManager`'s main-thread build).
   * @internal
   */
  upsertBatchAsGiven(itemIds: readonly string[], vectors: Float32Array): void {
    this.insert(itemIds, vectors, false);
  }

  private insert(givenIds: readonly string[], givenVectors: Float32Array, reorder: boolean): void {
    let itemIds = givenIds;
    let vectors = givenVectors;
    checkMatrix(vectors, this.dims, itemIds.length, this.stage);
    const seen = new Set<string>();
    for (const id of itemIds) {
      if (typeof id !== 'string' || id.length === 0) {
        throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', 'item ids must be non-empty strings', {
          stage: this.stage,
          field: 'itemIds',
        });
      }
      if (seen.has(id)) {
        throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', `duplicate item id ${id} in one batch`, {
          stage: this.stage,
          field: 'itemIds',
        });
      }
      seen.add(id);
    }
    if (itemIds.length === 0) return;
    if (reorder && itemIds.length >= LOCALITY_MIN_ROWS) {
      // Storage offsets follow insertion order in both libraries: see localityOrder.ts.
      const order = localityOrder(vectors, this.dims, this.metric, this.localityOptions);
      ({ ids: itemIds, vectors } = permuteRows(itemIds, vectors, this.dims, order));
    }
    const replace = itemIds.map((id) => this.idMap.hasLive(id));
    const labels = itemIds.map((id) => this.idMap.peek(id) ?? -1);
    // Assign labels only after the native call succeeded, so a failure leaves the map unchanged.
    let next = this.idMap.labels.length;
    for (let i = 0; i < labels.length; i++) if (labels[i] === -1) labels[i] = next++;
    try {
      this.nativeAdd(labels, vectors, replace);
    } catch (e) {
      throw this.backendError('upsert', e);
    }
    for (const id of itemIds) this.idMap.labelFor(id);
  }

  remove(itemId: string): void {
    const label = this.idMap.get(itemId);
    if (label === undefined || !this.idMap.isLive(label)) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_UNKNOWN_ITEM', `item ${itemId} is not in the index`, {
        stage: this.stage,
        field: 'itemId',
      });
    }
    try {
      this.nativeRemove(label);
    } catch (e) {
      throw this.backendError('remove', e);
    }
    this.idMap.kill(label);
  }

  search(query: Float32Array, k: number, options?: AnnSearchOptions): AnnHit[] {
    checkK(k, this.maxK, this.stage);
    checkVector(query, this.dims, this.stage, 'query');
    const total = this.idMap.liveCount;
    if (total === 0) return [];
    const want = Math.min(k, total);
    const predicate = options?.predicate;
    if (predicate === undefined) return this.run(query, want);
    if (this.filterMode === 'native') {
      const labels = this.idMap.labels;
      return this.run(query, want, (l) => predicate(labels[l] as string));
    }
    return postFiltered((n) => this.run(query, n), want, total, predicate);
  }

  private run(query: Float32Array, k: number, filter?: (label: number) => boolean): AnnHit[] {
    let r: NativeResult;
    try {
      r = this.nativeSearch(query, k, filter);
    } catch (e) {
      throw this.backendError('search', e);
    }
    const labels = this.idMap.labels;
    const out: AnnHit[] = [];
    for (let i = 0; i < r.count; i++) {
      const l = Number(r.labels[i]);
      const id = labels[l];
      if (id === undefined || !this.idMap.isLive(l)) continue;
      out.push({ itemId: id, score: 1 - (r.distances[i] as number) });
    }
    return out;
  }

  info(): AnnIndexInfo {
    const o = this.options();
    return {
      backend: this.backend,
      metric: this.metric,
      quantization: this.quantization,
      dims: this.dims,
      size: this.size,
      bytesEstimate: this.bytesEstimate(),
      filterMode: this.filterMode,
      ...(o.connectivity === undefined ? {} : { connectivity: o.connectivity }),
      ...(o.expansionSearch === undefined ? {} : { expansionSearch: o.expansionSearch }),
    };
  }

  async save(dir: string): Promise<void> {
    await saveDir(dir, (p) => this.nativeSave(p), this.idMap.toJSON(), {
      backend: this.backend,
      metric: this.metric,
      quantization: this.quantization,
      dims: this.dims,
      size: this.size,
      options: this.options(),
    });
  }

  protected backendError(op: string, e: unknown): Error {
    return RetrievalErrors.create('RECSPINE_ERR_ANN_BACKEND', `${this.backend} ${op} failed: ${(e as Error)?.message ?? String(e)}`, {
      stage: this.stage,
      cause: e,
    });
  }
}

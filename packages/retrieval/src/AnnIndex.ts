/** Similarity used by an index. `ip`: inner product; `cos`: cosine (vectors are normalised by the backend). */
export type AnnMetric = 'ip' | 'cos';

/**
 * Storage precision of the vectors. `f16` is usearch only. `i8`: usearch (requires `cos`) and
 * `IvfIndex` (an int8 scan copy beside the f32 rows, any metric).
 */
export type AnnQuantization = 'f32' | 'f16' | 'i8';

/** Which implementation holds the vectors. `exact` is the brute-force reference. */
export type AnnBackend = 'usearch' | 'hnswlib' | 'ivf' | 'exact';

/** One search result. `score` is the similarity (`ip`: dot product, `cos`: cosine); higher is better. */
export interface AnnHit {
  readonly itemId: string;
  readonly score: number;
}

/** Per-search options. */
export interface AnnSearchOptions {
  /**
   * Keep only items for which this returns `true` (region restrictions, taken-down items…).
   * hnswlib applies it inside the graph walk (a true pre-filter); usearch and exact search apply
   * it to an over-fetched result (see {@link AnnIndexInfo.filterMode}). Must be synchronous and
   * cheap: it is called from native code for every visited node (hnswlib).
   */
  readonly predicate?: (itemId: string) => boolean;
}

/** Shape and state of an index, for metrics and the bench. */
export interface AnnIndexInfo {
  readonly backend: AnnBackend;
  readonly metric: AnnMetric;
  readonly quantization: AnnQuantization;
  readonly dims: number;
  /** Live items (removed items excluded). */
  readonly size: number;
  /** Estimated resident bytes of the vectors and graph (not the id map). */
  readonly bytesEstimate: number;
  /** `native`: predicate applied during the graph walk; `post`: applied to an over-fetched result. */
  readonly filterMode: 'native' | 'post';
  /** HNSW graph degree (M), when the backend has one. */
  readonly connectivity?: number;
  /** Search-time beam width (ef); every backend searches with `max(ef, k)`. */
  readonly expansionSearch?: number;
  /** IVF: inverted lists in use (1 until trained). */
  readonly lists?: number;
  /** IVF: lists scanned per search. */
  readonly probes?: number;
  /** IVF `i8`: approximate candidates per result wanted that are re-scored from the f32 rows. */
  readonly rescoreOversample?: number;
}

/**
 * Anything that answers k-NN queries: an {@link AnnIndex}, the `IndexManager` (which forwards to
 * the version in service) or the worker-thread pool. Sources depend on this, not on a backend.
 *
 * Contract: returns at most `k` hits, best first, no duplicate ids; throws coded errors
 * (`RECSPINE_ERR_ANN_DIMENSION`, `RECSPINE_ERR_ANN_NON_FINITE`, `RECSPINE_ERR_ANN_BAD_K`) on bad input.
 */
export interface AnnSearcher {
  readonly dims: number;
  search(query: Float32Array, k: number, options?: AnnSearchOptions): readonly AnnHit[] | Promise<readonly AnnHit[]>;
}

/**
 * A k-NN index over item embeddings, keyed by item id. Two real backends ({@link UsearchIndex},
 * {@link HnswlibIndex}) and the exact reference ({@link ExactIndex}) implement it.
 *
 * Invariants:
 * - every vector has exactly `dims` finite components (else `RECSPINE_ERR_ANN_DIMENSION` /
 *   `RECSPINE_ERR_ANN_NON_FINITE`, and the index is unchanged);
 * - `upsert` of an existing id replaces its vector; `remove` of an unknown id throws
 *   `RECSPINE_ERR_ANN_UNKNOWN_ITEM`;
 * - `search` is synchronous and runs to completion on the calling thread (neither native library
 *   can be interrupted): its cost is event-loop time. See the package README for the figures and
 *   `AnnWorkerPool` for running searches off the main thread;
 * - `save(dir)` writes a checksummed directory atomically; `loadAnnIndex(dir)` verifies the
 *   checksums before any byte reaches the native library, so a corrupt or truncated file fails with
 *   `RECSPINE_ERR_ANN_CORRUPT_FILE` and never crashes the process.
 *
 * @example
 * ```ts
 * const index = new UsearchIndex({ dims: 64, metric: 'cos', quantization: 'f16' });
 * index.upsertBatch(['a', 'b'], new Float32Array(128).fill(0.1));
 * const hits = index.search(userVec, 1000); // [{ itemId, score }], best first
 * await index.save('/var/lib/recs/ann/v42');
 * ```
 */
export interface AnnIndex extends AnnSearcher {
  readonly backend: AnnBackend;
  readonly metric: AnnMetric;
  readonly quantization: AnnQuantization;
  /** Live items. */
  readonly size: number;
  /** Largest `k` a search accepts. */
  readonly maxK: number;
  search(query: Float32Array, k: number, options?: AnnSearchOptions): readonly AnnHit[];
  /** Inserts or replaces one item. */
  upsert(itemId: string, vector: Float32Array): void;
  /** Inserts or replaces many items; `vectors` is row-major `itemIds.length × dims`. All-or-nothing validation. */
  upsertBatch(itemIds: readonly string[], vectors: Float32Array): void;
  /** Removes an item (taken down). Throws `RECSPINE_ERR_ANN_UNKNOWN_ITEM` if it is not live. */
  remove(itemId: string): void;
  has(itemId: string): boolean;
  /** The live item ids. */
  ids(): IterableIterator<string>;
  info(): AnnIndexInfo;
  /** Writes the index to `dir` (created or atomically replaced). */
  save(dir: string): Promise<void>;
}

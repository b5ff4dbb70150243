import { IdTable } from '@recspine/core';
import { readFile, writeFile } from 'node:fs/promises';
import usearch from 'usearch';
import type { AnnBackend, AnnHit, AnnIndex, AnnIndexInfo, AnnMetric, AnnQuantization, AnnSearchOptions } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import type { Manifest } from './internal/persist.js';
import { saveDir } from './internal/persist.js';
import { postFiltered } from './internal/postFilter.js';
import { atOffsetZero, checkK, checkItemIds, checkMatrix, checkVector } from './internal/vector.js';

const { exactSearch } = usearch;
const STAGE = 'retrieval/ann/exact';

/** Options of an {@link ExactIndex}. */
export interface ExactIndexOptions {
  readonly dims: number;
  /** Default `cos`. */
  readonly metric?: AnnMetric;
  /** Native threads per search (0 = all cores). Default 1: on the request path one core is the fair share. */
  readonly threads?: number;
  /** Largest k accepted. Default: unlimited (the number of items). */
  readonly maxK?: number;
}

/**
 * Exact (brute-force) top-k: the reference the ANN indexes are validated against, and the right
 * index for small, fast-changing sets (the fresh-content window).
 *
 * It keeps one dense row-major `Float32Array` and scans it with usearch's `exactSearch`, which
 * uses the same SIMD distance kernels (AVX2/AVX-512/NEON via NumKong) as the ANN search. Removal
 * moves the last row into the hole, so the matrix stays dense and a scan never touches dead rows.
 *
 * @example
 * ```ts
 * const exact = new ExactIndex({ dims: 64, metric: 'ip' });
 * exact.upsertBatch(ids, matrix);
 * const truth = exact.search(query, 1000);
 * ```
 */
export class ExactIndex implements AnnIndex {
  readonly backend: AnnBackend = 'exact';
  readonly quantization: AnnQuantization = 'f32';
  readonly dims: number;
  readonly metric: AnnMetric;
  readonly maxK: number;
  private readonly threads: number;
  private matrix: Float32Array;
  private rows = 0;
  private readonly rowOf = new IdTable();
  private readonly idOf: string[] = [];

  constructor(options: ExactIndexOptions) {
    const bad = (field: string, why: string): never => {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `exact: ${field} ${why}`, { stage: STAGE, field });
    };
    if (!Number.isInteger(options.dims) || options.dims <= 0) bad('dims', `must be a positive integer, got ${String(options.dims)}`);
    const metric = options.metric ?? 'cos';
    if (metric !== 'ip' && metric !== 'cos') bad('metric', `must be 'ip' or 'cos', got ${String(metric)}`);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 0) bad('threads', `must be a non-negative integer, got ${String(threads)}`);
    const maxK = options.maxK ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isInteger(maxK) || maxK < 1) bad('maxK', `must be a positive integer, got ${String(maxK)}`);
    this.dims = options.dims;
    this.metric = metric;
    this.threads = threads;
    this.maxK = maxK;
    this.matrix = new Float32Array(this.dims * 64);
  }

  /** @internal Restores a saved index; use `loadAnnIndex`. */
  static async restore(manifest: Manifest, indexPath: string, ids: { ids: string[] }): Promise<ExactIndex> {
    const index = new ExactIndex({ dims: manifest.dims, metric: manifest.metric, threads: manifest.options.threads ?? 1 });
    const buf = await readFile(indexPath);
    const m = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    index.upsertBatch(ids.ids, m.slice());
    return index;
  }

  get size(): number {
    return this.rows;
  }

  has(itemId: string): boolean {
    return this.rowOf.has(itemId);
  }

  *ids(): IterableIterator<string> {
    for (let r = 0; r < this.rows; r++) yield this.idOf[r] as string;
  }

  /** The vector of an item (a view into the matrix; copy it before the index changes), or undefined. */
  vectorOf(itemId: string): Float32Array | undefined {
    const r = this.rowOf.get(itemId);
    return r === undefined ? undefined : this.matrix.subarray(r * this.dims, (r + 1) * this.dims);
  }

  upsert(itemId: string, vector: Float32Array): void {
    this.upsertBatch([itemId], vector);
  }

  upsertBatch(itemIds: readonly string[], vectors: Float32Array): void {
    checkMatrix(vectors, this.dims, itemIds.length, STAGE);
    checkItemIds(itemIds, STAGE);
    const d = this.dims;
    const needed = (this.rows + itemIds.length) * d;
    if (needed > this.matrix.length) {
      let cap = this.matrix.length;
      while (cap < needed) cap *= 2;
      const grown = new Float32Array(cap);
      grown.set(this.matrix.subarray(0, this.rows * d));
      this.matrix = grown;
    }
    for (let i = 0; i < itemIds.length; i++) {
      const id = itemIds[i] as string;
      let r = this.rowOf.get(id);
      if (r === undefined) {
        r = this.rows++;
        this.rowOf.set(id, r);
        this.idOf[r] = id;
      }
      this.matrix.set(vectors.subarray(i * d, (i + 1) * d), r * d);
    }
  }

  remove(itemId: string): void {
    const r = this.rowOf.get(itemId);
    if (r === undefined) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_UNKNOWN_ITEM', `item ${itemId} is not in the index`, {
        stage: STAGE,
        field: 'itemId',
      });
    }
    const last = this.rows - 1;
    const d = this.dims;
    if (r !== last) {
      const lastId = this.idOf[last] as string;
      this.matrix.copyWithin(r * d, last * d, (last + 1) * d);
      this.idOf[r] = lastId;
      this.rowOf.set(lastId, r);
    }
    this.idOf.length = last;
    this.rowOf.delete(itemId);
    this.rows = last;
  }

  search(query: Float32Array, k: number, options?: AnnSearchOptions): AnnHit[] {
    checkK(k, this.maxK, STAGE);
    checkVector(query, this.dims, STAGE, 'query');
    if (this.rows === 0) return [];
    const want = Math.min(k, this.rows);
    const predicate = options?.predicate;
    if (predicate === undefined) return this.scan(query, want);
    return postFiltered((n) => this.scan(query, n), want, this.rows, predicate);
  }

  /** Exact top-k for many queries at once (row-major `n × dims`), one native call; used by validation. */
  searchBatch(queries: Float32Array, k: number): AnnHit[][] {
    checkMatrix(queries, this.dims, queries.length / this.dims, STAGE, 'queries');
    const nq = queries.length / this.dims;
    if (this.rows === 0 || nq === 0) return Array.from({ length: nq }, () => []);
    const want = Math.min(k, this.rows);
    const m = exactSearch(
      this.matrix.subarray(0, this.rows * this.dims),
      atOffsetZero(queries),
      this.dims,
      want,
      this.metric as never,
      this.threads,
    );
    const out: AnnHit[][] = [];
    for (let q = 0; q < nq; q++) {
      const hits: AnnHit[] = [];
      for (let i = 0; i < want; i++) {
        hits.push({ itemId: this.idOf[Number(m.keys[q * want + i])] as string, score: 1 - (m.distances[q * want + i] as number) });
      }
      out.push(hits);
    }
    return out;
  }

  private scan(query: Float32Array, k: number): AnnHit[] {
    let m: { keys: BigUint64Array; distances: Float32Array };
    try {
      // The matrix starts at byte 0 of its own buffer; the query may not (see atOffsetZero).
      m = exactSearch(
        this.matrix.subarray(0, this.rows * this.dims),
        atOffsetZero(query),
        this.dims,
        k,
        this.metric as never,
        this.threads,
      );
    } catch (e) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_BACKEND', `usearch exactSearch failed: ${(e as Error).message}`, {
        stage: STAGE,
        cause: e,
      });
    }
    const out: AnnHit[] = new Array<AnnHit>(k);
    for (let i = 0; i < k; i++) {
      out[i] = { itemId: this.idOf[Number(m.keys[i])] as string, score: 1 - (m.distances[i] as number) };
    }
    return out;
  }

  info(): AnnIndexInfo {
    return {
      backend: 'exact',
      metric: this.metric,
      quantization: 'f32',
      dims: this.dims,
      size: this.rows,
      bytesEstimate: this.rows * this.dims * 4,
      filterMode: 'post',
    };
  }

  async save(dir: string): Promise<void> {
    const bytes = this.matrix.subarray(0, this.rows * this.dims);
    await saveDir(
      dir,
      (p) => writeFile(p, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      { ids: this.idOf.slice(0, this.rows), dead: [] },
      { backend: 'exact', metric: this.metric, quantization: 'f32', dims: this.dims, size: this.rows, options: { threads: this.threads } },
    );
  }
}

import { IdTable } from '@recspine/core';
import { readFile, writeFile } from 'node:fs/promises';
import type { AnnBackend, AnnHit, AnnIndex, AnnIndexInfo, AnnMetric, AnnQuantization, AnnSearchOptions } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import type { Manifest } from './internal/persist.js';
import { saveDir } from './internal/persist.js';
import { postFiltered } from './internal/postFilter.js';
import { ScanKernel } from './internal/scanKernel.js';
import { checkK, checkItemIds, checkMatrix, checkVector, mulberry32 } from './internal/vector.js';

const STAGE = 'retrieval/ann/ivf';

/** Options of an {@link IvfIndex}. */
export interface IvfIndexOptions {
  readonly dims: number;
  /** Default `cos` (vectors are normalised on insert; scores are cosines). */
  readonly metric?: AnnMetric;
  /**
   * Inverted lists (k-means cells). Default 1024: cells of ≈ 1000 items at 1M. More lists scan
   * fewer rows per probe but need more probes for the same recall; √n to 2√n is the usual range.
   */
  readonly lists?: number;
  /** Lists scanned per search (nearest centroids first); the recall/latency knob. Default 16. */
  readonly probes?: number;
  /**
   * The centroids are trained (k-means) when the index first holds this many items; until then
   * every search is an exact scan of one list. Default max(4096, 32 × lists).
   */
  readonly trainAt?: number;
  /** Lloyd iterations of the training. Default 8. */
  readonly iterations?: number;
  /** Rows sampled for training. Default min(n, 64 × lists). */
  readonly trainSample?: number;
  /** Seed of the training sample. Default 1. */
  readonly seed?: number;
  /** Largest k accepted. Default 10 000. */
  readonly maxK?: number;
  /**
   * Trained centroids (row-major, `lists × dims`, e.g. `centroids()` of the version in service):
   * the index starts trained and never trains itself, so a rebuild is cheap inserts only (each
   * assigned to its nearest centroid) and can run in small slices on a serving thread. `lists`
   * defaults to their count.
   */
  readonly centroids?: Float32Array;
  /**
   * Storage of the scanned rows. `f32` (default): every probed row is scored exactly. `i8`: each
   * row is also kept as int8 (symmetric per-row scale max|x| / 127, after the `cos`
   * normalisation) in a slab of its own; a search scans that slab (dims + 4 bytes a row instead of
   * 4 · dims: for scans that wait on memory, e.g. ≈ 50k rows per search), takes the best
   * max(⌈k × `rescore.oversample`⌉, k + 32) by approximate score, re-scores them from the f32 rows
   * and returns the best k with exact f32 scores. Any metric. Memory grows by dims (padded to 16)
   * + 4 bytes per item: the f32 rows stay (re-scoring, `searchExact`, training, save). At 1M × 32
   * and 48 probes, p50 1.5–1.8× lower at the same recall; with few rows per search (≈ 10k at
   * k = 1000) no faster (README, "IVF").
   */
  readonly quantization?: IvfQuantization;
  /**
   * `i8` only: candidates by approximate score per result wanted (a finite number ≥ 1; default
   * 1.5), re-scored exactly. The shape of `UsearchIndex`'s `rescore`; `loadAnnIndex(dir, { rescore:
   * { oversample } })` overrides the saved value.
   */
  readonly rescore?: { readonly oversample: number };
}

/** Storage precisions of an {@link IvfIndex}'s rows. */
export type IvfQuantization = Extract<AnnQuantization, 'f32' | 'i8'>;

/** Default `rescore.oversample` of an `i8` {@link IvfIndex} (see the README for the measurement). */
export const IVF_I8_OVERSAMPLE = 1.5;

/**
 * An `i8` search re-scores at least this many candidates beyond k: at small k a factor alone is
 * too few (k = 1 × 2 = 2 candidates missed the true nearest once in 300 queries at 1M × 32).
 */
const IVF_I8_MIN_EXTRA = 32;

type Resolved = Required<Omit<IvfIndexOptions, 'trainAt' | 'trainSample' | 'centroids' | 'rescore'>> & {
  readonly trainAt: number;
  readonly trainSample: number;
  /** Approximate candidates per result re-scored (`i8`); 1 for `f32` (unused). */
  readonly oversample: number;
};

function resolve(o: IvfIndexOptions): Resolved {
  const lists = o.lists ?? (o.centroids !== undefined && o.dims > 0 ? Math.floor(o.centroids.length / o.dims) : 1024);
  const r = {
    dims: o.dims,
    metric: o.metric ?? 'cos',
    lists,
    probes: o.probes ?? 16,
    trainAt: o.trainAt ?? Math.max(4096, 32 * lists),
    iterations: o.iterations ?? 8,
    trainSample: o.trainSample ?? 64 * lists,
    seed: o.seed ?? 1,
    maxK: o.maxK ?? 10_000,
    quantization: o.quantization ?? 'f32',
    oversample: o.quantization === 'i8' ? (o.rescore?.oversample ?? IVF_I8_OVERSAMPLE) : 1,
  } satisfies Resolved;
  const bad = (field: string, why: string): never => {
    throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `ivf: ${field} ${why}`, { stage: STAGE, field });
  };
  if (!Number.isInteger(r.dims) || r.dims <= 0) bad('dims', `must be a positive integer, got ${String(r.dims)}`);
  if (r.metric !== 'ip' && r.metric !== 'cos') bad('metric', `must be 'ip' or 'cos', got ${String(r.metric)}`);
  for (const f of ['lists', 'probes', 'trainAt', 'iterations', 'trainSample', 'maxK'] as const) {
    if (!Number.isInteger(r[f]) || r[f] < 1) bad(f, `must be a positive integer, got ${String(r[f])}`);
  }
  if (!Number.isInteger(r.seed) || r.seed < 0) bad('seed', `must be a non-negative integer, got ${String(r.seed)}`);
  if (r.trainAt < r.lists) bad('trainAt', `must be at least lists (${r.lists}), got ${r.trainAt}`);
  if (r.quantization !== 'f32' && r.quantization !== 'i8') bad('quantization', `must be 'f32' or 'i8', got ${String(r.quantization)}`);
  if (o.rescore !== undefined) {
    if (r.quantization !== 'i8') bad('rescore', "applies to quantization 'i8' only (f32 scores are exact already)");
    checkOversample(o.rescore, bad);
  }
  if (o.centroids !== undefined) {
    if (!(o.centroids instanceof Float32Array) || o.centroids.length !== r.lists * r.dims || r.lists < 1) {
      bad('centroids', `must be a Float32Array of lists × dims = ${r.lists} × ${r.dims} values`);
    }
    checkMatrix(o.centroids, r.dims, r.lists, STAGE, 'centroids');
  }
  return r;
}

/** `rescore.oversample` must be a finite number ≥ 1 (shared with `loadAnnIndex`'s override). */
function checkOversample(rescore: { readonly oversample: number }, bad: (field: string, why: string) => never): void {
  const v = (rescore as { oversample?: unknown } | null)?.oversample;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 1) bad('rescore.oversample', `must be a finite number ≥ 1, got ${String(v)}`);
}

/** Rows per native assignment call: bounds the staging memory and one call's duration. */
const ASSIGN_CHUNK = 4096;

/**
 * An {@link AnnIndex} that is an inverted file (IVF-Flat): k-means cells, each item stored in its
 * nearest cell, a search scoring every item of the `probes` cells nearest the query and keeping
 * the top k exactly. No graph: nothing to walk, so the cost is a predictable scan.
 *
 * Why beside the two HNSW backends: at k = 1000 an HNSW search must keep a beam of ≥ 1000 and
 * walks ≈ 30–60k graph nodes in scattered memory order; an IVF search at equal recall scans ≈ 15k
 * contiguous rows with SIMD (see `ScanKernel`: ≈ 5 ns per 64-dim row) and selects the top k in one
 * pass. For large k on clustered embeddings that is several times faster (README, "IVF"). For
 * small k (≤ 100) HNSW stays the better choice.
 *
 * - The rows live in a WebAssembly memory, list by list with slack; an upsert appends to its
 *   list (a full list moves to the end with twice the room), a removal moves the list's last row
 *   into the hole. Memory ≈ 4 · dims (padded to 16) bytes per item plus ≈ 12 % slack.
 * - Until `trainAt` items, everything is one list (an exact scan). The first batch that reaches it
 *   trains the centroids on a sample and re-buckets every row (≈ 8 s for 1M × 64 on one core:
 *   build off the request path). Items added later join their nearest existing cell; call
 *   `retrain()` (or rebuild) after the catalogue has grown or drifted a lot.
 * - The predicate is applied to an over-fetched result (`filterMode: 'post'`).
 * - `searchExact` scans every list with the same kernel: the exact reference at full speed.
 * - `quantization: 'i8'` adds an int8 copy of every row that the search scans instead (≈ 3.5×
 *   fewer bytes at 32 dims), re-scoring the best candidates from the f32 rows: the same exact
 *   scores, the same recall at the same probes (measured), a faster scan where it is memory-bound
 *   (see the option).
 *
 * @example
 * ```ts
 * const index = new IvfIndex({ dims: 64, metric: 'cos', lists: 1024, probes: 12 });
 * index.upsertBatch(ids, matrix); // trains on the first 32k+ items
 * const hits = index.search(userVector, 1000);
 * ```
 */
export class IvfIndex implements AnnIndex {
  readonly backend: AnnBackend = 'ivf';
  readonly quantization: IvfQuantization;
  readonly dims: number;
  readonly metric: AnnMetric;
  readonly maxK: number;
  private readonly o: Resolved;
  private probesNow: number;
  private readonly k: ScanKernel;
  /**
   * Byte offsets: the query row (f32; then its int16 image for `i8`), the centroid rows, then the
   * slab of list rows (f32); for `i8` the int8 slab (`stride` bytes per slot) and the row scales
   * (f32 per slot) follow it, slot for slot; scratch after the last of them.
   */
  private readonly qOff = 0;
  private readonly q16Off: number;
  private readonly centOff: number;
  private readonly slabOff: number;
  private readonly i8: boolean;
  /** `i8`: where the int8 slab and the scales start (they move when the slab grows). */
  private i8Off = 0;
  private scaleOff = 0;
  /** Lists in use: 1 until trained, then `lists`. */
  private nLists = 1;
  private trained = false;
  private start: Int32Array;
  private len: Int32Array;
  private cap: Int32Array;
  /** Slab rows: allocated capacity, the high-water mark, and rows lost to moved lists. */
  private slabCap = 0;
  private slabUsed = 0;
  private wasted = 0;
  private slotId: (string | undefined)[] = [];
  private slotList = new Int32Array(0);
  private readonly slotOf = new IdTable();

  constructor(options: IvfIndexOptions) {
    this.o = resolve(options);
    this.dims = this.o.dims;
    this.metric = this.o.metric;
    this.maxK = this.o.maxK;
    this.probesNow = this.o.probes;
    this.quantization = this.o.quantization;
    this.i8 = this.quantization === 'i8';
    this.k = new ScanKernel(this.dims);
    this.q16Off = this.k.rowBytes;
    this.centOff = this.q16Off + (this.i8 ? 2 * this.k.stride : 0);
    this.slabOff = this.centOff + this.o.lists * this.k.rowBytes;
    this.start = new Int32Array(this.o.lists);
    this.len = new Int32Array(this.o.lists);
    this.cap = new Int32Array(this.o.lists);
    if (options.centroids !== undefined) {
      this.layout(new Uint32Array(this.o.lists), this.o.lists, options.centroids, new Float32Array(0), []);
    } else {
      this.growSlab(64);
      this.start[0] = 0;
      this.cap[0] = 64;
      this.slabUsed = 64;
    }
  }

  /** The trained centroids (`lists × dims`, row-major; a copy), or undefined before training. */
  centroids(): Float32Array | undefined {
    return this.trained ? this.centroidRows() : undefined;
  }

  get size(): number {
    return this.slotOf.size;
  }

  /** Lists scanned per search. */
  get probes(): number {
    return this.probesNow;
  }

  /** Sets the lists scanned per search (the recall/latency knob; takes effect on the next search). */
  setProbes(probes: number): void {
    if (!Number.isInteger(probes) || probes < 1) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `ivf: probes must be a positive integer, got ${String(probes)}`, {
        stage: STAGE,
        field: 'probes',
      });
    }
    this.probesNow = probes;
  }

  has(itemId: string): boolean {
    return this.slotOf.has(itemId);
  }

  *ids(): IterableIterator<string> {
    yield* this.slotOf.keys();
  }

  /** Whether the centroids are trained (false: every search is an exact scan). */
  get isTrained(): boolean {
    return this.trained;
  }

  upsert(itemId: string, vector: Float32Array): void {
    this.upsertBatch([itemId], vector);
  }

  upsertBatch(itemIds: readonly string[], vectors: Float32Array): void {
    checkMatrix(vectors, this.dims, itemIds.length, STAGE);
    checkItemIds(itemIds, STAGE);
    const n = itemIds.length;
    if (n === 0) return;
    try {
      const target = this.trained ? this.assign(vectors, n) : undefined;
      for (let i = 0; i < n; i++) {
        const id = itemIds[i] as string;
        if (this.slotOf.has(id)) this.removeSlot(this.slotOf.get(id) as number);
        this.insert(id, target === undefined ? 0 : (target[i] as number), vectors, i * this.dims);
      }
      if (!this.trained && this.size >= this.o.trainAt) this.train();
    } catch (e) {
      if (e instanceof RangeError) throw this.memoryError(e);
      throw e;
    }
  }

  remove(itemId: string): void {
    const slot = this.slotOf.get(itemId);
    if (slot === undefined) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_UNKNOWN_ITEM', `item ${itemId} is not in the index`, {
        stage: STAGE,
        field: 'itemId',
      });
    }
    this.removeSlot(slot);
  }

  search(query: Float32Array, k: number, options?: AnnSearchOptions): AnnHit[] {
    checkK(k, this.maxK, STAGE);
    checkVector(query, this.dims, STAGE, 'query');
    if (this.size === 0) return [];
    const want = Math.min(k, this.size);
    const predicate = options?.predicate;
    if (predicate === undefined) return this.scan(query, want, this.probesNow);
    return postFiltered((n) => this.scan(query, n, this.probesNow), want, this.size, predicate);
  }

  /** Exact top-k: every list scanned with the same SIMD kernel (the reference, at full speed). */
  searchExact(query: Float32Array, k: number): AnnHit[] {
    checkK(k, this.maxK, STAGE);
    checkVector(query, this.dims, STAGE, 'query');
    if (this.size === 0) return [];
    return this.scan(query, Math.min(k, this.size), this.nLists, true);
  }

  /** Re-trains the centroids on the current items and re-buckets them all (synchronous; see the class notes). */
  retrain(): void {
    if (this.size > 0) this.train();
  }

  info(): AnnIndexInfo {
    return {
      backend: this.backend,
      metric: this.metric,
      quantization: this.quantization,
      dims: this.dims,
      size: this.size,
      bytesEstimate: this.scratchOff(),
      filterMode: 'post',
      lists: this.nLists,
      probes: this.probesNow,
      ...(this.i8 ? { rescoreOversample: this.o.oversample } : {}),
    };
  }

  async save(dir: string): Promise<void> {
    const { rows, ids, sizes } = this.liveRows();
    const centroids = this.trained ? this.centroidRows() : new Float32Array(0);
    const body = new Float32Array(centroids.length + rows.length);
    body.set(centroids);
    body.set(rows, centroids.length);
    await saveDir(
      dir,
      (p) => writeFile(p, Buffer.concat([Buffer.from(body.buffer, body.byteOffset, body.byteLength), Buffer.from(sizes.buffer)])),
      { ids },
      {
        backend: this.backend,
        metric: this.metric,
        quantization: this.quantization,
        dims: this.dims,
        size: this.size,
        options: {
          lists: this.o.lists,
          probes: this.probesNow,
          trainAt: this.o.trainAt,
          iterations: this.o.iterations,
          trainSample: this.o.trainSample,
          seed: this.o.seed,
          maxK: this.maxK,
          trained: this.trained ? 1 : 0,
          nLists: this.nLists,
          ...(this.i8 ? { rescoreOversample: this.o.oversample } : {}),
        },
      },
    );
  }

  /**
   * @internal Restores a saved index; use `loadAnnIndex`. The file holds the f32 rows whatever the
   * quantization (an `i8` index re-quantises them on load: deterministic, ≈ 0.5 s per million
   * 32-dim rows); a manifest without a quantization (none was written before `i8` existed) loads
   * as `f32`.
   */
  static async restore(
    manifest: Manifest,
    indexPath: string,
    ids: { ids: string[] },
    probes?: number,
    rescore?: { readonly oversample: number; readonly vectors?: unknown },
  ): Promise<IvfIndex> {
    const o = manifest.options;
    const corrupt = (why: string): Error =>
      RetrievalErrors.create('RECSPINE_ERR_ANN_CORRUPT_FILE', `ivf index ${indexPath}: ${why}`, { stage: 'retrieval/ann/persist' });
    const quantization = (manifest.quantization as unknown) ?? 'f32';
    if (quantization !== 'f32' && quantization !== 'i8') throw corrupt(`unknown quantization ${String(quantization)}`);
    if (rescore !== undefined) {
      const bad = (field: string, why: string): never => {
        throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `ivf: ${field} ${why}`, { stage: 'retrieval/ann/persist', field });
      };
      if (quantization !== 'i8') bad('rescore', `applies to quantization 'i8' only; the index at ${indexPath} is f32`);
      if (rescore.vectors !== undefined) bad('rescore.vectors', 'is a usearch option: an IVF index re-scores from its own f32 rows');
      checkOversample(rescore, bad);
    }
    const oversample = rescore?.oversample ?? o.rescoreOversample;
    let index: IvfIndex;
    try {
      index = new IvfIndex({
        dims: manifest.dims,
        metric: manifest.metric,
        lists: o.lists,
        probes: probes ?? o.probes,
        trainAt: o.trainAt,
        iterations: o.iterations,
        trainSample: o.trainSample,
        seed: o.seed,
        maxK: o.maxK,
        quantization,
        ...(quantization === 'i8' && oversample !== undefined ? { rescore: { oversample } } : {}),
      });
    } catch (e) {
      throw corrupt(`bad options (${(e as Error).message})`);
    }
    const d = manifest.dims;
    const trained = o.trained === 1;
    const nLists = trained ? (o.nLists ?? 0) : 1;
    if (!Number.isInteger(nLists) || nLists < 1 || nLists > index.o.lists) throw corrupt(`bad list count ${String(nLists)}`);
    const n = ids.ids.length;
    const buf = await readFile(indexPath);
    const expected = ((trained ? nLists * d : 0) + n * d) * 4 + nLists * 4;
    if (buf.byteLength !== expected || n !== manifest.size)
      throw corrupt(`expected ${expected} bytes for ${n} items, found ${buf.byteLength}`);
    const floats = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength - nLists * 4));
    const sizes = new Uint32Array(buf.buffer.slice(buf.byteOffset + buf.byteLength - nLists * 4, buf.byteOffset + buf.byteLength));
    let total = 0;
    for (const s of sizes) total += s;
    if (total !== n) throw corrupt(`list sizes add up to ${total}, not ${n}`);
    for (const id of ids.ids) if (typeof id !== 'string' || id.length === 0) throw corrupt('ids.json holds a non-string id');
    if (new Set(ids.ids).size !== n) throw corrupt('ids.json holds duplicate ids');
    index.layout(sizes, nLists, trained ? floats.subarray(0, nLists * d) : undefined, floats.subarray(trained ? nLists * d : 0), ids.ids);
    return index;
  }

  // ---------------------------------------------------------------------------------------------

  private memoryError(e: RangeError): Error {
    return RetrievalErrors.create(
      'RECSPINE_ERR_ANN_BACKEND',
      `ivf: out of WebAssembly memory (${e.message}); the index is limited to 4 GiB`,
      {
        stage: STAGE,
        cause: e,
      },
    );
  }

  /**
   * Bytes past the slab (and, for `i8`, the int8 slab and the scales, 16-byte aligned) for scratch:
   * scores + positions for every row, and an assignment staging area.
   */
  private scratchOff(): number {
    if (!this.i8) return this.slabOff + this.slabCap * this.k.rowBytes;
    return this.scaleOff + Math.ceil(this.slabCap / 4) * 16;
  }

  private growSlab(rows: number): void {
    const k = this.k;
    if (this.i8) {
      // The int8 slab and the scales sit after the f32 slab: move them to their new places (the
      // scales first when growing, the int8 rows first when shrinking, so neither overwrites the other).
      const i8To = this.slabOff + rows * k.rowBytes;
      const scaleTo = i8To + rows * k.stride;
      k.ensure(scaleTo + Math.ceil(rows / 4) * 16);
      const keep = Math.min(rows, this.slabCap);
      const moveScales = (): void => {
        k.i8.copyWithin(scaleTo, this.scaleOff, this.scaleOff + keep * 4);
      };
      const moveRows = (): void => {
        k.i8.copyWithin(i8To, this.i8Off, this.i8Off + keep * k.stride);
      };
      if (i8To >= this.i8Off) {
        moveScales();
        moveRows();
      } else {
        moveRows();
        moveScales();
      }
      this.i8Off = i8To;
      this.scaleOff = scaleTo;
    } else {
      k.ensure(this.slabOff + rows * k.rowBytes);
    }
    this.slabCap = rows;
    // Grown by push, never by `new Array(n)` or writes past the end: V8 keeps a large array made
    // those ways in dictionary mode, and every id lookup of a search would be a hash probe.
    while (this.slotId.length < rows) this.slotId.push(undefined);
    if (this.slotList.length < rows) {
      const s = new Int32Array(rows);
      s.set(this.slotList);
      this.slotList = s;
    }
  }

  /**
   * Scratch of `rows` scores + positions after the slab, and `extra` bytes after them; returns
   * [scoresOff, idxOff, extraOff].
   */
  private scratch(rows: number, extra = 0): [number, number, number] {
    const s = this.scratchOff();
    const bytes = Math.max(rows, this.o.lists) * 4;
    this.k.ensure(s + 2 * bytes + extra + 64);
    return [s, s + bytes, s + 2 * bytes];
  }

  /** Writes `src[from ..]` × `scale` as the f32 row of `slot`, and its int8 image and scale for `i8`. */
  private writeSlot(slot: number, src: ArrayLike<number>, from: number, scale: number): void {
    const at = this.slabOff + slot * this.k.rowBytes;
    this.k.writeRow(at, src, from, scale);
    if (this.i8) this.k.quantizeRow(at, this.i8Off + slot * this.k.stride, this.scaleOff + slot * 4);
  }

  /** Copies `n` slots' rows (f32, and int8 + scale for `i8`) from slot `from` to slot `to` (overlap allowed). */
  private copySlots(to: number, from: number, n: number): void {
    const k = this.k;
    const rb = k.rowBytes;
    k.f32.copyWithin((this.slabOff + to * rb) >> 2, (this.slabOff + from * rb) >> 2, (this.slabOff + (from + n) * rb) >> 2);
    if (this.i8) {
      k.i8.copyWithin(this.i8Off + to * k.stride, this.i8Off + from * k.stride, this.i8Off + (from + n) * k.stride);
      k.f32.copyWithin((this.scaleOff >> 2) + to, (this.scaleOff >> 2) + from, (this.scaleOff >> 2) + from + n);
    }
  }

  private insert(id: string, list: number, src: Float32Array, from: number): void {
    if (this.len[list] === this.cap[list]) this.move(list, Math.max(16, (this.cap[list] as number) * 2));
    const slot = (this.start[list] as number) + (this.len[list] as number);
    this.writeSlot(slot, src, from, this.scaleOf(src, from));
    this.slotId[slot] = id;
    this.slotList[slot] = list;
    this.slotOf.set(id, slot);
    this.len[list] = (this.len[list] as number) + 1;
  }

  private scaleOf(src: ArrayLike<number>, from: number): number {
    if (this.metric !== 'cos') return 1;
    let s = 0;
    for (let j = 0; j < this.dims; j++) s += (src[from + j] as number) ** 2;
    return s > 0 ? 1 / Math.sqrt(s) : 0;
  }

  private removeSlot(slot: number): void {
    const list = this.slotList[slot] as number;
    const last = (this.start[list] as number) + (this.len[list] as number) - 1;
    const id = this.slotId[slot] as string;
    if (slot !== last) {
      this.copySlots(slot, last, 1);
      const moved = this.slotId[last] as string;
      this.slotId[slot] = moved;
      this.slotOf.set(moved, slot);
    }
    this.slotId[last] = undefined;
    this.slotOf.delete(id);
    this.len[list] = (this.len[list] as number) - 1;
  }

  /** Moves a full list to the end of the slab with room for `newCap` rows (compacting first if half the slab is holes). */
  private move(list: number, newCap: number): void {
    if (this.slabUsed + newCap > this.slabCap) {
      if (this.wasted > this.slabUsed / 2) {
        this.compact(list, newCap); // every list rewritten; this one with room for newCap
        return;
      }
      this.growSlab(Math.max(Math.ceil(this.slabCap * 1.5), this.slabUsed + newCap));
    }
    const s = this.start[list] as number;
    const n = this.len[list] as number;
    const to = this.slabUsed;
    this.copySlots(to, s, n);
    for (let r = 0; r < n; r++) {
      const id = this.slotId[s + r] as string;
      this.slotId[to + r] = id;
      this.slotId[s + r] = undefined;
      this.slotList[to + r] = list;
      this.slotOf.set(id, to + r);
    }
    this.wasted += this.cap[list] as number;
    this.start[list] = to;
    this.cap[list] = newCap;
    this.slabUsed += newCap;
  }

  /** Rewrites every list contiguously with fresh slack (and `grow` rows of room for `growList`). */
  private compact(growList: number, grow: number): void {
    const { rows, ids, sizes } = this.liveRows();
    const centroids = this.trained ? this.centroidRows() : undefined;
    this.layout(sizes, this.nLists, centroids, rows, ids, growList, grow);
  }

  /** Every live row (unpadded, as stored: normalised for `cos`) and its id, list by list, with each list's size. */
  private liveRows(): { rows: Float32Array; ids: string[]; sizes: Uint32Array } {
    const d = this.dims;
    const rows = new Float32Array(this.size * d);
    const ids: string[] = [];
    const sizes = new Uint32Array(this.nLists);
    let w = 0;
    for (let l = 0; l < this.nLists; l++) {
      const s = this.start[l] as number;
      const n = this.len[l] as number;
      sizes[l] = n;
      for (let r = s; r < s + n; r++) {
        const off = (this.slabOff >> 2) + r * this.k.stride;
        rows.set(this.k.f32.subarray(off, off + d), w);
        w += d;
        ids.push(this.slotId[r] as string);
      }
    }
    return { rows, ids, sizes };
  }

  private centroidRows(): Float32Array {
    const out = new Float32Array(this.nLists * this.dims);
    for (let c = 0; c < this.nLists; c++) {
      const off = (this.centOff >> 2) + c * this.k.stride;
      out.set(this.k.f32.subarray(off, off + this.dims), c * this.dims);
    }
    return out;
  }

  /**
   * Lays out the slab from rows grouped by list (`sizes[l]` rows of list l, in order; rows are
   * already normalised), each list with ≈ 12 % slack; `centroids` (unpadded) when trained.
   */
  private layout(
    sizes: Uint32Array,
    nLists: number,
    centroids: Float32Array | undefined,
    rows: Float32Array,
    ids: readonly string[],
    growList = -1,
    grow = 0,
  ): void {
    let total = 0;
    const caps = new Int32Array(nLists);
    for (let l = 0; l < nLists; l++) {
      const s = sizes[l] as number;
      caps[l] = Math.max(l === growList ? grow : 0, s + Math.max(4, s >> 3));
      total += caps[l] as number;
    }
    this.slotOf.clear();
    this.slotId = [];
    this.slotList = new Int32Array(0);
    this.growSlab(Math.max(total, 64));
    if (centroids !== undefined) {
      for (let c = 0; c < nLists; c++) this.k.writeRow(this.centOff + c * this.k.rowBytes, centroids, c * this.dims, 1);
    }
    this.nLists = nLists;
    this.trained = centroids !== undefined;
    let slot = 0;
    let r = 0;
    for (let l = 0; l < nLists; l++) {
      this.start[l] = slot;
      this.len[l] = sizes[l] as number;
      this.cap[l] = caps[l] as number;
      for (let i = 0; i < (sizes[l] as number); i++, r++) {
        const at = slot + i;
        this.writeSlot(at, rows, r * this.dims, 1);
        const id = ids[r] as string;
        this.slotId[at] = id;
        this.slotList[at] = l;
        this.slotOf.set(id, at);
      }
      slot += caps[l] as number;
    }
    this.slabUsed = slot;
    this.wasted = 0;
  }

  /** The nearest trained centroid of each of `n` rows of `src` (normalised first for `cos`). */
  private assign(src: Float32Array, n: number, normalise = true): Int32Array {
    const out = new Int32Array(n);
    const rb = this.k.rowBytes;
    for (let from = 0; from < n; from += ASSIGN_CHUNK) {
      const m = Math.min(ASSIGN_CHUNK, n - from);
      const base = this.scratchOff();
      const staging = base;
      const res = staging + m * rb;
      const best = res + m * 4;
      const tmp = best + m * 4;
      this.k.ensure(tmp + this.nLists * 4 + 64);
      for (let i = 0; i < m; i++) {
        const at = (from + i) * this.dims;
        this.k.writeRow(staging + i * rb, src, at, normalise ? this.scaleOf(src, at) : 1);
      }
      this.k.argmax(staging, m, this.centOff, this.nLists, res, best, tmp);
      out.set(this.k.i32.subarray(res >> 2, (res >> 2) + m), from);
    }
    return out;
  }

  /**
   * k-means (Lloyd; spherical for `cos`) on a seeded sample of the current rows, then every row
   * re-assigned and the slab laid out list by list.
   */
  private train(): void {
    const n = this.size;
    const C = Math.min(this.o.lists, n);
    const d = this.dims;
    const { rows, ids } = this.liveRows();
    // Seeded partial Fisher–Yates sample.
    const rand = mulberry32(this.o.seed);
    const S = Math.max(C, Math.min(n, this.o.trainSample));
    const pick = new Uint32Array(n);
    for (let i = 0; i < n; i++) pick[i] = i;
    for (let i = 0; i < S; i++) {
      const j = i + Math.floor(rand() * (n - i));
      const t = pick[i] as number;
      pick[i] = pick[j] as number;
      pick[j] = t;
    }
    const sample = new Float32Array(S * d);
    for (let i = 0; i < S; i++) sample.set(rows.subarray((pick[i] as number) * d, (pick[i] as number) * d + d), i * d);
    const centroids = sample.slice(0, C * d);
    this.nLists = C;
    const sums = new Float64Array(C * d);
    const counts = new Uint32Array(C);
    for (let it = 0; it < this.o.iterations; it++) {
      for (let c = 0; c < C; c++) this.k.writeRow(this.centOff + c * this.k.rowBytes, centroids, c * d, 1);
      const of = this.assign(sample, S, false);
      sums.fill(0);
      counts.fill(0);
      for (let i = 0; i < S; i++) {
        const c = of[i] as number;
        for (let j = 0; j < d; j++) sums[c * d + j] = (sums[c * d + j] as number) + (sample[i * d + j] as number);
        counts[c] = (counts[c] as number) + 1;
      }
      for (let c = 0; c < C; c++) {
        if (counts[c] === 0) {
          // An empty cell restarts at a random sample row.
          const r = Math.floor(rand() * S);
          centroids.set(sample.subarray(r * d, r * d + d), c * d);
          continue;
        }
        let q = 0;
        for (let j = 0; j < d; j++) q += (sums[c * d + j] as number) ** 2;
        const div = this.metric === 'cos' ? Math.sqrt(q) || 1 : (counts[c] as number);
        for (let j = 0; j < d; j++) centroids[c * d + j] = (sums[c * d + j] as number) / div;
      }
    }
    for (let c = 0; c < C; c++) this.k.writeRow(this.centOff + c * this.k.rowBytes, centroids, c * d, 1);
    // Rows are stored normalised already: assign them with scale 1 (ip), then group by cell.
    const of = this.assign(rows, n, false);
    const sizes = new Uint32Array(C);
    for (let i = 0; i < n; i++) sizes[of[i] as number] = (sizes[of[i] as number] as number) + 1;
    const startOf = new Uint32Array(C);
    for (let c = 1; c < C; c++) startOf[c] = (startOf[c - 1] as number) + (sizes[c - 1] as number);
    const grouped = new Float32Array(n * d);
    const gids = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const c = of[i] as number;
      const at = startOf[c] as number;
      startOf[c] = at + 1;
      grouped.set(rows.subarray(i * d, i * d + d), at * d);
      gids[at] = ids[i] as string;
    }
    this.layout(sizes, C, centroids, grouped, gids);
  }

  /**
   * Top `want` over the `probes` lists nearest the query (all lists when not trained, or when they
   * hold < want rows). `exact`: score the f32 rows even when the index is `i8`.
   */
  private scan(query: Float32Array, want: number, probes: number, exact = false): AnnHit[] {
    const k = this.k;
    k.writeRow(this.qOff, query, 0, this.scaleOf(query, 0));
    let lists: Int32Array;
    if (!this.trained) lists = Int32Array.of(0);
    else {
      const [sc, ix] = this.scratch(this.nLists);
      k.dots(this.centOff, this.nLists, this.qOff, sc);
      lists = k.topK(sc, this.nLists, Math.min(probes, this.nLists), ix);
      let rows = 0;
      for (const l of lists) rows += this.len[l] as number;
      if (rows < want && lists.length < this.nLists) lists = k.topK(sc, this.nLists, this.nLists, ix);
    }
    if (this.i8 && !exact) return this.scanI8(lists, want);
    let total = 0;
    const used = lists.length;
    const segPos = new Int32Array(used + 1);
    const segStart = new Int32Array(used);
    let rowsAll = 0;
    for (let i = 0; i < used; i++) rowsAll += this.len[lists[i] as number] as number;
    const [sc, ix] = this.scratch(rowsAll);
    let seg = 0;
    for (let i = 0; i < used; i++) {
      const l = lists[i] as number;
      const n = this.len[l] as number;
      if (n === 0) continue;
      k.dots(this.slabOff + (this.start[l] as number) * k.rowBytes, n, this.qOff, sc + total * 4);
      segPos[seg] = total;
      segStart[seg] = this.start[l] as number;
      seg++;
      total += n;
    }
    segPos[seg] = total;
    const pos = k.topK(sc, total, want, ix);
    const out: AnnHit[] = new Array<AnnHit>(pos.length);
    const sb = sc >> 2;
    for (let j = 0; j < pos.length; j++) {
      const p = pos[j] as number;
      let lo = 0;
      let hi = seg - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((segPos[mid] as number) <= p) lo = mid;
        else hi = mid - 1;
      }
      const slot = (segStart[lo] as number) + p - (segPos[lo] as number);
      out[j] = { itemId: this.slotId[slot] as string, score: k.f32[sb + p] as number };
    }
    return out;
  }

  /**
   * The `i8` search of `lists` (the query is already at qOff): the int8 rows scored approximately
   * (dotsI8), the best max(⌈want × oversample⌉, want + 32) of them selected (unsorted), gathered
   * by slot and re-scored from their f32 rows (dotsAt), the best `want` of those returned with
   * their exact scores.
   */
  private scanI8(lists: Int32Array, want: number): AnnHit[] {
    const k = this.k;
    const qs = k.quantizeQuery(this.qOff, this.q16Off);
    const used = lists.length;
    let rowsAll = 0;
    for (let i = 0; i < used; i++) rowsAll += this.len[lists[i] as number] as number;
    const cand = Math.min(rowsAll, Math.max(Math.ceil(want * this.o.oversample), want + IVF_I8_MIN_EXTRA));
    // Scratch: approximate scores and positions (then the candidates' slots) for every row; the
    // candidates' exact scores and the positions of the final selection.
    const [sc, ix, exact] = this.scratch(rowsAll, 2 * cand * 4 + 16);
    const ix2 = exact + cand * 4 + 16;
    const segPos = new Int32Array(used + 1);
    const segStart = new Int32Array(used);
    let total = 0;
    let seg = 0;
    for (let i = 0; i < used; i++) {
      const l = lists[i] as number;
      const n = this.len[l] as number;
      if (n === 0) continue;
      const start = this.start[l] as number;
      k.dotsI8(this.i8Off + start * k.stride, n, this.q16Off, this.scaleOff + start * 4, qs, sc + total * 4);
      segPos[seg] = total;
      segStart[seg] = start;
      seg++;
      total += n;
    }
    segPos[seg] = total;
    // The candidates' positions come in increasing order: one walk over the segments turns them
    // into slots (in place; ascending within each list, so the gather reads forwards).
    const m = k.select(sc, total, cand, ix);
    const ib = ix >> 2;
    let at = 0;
    for (let j = 0; j < m; j++) {
      const p = k.i32[ib + j] as number;
      while ((segPos[at + 1] as number) <= p) at++;
      k.i32[ib + j] = (segStart[at] as number) + p - (segPos[at] as number);
    }
    k.dotsAt(this.slabOff, ix, m, this.qOff, exact);
    const best = k.topK(exact, m, want, ix2);
    const out: AnnHit[] = new Array<AnnHit>(best.length);
    const eb = exact >> 2;
    for (let j = 0; j < best.length; j++) {
      const b = best[j] as number;
      out[j] = { itemId: this.slotId[k.i32[ib + b] as number] as string, score: k.f32[eb + b] as number };
    }
    return out;
  }
}

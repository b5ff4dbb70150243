import type { ItemMeta, RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import { RetrievalErrors } from './errors.js';
import { ExactIndex } from './ExactIndex.js';
import { checkVector, meanVector } from './internal/vector.js';

const STAGE = 'retrieval/fresh';

/** A newly published item, from a publish event. */
export interface FreshItem {
  readonly itemId: string;
  readonly publishedAtMs: number;
  /** Content embedding (from the item's text, thumbnail…, not the two-tower model). */
  readonly embedding: Float32Array;
  /** Metadata returned with the candidate (saves a catalog lookup). */
  readonly meta?: ItemMeta;
}

/** Options of a {@link FreshContentSource}. */
export interface FreshContentSourceOptions {
  /** Default `fresh`. */
  readonly name?: string;
  /** Content-embedding dimension. */
  readonly dims: number;
  /** Reads the user's recent history: item ids, most recent first. */
  readonly history: (ctx: StageContext, userId: string) => Promise<readonly string[] | undefined>;
  /**
   * Content embedding of a history item that is not fresh itself (e.g. from the item catalog's
   * `meta.embedding`). Fresh items are looked up in the source's own index first.
   */
  readonly embeddingOf?: (itemId: string) => Float32Array | undefined;
  /** How long an item stays fresh. Default 48 h. */
  readonly maxAgeMs?: number;
  /** Most items kept (oldest evicted first). Default 50 000. */
  readonly maxItems?: number;
  /** History items averaged into the query. Default 20. */
  readonly historyLimit?: number;
  /** Wall clock, ms since epoch, when the request carries no `nowMs`. Default `Date.now`. */
  readonly clock?: () => number;
}

/**
 * Recently published items, ranked by content-embedding similarity (cosine) to the mean of the
 * user's recent-history content embeddings. This is how an item the two-tower model has never seen
 * becomes findable. Users without usable history get the newest items, newest first.
 *
 * Keeps its own small exact index (brute force with SIMD kernels: the window is small and changes
 * every second, which an HNSW graph with tombstones handles badly), fed by {@link addItem} from
 * publish events and pruned by age and size.
 *
 * @example
 * ```ts
 * const fresh = new FreshContentSource({ dims: 32, history: (ctx, u) => features.recentWatches(u), embeddingOf: (id) => catalog.get(id)?.embedding });
 * bus.on('publish', (e) => fresh.addItem({ itemId: e.id, publishedAtMs: e.at, embedding: e.contentEmbedding }));
 * ```
 */
export class FreshContentSource implements RetrievalSource {
  readonly name: string;
  private readonly o: FreshContentSourceOptions;
  private readonly index: ExactIndex;
  private readonly items = new Map<string, { publishedAtMs: number; meta: ItemMeta | undefined }>();
  private readonly maxAgeMs: number;
  private readonly maxItems: number;
  private readonly clock: () => number;
  /** Latest `publishedAtMs` ever added (an upper bound once items are removed): the early exit of {@link retrieve}. */
  private newestMs = Number.NEGATIVE_INFINITY;

  constructor(options: FreshContentSourceOptions) {
    const bad = (field: string, why: string): never => {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', `fresh source: ${field} ${why}`, { stage: STAGE, field });
    };
    if (!Number.isInteger(options?.dims) || options.dims <= 0) bad('dims', 'must be a positive integer');
    if (typeof options.history !== 'function') bad('history', 'must be a function');
    this.maxAgeMs = options.maxAgeMs ?? 48 * 3_600_000;
    this.maxItems = options.maxItems ?? 50_000;
    if (!(this.maxAgeMs > 0)) bad('maxAgeMs', 'must be positive');
    if (!Number.isInteger(this.maxItems) || this.maxItems < 1) bad('maxItems', 'must be a positive integer');
    this.name = options.name ?? 'fresh';
    this.o = options;
    this.clock = options.clock ?? Date.now;
    this.index = new ExactIndex({ dims: options.dims, metric: 'cos', threads: 1 });
  }

  get size(): number {
    return this.index.size;
  }

  /** Adds (or updates) a published item. Rejects a malformed one with `RECSPINE_ERR_RETRIEVAL_BAD_ITEM`. */
  addItem(item: FreshItem): void {
    const bad = (why: string, cause?: unknown): never => {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', `fresh item ${String(item?.itemId)}: ${why}`, {
        stage: STAGE,
        field: 'item',
        cause,
      });
    };
    if (typeof item?.itemId !== 'string' || item.itemId.length === 0) bad('itemId must be a non-empty string');
    if (typeof item.publishedAtMs !== 'number' || !Number.isFinite(item.publishedAtMs)) bad('publishedAtMs must be a finite number');
    if (!(item.embedding instanceof Float32Array)) bad('embedding must be a Float32Array');
    try {
      checkVector(item.embedding, this.o.dims, STAGE, 'embedding');
    } catch (e) {
      bad((e as Error).message, e);
    }
    this.index.upsert(item.itemId, item.embedding);
    this.items.set(item.itemId, { publishedAtMs: item.publishedAtMs, meta: item.meta });
    if (item.publishedAtMs > this.newestMs) this.newestMs = item.publishedAtMs;
    if (this.items.size > this.maxItems) this.prune(this.clock());
  }

  /** Removes an item (taken down). Unknown ids are ignored: the item may have aged out already. */
  removeItem(itemId: string): void {
    if (this.items.delete(itemId)) this.index.remove(itemId);
  }

  /** Drops items older than `maxAgeMs` at `nowMs`, then the oldest beyond `maxItems`. Returns how many were dropped. */
  prune(nowMs: number): number {
    let dropped = 0;
    const cutoff = nowMs - this.maxAgeMs;
    for (const [id, it] of this.items) {
      if (it.publishedAtMs < cutoff) {
        this.items.delete(id);
        this.index.remove(id);
        dropped++;
      }
    }
    if (this.items.size > this.maxItems) {
      const byAge = [...this.items].sort((a, b) => a[1].publishedAtMs - b[1].publishedAtMs);
      for (const [id] of byAge.slice(0, this.items.size - this.maxItems)) {
        this.items.delete(id);
        this.index.remove(id);
        dropped++;
      }
    }
    return dropped;
  }

  async retrieve(ctx: StageContext, k: number): Promise<RetrievedItem[]> {
    if (k <= 0) return [];
    const now = ctx.request.context?.nowMs ?? this.clock();
    const cutoff = now - this.maxAgeMs;
    // Nothing young enough (e.g. a catalog older than maxAgeMs): skip the history read and a
    // filtered scan of every item that could only come back empty.
    if (this.newestMs < cutoff) return [];
    const userId = ctx.request.userId;
    let query: Float32Array | undefined;
    if (userId !== undefined) {
      const history = await this.o.history(ctx, userId);
      if (ctx.signal.aborted) return [];
      const vecs: Float32Array[] = [];
      for (const id of (history ?? []).slice(0, this.o.historyLimit ?? 20)) {
        const v = this.index.vectorOf(id) ?? this.o.embeddingOf?.(id);
        if (v !== undefined && v.length === this.o.dims) vecs.push(v);
      }
      query = meanVector(vecs, this.o.dims);
    }
    const fresh = (id: string): boolean => {
      const it = this.items.get(id);
      return it !== undefined && it.publishedAtMs >= cutoff && it.publishedAtMs <= now;
    };
    if (query !== undefined && query.some((x) => x !== 0)) {
      const hits = this.index.search(query, Math.min(k, Math.max(1, this.index.size)), { predicate: fresh });
      return hits.map((h) => this.withMeta(h.itemId, h.score));
    }
    // No usable history: newest first.
    const newest = [...this.items].filter(([id]) => fresh(id)).sort((a, b) => b[1].publishedAtMs - a[1].publishedAtMs);
    return newest.slice(0, k).map(([id, it]) => this.withMeta(id, 1 - (now - it.publishedAtMs) / this.maxAgeMs));
  }

  private withMeta(itemId: string, score: number): RetrievedItem {
    const meta = this.items.get(itemId)?.meta;
    return meta === undefined ? { itemId, score } : { itemId, score, meta };
  }
}

import type { RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import MiniSearch from 'minisearch';
import type { AnnSearcher } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';

const STAGE = 'retrieval/query';

/** A searchable item. */
export interface QueryItem {
  readonly itemId: string;
  readonly title: string;
  readonly tags?: readonly string[];
  /** Extra text (description…), indexed with a lower weight. */
  readonly text?: string;
}

/** Optional semantic half: the query text embedded and searched in an item index, fused with the text results. */
export interface QueryEmbedding {
  /** Embeds the query text (e.g. a small ONNX text encoder); undefined to skip. */
  readonly encode: (text: string, ctx: StageContext) => Promise<Float32Array | undefined>;
  readonly index: AnnSearcher;
  /** Weight of the embedding ranks against the text ranks (1) in the fusion. Default 0.5. */
  readonly weight?: number;
}

/** Options of a {@link QuerySource}. */
export interface QuerySourceOptions {
  /** Default `query`. */
  readonly name?: string;
  /** Field boosts. Default `{ title: 3, tags: 2, text: 1 }`. */
  readonly boost?: Readonly<Partial<Record<'title' | 'tags' | 'text', number>>>;
  /** Fuzzy matching (edit distance as a fraction of term length). Default 0.2. */
  readonly fuzzy?: number;
  /** Prefix matching of the last term (search-as-you-type). Default true. */
  readonly prefix?: boolean;
  readonly embedding?: QueryEmbedding;
}

/** Reciprocal-rank-fusion constant (Cormack et al.). */
const RRF_K = 60;

/**
 * Text retrieval for the search slot, over titles, tags and text, on MiniSearch (BM25-style
 * scoring, fuzzy and prefix matching). Optionally fused with embedding similarity by weighted
 * reciprocal-rank fusion: `score = Σ w_s / (60 + rank_s)`.
 *
 * An empty or missing `request.query` returns `[]`.
 *
 * @example
 * ```ts
 * const query = new QuerySource({ embedding: { encode: (t) => textTower.encode(t), index: manager, weight: 0.5 } });
 * query.addAll(catalog.map((v) => ({ itemId: v.id, title: v.title, tags: v.tags })));
 * ```
 */
export class QuerySource implements RetrievalSource {
  readonly name: string;
  private readonly search: MiniSearch<QueryItem & { id: string }>;
  private readonly o: QuerySourceOptions;

  constructor(options: QuerySourceOptions = {}) {
    const fuzzy = options.fuzzy ?? 0.2;
    if (!(fuzzy >= 0 && fuzzy < 1)) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'fuzzy must be in [0, 1)', { stage: STAGE, field: 'fuzzy' });
    }
    if (
      options.embedding !== undefined &&
      (typeof options.embedding.encode !== 'function' || typeof options.embedding.index?.search !== 'function')
    ) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'embedding needs encode and index', {
        stage: STAGE,
        field: 'embedding',
      });
    }
    this.name = options.name ?? 'query';
    this.o = options;
    this.search = new MiniSearch<QueryItem & { id: string }>({
      fields: ['title', 'tags', 'text'],
      storeFields: [],
      extractField: (doc, field) => {
        const v = (doc as unknown as Record<string, unknown>)[field];
        return Array.isArray(v) ? v.join(' ') : ((v as string | undefined) ?? '');
      },
      searchOptions: {
        boost: { title: 3, tags: 2, text: 1, ...options.boost },
        fuzzy,
        prefix: options.prefix ?? true,
        combineWith: 'OR',
      },
    });
  }

  get size(): number {
    return this.search.documentCount;
  }

  /** Adds or replaces an item. Rejects a malformed one with `RECSPINE_ERR_RETRIEVAL_BAD_ITEM`. */
  addItem(item: QueryItem): void {
    if (typeof item?.itemId !== 'string' || item.itemId.length === 0 || typeof item.title !== 'string') {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', `query item ${String(item?.itemId)}: needs an itemId and a title`, {
        stage: STAGE,
        field: 'item',
      });
    }
    if (item.tags !== undefined && (!Array.isArray(item.tags) || item.tags.some((t) => typeof t !== 'string'))) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', `query item ${item.itemId}: tags must be strings`, {
        stage: STAGE,
        field: 'item.tags',
      });
    }
    const doc = { ...item, id: item.itemId };
    if (this.search.has(item.itemId)) this.search.replace(doc);
    else this.search.add(doc);
  }

  addAll(items: Iterable<QueryItem>): void {
    for (const it of items) this.addItem(it);
  }

  /** Removes an item (taken down). Unknown ids are ignored. */
  removeItem(itemId: string): void {
    if (this.search.has(itemId)) this.search.discard(itemId);
  }

  async retrieve(ctx: StageContext, k: number): Promise<RetrievedItem[]> {
    const q = ctx.request.query?.trim();
    if (q === undefined || q.length === 0 || k <= 0) return [];
    const text = this.search.search(q).slice(0, k);
    const emb = this.o.embedding;
    if (emb === undefined) return text.map((r) => ({ itemId: String(r.id), score: r.score }));
    const vec = await emb.encode(q, ctx);
    if (vec === undefined || ctx.signal.aborted) return text.map((r) => ({ itemId: String(r.id), score: r.score }));
    const sem = await emb.index.search(vec, k);
    const w = emb.weight ?? 0.5;
    const fused = new Map<string, number>();
    text.forEach((r, i) => fused.set(String(r.id), 1 / (RRF_K + i + 1)));
    sem.forEach((h, i) => fused.set(h.itemId, (fused.get(h.itemId) ?? 0) + w / (RRF_K + i + 1)));
    return [...fused]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([itemId, score]) => ({ itemId, score }));
  }
}

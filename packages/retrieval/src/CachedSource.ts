import type { RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import { LRUCache } from 'lru-cache';
import { RetrievalErrors } from './errors.js';

/** Options of a {@link CachedSource}. */
export interface CachedSourceOptions {
  /**
   * The cache key of a request, or `undefined` to bypass the cache for it. The key must name
   * everything the wrapped source's answer depends on besides `k` (which is added to it): for an
   * item-to-item source, the seed item; for a segment list, the segment. Return `undefined` for a
   * request whose answer is the user's own (personalised) or depends on the request's clock
   * (replay, offline evaluation), so those always reach the source.
   */
  readonly key: (ctx: StageContext) => string | undefined;
  /** How long an answer is served from memory, ms (> 0). Answers lag the source by at most this long. */
  readonly ttlMs: number;
  /** Most answers kept, least recently used out first. Default 10 000. */
  readonly maxEntries?: number;
  /**
   * The generation of the data behind the source (e.g. `() => indexManager.version`). An answer
   * cached under another generation is not served: an index swap or rollback takes effect on the
   * next request instead of after `ttlMs`.
   */
  readonly generation?: () => string | number | undefined;
  /**
   * Item ids ↔ dense non-negative integers (e.g. a catalog's rows). With it an answer is kept as
   * an `Int32Array` of ordinals instead of an array of id strings: a full cache of 50 000 answers of
   * 300 items is otherwise ≈ 120 MB of string pointers on the JS heap, which every full GC marks
   * slot by slot (a serving worker's full GCs take longer the more of them it holds). An answer with
   * an id the dictionary does not know is kept as strings; a cached ordinal the dictionary no
   * longer knows makes that answer a miss.
   */
  readonly ordinals?: ItemOrdinals;
}

/** Item ids ↔ dense non-negative 32-bit integers, for {@link CachedSourceOptions.ordinals}. */
export interface ItemOrdinals {
  /** The id's ordinal, or `undefined` (or a negative number) when it has none. */
  ordinal(itemId: string): number | undefined;
  /** The id of an ordinal, or `undefined`. */
  itemId(ordinal: number): string | undefined;
}

/** Hit/miss counters of a {@link CachedSource}. */
export interface CachedSourceStats {
  readonly hits: number;
  readonly misses: number;
  /** Requests whose `key` was `undefined`. */
  readonly bypassed: number;
  /** Answers kept now. */
  readonly size: number;
}

/**
 * One cached answer, packed: the ids in one array, the scores in one `Float64Array`, the metas (if
 * the source returned any) in one sparse array — a handful of heap objects per answer instead of
 * one `RetrievedItem` per item. Why: a cache of long-lived answers lives in the old generation, and
 * every major GC marks each object in it. Kept as items, a full 10 000-answer cache of 300-item
 * related lists is 3M objects; in the video-platform server (Zipf-distributed watched items, 1M
 * items) it held 144 000 of them after 2 min at 100 QPS. A hit rebuilds the items: young objects
 * that die with the request.
 */
interface Entry {
  readonly generation: string | number | undefined;
  /** The ids, or their ordinals under {@link CachedSourceOptions.ordinals}. */
  readonly ids: readonly string[] | Int32Array;
  readonly scores: Float64Array;
  /** Per position, the source's meta, or `undefined` when the source returned none at all. */
  readonly metas: readonly (RetrievedItem['meta'] | undefined)[] | undefined;
}

function pack(generation: Entry['generation'], items: readonly RetrievedItem[], ordinals: ItemOrdinals | undefined): Entry | undefined {
  const n = items.length;
  const ids = new Array<string>(n);
  const scores = new Float64Array(n);
  let metas: (RetrievedItem['meta'] | undefined)[] | undefined;
  for (let i = 0; i < n; i++) {
    const it = items[i];
    // a malformed answer is passed through (core's merge skips bad items) but not cached
    if (it === null || typeof it !== 'object' || typeof it.itemId !== 'string') return undefined;
    ids[i] = it.itemId;
    scores[i] = it.score;
    if (it.meta !== undefined) (metas ??= new Array<RetrievedItem['meta'] | undefined>(n))[i] = it.meta;
  }
  return { generation, ids: ordinals === undefined ? ids : (toOrdinals(ids, ordinals) ?? ids), scores, metas };
}

function toOrdinals(ids: readonly string[], ordinals: ItemOrdinals): Int32Array | undefined {
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const o = ordinals.ordinal(ids[i] as string);
    if (o === undefined || !(o >= 0 && o <= 0x7fffffff) || !Number.isInteger(o)) return undefined;
    out[i] = o;
  }
  return out;
}

/** The answer's items, or `undefined` when an ordinal no longer resolves (the caller refetches). */
function unpack(e: Entry, ordinals: ItemOrdinals | undefined): RetrievedItem[] | undefined {
  const { ids, scores, metas } = e;
  const byOrdinal = ids instanceof Int32Array ? (ordinals as ItemOrdinals) : undefined;
  const out = new Array<RetrievedItem>(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const itemId = byOrdinal === undefined ? (ids[i] as string) : byOrdinal.itemId(ids[i] as number);
    if (itemId === undefined) return undefined;
    const item = { itemId, score: scores[i] as number };
    const meta = metas?.[i];
    out[i] = meta === undefined ? item : { ...item, meta };
  }
  return out;
}

/**
 * Serves a user-independent source's answers from memory: an item-to-item source ("related to the
 * video just watched"), a segment's list. At serving rates the same seed item comes back many
 * times a second (end-of-video traffic follows the popularity of what was watched), and each miss
 * is a full ANN search. Answers are kept packed (see `Entry`: a few objects per answer, not one per
 * item) and a hit returns fresh `RetrievedItem`s. Failed, empty or malformed answers are not cached
 * (a timeout must not be remembered as "nothing related").
 *
 * Why no sharing of a miss in flight (unlike {@link PopularitySource}'s segment reads): a shared
 * promise would run under the first caller's deadline and abort signal, so a request with plenty
 * of budget could fail because another one ran out.
 *
 * @example
 * ```ts
 * // `relatedItems`: your item-to-item source (neighbours of `context.itemId` in `index`)
 * const related = new CachedSource(relatedItems, {
 *   key: (ctx) => (ctx.request.context?.nowMs === undefined ? ctx.request.context?.itemId : undefined),
 *   ttlMs: 30_000,
 *   generation: () => index.version,
 * });
 * ```
 */
export class CachedSource implements RetrievalSource {
  readonly name: string;
  private readonly cache: LRUCache<string, Entry>;
  private readonly counters = { hits: 0, misses: 0, bypassed: 0 };

  constructor(
    private readonly source: RetrievalSource,
    private readonly options: CachedSourceOptions,
  ) {
    const bad = (field: string, why: string): never => {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', `cached source: ${field} ${why}`, {
        stage: `retrieval/${source?.name ?? '?'}`,
        field,
      });
    };
    if (typeof source?.retrieve !== 'function') bad('source', 'must be a retrieval source');
    if (typeof options?.key !== 'function') bad('key', 'must be a function');
    if (typeof options.ttlMs !== 'number' || !Number.isFinite(options.ttlMs) || options.ttlMs <= 0)
      bad('ttlMs', `must be a number > 0, got ${String(options.ttlMs)}`);
    const o = options.ordinals;
    if (o !== undefined && (typeof o?.ordinal !== 'function' || typeof o.itemId !== 'function'))
      bad('ordinals', 'must have ordinal(itemId) and itemId(ordinal) functions');
    const max = options.maxEntries ?? 10_000;
    if (!Number.isInteger(max) || max < 1) bad('maxEntries', `must be a positive integer, got ${String(max)}`);
    this.name = source.name;
    // ttlResolution 0: lru-cache's default (1) caches `performance.now()` for 1 ms and arms a 1 ms
    // `setTimeout` to forget it on every refresh — a timer wake-up per millisecond of cache use on
    // the request path. A `performance.now()` per lookup costs less than the wake-up.
    this.cache = new LRUCache<string, Entry>({ max, ttl: options.ttlMs, ttlAutopurge: false, ttlResolution: 0 });
  }

  async retrieve(ctx: StageContext, k: number): Promise<readonly RetrievedItem[]> {
    const key = this.options.key(ctx);
    if (key === undefined) {
      this.counters.bypassed++;
      return this.source.retrieve(ctx, k);
    }
    const full = `${k}\u0000${key}`;
    const generation = this.options.generation?.();
    const hit = this.cache.get(full);
    if (hit !== undefined && hit.generation === generation) {
      const items = unpack(hit, this.options.ordinals);
      if (items !== undefined) {
        this.counters.hits++;
        return items;
      }
      this.cache.delete(full);
    }
    this.counters.misses++;
    const items = await this.source.retrieve(ctx, k);
    if (Array.isArray(items) && items.length > 0) {
      const entry = pack(generation, items, this.options.ordinals);
      if (entry !== undefined) this.cache.set(full, entry);
    }
    return items;
  }

  stats(): CachedSourceStats {
    return { ...this.counters, size: this.cache.size };
  }

  /** Drops every cached answer (e.g. after a takedown the next requests must not see). */
  clear(): void {
    this.cache.clear();
  }
}

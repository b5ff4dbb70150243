import type { RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import { RetrievalErrors } from './errors.js';
import { mergedTop } from './internal/segments.js';
import type { PopularityCounters } from './PopularityCounters.js';

/** Options of a {@link PopularitySource}. */
export interface PopularitySourceOptions {
  /** Default `popular`. */
  readonly name?: string;
  readonly counters: PopularityCounters;
  /**
   * The segments to read for a request, most specific first; later ones backfill. Default:
   * `region:<region>` (when the request has one), then `global`.
   */
  readonly segments?: (ctx: StageContext) => readonly string[];
  /**
   * Serve a segment list's merged top-k from memory for this long (ms) after reading it; 0 (the
   * default) reads the counters on every request. The lists are the same for every user of a
   * segment, so at serving rates one read per segment list and `cacheTtlMs` replaces one per
   * request (concurrent requests share the read in flight). Popularity then lags the counters by
   * at most this long. Requests whose `context.nowMs` is absent or within `cacheTtlMs` of the wall
   * clock use the cache; one that carries another clock (replay, offline evaluation) always
   * reads. Failed reads are not cached. At most `cacheMaxEntries` (default 1 000) segment lists
   * are kept, oldest out first.
   */
  readonly cacheTtlMs?: number;
  readonly cacheMaxEntries?: number;
}

const defaultSegments = (ctx: StageContext): readonly string[] => {
  const region = ctx.request.context?.region;
  return region === undefined ? ['global'] : [`region:${region}`, 'global'];
};

/**
 * Time-decayed popularity by segment (region, category or global), read through
 * {@link PopularityCounters} (in-memory or Redis; the stream aggregator writes them). Segments are
 * read in parallel and merged most-specific-first with backfill.
 *
 * It is also the exploration and quality baseline: configured with `segments: () => ['global']`
 * it is the non-personalised policy that exploration and offline evaluation compare against.
 *
 * @example
 * ```ts
 * const popular = new PopularitySource({
 *   counters,
 *   segments: (ctx) => [`region:${ctx.request.context?.region ?? 'US'}|category:music`, `region:${ctx.request.context?.region ?? 'US'}`, 'global'],
 * });
 * ```
 */
export class PopularitySource implements RetrievalSource {
  readonly name: string;
  private readonly counters: PopularityCounters;
  private readonly segments: (ctx: StageContext) => readonly string[];
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  /** segment list + k → the merged read and when it started (insertion order = age). */
  private readonly cache = new Map<string, { atMs: number; items: Promise<RetrievedItem[]> }>();
  private readonly cacheStats = { hits: 0, misses: 0 };

  constructor(options: PopularitySourceOptions) {
    if (typeof options?.counters?.top !== 'function') {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'popularity source needs counters', {
        stage: 'retrieval/popular',
        field: 'counters',
      });
    }
    this.name = options.name ?? 'popular';
    this.counters = options.counters;
    this.segments = options.segments ?? defaultSegments;
    const num = (field: 'cacheTtlMs' | 'cacheMaxEntries', v: number | undefined, dflt: number, min: number): number => {
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
        throw RetrievalErrors.create(
          'RECSPINE_ERR_RETRIEVAL_CONFIG',
          `popularity source: ${field} must be a number ≥ ${min}, got ${String(v)}`,
          {
            stage: 'retrieval/popular',
            field,
          },
        );
      }
      return v;
    };
    this.ttlMs = num('cacheTtlMs', options.cacheTtlMs, 0, 0);
    this.maxEntries = Math.floor(num('cacheMaxEntries', options.cacheMaxEntries, 1000, 1));
  }

  /** Cache hits and misses since start (`cacheTtlMs` > 0). */
  stats(): { readonly cacheHits: number; readonly cacheMisses: number } {
    return { cacheHits: this.cacheStats.hits, cacheMisses: this.cacheStats.misses };
  }

  async retrieve(ctx: StageContext, k: number): Promise<RetrievedItem[]> {
    if (k <= 0) return [];
    const segments = this.segments(ctx);
    const reqNow = ctx.request.context?.nowMs;
    const now = Date.now();
    if (this.ttlMs === 0 || (reqNow !== undefined && !(Math.abs(reqNow - now) <= this.ttlMs)))
      return mergedTop(this.counters, segments, k, reqNow ?? now);
    // Hand-written rather than lru-cache: a TTL map with single-flight promises and FIFO bound is a
    // dozen lines, and the entries are few (one per segment list in use).
    const key = `${k}\u0000${segments.join('\u0000')}`;
    const hit = this.cache.get(key);
    if (hit !== undefined && now - hit.atMs < this.ttlMs) {
      this.cacheStats.hits++;
      return hit.items;
    }
    this.cacheStats.misses++;
    const items = mergedTop(this.counters, segments, k, now);
    const entry = { atMs: now, items };
    this.cache.delete(key);
    this.cache.set(key, entry);
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    // a failed read is not served to later requests
    items.catch(() => {
      if (this.cache.get(key) === entry) this.cache.delete(key);
    });
    return items;
  }
}

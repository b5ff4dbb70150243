import type { FallbackProvider, RecRequest, RetrievedItem } from '@recspine/core';
import { RetrievalErrors } from './errors.js';
import type { PopularityCounters } from './PopularityCounters.js';

/** Options of a {@link PopularityFallback}. */
export interface PopularityFallbackOptions {
  readonly counters: PopularityCounters;
  /** Regions to precompute a slate for (besides `global`). */
  readonly regions: readonly string[];
  /** Items kept per slate. Default 200. */
  readonly size?: number;
}

/**
 * The last line of degradation (core's `FallbackProvider`): a precomputed popular-by-region slate,
 * held in memory and served synchronously. {@link refresh} pulls it from the counters off the
 * request path (call it on a timer); until the first refresh the slate is empty. A region without a
 * slate, or a short one, is backfilled from `global`.
 *
 * @example
 * ```ts
 * const fallback = new PopularityFallback({ counters, regions: ['US', 'FR', 'IN'] });
 * await fallback.refresh();
 * setInterval(() => void fallback.refresh().catch(log.warn), 60_000).unref();
 * createRecommender({ ...config, shared: { ...shared, fallback } });
 * ```
 */
export class PopularityFallback implements FallbackProvider {
  private readonly o: PopularityFallbackOptions;
  private slates = new Map<string, readonly RetrievedItem[]>();
  private global: readonly RetrievedItem[] = [];

  constructor(options: PopularityFallbackOptions) {
    if (typeof options?.counters?.top !== 'function' || !Array.isArray(options.regions)) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'popularity fallback needs counters and regions', {
        stage: 'retrieval/fallback',
      });
    }
    this.o = options;
  }

  /** Recomputes every slate from the counters; the old slates serve until the new ones are ready. */
  async refresh(nowMs: number = Date.now()): Promise<void> {
    const size = this.o.size ?? 200;
    const [global, ...regional] = await Promise.all([
      this.o.counters.top('global', size, nowMs),
      ...this.o.regions.map((r) => this.o.counters.top(`region:${r}`, size, nowMs)),
    ]);
    const slates = new Map<string, readonly RetrievedItem[]>();
    this.o.regions.forEach((r, i) => slates.set(r, regional[i] ?? []));
    this.slates = slates;
    this.global = global ?? [];
  }

  slate(request: RecRequest, limit: number): readonly RetrievedItem[] {
    const region = request.context?.region;
    const own = region === undefined ? undefined : this.slates.get(region);
    if (own === undefined || own.length === 0) return this.global.slice(0, limit);
    if (own.length >= limit) return own.slice(0, limit);
    const seen = new Set(own.map((i) => i.itemId));
    return [...own, ...this.global.filter((i) => !seen.has(i.itemId))].slice(0, limit);
  }
}

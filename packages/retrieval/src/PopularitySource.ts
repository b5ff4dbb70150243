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
  }

  async retrieve(ctx: StageContext, k: number): Promise<RetrievedItem[]> {
    if (k <= 0) return [];
    return mergedTop(this.counters, this.segments(ctx), k, ctx.request.context?.nowMs ?? Date.now());
  }
}

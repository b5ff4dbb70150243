import type { FeatureGroupSpec, FeatureSpec } from './FeatureSchema.js';

/** Options of {@link streamFeatureGroups}; the {@link StreamAggregator} must get the same ones. */
export interface StreamGroupsOptions {
  /** Category vocabulary of the `category_counts_24h` vector (an extra last slot counts the rest). */
  readonly categories?: readonly string[];
  /** Half-life of the decayed item/creator counters (`*_recent`). Default 6 h. */
  readonly halfLifeMs?: number;
  /** User stream records expire after this long without events. Default 30 days. */
  readonly userTtlMs?: number;
  /** Sub-deadline of the stream groups. Default: the schema's default. */
  readonly timeoutMs?: number;
}

/** Group names the aggregator writes. */
export const STREAM_GROUPS = { user: 'user_stream', item: 'item_stream', creator: 'creator_stream' } as const;

const num = (name: string, halfLifeMs?: number): FeatureSpec => ({
  name,
  type: 'number',
  default: 0,
  freshness: 'hot',
  ...(halfLifeMs === undefined ? {} : { halfLifeMs }),
});
const ids = (name: string): FeatureSpec => ({ name, type: 'idList', default: [], freshness: 'hot' });
const cat = (name: string): FeatureSpec => ({ name, type: 'category', default: '', freshness: 'hot' });

/**
 * The feature groups the {@link StreamAggregator} maintains: `user_stream` (recent items and
 * categories, 24 h counts, category counts, in-session signal), `item_stream` and
 * `creator_stream` (decayed and total counters for trending and CTR priors). Add them to your
 * schema next to your own groups.
 *
 * @example
 * ```ts
 * const opts = { categories: ['music', 'gaming', 'news'] };
 * const schema = defineFeatureSchema({ groups: [...myGroups, ...streamFeatureGroups(opts)] });
 * const agg = new StreamAggregator({ store, ...opts });
 * ```
 */
export function streamFeatureGroups(opts: StreamGroupsOptions = {}): FeatureGroupSpec[] {
  const hl = opts.halfLifeMs ?? 6 * 3_600_000;
  const dim = (opts.categories?.length ?? 0) + 1;
  const t = opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs };
  return [
    {
      name: STREAM_GROUPS.user,
      entity: 'user',
      encoding: 'hash',
      ttlMs: opts.userTtlMs ?? 30 * 24 * 3_600_000,
      ...t,
      features: [
        ids('recent_items'),
        ids('recent_categories'),
        { name: 'category_counts_24h', type: 'vector', dim, default: new Float32Array(dim), freshness: 'hot' },
        ids('top_categories_24h'),
        num('impressions_24h'),
        num('clicks_24h'),
        num('watches_24h'),
        num('completions_24h'),
        num('watch_seconds_24h'),
        cat('session_id'),
        num('session_started_ms'),
        num('session_events'),
        num('session_watches'),
        num('session_clicks'),
        num('session_watch_seconds'),
        ids('session_categories'),
        num('last_event_ms'),
        cat('last_query'),
      ],
    },
    {
      name: STREAM_GROUPS.item,
      entity: 'item',
      encoding: 'hash',
      ...t,
      features: [
        num('impressions_recent', hl),
        num('clicks_recent', hl),
        num('views_recent', hl),
        num('completions_recent', hl),
        num('reports_recent', hl),
        num('likes_recent', hl),
        num('watch_seconds_recent', hl),
        num('impressions_total'),
        num('clicks_total'),
        num('views_total'),
        num('completions_total'),
        num('reports_total'),
        num('likes_total'),
        num('published_at_ms'),
      ],
    },
    {
      name: STREAM_GROUPS.creator,
      entity: 'creator',
      encoding: 'hash',
      ...t,
      features: [
        num('views_recent', hl),
        num('completions_recent', hl),
        num('reports_recent', hl),
        num('likes_recent', hl),
        num('views_total'),
        num('reports_total'),
        num('uploads_total'),
      ],
    },
  ];
}

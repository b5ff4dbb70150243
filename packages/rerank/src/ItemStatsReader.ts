/** Impression and click counts of one item, as the streaming item counters hold them. */
export interface ItemStats {
  readonly impressions: number;
  readonly clicks: number;
}

/**
 * A synchronous, in-memory snapshot of the streaming item counters (owned by
 * `@recspine/features`), read by {@link ExplorationReranker} for the Beta posteriors' counts.
 * Reads run on the request path, once per exploration-pool candidate: keep them O(1).
 *
 * Contract: `get` returns the item's cumulative counts, or `undefined` for an item never seen.
 * Counts are treated as non-negative and `clicks ≤ impressions` (out-of-range values are clamped).
 *
 * @example
 * ```ts
 * const stats: ItemStatsReader = { get: (id) => snapshot.get(id) };
 * ```
 */
export interface ItemStatsReader {
  get(itemId: string): ItemStats | undefined;
}

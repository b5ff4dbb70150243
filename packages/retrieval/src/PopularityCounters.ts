import type { RetrievedItem } from '@recspine/core';

/** One counter update: `weight` (e.g. 1 per view, more for a completed watch) for `itemId` in `segment` at `atMs`. */
export interface PopularityUpdate {
  readonly itemId: string;
  /** e.g. `global`, `region:US`, `category:music`, `region:US|category:music`. */
  readonly segment: string;
  readonly weight: number;
  /** Event time, ms since epoch. Out-of-order events are fine (forward decay). */
  readonly atMs: number;
}

/**
 * Time-decayed popularity by segment. Retrieval reads it (`top`); the features package's stream
 * aggregator writes it (`incrementBatch`, `removeItem`) through structural typing, without
 * importing this package.
 *
 * Semantics: an item's popularity in a segment at time `now` is `Σ weight · exp(-(now - atMs)/τ)`
 * over its updates. Implementations store it with *forward decay* (Cormode et al.): each update
 * adds `weight · exp((atMs - L)/τ)` for a landmark `L`, so ordering never needs a rescan and a read
 * is one sorted-set range; the landmark moves forward (rescaling all scores) only when the
 * exponent grows large.
 *
 * Contract: `top` returns at most `k` items, best first, scores decayed to `nowMs` (default: now);
 * an unknown segment gives `[]`. `removeItem` drops an item from every segment and ignores later
 * updates for it. Malformed updates reject with `RECSPINE_ERR_POPULARITY_INPUT` and write nothing.
 *
 * @example
 * ```ts
 * await counters.incrementBatch([{ itemId: 'v1', segment: 'region:US', weight: 1, atMs: Date.now() }]);
 * const hot = await counters.top('region:US', 100);
 * ```
 */
export interface PopularityCounters {
  top(segment: string, k: number, nowMs?: number): Promise<RetrievedItem[]>;
  incrementBatch(updates: readonly PopularityUpdate[]): Promise<void>;
  removeItem(itemId: string): Promise<void>;
}

/**
 * Feature values derived from raw counters, computed in one place so every writer (the world's
 * snapshot and logged rows, the trainer, the serving module's store writers) produces identical
 * values — "precomputed features in the feature-store rows" rather than model-side transforms.
 */

/** Smoothing of the precomputed rates (Beta-style priors: `(x + prior · strength) / (n + strength)`). */
export const SMOOTHING = { ctr: { prior: 0.03, strength: 50 }, watch: { prior: 0.4, strength: 5 } } as const;

/**
 * The `item_stats` feature-store row of an item, from its raw counters: the counters themselves
 * plus `log1p_impressions`, `smoothed_ctr` and `smoothed_watch`.
 *
 * @example
 * ```ts
 * itemStatsRow(100, 5, 2.5).smoothed_ctr; // (5 + 0.03·50) / (100 + 50)
 * ```
 */
export function itemStatsRow(impressions: number, clicks: number, watchSum: number): Record<string, number> {
  return {
    impressions,
    clicks,
    watch_sum: watchSum,
    log1p_impressions: Math.log1p(Math.max(0, impressions)),
    smoothed_ctr: (clicks + SMOOTHING.ctr.prior * SMOOTHING.ctr.strength) / (impressions + SMOOTHING.ctr.strength),
    smoothed_watch: (watchSum + SMOOTHING.watch.prior * SMOOTHING.watch.strength) / (clicks + SMOOTHING.watch.strength),
  };
}

/**
 * The in-process catalog snapshot's `ItemMeta.attributes` (available without the feature store):
 * the same statistics under `catalog_*` names, plus `log1p_creator_followers`.
 */
export function catalogAttributes(impressions: number, clicks: number, watchSum: number, followers: number): Record<string, number> {
  const s = itemStatsRow(impressions, clicks, watchSum);
  return {
    catalog_log1p_impressions: s['log1p_impressions'] as number,
    catalog_smoothed_ctr: s['smoothed_ctr'] as number,
    catalog_smoothed_watch: s['smoothed_watch'] as number,
    log1p_creator_followers: Math.log1p(Math.max(0, followers)),
  };
}

// The video platform's serving composition (shared by the offline evaluation and the HTTP server).
export type { VideoAggregatorSinks, VideoRecommender, VideoRecommenderOptions } from './buildVideoRecommender.js';
export {
  DEFAULT_BACKFILL_K,
  DEFAULT_BUDGETS,
  DEFAULT_HOMEPAGE_QUOTAS,
  SEARCH_MIN_RELATIVE_SCORE,
  backfillKOf,
  buildVideoRecommender,
  homepageQuotasOf,
  type BackfillK,
  type HomepageQuotas,
} from './buildVideoRecommender.js';
export { HistoryFeatureFetcher, derivedHistory } from './HistoryFeatureFetcher.js';
export { ServedFeatureTap, type ServedFeatures } from './ServedFeatureTap.js';
export { MAX_PADDED_ITEMS, padCatalog, type PaddedCatalog } from './padCatalog.js';

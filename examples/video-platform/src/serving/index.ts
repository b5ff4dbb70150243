// The video platform's serving composition (shared by the offline evaluation and the HTTP server).
export type { VideoAggregatorSinks, VideoRecommender, VideoRecommenderOptions } from './buildVideoRecommender.js';
export { DEFAULT_BUDGETS, buildVideoRecommender } from './buildVideoRecommender.js';
export { HistoryFeatureFetcher, derivedHistory } from './HistoryFeatureFetcher.js';

// @recspine/rerank — public API. Named exports only; interfaces as `export type`.
export { RerankErrors } from './errors.js';
export type { RerankErrorCode } from './errors.js';

export { MmrReranker } from './MmrReranker.js';
export type { MmrOptions } from './MmrReranker.js';
export { CapReranker } from './CapReranker.js';
export type { CapKey, CapOptions, CapRule } from './CapReranker.js';
export { CreatorFairnessReranker } from './CreatorFairnessReranker.js';
export type { CreatorFairnessOptions } from './CreatorFairnessReranker.js';
export type { ExposureStore } from './ExposureStore.js';
export { InMemoryExposureStore } from './InMemoryExposureStore.js';
export type { InMemoryExposureStoreOptions } from './InMemoryExposureStore.js';
export { FreshnessBoost } from './FreshnessBoost.js';
export type { FreshnessBoostOptions } from './FreshnessBoost.js';
export { ExplorationReranker } from './ExplorationReranker.js';
export type { BetaPosterior, ExplorationOptions, ExplorationPolicy } from './ExplorationReranker.js';
export type { ItemStats, ItemStatsReader } from './ItemStatsReader.js';
export { InMemoryItemStats } from './InMemoryItemStats.js';
export { betaCredibleInterval } from './betaCredibleInterval.js';

export { KidsContentFilter } from './KidsContentFilter.js';
export type { KidsContentFilterOptions } from './KidsContentFilter.js';
export { RegionRestrictionFilter } from './RegionRestrictionFilter.js';
export type { RegionRestrictionFilterOptions } from './RegionRestrictionFilter.js';
export { MisinformationFilter } from './MisinformationFilter.js';
export type { MisinformationFilterOptions } from './MisinformationFilter.js';
export { PredicateFilter } from './PredicateFilter.js';
export { PolicyPrefilter } from './PolicyPrefilter.js';
export type { OnMissing } from './internal/policy.js';

export { computeSlateMetrics } from './computeSlateMetrics.js';
export type { SlateItem, SlateMetrics, SlateMetricsOptions } from './computeSlateMetrics.js';
export type { SlateMetricsSink } from './SlateMetricsSink.js';
export { InMemorySlateMetricsSink } from './InMemorySlateMetricsSink.js';
export type { SlateMetricsSummary } from './InMemorySlateMetricsSink.js';
export { SlateMetricsReporter } from './SlateMetricsReporter.js';

export { RecommendedChains } from './RecommendedChains.js';
export type { ChainCommonOptions, EndOfVideoChainOptions, HomepageChainOptions, SearchChainOptions } from './RecommendedChains.js';

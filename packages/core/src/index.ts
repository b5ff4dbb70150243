// @recspine/core — public API. Named exports only; interfaces as `export type`.
export type { RecRequest, RecommendOptions, RequestContext, RequestOverrides } from './RecRequest.js';
export type { Candidate, ExploreMark, ItemMeta, RetrievedItem } from './Candidate.js';
export type {
  CategoryColumn,
  FeatureBatch,
  FeatureColumn,
  FeatureColumns,
  FeatureRow,
  FeatureValue,
  IdListColumn,
  MissingReason,
  NumberColumn,
  VectorColumn,
} from './FeatureBatch.js';
export { columnarFeatureBatch, emptyFeatureBatch, featureRowsFromColumns } from './FeatureBatch.js';
export type { ScoreBatch } from './ScoreBatch.js';
export type { OrderedBy, RecItem, RecResponse, SourceReport, SourceStatus, StageName } from './RecResponse.js';
export type { StageContext } from './StageContext.js';
export type { RetrievalSource } from './RetrievalSource.js';
export type { FeatureFetcher } from './FeatureFetcher.js';
export type { Ranker } from './Ranker.js';
export type { ReRanker } from './ReRanker.js';
export type { PolicyFilter } from './PolicyFilter.js';
export type { ItemCatalog } from './ItemCatalog.js';
export type { FallbackProvider } from './FallbackProvider.js';
export type { Degradation, DegradationTier, FailureMode } from './Degradation.js';
export type { Degrader, FailureInfo } from './Degrader.js';
export { DefaultDegrader, LEGAL_TIERS } from './DefaultDegrader.js';
export type { BreakerState, MetricsSink } from './MetricsSink.js';
export { NoopMetricsSink, TeeMetricsSink } from './MetricsSink.js';
export type { BreakerOptions } from './CircuitBreaker.js';
export { CircuitBreaker } from './CircuitBreaker.js';
export type { RecommenderConfig, SharedStages, SlotConfig, SourceSpec, StageBudgets } from './RecommenderConfig.js';
export type { BreakerSnapshot } from './Recommender.js';
export { Recommender, createRecommender } from './Recommender.js';
export type { RequestLimits } from './validateRequest.js';
export { validateRequest } from './validateRequest.js';
export type { CoreErrorCode, ErrorCategory, ErrorDefinition, ErrorFactory, ErrorRegistry, RecSpineErrorOptions } from './errors.js';
export { CoreErrors, RecSpineError, defineErrors, isRecSpineError } from './errors.js';
export { StaticSource } from './StaticSource.js';
export { MapItemCatalog } from './MapItemCatalog.js';
export { IdTable } from './IdTable.js';
export { StaticFallback } from './StaticFallback.js';
export { PassThroughReRanker } from './PassThroughReRanker.js';
export { RetrievalScoreRanker } from './RetrievalScoreRanker.js';

// @recspine/retrieval — public API. Named exports only; interfaces as `export type`.
export type { RetrievalErrorCode } from './errors.js';
export { RetrievalErrors } from './errors.js';

// ANN indexes
export type { AnnBackend, AnnHit, AnnIndex, AnnIndexInfo, AnnMetric, AnnQuantization, AnnSearchOptions, AnnSearcher } from './AnnIndex.js';
export type { RescoreVectors, UsearchIndexOptions, UsearchRescoreOptions } from './UsearchIndex.js';
export { UsearchIndex } from './UsearchIndex.js';
export type { HnswlibIndexOptions } from './HnswlibIndex.js';
export { HnswlibIndex } from './HnswlibIndex.js';
export type { IvfIndexOptions, IvfQuantization } from './IvfIndex.js';
export { IvfIndex } from './IvfIndex.js';
export type { ExactIndexOptions } from './ExactIndex.js';
export { ExactIndex } from './ExactIndex.js';
export type { AnnBuildOrder, LocalityOrderOptions } from './localityOrder.js';
export { localityOrder, localityOrderAsync } from './localityOrder.js';
export type { LoadOverrides } from './loadAnnIndex.js';
export { loadAnnIndex } from './loadAnnIndex.js';
export type { AnnWorkerPoolOptions } from './AnnWorkerPool.js';
export { AnnWorkerPool } from './AnnWorkerPool.js';

// Index lifecycle
export type {
  AnnBuildSpec,
  BuildReport,
  BuildWorkerOptions,
  IndexBuildInput,
  IndexManagerOptions,
  IndexManagerState,
  SwapResult,
  ValidationOptions,
  ValidationReport,
} from './IndexManager.js';
export { IndexManager } from './IndexManager.js';

// Popularity counters
export type { PopularityCounters, PopularityUpdate } from './PopularityCounters.js';
export type { InMemoryPopularityOptions } from './InMemoryPopularityCounters.js';
export { InMemoryPopularityCounters } from './InMemoryPopularityCounters.js';
export type { RedisPopularityOptions } from './RedisPopularityCounters.js';
export { RedisPopularityCounters } from './RedisPopularityCounters.js';

// Sources
export type { UserEncoder } from './UserEncoder.js';
export type { OnnxUserTowerOptions, UserTowerFeature } from './OnnxUserTower.js';
export { OnnxUserTower } from './OnnxUserTower.js';
export type { TwoTowerSourceOptions } from './TwoTowerSource.js';
export { TwoTowerSource, USER_EMBEDDING_STATE_KEY } from './TwoTowerSource.js';
export type { CachedSourceOptions, CachedSourceStats, ItemOrdinals } from './CachedSource.js';
export { CachedSource } from './CachedSource.js';
export type { PopularitySourceOptions } from './PopularitySource.js';
export { PopularitySource } from './PopularitySource.js';
export type { PopularityFallbackOptions } from './PopularityFallback.js';
export { PopularityFallback } from './PopularityFallback.js';
export type { ColdStartSourceOptions } from './ColdStartSource.js';
export { ColdStartSource, coldStartSegments } from './ColdStartSource.js';
export type { FreshContentSourceOptions, FreshItem } from './FreshContentSource.js';
export { FreshContentSource } from './FreshContentSource.js';
export type { QueryEmbedding, QueryItem, QuerySourceOptions } from './QuerySource.js';
export { QuerySource } from './QuerySource.js';

// Portfolio instrumentation
export type { SourceTally } from './PortfolioLedger.js';
export { PortfolioLedger } from './PortfolioLedger.js';
export type { PortfolioReportOptions, PortfolioRow } from './portfolioReport.js';
export { formatPortfolioReport, portfolioReport } from './portfolioReport.js';

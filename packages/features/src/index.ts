// @recspine/features — public API. Named exports only; interfaces as `export type`.
export type {
  CompiledGroup,
  EntityKind,
  FeatureGroupSpec,
  FeatureSchemaDefinition,
  FeatureSpec,
  FeatureType,
  GroupEncoding,
  StoredEntity,
} from './FeatureSchema.js';
export { FeatureSchema, defineFeatureSchema } from './FeatureSchema.js';
export type {
  FeatureMutation,
  FeatureReadOptions,
  FeatureReadRequest,
  FeatureStore,
  FeatureStoreStats,
  MutationResult,
} from './FeatureStore.js';
export type { HashSnapshotMode, StoreEngineOptions } from './internal/StoreEngine.js';
export type { InMemoryFeatureStoreOptions } from './InMemoryFeatureStore.js';
export { InMemoryFeatureStore } from './InMemoryFeatureStore.js';
export type { RedisFeatureStoreOptions } from './RedisFeatureStore.js';
export { RedisFeatureStore } from './RedisFeatureStore.js';
export type { StoreFeatureFetcherOptions } from './StoreFeatureFetcher.js';
export { StoreFeatureFetcher } from './StoreFeatureFetcher.js';
export type {
  ClickEvent,
  DeliveredEvent,
  EventBase,
  ImpressionEvent,
  ItemEventFields,
  LikeEvent,
  OptOutEvent,
  PublishEvent,
  RecEvent,
  RecEventType,
  ReportEvent,
  SearchEvent,
  WatchEvent,
} from './RecEvent.js';
export type { EventValidation } from './validateEvent.js';
export { parseEvent, validateEvent } from './validateEvent.js';
export type { DeadLetter, EventBatchHandler, EventBus, EventBusStats, SubscribeOptions } from './EventBus.js';
export type { InProcessEventBusOptions } from './InProcessEventBus.js';
export { InProcessEventBus } from './InProcessEventBus.js';
export type { KafkaEventBusOptions } from './KafkaEventBus.js';
export { KAFKA_LATENCY_DEFAULTS, KafkaEventBus } from './KafkaEventBus.js';
export type { SpillOptions, SpillStats } from './SpillingEventBus.js';
export { SpillingEventBus } from './SpillingEventBus.js';
export type { PopularitySink, PopularityUpdate } from './PopularitySink.js';
export type { CounterKind, ItemCounterReader, ItemCounts, ItemCountersOptions } from './ItemCounters.js';
export { ItemCounters } from './ItemCounters.js';
export type { StreamGroupsOptions } from './streamFeatureGroups.js';
export { STREAM_GROUPS, streamFeatureGroups } from './streamFeatureGroups.js';
export type { PopularityWeights, StreamAggregatorOptions, StreamAggregatorStats } from './StreamAggregator.js';
export { StreamAggregator } from './StreamAggregator.js';
export type { FeaturesErrorCode } from './errors.js';
export { FeaturesErrors } from './errors.js';

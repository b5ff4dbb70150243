// @recspine/rank — public API. Named exports only; interfaces as `export type`.
export type { RankErrorCode } from './errors.js';
export { RankErrors } from './errors.js';
export type { DimSpec, OnnxModelSpec, OutputSpec, TensorDType, TensorSpec } from './OnnxModelSpec.js';
export type { ModelFeeds, ModelOutput, OnnxModelOptions, RunOptions } from './OnnxModel.js';
export { OnnxModel } from './OnnxModel.js';
export type { OnnxWorkerPoolOptions } from './OnnxWorkerPool.js';
export { OnnxWorkerPool } from './OnnxWorkerPool.js';
export type { ModelProvider } from './ModelProvider.js';
export type { ModelRegistryOptions, ModelVersionInfo, SmokeBatch } from './ModelRegistry.js';
export { ModelRegistry } from './ModelRegistry.js';
export type {
  CategoryFeature,
  DotFeature,
  FeatureAssemblerSpec,
  FeatureFrom,
  FeatureRef,
  FeatureSpec,
  IdListFeature,
  MatchFeature,
  Normalization,
  NumericFeature,
  VectorFeature,
} from './FeatureSpec.js';
export type { AssembleInput, AssembledBatch } from './FeatureAssembler.js';
export { FeatureAssembler } from './FeatureAssembler.js';
export type { HeadConfig, HeadTransform } from './HeadTransform.js';
export type { MultiTaskRankerOptions, RankerStats } from './MultiTaskRanker.js';
export { MultiTaskRanker } from './MultiTaskRanker.js';
export { DegradedModeRanker } from './DegradedModeRanker.js';
export type { CoarseMlp, CoarseRankerOptions, CoarseWeights, KeepTarget } from './CoarseRanker.js';
export { CoarseRanker } from './CoarseRanker.js';

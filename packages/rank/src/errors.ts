import { defineErrors } from '@recspine/core';

/**
 * The error registry of `@recspine/rank`. Every code is listed in `docs/errors.md` (a test keeps
 * the two in sync). Every error carries `code`, `category`, `stage` (where known) and `cause`.
 */
export const RankErrors = defineErrors({
  RECSPINE_ERR_RANK_MODEL_LOAD: {
    category: 'client',
    description: 'A model file is missing, unreadable or not a valid ONNX model; the previous model keeps serving.',
  },
  RECSPINE_ERR_RANK_SPEC_MISMATCH: {
    category: 'client',
    description:
      "A model's declared inputs or outputs (names, dtypes, shapes) do not match the declared spec, or the feature width does not match the model input.",
  },
  RECSPINE_ERR_RANK_SMOKE_TEST: {
    category: 'client',
    description: 'A new model version failed its smoke test on the canned batch (non-finite or out-of-range outputs); it was refused.',
  },
  RECSPINE_ERR_RANK_NONFINITE_OUTPUT: {
    category: 'server',
    description: 'A model produced a NaN, an infinity or an out-of-range value while serving; the batch was rejected.',
  },
  RECSPINE_ERR_RANK_BATCH_TOO_LARGE: {
    category: 'client',
    description: "A batch has more rows than the model spec's maxBatch.",
  },
  RECSPINE_ERR_RANK_BAD_FEEDS: {
    category: 'client',
    description: 'The tensors passed to a model run are missing, extra, of the wrong type or of the wrong length.',
  },
  RECSPINE_ERR_RANK_FEATURE_SPEC: {
    category: 'client',
    description: 'A FeatureAssembler spec is invalid (duplicate names, bad vocabulary, unknown source key, bad normalisation).',
  },
  RECSPINE_ERR_RANK_FEATURE_BATCH: {
    category: 'dependency',
    description: 'A FeatureBatch is not aligned with the candidates it should describe.',
  },
  RECSPINE_ERR_RANK_WEIGHTS: {
    category: 'client',
    description: 'Objective weights are invalid (unknown head or non-finite weight), from a setter or `ctx.params.objectiveWeights`.',
  },
  RECSPINE_ERR_RANK_CONFIG: {
    category: 'client',
    description: 'A ranker, registry or worker-pool option is invalid (unknown head output, bad keep count, bad pool size).',
  },
  RECSPINE_ERR_RANK_INFERENCE: {
    category: 'dependency',
    description: 'onnxruntime failed while running a batch.',
  },
  RECSPINE_ERR_RANK_WORKER: {
    category: 'dependency',
    description: 'An inference worker thread died or the pool was closed while a run was in flight.',
  },
  RECSPINE_ERR_RANK_NO_MODEL: {
    category: 'server',
    description: 'A model registry has no version to serve (nothing loaded yet) or no previous version to roll back to.',
  },
  RECSPINE_ERR_RANK_MODEL_RELEASED: {
    category: 'server',
    description: 'A run was attempted on a model that has been released.',
  },
});

/** The codes of `@recspine/rank`. */
export type RankErrorCode = (typeof RankErrors.codes)[number];

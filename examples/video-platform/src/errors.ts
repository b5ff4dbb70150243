import { defineErrors } from '@recspine/core';

/**
 * The error registry of the video-platform example (world generator, training, evaluation).
 * Codes are listed in `docs/errors.md` under `## @recspine/example-video-platform`.
 */
export const VideoPlatformErrors = defineErrors({
  RECSPINE_ERR_VP_WORLD_CONFIG: {
    category: 'client',
    description: 'A world setting is invalid (scale, window, share or dimension); `field` names it.',
  },
  RECSPINE_ERR_VP_ARTIFACT: {
    category: 'server',
    description: 'A world or model artifact on disk is missing, truncated or of the wrong schema version.',
  },
  RECSPINE_ERR_VP_TRAINING: {
    category: 'server',
    description: 'Training produced an unusable model (non-finite loss or weights, or too little data).',
  },
  RECSPINE_ERR_VP_PARITY: {
    category: 'server',
    description: 'An exported ONNX model disagrees with the trainer beyond the parity tolerance.',
  },
  RECSPINE_ERR_VP_FEATURES_DOWN: {
    category: 'dependency',
    description: 'The feature fetch was switched off (simulated feature-store outage); core takes its degraded-model path.',
  },
});

/** The codes of the example. */
export type VideoPlatformErrorCode = (typeof VideoPlatformErrors.codes)[number];

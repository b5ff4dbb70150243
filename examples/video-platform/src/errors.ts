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
    description:
      'The feature fetch failed: a feature-group read errored (the store is down, not just slow) or the fetch was switched off (simulated outage); core takes its degraded-model path.',
  },
  RECSPINE_ERR_VP_FAULT_INJECTED: {
    category: 'server',
    description:
      'A failure injected on purpose through the admin endpoints (game day: the fine ranker throws or hangs); core orders by coarse score.',
  },
  RECSPINE_ERR_VP_ADMIN_FORBIDDEN: {
    category: 'client',
    description: 'An `/admin/*` endpoint was called from a non-loopback address (admin endpoints serve loopback callers only).',
  },
  RECSPINE_ERR_VP_USER_READ: {
    category: 'dependency',
    description:
      "Retrieval's read of the user's feature rows timed out or failed; the sources that need them (two-tower, fresh-by-history, cold-start detection) fail for that request instead of serving the user as cold.",
  },
});

/** The codes of the example. */
export type VideoPlatformErrorCode = (typeof VideoPlatformErrors.codes)[number];

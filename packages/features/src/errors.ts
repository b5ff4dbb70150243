import { defineErrors } from '@recspine/core';

/**
 * The error registry of `@recspine/features`. Codes are stable and listed in `docs/errors.md`
 * (section `## @recspine/features`); `errors.test.ts` keeps the two in sync.
 *
 * @example
 * ```ts
 * throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_SCHEMA', 'duplicate feature ctr', { field: 'groups.item.features' });
 * ```
 */
export const FeaturesErrors = defineErrors({
  RECSPINE_ERR_FEATURES_SCHEMA: {
    category: 'client',
    description: 'The feature schema is invalid (duplicate or bad names, bad type, default of the wrong type); `field` names the spot.',
  },
  RECSPINE_ERR_FEATURES_UNKNOWN_GROUP: {
    category: 'client',
    description: 'A write or read names a feature group (or a feature) the schema does not declare.',
  },
  RECSPINE_ERR_FEATURES_BAD_VALUE: {
    category: 'client',
    description: 'A value written does not match its feature type (non-finite number, wrong vector length, bad id list).',
  },
  RECSPINE_ERR_FEATURES_UNSUPPORTED_OP: {
    category: 'client',
    description:
      'A mutation uses an operation the group does not support (incr/decay on a packed group, decay on a feature without a half-life).',
  },
  RECSPINE_ERR_FEATURES_BATCH_TOO_LARGE: {
    category: 'client',
    description: 'A batch read asks for more items than the store allows (`maxItems`).',
  },
  RECSPINE_ERR_FEATURES_STORE_UNAVAILABLE: {
    category: 'dependency',
    description: 'The feature store backend (Redis / Redis Cluster) failed or is unreachable; the whole read or write failed.',
  },
  RECSPINE_ERR_FEATURES_ABORTED: {
    category: 'server',
    description: "The read was abandoned because the stage's AbortSignal fired (its deadline passed).",
  },
  RECSPINE_ERR_EVENT_INVALID: {
    category: 'client',
    description: 'An event failed validation (not an object, unknown type, missing or malformed field); `field` names the bad field.',
  },
  RECSPINE_ERR_EVENTBUS: {
    category: 'dependency',
    description: 'The event bus (Kafka) failed to connect, publish or consume.',
  },
  RECSPINE_ERR_EVENTBUS_STATE: {
    category: 'client',
    description: 'An event bus method was called in the wrong state (publish before start, subscribe twice, after close).',
  },
  RECSPINE_ERR_EVENTS_SPILL_FULL: {
    category: 'dependency',
    description:
      'The event bus is unavailable and the on-disk spill is full (`maxBytes`): nothing of the call was accepted; retry later (HTTP 503 + Retry-After).',
  },
  RECSPINE_ERR_EVENTS_SPILL_IO: {
    category: 'server',
    description: 'The on-disk event spill could not be opened or written (disk error, directory locked by another live process).',
  },
});

/** The codes of `@recspine/features`. */
export type FeaturesErrorCode = (typeof FeaturesErrors.codes)[number];

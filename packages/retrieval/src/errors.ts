/**
 * The error registry of `@recspine/retrieval`. Codes are stable and listed in `docs/errors.md`
 * (section `## @recspine/retrieval`); `errors.test.ts` keeps the two in sync both ways.
 */
import { defineErrors } from '@recspine/core';

export const RetrievalErrors = defineErrors({
  RECSPINE_ERR_ANN_DIMENSION: {
    category: 'client',
    description: 'A vector has the wrong dimension for the index (or a matrix is not a multiple of it).',
  },
  RECSPINE_ERR_ANN_NON_FINITE: { category: 'client', description: 'A vector contains NaN or ±Infinity.' },
  RECSPINE_ERR_ANN_UNKNOWN_ITEM: { category: 'client', description: 'Removal of an item the index does not hold.' },
  RECSPINE_ERR_ANN_BAD_K: {
    category: 'client',
    description: 'k is not a positive integer or exceeds the supported maximum (see `maxK`).',
  },
  RECSPINE_ERR_ANN_CONFIG: {
    category: 'client',
    description: 'Invalid index options (dimensions, metric, quantization, connectivity, expansion, backend).',
  },
  RECSPINE_ERR_ANN_CORRUPT_FILE: {
    category: 'server',
    description: 'An index file on disk is missing, truncated, corrupt or of another format; nothing was loaded.',
  },
  RECSPINE_ERR_ANN_BACKEND: { category: 'dependency', description: 'The native ANN library (usearch, hnswlib-node) failed.' },
  RECSPINE_ERR_ANN_NO_INDEX: { category: 'server', description: 'The index manager has no version in service yet.' },
  RECSPINE_ERR_ANN_SWAP_REFUSED: {
    category: 'server',
    description: 'Shadow validation refused a new index version (recall or agreement below tolerance, size or shape off).',
  },
  RECSPINE_ERR_ANN_NO_ROLLBACK: { category: 'client', description: 'Rollback was asked for but no previous version is kept.' },
  RECSPINE_ERR_ANN_BUSY: { category: 'client', description: 'A build or swap is already in progress on this index manager.' },
  RECSPINE_ERR_ANN_WORKER: {
    category: 'dependency',
    description: 'A search worker thread failed, exited, or the worker pool was closed.',
  },
  RECSPINE_ERR_RETRIEVAL_CONFIG: { category: 'client', description: 'A retrieval source was configured with invalid options.' },
  RECSPINE_ERR_RETRIEVAL_BAD_ITEM: {
    category: 'client',
    description: 'An item fed to an index or a source (ANN, fresh, query) is malformed: empty or duplicate id, bad timestamp or title.',
  },
  RECSPINE_ERR_USER_TOWER: {
    category: 'dependency',
    description: 'The user tower failed: the ONNX model could not be loaded or run, or its output has the wrong shape.',
  },
  RECSPINE_ERR_POPULARITY_INPUT: {
    category: 'client',
    description: 'A popularity counter update or read is malformed (empty id or segment, non-finite weight or time).',
  },
  RECSPINE_ERR_POPULARITY_STORE: { category: 'dependency', description: 'The popularity counter store (Redis) failed.' },
});

/** The codes of `@recspine/retrieval`. */
export type RetrievalErrorCode = (typeof RetrievalErrors.codes)[number];

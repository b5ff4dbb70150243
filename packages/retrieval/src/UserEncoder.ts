import type { FeatureRow } from '@recspine/core';

/**
 * Turns a user's online features into a query embedding for the item index (the user tower of a
 * two-tower model). {@link OnnxUserTower} is the ONNX implementation.
 *
 * Contract: resolves `undefined` when the row carries nothing the encoder uses (a cold user), so
 * the caller can return quickly; otherwise a finite vector of the index's dimension. Rejects with a
 * coded error (`RECSPINE_ERR_USER_TOWER`) when the model fails.
 *
 * @example
 * ```ts
 * const encoder: UserEncoder = { async encode(row) { return row.userEmbedding instanceof Float32Array ? row.userEmbedding : undefined; } };
 * ```
 */
export interface UserEncoder {
  encode(row: FeatureRow): Promise<Float32Array | undefined>;
}

import type { OnnxModel } from './OnnxModel.js';
import type { OnnxModelSpec } from './OnnxModelSpec.js';

/**
 * Anything that hands out the model to serve right now: an {@link OnnxModel} itself, or a
 * `ModelRegistry` (which swaps versions underneath). Rankers call `current()` once per batch, so a
 * swap never changes the model in the middle of a request.
 */
export interface ModelProvider {
  /** The spec every model served through this provider matches. */
  readonly spec: OnnxModelSpec;
  /** The model to use for the next batch. Throws `RECSPINE_ERR_RANK_NO_MODEL` when there is none. */
  current(): OnnxModel;
}

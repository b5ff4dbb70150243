import type { FeatureBatch } from './FeatureBatch.js';
import type { StageContext } from './StageContext.js';

/**
 * The batched online feature lookup: one user plus the candidates in one call.
 *
 * Contract:
 * - the returned batch's `itemIds` and `items` are aligned with the `itemIds` argument;
 * - a feature group that misses its own sub-deadline is reported in `missingGroups` and the rest
 *   of the batch is returned (partial success is not a failure);
 * - throw or reject when the store as a whole is unavailable: the runner then takes the
 *   designed degraded path (degraded-mode model) and counts the failure against the breaker;
 * - honour `ctx.signal`.
 */
export interface FeatureFetcher {
  readonly name: string;
  fetch(ctx: StageContext, userId: string | undefined, itemIds: readonly string[]): Promise<FeatureBatch>;
}

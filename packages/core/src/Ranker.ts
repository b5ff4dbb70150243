import type { Candidate } from './Candidate.js';
import type { FeatureBatch } from './FeatureBatch.js';
import type { ScoreBatch } from './ScoreBatch.js';
import type { StageContext } from './StageContext.js';

/**
 * Layers 2 and 3: scores every candidate in one batched call. Used for coarse rank (always with an
 * empty feature batch: coarse rank runs before the online lookup by design, so it may use only
 * what is in process — `ctx.state`, candidate metadata, retrieval scores), fine rank (with the online features) and degraded-mode rank (with an
 * empty batch: the model must be trained on feature-deprived inputs).
 *
 * Contract:
 * - `scores` is aligned with `cands` and every score is finite; anything else is a failure;
 * - must not reorder or mutate `cands` (the runner applies the scores);
 * - throw when unhealthy: the runner falls back to the previous stage's ordering.
 *
 * @example
 * ```ts
 * const byRecency: Ranker = {
 *   name: 'recency',
 *   score: (_ctx, cands) => ({ scores: cands.map((c) => c.meta?.publishedAtMs ?? 0) }),
 * };
 * ```
 */
export interface Ranker {
  readonly name: string;
  score(ctx: StageContext, cands: readonly Candidate[], feats: FeatureBatch): Promise<ScoreBatch> | ScoreBatch;
}

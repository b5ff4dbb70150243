import type { Candidate } from './Candidate.js';
import type { StageContext } from './StageContext.js';

/**
 * Layer 4: reorders the ranked pool into a slate (diversity, caps, fairness, exploration…).
 * Re-rankers run in a chain; each one's output is the next one's input.
 *
 * Contract:
 * - return an ordered **subset** of `ranked` (no new items, no duplicates); the first `limit`
 *   positions are the slate and the rest is the reserve that backfills the slate after policy
 *   filters remove items;
 * - items may be dropped on purpose (e.g. a cap that cannot be met); they are not re-added;
 * - may adjust `score` and set `explore` on the candidates it returns;
 * - be fast: re-rank is synchronous in spirit, and a chain has ~10 ms in total.
 *
 * The runner enforces the subset invariant: anything not in the input is dropped.
 */
export interface ReRanker {
  readonly name: string;
  rerank(ctx: StageContext, ranked: Candidate[], limit: number): Candidate[] | Promise<Candidate[]>;
}

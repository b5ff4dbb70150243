import type { RetrievedItem } from './Candidate.js';
import type { StageContext } from './StageContext.js';

/**
 * Layer 1: one source of the retrieval portfolio (two-tower ANN, popularity, fresh, query,
 * cold-start…). Sources run in parallel, each under its own sub-budget.
 *
 * Contract:
 * - return at most `k` items, best first, with no duplicate `itemId`;
 * - return `[]` quickly when the source has nothing for this request (e.g. a two-tower source for
 *   a user with no features): an empty answer is not a failure;
 * - throw (or reject) when unhealthy: the runner cuts the source off, counts it against its
 *   breaker, and builds the slate from the others;
 * - results that arrive after `ctx.deadlineAt` are discarded.
 *
 * @example
 * ```ts
 * const popular: RetrievalSource = {
 *   name: 'popular',
 *   async retrieve(ctx, k) { return counters.top(ctx.request.context?.region ?? 'global', k); },
 * };
 * ```
 */
export interface RetrievalSource {
  /** Unique within a recommender; used in metrics, breakers and `Candidate.sources`. */
  readonly name: string;
  retrieve(ctx: StageContext, k: number): Promise<readonly RetrievedItem[]> | readonly RetrievedItem[];
}

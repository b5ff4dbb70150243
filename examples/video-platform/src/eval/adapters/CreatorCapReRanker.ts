import type { Candidate, ReRanker, StageContext } from '@recspine/core';

/**
 * Local re-rank adapter: at most `maxPerCreator` items of one creator in the slate; the overflow
 * moves to the reserve (after the slate), keeping the ranked order otherwise.
 */
export class CreatorCapReRanker implements ReRanker {
  readonly name = 'creator-cap';
  constructor(private readonly maxPerCreator = 2) {}
  rerank(_ctx: StageContext, ranked: Candidate[], limit: number): Candidate[] {
    const counts = new Map<string, number>();
    const slate: Candidate[] = [];
    const reserve: Candidate[] = [];
    for (const c of ranked) {
      const cr = c.meta?.creatorId ?? c.itemId;
      const n = counts.get(cr) ?? 0;
      if (slate.length < limit && n < this.maxPerCreator) {
        slate.push(c);
        counts.set(cr, n + 1);
      } else reserve.push(c);
    }
    return [...slate, ...reserve];
  }
}

import type { Candidate, ReRanker } from '@recspine/core';

/**
 * Context relevance first. The shared fine ranker predicts engagement for *this user* and knows
 * nothing about what the slot is about: the query on the search slot, the video that just ended on
 * the end-of-video slot. Left alone it ranks the user's personal favourites above the items that
 * match the context. This re-ranker (last in those chains) stable-partitions the slate: items the
 * context source retrieved (`query`, `related`) first, in the order the chain produced, and the
 * purely personalised items only as a backfill behind them.
 */
export class SourcePriorityGate implements ReRanker {
  readonly name: string;
  constructor(private readonly source: string) {
    this.name = `${source}-first`;
  }

  rerank(_ctx: unknown, ranked: Candidate[]): Candidate[] {
    const first: Candidate[] = [];
    const rest: Candidate[] = [];
    for (const c of ranked) (c.sources.includes(this.source) ? first : rest).push(c);
    return first.concat(rest);
  }
}

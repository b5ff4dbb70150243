import type { Candidate, ReRanker } from '@recspine/core';

/** Options of {@link SourcePriorityGate}. */
export interface SourcePriorityGateOptions {
  /**
   * Split the context source's items in two by their score from that source: those scoring at
   * least this fraction of the best such score in the slate go first, the rest of the source's
   * items after them, then the purely personalised backfill. 0 (default) = one tier. For the
   * `query` source, whose BM25 score carries a coordination factor (the share of the query's words
   * an item matched), 0.6 puts the items that match the whole query ahead of those matching one
   * of its words.
   */
  readonly minRelativeScore?: number;
}

/**
 * Context relevance first. The shared fine ranker predicts engagement for *this user* and knows
 * nothing about what the slot is about: the query on the search slot, the video that just ended on
 * the end-of-video slot. Left alone it ranks the user's personal favourites above the items that
 * match the context. This re-ranker (last in those chains) stable-partitions the slate: items the
 * context source retrieved (`query`, `related`) first — the strong matches before the weak ones
 * with `minRelativeScore` — in the order the chain produced, and the purely personalised items
 * only as a backfill behind them.
 */
export class SourcePriorityGate implements ReRanker {
  readonly name: string;
  private readonly minRelative: number;

  constructor(
    private readonly source: string,
    opts: SourcePriorityGateOptions = {},
  ) {
    this.name = `${source}-first`;
    this.minRelative = opts.minRelativeScore ?? 0;
    if (!(this.minRelative >= 0 && this.minRelative <= 1))
      throw new Error(`minRelativeScore must be in [0, 1], got ${String(opts.minRelativeScore)}`);
  }

  rerank(_ctx: unknown, ranked: Candidate[]): Candidate[] {
    const scoreOf = (c: Candidate): number | undefined => {
      const i = c.sources.indexOf(this.source);
      return i < 0 ? undefined : (c.sourceScores[i] ?? 0);
    };
    let best = Number.NEGATIVE_INFINITY;
    if (this.minRelative > 0)
      for (const c of ranked) {
        const s = scoreOf(c);
        if (s !== undefined && s > best) best = s;
      }
    const bar = this.minRelative > 0 && best > 0 ? this.minRelative * best : Number.NEGATIVE_INFINITY;
    const strong: Candidate[] = [];
    const weak: Candidate[] = [];
    const rest: Candidate[] = [];
    for (const c of ranked) {
      const s = scoreOf(c);
      (s === undefined ? rest : s >= bar ? strong : weak).push(c);
    }
    return strong.concat(weak, rest);
  }
}

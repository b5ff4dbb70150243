import type { Candidate } from './Candidate.js';
import type { Ranker } from './Ranker.js';
import type { ScoreBatch } from './ScoreBatch.js';

/**
 * The pass-through ranker: scores each candidate by its fused retrieval score (reciprocal-rank
 * fusion across sources), plus a small bonus per additional source that agreed on it.
 */
export class RetrievalScoreRanker implements Ranker {
  readonly name: string;
  constructor(
    name = 'retrieval-score',
    private readonly agreementBonus = 0,
  ) {
    this.name = name;
  }
  score(_ctx: unknown, cands: readonly Candidate[]): ScoreBatch {
    const scores = new Float64Array(cands.length);
    for (let i = 0; i < cands.length; i++) {
      const c = cands[i] as Candidate;
      scores[i] = c.retrievalScore + this.agreementBonus * (c.sources.length - 1);
    }
    return { scores };
  }
}

import type { Candidate } from './Candidate.js';
import type { ReRanker } from './ReRanker.js';

/** The no-op re-ranker: returns the ranked pool unchanged. Useful as a chain placeholder. */
export class PassThroughReRanker implements ReRanker {
  readonly name: string;
  constructor(name = 'pass-through') {
    this.name = name;
  }
  rerank(_ctx: unknown, ranked: Candidate[]): Candidate[] {
    return ranked;
  }
}

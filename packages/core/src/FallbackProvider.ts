import type { RetrievedItem } from './Candidate.js';
import type { RecRequest } from './RecRequest.js';

/**
 * The last line of degradation: a non-personalised slate (e.g. precomputed popular-by-region).
 * Must be synchronous, in-memory and never fail; policy filters still apply to it.
 */
export interface FallbackProvider {
  slate(request: RecRequest, limit: number): readonly RetrievedItem[];
}

/** Test helpers (not exported): stage contexts and candidates. */
import type { Candidate, ItemMeta, RecRequest, StageContext } from '@recspine/core';

export function makeCtx(
  opts: { params?: Record<string, unknown>; state?: Map<string, unknown>; request?: Partial<RecRequest>; aborted?: boolean } = {},
): StageContext {
  const ac = new AbortController();
  if (opts.aborted) ac.abort();
  return {
    request: { slot: 'homepage', userId: 'u1', limit: 10, ...opts.request },
    requestId: 'r1',
    stage: 'homepage/fine',
    signal: ac.signal,
    deadlineAt: performance.now() + 1000,
    remainingMs: () => 1000,
    state: opts.state ?? new Map(),
    params: opts.params ?? {},
  };
}

export function makeCandidate(
  itemId: string,
  init: { retrievalScore?: number; sources?: string[]; sourceScores?: number[]; meta?: ItemMeta } = {},
): Candidate {
  const sources = init.sources ?? ['pop'];
  return {
    itemId,
    score: init.retrievalScore ?? 0,
    retrievalScore: init.retrievalScore ?? 0,
    sources,
    sourceScores: init.sourceScores ?? sources.map(() => 1),
    ...(init.meta ? { meta: init.meta } : {}),
  };
}

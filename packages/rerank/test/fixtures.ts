/** Test helpers shared by this package's tests (not shipped). */
import type { Candidate, ItemMeta, RecRequest, StageContext } from '@recspine/core';

export function makeCtx(
  opts: {
    params?: Record<string, unknown>;
    context?: RecRequest['context'];
    slot?: string;
    limit?: number;
    requestId?: string;
  } = {},
): StageContext {
  const deadlineAt = performance.now() + 1000;
  return {
    request: { slot: opts.slot ?? 'homepage', limit: opts.limit ?? 20, ...(opts.context ? { context: opts.context } : {}) },
    requestId: opts.requestId ?? 'req-1',
    stage: `${opts.slot ?? 'homepage'}/rerank/test`,
    signal: new AbortController().signal,
    deadlineAt,
    remainingMs: () => deadlineAt - performance.now(),
    state: new Map(),
    params: opts.params ?? {},
  };
}

export function cand(itemId: string, score: number, meta?: ItemMeta, extra: Partial<Candidate> = {}): Candidate {
  return {
    itemId,
    score,
    retrievalScore: score,
    sources: ['test'],
    sourceScores: [score],
    ...(meta ? { meta } : {}),
    ...extra,
  };
}

export const ids = (cs: readonly { itemId: string }[]): string[] => cs.map((c) => c.itemId);

export function vec(...xs: number[]): Float32Array {
  return Float32Array.from(xs);
}

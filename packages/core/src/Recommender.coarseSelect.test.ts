import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Candidate } from './Candidate.js';
import type { PolicyFilter } from './PolicyFilter.js';
import type { Ranker } from './Ranker.js';
import type { ReRanker } from './ReRanker.js';
import { createRecommender } from './Recommender.js';
import { StaticSource } from './StaticSource.js';

// The coarse trim keeps its top `keep` by a partial selection and sorts the dropped tail only when a
// short slate backfills from it. Both must serve exactly what a full stable sort would: the same
// kept prefix in the same order (ties by merge order), and the same backfill order.

const BUDGETS = { retrieval: 50, coarse: 50, features: 50, fine: 50, rerank: 50 };

function fixedRanker(scores: readonly number[]): Ranker {
  return {
    name: 'coarse',
    score: (_ctx, cands) => ({ scores: cands.map((c) => scores[Number(c.itemId.slice(1))] as number) }),
  };
}

/** The reference: a full stable sort, the first `keep` through the chain, the rest as backfill. */
function expected(
  scores: readonly number[],
  keep: number,
  limit: number,
  blocked: ReadonlySet<number>,
  kept: (ids: string[]) => string[],
): string[] {
  // the early policy pass drops blocked items before the coarse stage
  const order = scores
    .map((s, i) => ({ s, i }))
    .filter((o) => !blocked.has(o.i))
    .sort((a, b) => (b.s > a.s ? 1 : b.s < a.s ? -1 : 0));
  const ids = order.map((o) => `i${o.i}`);
  const head = kept(ids.slice(0, keep));
  const tail = ids.slice(keep);
  const out: string[] = [];
  for (const id of [...head, ...tail]) {
    if (out.length >= limit) break;
    if (out.includes(id)) continue;
    out.push(id);
  }
  return out;
}

describe('coarse trim by partial selection', () => {
  it('serves what a full stable sort serves: kept prefix, order, ties and tail backfill', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 80 }).chain((raw) =>
          fc.tuple(
            fc.constant(raw.map((x) => x / 2 - 1)), // many ties, negatives and zero
            fc.integer({ min: 1, max: raw.length + 3 }),
            fc.integer({ min: 1, max: 40 }),
            fc.uniqueArray(fc.integer({ min: 0, max: raw.length - 1 }), { maxLength: raw.length }),
            fc.integer({ min: 0, max: 5 }),
          ),
        ),
        async ([scores, keep, limit, blockedList, dropEvery]) => {
          const blocked = new Set(blockedList);
          const policy: PolicyFilter = { name: 'block', allows: (_ctx, c) => !blocked.has(Number(c.itemId.slice(1))) };
          // a re-ranker that drops every `dropEvery`-th kept candidate, so the tail backfills
          const drop = (list: readonly { itemId: string }[]): number[] =>
            list.flatMap((_, i) => (dropEvery > 0 && i % dropEvery === dropEvery - 1 ? [] : [i]));
          const chain: ReRanker = { name: 'drop', rerank: (_ctx, cands) => drop(cands).map((i) => cands[i] as Candidate) };
          const rec = createRecommender({
            slaMs: 400,
            budgets: BUDGETS,
            shared: { coarse: fixedRanker(scores) },
            slots: {
              home: {
                sources: [
                  new StaticSource(
                    'a',
                    scores.map((_, i) => `i${i}`),
                  ),
                ],
                coarseKeep: keep,
                rerank: [chain],
                policy: [policy],
                backfillFromTail: true,
              },
            },
          });
          const res = await rec.recommend({ slot: 'home', limit });
          const want = expected(scores, keep, limit, blocked, (ids) =>
            drop(ids.map((itemId) => ({ itemId }))).map((i) => ids[i] as string),
          );
          expect(res.items.map((i) => i.itemId)).toEqual(want);
          const allowed = scores.length - blocked.size;
          if (allowed > 0) {
            expect(res.candidateCounts).toEqual({ retrieved: scores.length, afterCoarse: Math.min(keep, allowed) });
            expect(res.orderedBy).toBe('coarse');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

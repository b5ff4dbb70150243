import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Candidate, RetrievedItem } from './Candidate.js';
import type { Degradation } from './Degradation.js';
import { isRecSpineError } from './errors.js';
import type { FeatureBatch } from './FeatureBatch.js';
import type { FeatureFetcher } from './FeatureFetcher.js';
import { MapItemCatalog } from './MapItemCatalog.js';
import type { BreakerState, MetricsSink } from './MetricsSink.js';
import type { PolicyFilter } from './PolicyFilter.js';
import type { Ranker } from './Ranker.js';
import type { RecommenderConfig } from './RecommenderConfig.js';
import { createRecommender } from './Recommender.js';
import type { ReRanker } from './ReRanker.js';
import type { RetrievalSource } from './RetrievalSource.js';
import { StaticFallback } from './StaticFallback.js';
import { StaticSource } from './StaticSource.js';

const BUDGETS = { retrieval: 15, coarse: 10, features: 15, fine: 15, rerank: 10 };

function source(name: string, ids: string[], opts: { delayMs?: number; fail?: boolean; blockMs?: number } = {}): RetrievalSource {
  return {
    name,
    async retrieve(_ctx, k) {
      if (opts.blockMs) {
        const until = performance.now() + opts.blockMs;
        while (performance.now() < until) {
          /* synchronous work the runner cannot interrupt */
        }
      }
      if (opts.delayMs) await sleep(opts.delayMs);
      if (opts.fail) throw new Error(`${name} down`);
      return ids.slice(0, k).map((itemId, i) => ({ itemId, score: 100 - i }));
    },
  };
}

/** Scores by a fixed map so orderings are hand-checkable. */
function mapRanker(name: string, scores: Record<string, number>, opts: { fail?: boolean; delayMs?: number; heads?: boolean } = {}): Ranker {
  return {
    name,
    async score(_ctx, cands) {
      if (opts.delayMs) await sleep(opts.delayMs);
      if (opts.fail) throw new Error(`${name} failed`);
      const s = cands.map((c) => scores[c.itemId] ?? 0);
      return {
        scores: s,
        modelVersion: `${name}@1`,
        ...(opts.heads ? { heads: { ctr: s.map((x) => x / 100) } } : {}),
      };
    },
  };
}

function fetcher(opts: { fail?: boolean; delayMs?: number; missing?: string[] } = {}): FeatureFetcher & { calls: number } {
  const f = {
    name: 'store',
    calls: 0,
    async fetch(_ctx: unknown, userId: string | undefined, itemIds: readonly string[]): Promise<FeatureBatch> {
      f.calls++;
      if (opts.delayMs) await sleep(opts.delayMs);
      if (opts.fail) throw new Error('store down');
      return {
        userId,
        itemIds,
        user: { age: 30 },
        items: itemIds.map(() => ({ views: 1 })),
        missingGroups: new Map((opts.missing ?? []).map((g) => [g, 'timeout' as const])),
      };
    },
  };
  return f;
}

function recordingSink(): MetricsSink & {
  degradations: Degradation[];
  breakers: [string, BreakerState][];
  stages: string[];
  requests: number;
} {
  const s = {
    degradations: [] as Degradation[],
    breakers: [] as [string, BreakerState][],
    stages: [] as string[],
    requests: 0,
    stage: (_slot: string, stage: string) => void s.stages.push(stage),
    source: () => undefined,
    degradation: (_slot: string, d: Degradation) => void s.degradations.push(d),
    request: () => void s.requests++,
    breaker: (dep: string, st: BreakerState) => void s.breakers.push([dep, st]),
  };
  return s;
}

const ids = (n: number, p = 'i'): string[] => Array.from({ length: n }, (_, i) => `${p}${i}`);
const base = (over: Partial<RecommenderConfig> = {}): RecommenderConfig => ({
  slaMs: 80,
  budgets: BUDGETS,
  slots: { home: { sources: [source('a', ids(5))], coarseKeep: 100 } },
  ...over,
});

describe('Recommender', () => {
  describe('createRecommender (config validation)', () => {
    it.each([
      [{ slaMs: -1 }, 'slaMs'],
      [{ budgets: { ...BUDGETS, fine: 0 } }, 'budgets.fine'],
      [{ budgets: { ...BUDGETS, bogus: 1 } as never }, 'budgets.bogus'],
      [{ slots: {} }, 'slots'],
      [{ slots: { home: { sources: [], coarseKeep: 10 } } }, 'slots.home.sources'],
      [{ slots: { home: { sources: [source('a', [])], coarseKeep: 0 } } }, 'slots.home.coarseKeep'],
      [{ slots: { home: { sources: [source('a', []), source('a', [])], coarseKeep: 5 } } }, 'slots.home.sources[1].name'],
      [{ slots: { home: { sources: [{ source: source('a', []), budgetMs: -3 }], coarseKeep: 5 } } }, 'slots.home.sources[0].budgetMs'],
      [{ shared: { fine: { name: 'x' } as never } }, 'shared.fine'],
      [{ shared: { policy: [{ name: 'p' }] as never } }, 'shared.policy[0]'],
      [{ maxLimit: 1.5 }, 'maxLimit'],
      [{ breakers: { fine: { kind: 'sampling', threshold: 3 } } }, 'breakers.fine.threshold'],
      [{ typo: 1 } as never, 'typo'],
    ])('rejects %j naming the key %s', (over, field) => {
      try {
        createRecommender(base(over as Partial<RecommenderConfig>));
        expect.unreachable('config should have been rejected');
      } catch (e) {
        expect(isRecSpineError(e)).toBe(true);
        expect((e as { code: string }).code).toBe('RECSPINE_ERR_CONFIG');
        expect((e as { field: string }).field).toBe(field);
        expect((e as Error).message).toContain(field);
      }
    });
  });

  describe('recommend (request validation)', () => {
    const rec = createRecommender(base({ maxLimit: 50 }));
    it.each([
      [{ slot: 'nope', limit: 5 }, 'RECSPINE_ERR_UNKNOWN_SLOT', 'slot'],
      [{ limit: 5 }, 'RECSPINE_ERR_INVALID_REQUEST', 'slot'],
      [{ slot: 'home', limit: 0 }, 'RECSPINE_ERR_INVALID_REQUEST', 'limit'],
      [{ slot: 'home', limit: -3 }, 'RECSPINE_ERR_INVALID_REQUEST', 'limit'],
      [{ slot: 'home', limit: 51 }, 'RECSPINE_ERR_INVALID_REQUEST', 'limit'],
      [{ slot: 'home', limit: 2.5 }, 'RECSPINE_ERR_INVALID_REQUEST', 'limit'],
      [{ slot: 'home', limit: '5' }, 'RECSPINE_ERR_INVALID_REQUEST', 'limit'],
      [{ slot: 'home', limit: 5, userId: 'has space' }, 'RECSPINE_ERR_INVALID_REQUEST', 'userId'],
      [{ slot: 'home', limit: 5, userId: 'x'.repeat(129) }, 'RECSPINE_ERR_INVALID_REQUEST', 'userId'],
      [{ slot: 'home', limit: 5, query: 'q'.repeat(513) }, 'RECSPINE_ERR_INVALID_REQUEST', 'query'],
      [{ slot: 'home', limit: 5, context: { region: 7 } }, 'RECSPINE_ERR_INVALID_REQUEST', 'context.region'],
      [{ slot: 'home', limit: 5, overrides: { coarseKeep: -1 } }, 'RECSPINE_ERR_INVALID_REQUEST', 'overrides.coarseKeep'],
    ])('rejects %j with %s on field %s', async (req, code, field) => {
      const err = await rec.recommend(req as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code, field, category: 'client' });
    });
  });

  describe('recommend (startedAt: a wait before the call counts against the SLA)', () => {
    const slow = () =>
      createRecommender(
        base({
          slaMs: 400,
          budgets: { ...BUDGETS, retrieval: 300 },
          slots: { home: { sources: [source('a', ids(5), { delayMs: 100 })], coarseKeep: 10 } },
        }),
      );

    it('gives the stages only what is left of the SLA, and reports the wait in totalMs', async () => {
      const rec = slow();
      const fresh = await rec.recommend({ slot: 'home', limit: 5 });
      expect(fresh.degraded).toEqual([]);
      expect(fresh.items).toHaveLength(5);
      const late = await rec.recommend({ slot: 'home', limit: 5 }, { startedAt: performance.now() - 350 });
      expect(late.degraded.length).toBeGreaterThan(0);
      expect(late.timings.totalMs).toBeGreaterThanOrEqual(350);
      expect(late.timings.totalMs).toBeLessThan(350 + 100); // the 100 ms source was cut, not waited for
    });

    it('rejects a startedAt that is not a finite time in the past', async () => {
      const rec = slow();
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, performance.now() + 60_000, 'x']) {
        await expect(rec.recommend({ slot: 'home', limit: 5 }, { startedAt: bad as number })).rejects.toMatchObject({
          code: 'RECSPINE_ERR_INVALID_REQUEST',
          field: 'startedAt',
        });
      }
    });
  });

  describe('recommend (retrieval)', () => {
    it('runs sources in parallel, merges and deduplicates, keeping every source of an item', async () => {
      // Parallelism is checked by overlap (b starts before a ends), not by wall time, and the
      // sub-budgets are roomy, so a loaded machine cannot make this test flake.
      const spans: Record<string, { start: number; end: number }> = {};
      const timed = (s: RetrievalSource): RetrievalSource => ({
        name: s.name,
        async retrieve(ctx, k) {
          const start = performance.now();
          const out = await s.retrieve(ctx, k);
          spans[s.name] = { start, end: performance.now() };
          return out;
        },
      });
      const rec = createRecommender(
        base({
          slaMs: 400,
          budgets: { ...BUDGETS, retrieval: 300 },
          slots: {
            home: {
              sources: [timed(source('a', ['x', 'y', 'z'], { delayMs: 8 })), timed(source('b', ['y', 'w'], { delayMs: 8 }))],
              coarseKeep: 10,
            },
          },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 10 });
      expect(spans.b!.start).toBeLessThan(spans.a!.end); // in parallel, not in series
      expect(res.items.map((i) => i.itemId).sort()).toEqual(['w', 'x', 'y', 'z']);
      expect(res.items[0]).toMatchObject({ itemId: 'y', sources: ['a', 'b'] }); // two sources agree → highest RRF
      expect(res.sources).toMatchObject({ a: { status: 'ok', retrieved: 3, inSlate: 3 }, b: { status: 'ok', retrieved: 2, inSlate: 2 } });
      expect(res.degraded).toEqual([]);
      expect(res.orderedBy).toBe('retrieval');
    });

    it('cuts off a slow source at its sub-budget and builds the slate from the others', async () => {
      const rec = createRecommender(
        base({
          slots: {
            home: {
              sources: [{ source: source('slow', ['s1'], { delayMs: 200 }), budgetMs: 5 }, source('fast', ['f1', 'f2'])],
              coarseKeep: 10,
            },
          },
        }),
      );
      const t = performance.now();
      const res = await rec.recommend({ slot: 'home', limit: 5 });
      expect(performance.now() - t).toBeLessThan(60);
      expect(res.items.map((i) => i.itemId)).toEqual(['f1', 'f2']);
      expect(res.sources.slow?.status).toBe('timeout');
      expect(res.degraded).toEqual([
        expect.objectContaining({
          mode: 'source_timeout',
          tier: 'drop_source',
          stage: 'home/retrieval/slow',
          code: 'RECSPINE_ERR_DEADLINE_EXCEEDED',
        }),
      ]);
    });

    it('hands the source an AbortSignal that fires at its deadline', async () => {
      let aborted = false;
      const watcher: RetrievalSource = {
        name: 'watcher',
        retrieve: (ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
              resolve([]);
            });
          }),
      };
      const rec = createRecommender(
        base({ slots: { home: { sources: [{ source: watcher, budgetMs: 3 }, source('b', ['x'])], coarseKeep: 5 } } }),
      );
      await rec.recommend({ slot: 'home', limit: 5 });
      expect(aborted).toBe(true);
    });

    it('drops a failing source and opens its breaker after the threshold, then skips it without calling', async () => {
      let calls = 0;
      const flaky: RetrievalSource = {
        name: 'ann',
        retrieve: () => {
          calls++;
          throw new Error('index unhealthy');
        },
      };
      const sink = recordingSink();
      const rec = createRecommender(
        base({
          metrics: sink,
          breakers: { ann: { threshold: 3, halfOpenAfterMs: 60_000 } },
          slots: { home: { sources: [flaky, source('pop', ['p1'])], coarseKeep: 5 } },
        }),
      );
      for (let i = 0; i < 5; i++) {
        const res = await rec.recommend({ slot: 'home', limit: 5 });
        expect(res.items.map((x) => x.itemId)).toEqual(['p1']);
      }
      expect(calls).toBe(3);
      expect(rec.breaker('ann')?.state).toBe('open');
      expect(sink.breakers).toContainEqual(['ann', 'open']);
      const res = await rec.recommend({ slot: 'home', limit: 5 });
      expect(res.sources.ann?.status).toBe('breaker_open');
      expect(res.degraded[0]).toMatchObject({ mode: 'source_breaker_open', code: 'RECSPINE_ERR_BREAKER_OPEN' });
    });

    it('closes a breaker again after a successful half-open trial', async () => {
      let healthy = false;
      const s: RetrievalSource = {
        name: 'ann',
        retrieve: () => {
          if (!healthy) throw new Error('down');
          return [{ itemId: 'a1', score: 1 }];
        },
      };
      const rec = createRecommender(
        base({
          breakers: { ann: { threshold: 1, halfOpenAfterMs: 20 } },
          slots: { home: { sources: [s, source('pop', ['p1'])], coarseKeep: 5 } },
        }),
      );
      await rec.recommend({ slot: 'home', limit: 5 });
      expect(rec.breaker('ann')?.state).toBe('open');
      healthy = true;
      await sleep(30);
      const res = await rec.recommend({ slot: 'home', limit: 5 });
      expect(res.sources.ann?.status).toBe('ok');
      expect(rec.breaker('ann')?.state).toBe('closed');
    });

    it('serves the fallback slate, still policy-filtered, when every source fails', async () => {
      const noKids: PolicyFilter = { name: 'no-bad', allows: (_c, c) => c.itemId !== 'bad' };
      const rec = createRecommender(
        base({
          shared: { fallback: new StaticFallback(['g1', 'bad', 'g2'], { US: ['u1', 'bad', 'u2'] }), policy: [noKids] },
          slots: { home: { sources: [source('a', [], { fail: true }), source('b', [], { fail: true })], coarseKeep: 5 } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 5, context: { region: 'US' } });
      expect(res.items.map((i) => i.itemId)).toEqual(['u1', 'u2']);
      expect(res.items.every((i) => i.sources[0] === 'fallback')).toBe(true);
      expect(res.orderedBy).toBe('fallback');
      expect(res.degraded.map((d) => d.tier)).toEqual(['drop_source', 'drop_source', 'fallback']);
      expect(res.degraded[2]).toMatchObject({ mode: 'no_candidates', code: 'RECSPINE_ERR_NO_CANDIDATES' });
    });
  });

  describe('recommend (coarse rank)', () => {
    it('keeps the top coarseKeep by coarse score, adjustable at run time and per request', async () => {
      const all = ids(10);
      const coarse = mapRanker('coarse', Object.fromEntries(all.map((id, i) => [id, i]))); // reverses retrieval order
      const rec = createRecommender(base({ shared: { coarse }, slots: { home: { sources: [source('a', all)], coarseKeep: 4 } } }));
      let res = await rec.recommend({ slot: 'home', limit: 3 });
      expect(res.items.map((i) => i.itemId)).toEqual(['i9', 'i8', 'i7']);
      expect(res.candidateCounts).toEqual({ retrieved: 10, afterCoarse: 4 });
      expect(res.orderedBy).toBe('coarse');
      rec.setCoarseKeep('home', 2);
      res = await rec.recommend({ slot: 'home', limit: 3 });
      expect(res.candidateCounts.afterCoarse).toBe(2);
      // the slate backfills from the coarse-trimmed reserve, in coarse order
      expect(res.items.map((i) => i.itemId)).toEqual(['i9', 'i8', 'i7']);
      res = await rec.recommend({ slot: 'home', limit: 3, overrides: { coarseKeep: 6, arm: 'B' } });
      expect(res.candidateCounts.afterCoarse).toBe(6);
      expect(res.arm).toBe('B');
    });

    it('falls back to fused retrieval order when the coarse ranker fails', async () => {
      const rec = createRecommender(
        base({
          shared: { coarse: mapRanker('c', {}, { fail: true }) },
          slots: { home: { sources: [source('a', ids(6))], coarseKeep: 3 } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 3 });
      expect(res.items.map((i) => i.itemId)).toEqual(['i0', 'i1', 'i2']);
      expect(res.degraded).toEqual([expect.objectContaining({ mode: 'coarse_failed', tier: 'retrieval_order' })]);
    });

    it('treats a score batch of the wrong length or with NaN as a ranker failure', async () => {
      const bad: Ranker = { name: 'bad', score: (_c, cands) => ({ scores: cands.map((_, i) => (i === 1 ? NaN : 1)) }) };
      const rec = createRecommender(base({ shared: { coarse: bad } }));
      const res = await rec.recommend({ slot: 'home', limit: 3 });
      expect(res.degraded[0]).toMatchObject({ mode: 'coarse_failed', code: 'RECSPINE_ERR_RANKER_OUTPUT' });
      expect(res.items).toHaveLength(3);
    });
  });

  describe('recommend (features and fine rank)', () => {
    const all = ids(6);
    const fineScores = { i5: 50, i4: 40, i3: 30, i2: 20, i1: 10, i0: 0 };
    const degScores = { i3: 9, i0: 8, i1: 7, i2: 6, i4: 5, i5: 4 };

    it('orders by the fine ranker on the happy path and keeps the heads on each item', async () => {
      const f = fetcher();
      const rec = createRecommender(
        base({
          shared: { features: f, fine: mapRanker('fine', fineScores, { heads: true }), degraded: mapRanker('deg', degScores) },
          slots: { home: { sources: [source('a', all)], coarseKeep: 10 } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 3, userId: 'u1' });
      expect(res.items.map((i) => i.itemId)).toEqual(['i5', 'i4', 'i3']);
      expect(res.items[0]?.heads).toEqual({ ctr: 0.5 });
      expect(res.orderedBy).toBe('fine');
      expect(res.modelVersions).toEqual({ fine: 'fine@1' });
      expect(res.degraded).toEqual([]);
      expect(f.calls).toBe(1);
    });

    it('serves the degraded-mode model when the feature store fails', async () => {
      const rec = createRecommender(
        base({
          shared: { features: fetcher({ fail: true }), fine: mapRanker('fine', fineScores), degraded: mapRanker('deg', degScores) },
          slots: { home: { sources: [source('a', all)], coarseKeep: 10 } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 3, userId: 'u1' });
      expect(res.items.map((i) => i.itemId)).toEqual(['i3', 'i0', 'i1']);
      expect(res.orderedBy).toBe('degraded');
      expect(res.degraded).toEqual([
        expect.objectContaining({ mode: 'features_unavailable', tier: 'degraded_model', stage: 'home/features' }),
      ]);
    });

    it('serves the degraded-mode model when the feature store is slower than its budget', async () => {
      const rec = createRecommender(
        base({
          budgets: { ...BUDGETS, features: 5 },
          shared: { features: fetcher({ delayMs: 100 }), fine: mapRanker('fine', fineScores), degraded: mapRanker('deg', degScores) },
          slots: { home: { sources: [source('a', all)], coarseKeep: 10 } },
        }),
      );
      const t = performance.now();
      const res = await rec.recommend({ slot: 'home', limit: 3, userId: 'u1' });
      expect(performance.now() - t).toBeLessThan(70);
      expect(res.orderedBy).toBe('degraded');
      expect(res.degraded[0]).toMatchObject({ mode: 'features_unavailable', code: 'RECSPINE_ERR_DEADLINE_EXCEEDED' });
    });

    it('keeps the fine model with defaults when only some feature groups are missing', async () => {
      const rec = createRecommender(
        base({
          shared: {
            features: fetcher({ missing: ['user_history'] }),
            fine: mapRanker('fine', fineScores),
            degraded: mapRanker('deg', degScores),
          },
          slots: { home: { sources: [source('a', all)], coarseKeep: 10 } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 3, userId: 'u1' });
      expect(res.orderedBy).toBe('fine');
      expect(res.degraded).toEqual([
        expect.objectContaining({ mode: 'feature_groups_missing', tier: 'defaults_with_missing', detail: 'user_history:timeout' }),
      ]);
    });

    it('orders by coarse score when the fine ranker fails', async () => {
      const rec = createRecommender(
        base({
          shared: {
            features: fetcher(),
            coarse: mapRanker('coarse', { i1: 3, i2: 2, i0: 1 }),
            fine: mapRanker('fine', fineScores, { fail: true }),
          },
          slots: { home: { sources: [source('a', all)], coarseKeep: 10 } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 3, userId: 'u1' });
      expect(res.items.map((i) => i.itemId)).toEqual(['i1', 'i2', 'i0']);
      expect(res.orderedBy).toBe('coarse');
      expect(res.degraded).toEqual([expect.objectContaining({ mode: 'fine_failed', tier: 'coarse_order', stage: 'home/fine' })]);
    });

    it('opens the features breaker and then skips the store without calling it', async () => {
      const f = fetcher({ fail: true });
      const rec = createRecommender(
        base({
          breakers: { features: { threshold: 2, halfOpenAfterMs: 60_000 } },
          shared: { features: f, fine: mapRanker('fine', fineScores), degraded: mapRanker('deg', degScores) },
          slots: { home: { sources: [source('a', all)], coarseKeep: 10 } },
        }),
      );
      for (let i = 0; i < 4; i++) await rec.recommend({ slot: 'home', limit: 3 });
      expect(f.calls).toBe(2);
      const res = await rec.recommend({ slot: 'home', limit: 3 });
      expect(res.degraded[0]).toMatchObject({ mode: 'features_unavailable', code: 'RECSPINE_ERR_BREAKER_OPEN' });
      expect(res.orderedBy).toBe('degraded');
    });

    it('lets a custom Degrader choose coarse order instead of the degraded model', async () => {
      const rec = createRecommender(
        base({
          degrader: {
            decide: (f) => (f.mode === 'features_unavailable' ? 'coarse_order' : f.mode.startsWith('source') ? 'drop_source' : 'fallback'),
          },
          shared: { features: fetcher({ fail: true }), fine: mapRanker('fine', fineScores), degraded: mapRanker('deg', degScores) },
          slots: { home: { sources: [source('a', all)], coarseKeep: 10 } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 3 });
      expect(res.orderedBy).toBe('retrieval');
      expect(res.degraded[0]?.tier).toBe('coarse_order');
    });
  });

  describe('recommend (deadlines)', () => {
    it('skips the remaining optional stages after a synchronous overrun, and still returns a slate', async () => {
      const hog: Ranker = {
        name: 'hog',
        score: (_c, cands) => {
          const until = performance.now() + 70;
          while (performance.now() < until) {
            /* blocks the event loop past the SLA share */
          }
          return { scores: cands.map(() => 1) };
        },
      };
      const f = fetcher();
      const rr: ReRanker = { name: 'never', rerank: () => expect.unreachable('rerank must be skipped') };
      const rec = createRecommender(
        base({
          slaMs: 80,
          minStageMs: 15,
          budgets: { ...BUDGETS, coarse: 20 },
          shared: { coarse: hog, features: f, fine: mapRanker('fine', {}) },
          slots: { home: { sources: [source('a', ids(5))], coarseKeep: 10, rerank: [rr] } },
        }),
      );
      const t = performance.now();
      const res = await rec.recommend({ slot: 'home', limit: 3 });
      const took = performance.now() - t;
      expect(took).toBeLessThan(80 + 15);
      expect(f.calls).toBe(0);
      expect(res.items).toHaveLength(3);
      expect(res.degraded.map((d) => d.mode)).toEqual(['stage_overrun', 'deadline_near']);
    });
  });

  describe('recommend (re-rank and policy)', () => {
    it('applies policy filters last, even to items a re-ranker boosted, and backfills from the reserve', async () => {
      const boost: ReRanker = {
        name: 'boost-bad',
        rerank: (_ctx, ranked) => {
          const bad = ranked.find((c) => c.itemId === 'i4') as Candidate;
          bad.score = 1e9;
          return [bad, ...ranked.filter((c) => c !== bad)];
        },
      };
      const inject: ReRanker = {
        name: 'inject',
        rerank: (_ctx, ranked) => [{ itemId: 'evil', score: 1, retrievalScore: 1, sources: ['a'], sourceScores: [1] }, ...ranked],
      };
      const policy: PolicyFilter = { name: 'kids', allows: (_c, c) => !(c.meta?.kidsRestricted ?? false) };
      const catalog = new MapItemCatalog(new Map([['i4', { kidsRestricted: true }]]));
      const rec = createRecommender(
        base({
          shared: { policy: [policy], catalog },
          // early filtering off, so the boosted item reaches the re-rankers and only the final pass can stop it
          slots: { home: { sources: [source('a', ids(6))], coarseKeep: 10, rerank: [boost, inject], policyEarly: false } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 4 });
      expect(res.items.map((i) => i.itemId)).toEqual(['i0', 'i1', 'i2', 'i3']);
      expect(res.degraded).toEqual([]);
    });

    it("with backfillFromTail: false, never undoes a re-ranker's deliberate drops from the coarse tail", async () => {
      const dropOdd: ReRanker = { name: 'cap', rerank: (_ctx, ranked) => ranked.filter((c) => Number(c.itemId.slice(1)) % 2 === 0) };
      const rec = createRecommender(
        base({ slots: { home: { sources: [source('a', ids(10))], coarseKeep: 4, rerank: [dropOdd], backfillFromTail: false } } }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 5 });
      // i0..i3 survive coarse; the cap keeps i0, i2; the tail (i4..i9) never went through the chain
      expect(res.items.map((i) => i.itemId)).toEqual(['i0', 'i2']);
      const filling = createRecommender(base({ slots: { home: { sources: [source('a', ids(10))], coarseKeep: 4, rerank: [dropOdd] } } }));
      expect((await filling.recommend({ slot: 'home', limit: 5 })).items.map((i) => i.itemId)).toEqual(['i0', 'i2', 'i4', 'i5', 'i6']);
    });

    it('filters policy-rejected items before coarse rank so they take no capacity', async () => {
      const scored: string[][] = [];
      const coarse: Ranker = { name: 'c', score: (_c, cands) => (scored.push(cands.map((c) => c.itemId)), { scores: cands.map(() => 1) }) };
      const rec = createRecommender(
        base({
          shared: { coarse, policy: [{ name: 'no-i0', allows: (_c, c) => c.itemId !== 'i0' }] },
          slots: { home: { sources: [source('a', ids(4))], coarseKeep: 2 } },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 2 });
      expect(scored[0]).toEqual(['i1', 'i2', 'i3']);
      expect(res.items.map((i) => i.itemId)).toEqual(['i1', 'i2']);
    });

    it('reports the served slate, after the policy pass, to an optional slate metric', async () => {
      const seen: string[][] = [];
      const sink = {
        ...recordingSink(),
        slate: (_slot: string, slate: readonly Candidate[]) => void seen.push(slate.map((c) => c.itemId)),
      };
      const rec = createRecommender(base({ metrics: sink, shared: { policy: [{ name: 'no-i1', allows: (_c, c) => c.itemId !== 'i1' }] } }));
      await rec.recommend({ slot: 'home', limit: 3 });
      expect(seen).toEqual([['i0', 'i2', 'i3']]);
    });

    it('fails closed when a policy filter throws', async () => {
      const throwing: PolicyFilter = {
        name: 'flaky',
        allows: (_c, c) => {
          if (c.itemId === 'i1') throw new Error('flag service down');
          return true;
        },
      };
      const rec = createRecommender(base({ shared: { policy: [throwing] } }));
      const res = await rec.recommend({ slot: 'home', limit: 5 });
      expect(res.items.map((i) => i.itemId)).toEqual(['i0', 'i2', 'i3', 'i4']);
    });

    it('skips a failing re-ranker and keeps the chain going', async () => {
      const boom: ReRanker = {
        name: 'boom',
        rerank: () => {
          throw new Error('bad');
        },
      };
      const rev: ReRanker = { name: 'rev', rerank: (_c, r) => [...r].reverse() };
      const rec = createRecommender(base({ slots: { home: { sources: [source('a', ids(3))], coarseKeep: 10, rerank: [boom, rev] } } }));
      const res = await rec.recommend({ slot: 'home', limit: 3 });
      expect(res.items.map((i) => i.itemId)).toEqual(['i2', 'i1', 'i0']);
      expect(res.degraded).toEqual([expect.objectContaining({ mode: 'rerank_failed', tier: 'skip_reranker', stage: 'home/rerank/boom' })]);
    });
  });

  describe('recommend (response and metrics)', () => {
    it('reports timings per stage and per source, request id, and sends metrics', async () => {
      const sink = recordingSink();
      const rec = createRecommender(
        base({
          metrics: sink,
          shared: { features: fetcher(), coarse: mapRanker('c', {}), fine: mapRanker('f', {}) },
          slots: {
            home: {
              sources: [source('a', ids(3)), source('b', ids(2, 'j'))],
              coarseKeep: 10,
              rerank: [{ name: 'id', rerank: (_c, r) => r }],
            },
          },
        }),
      );
      const res = await rec.recommend({ slot: 'home', limit: 3, requestId: 'req-1' });
      expect(res.requestId).toBe('req-1');
      expect(Object.keys(res.timings.stages).sort()).toEqual(['coarse', 'features', 'fine', 'policy', 'rerank', 'retrieval']);
      expect(Object.keys(res.timings.sources)).toEqual(['a', 'b']);
      expect(res.timings.totalMs).toBeGreaterThan(0);
      expect(sink.stages).toEqual(['retrieval', 'coarse', 'features', 'fine', 'rerank', 'policy']);
      expect(sink.requests).toBe(1);
      const inSlate = Object.values(res.sources).reduce((n, s) => n + s.inSlate, 0);
      expect(inSlate).toBeGreaterThanOrEqual(res.items.length);
    });

    it('generates distinct request ids', async () => {
      const rec = createRecommender(base());
      const a = await rec.recommend({ slot: 'home', limit: 1 });
      const b = await rec.recommend({ slot: 'home', limit: 1 });
      expect(a.requestId).not.toBe(b.requestId);
    });
  });

  describe('StaticSource', () => {
    it('returns the first k items', () => {
      const s = new StaticSource('s', ['a', 'b', 'c']);
      const out = s.retrieve({} as never, 2) as readonly RetrievedItem[];
      expect(out.map((x) => x.itemId)).toEqual(['a', 'b']);
      expect(out[0]!.score).toBeGreaterThan(out[1]!.score);
    });
  });
});

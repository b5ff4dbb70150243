import { describe, expect, it } from 'vitest';
import { ctxFor, expectCode } from '../test/helpers.js';
import { InMemoryPopularityCounters } from './InMemoryPopularityCounters.js';
import { PopularitySource } from './PopularitySource.js';

const T = 1_700_000_000_000;

async function counters(): Promise<InMemoryPopularityCounters> {
  const c = new InMemoryPopularityCounters({ refreshMs: 0 });
  await c.incrementBatch([
    { itemId: 'us1', segment: 'region:US', weight: 5, atMs: T },
    { itemId: 'us2', segment: 'region:US', weight: 3, atMs: T },
    { itemId: 'g1', segment: 'global', weight: 100, atMs: T },
    { itemId: 'us1', segment: 'global', weight: 50, atMs: T },
    { itemId: 'g2', segment: 'global', weight: 10, atMs: T },
  ]);
  return c;
}

describe('PopularitySource', () => {
  describe('retrieve', () => {
    it('serves the region segment first and backfills from global without duplicates', async () => {
      const s = new PopularitySource({ counters: await counters() });
      const got = await s.retrieve(ctxFor({ context: { region: 'US', nowMs: T } }), 4);
      expect(got.map((g) => g.itemId)).toEqual(['us1', 'us2', 'g1', 'g2']);
      for (let i = 1; i < got.length; i++)
        expect((got[i - 1] as { score: number }).score).toBeGreaterThan((got[i] as { score: number }).score);
    });

    it('uses global alone without a region, and custom segments when given', async () => {
      const c = await counters();
      expect((await new PopularitySource({ counters: c }).retrieve(ctxFor({ context: { nowMs: T } }), 2)).map((g) => g.itemId)).toEqual([
        'g1',
        'us1',
      ]);
      const baseline = new PopularitySource({ name: 'baseline', counters: c, segments: () => ['region:US'] });
      expect(baseline.name).toBe('baseline');
      expect((await baseline.retrieve(ctxFor({ context: { nowMs: T } }), 10)).map((g) => g.itemId)).toEqual(['us1', 'us2']);
    });

    it('rejects missing counters', async () => {
      await expectCode(() => new PopularitySource({} as never), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    });
  });

  describe('cacheTtlMs', () => {
    /** Real counters, with their `top` reads counted (and failing on demand). */
    async function counted(): Promise<{ c: InMemoryPopularityCounters; reads: () => number; fail: (on: boolean) => void }> {
      const c = await counters();
      let n = 0;
      let failing = false;
      const top = c.top.bind(c);
      c.top = async (segment, k, nowMs) => {
        n++;
        if (failing) throw new Error('counters down');
        return top(segment, k, nowMs);
      };
      return { c, reads: () => n, fail: (on) => (failing = on) };
    }

    it('serves a segment list from one read for ttl, shares a read in flight, and reads again after it', async () => {
      const { c, reads } = await counted();
      const s = new PopularitySource({ counters: c, cacheTtlMs: 60 });
      const ctx = ctxFor({ context: { region: 'US' } });
      const [a, b] = await Promise.all([s.retrieve(ctx, 4), s.retrieve(ctx, 4)]);
      expect(reads()).toBe(2); // region:US + global, once for both requests
      expect(b).toEqual(a);
      expect((await s.retrieve(ctx, 4)).map((g) => g.itemId)).toEqual(a.map((g) => g.itemId));
      expect(reads()).toBe(2);
      // another k or another segment list is another entry
      await s.retrieve(ctx, 2);
      await s.retrieve(ctxFor({ context: {} }), 4);
      expect(reads()).toBe(5);
      expect(s.stats()).toEqual({ cacheHits: 2, cacheMisses: 3 });
      await new Promise((r) => setTimeout(r, 80));
      await s.retrieve(ctx, 4);
      expect(reads()).toBe(7);
    });

    it('uses the cache for a request clock near the wall clock, always reads for another clock, and without a ttl', async () => {
      const { c, reads } = await counted();
      const s = new PopularitySource({ counters: c, cacheTtlMs: 60_000 });
      await s.retrieve(ctxFor({ context: { region: 'US', nowMs: T } }), 4);
      await s.retrieve(ctxFor({ context: { region: 'US', nowMs: T } }), 4);
      expect(reads()).toBe(4);
      await s.retrieve(ctxFor({ context: { region: 'US', nowMs: Date.now() } }), 4);
      await s.retrieve(ctxFor({ context: { region: 'US', nowMs: Date.now() } }), 4);
      expect(reads()).toBe(6);
      const plain = new PopularitySource({ counters: c });
      await plain.retrieve(ctxFor({ context: {} }), 4);
      await plain.retrieve(ctxFor({ context: {} }), 4);
      expect(reads()).toBe(8);
    });

    it('does not keep a failed read', async () => {
      const { c, reads, fail } = await counted();
      const s = new PopularitySource({ counters: c, cacheTtlMs: 60_000 });
      const ctx = ctxFor({ context: {} });
      fail(true);
      await expect(s.retrieve(ctx, 4)).rejects.toThrow('counters down');
      fail(false);
      expect((await s.retrieve(ctx, 4)).length).toBeGreaterThan(0);
      expect(reads()).toBe(2);
    });

    it('bounds the entries and rejects bad options', async () => {
      const { c, reads } = await counted();
      const s = new PopularitySource({
        counters: c,
        cacheTtlMs: 60_000,
        cacheMaxEntries: 1,
        segments: (ctx) => [String(ctx.request.context?.region ?? 'global')],
      });
      await s.retrieve(ctxFor({ context: { region: 'A' } }), 2);
      await s.retrieve(ctxFor({ context: { region: 'B' } }), 2);
      await s.retrieve(ctxFor({ context: { region: 'A' } }), 2); // evicted by B
      expect(reads()).toBe(3);
      await expectCode(() => new PopularitySource({ counters: c, cacheTtlMs: -1 }), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
      await expectCode(() => new PopularitySource({ counters: c, cacheTtlMs: Number.NaN }), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
      await expectCode(() => new PopularitySource({ counters: c, cacheMaxEntries: 0 }), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    });
  });
});

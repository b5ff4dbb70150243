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
});

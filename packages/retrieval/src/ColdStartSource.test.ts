import { describe, expect, it } from 'vitest';
import { ctxFor } from '../test/helpers.js';
import { ColdStartSource, coldStartSegments } from './ColdStartSource.js';
import { InMemoryPopularityCounters } from './InMemoryPopularityCounters.js';

const T = 1_700_000_000_000;

describe('ColdStartSource', () => {
  describe('retrieve', () => {
    it('serves popular-in-segment picks from region, language and device to anonymous users', async () => {
      const c = new InMemoryPopularityCounters({ refreshMs: 0 });
      await c.incrementBatch([
        { itemId: 'fr-fr', segment: 'region:FR|language:fr', weight: 1, atMs: T },
        { itemId: 'fr-mobile', segment: 'region:FR|device:mobile', weight: 1, atMs: T },
        { itemId: 'fr', segment: 'region:FR', weight: 1, atMs: T },
        { itemId: 'global', segment: 'global', weight: 99, atMs: T },
      ]);
      const s = new ColdStartSource({ counters: c });
      const got = await s.retrieve(ctxFor({ context: { region: 'FR', language: 'fr', device: 'mobile', nowMs: T } }), 10);
      expect(got.map((g) => g.itemId)).toEqual(['fr-fr', 'fr-mobile', 'fr', 'global']);
    });

    it('returns nothing for warm users', async () => {
      const c = new InMemoryPopularityCounters({ refreshMs: 0 });
      await c.incrementBatch([{ itemId: 'x', segment: 'global', weight: 1, atMs: T }]);
      expect(await new ColdStartSource({ counters: c }).retrieve(ctxFor({ userId: 'u1', context: { nowMs: T } }), 5)).toEqual([]);
      const byHistory = new ColdStartSource({ counters: c, isCold: async (ctx) => ctx.request.userId === 'newbie' });
      expect(await byHistory.retrieve(ctxFor({ userId: 'u1', context: { nowMs: T } }), 5)).toEqual([]);
      expect((await byHistory.retrieve(ctxFor({ userId: 'newbie', context: { nowMs: T } }), 5)).map((g) => g.itemId)).toEqual(['x']);
    });
  });

  describe('coldStartSegments', () => {
    it('lists the present context fields, most specific first, ending with global', () => {
      expect(coldStartSegments(ctxFor({ context: { region: 'US', device: 'tv' } }))).toEqual([
        'region:US|device:tv',
        'region:US',
        'device:tv',
        'global',
      ]);
      expect(coldStartSegments(ctxFor({}))).toEqual(['global']);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { expectCode } from '../test/helpers.js';
import { InMemoryPopularityCounters } from './InMemoryPopularityCounters.js';
import { PopularityFallback } from './PopularityFallback.js';

const T = 1_700_000_000_000;

describe('PopularityFallback', () => {
  describe('slate', () => {
    it('serves the precomputed regional slate, backfilled from global, synchronously', async () => {
      const c = new InMemoryPopularityCounters({ refreshMs: 0 });
      await c.incrementBatch([
        { itemId: 'us', segment: 'region:US', weight: 1, atMs: T },
        { itemId: 'g1', segment: 'global', weight: 3, atMs: T },
        { itemId: 'us', segment: 'global', weight: 2, atMs: T },
        { itemId: 'g2', segment: 'global', weight: 1, atMs: T },
      ]);
      const f = new PopularityFallback({ counters: c, regions: ['US', 'FR'] });
      expect(f.slate({ slot: 'homepage', limit: 3 }, 3)).toEqual([]);
      await f.refresh(T);
      expect(f.slate({ slot: 'homepage', limit: 3, context: { region: 'US' } }, 3).map((i) => i.itemId)).toEqual(['us', 'g1', 'g2']);
      expect(f.slate({ slot: 'homepage', limit: 2, context: { region: 'FR' } }, 2).map((i) => i.itemId)).toEqual(['g1', 'us']);
      expect(f.slate({ slot: 'homepage', limit: 1 }, 1).map((i) => i.itemId)).toEqual(['g1']);
    });

    it('rejects missing counters', async () => {
      await expectCode(() => new PopularityFallback({} as never), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    });
  });
});

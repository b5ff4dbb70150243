import { describe, expect, it } from 'vitest';
import { popularityContract } from '../test/popularityContract.js';
import { InMemoryPopularityCounters } from './InMemoryPopularityCounters.js';

describe('InMemoryPopularityCounters', () => {
  popularityContract((halfLifeMs) => new InMemoryPopularityCounters({ halfLifeMs, refreshMs: 0 }));

  describe('top', () => {
    it('serves the cached order until refreshMs has passed, then the new one', async () => {
      let now = 0;
      const c = new InMemoryPopularityCounters({ refreshMs: 1000, clock: () => now });
      await c.incrementBatch([{ itemId: 'a', segment: 'g', weight: 1, atMs: 0 }]);
      expect((await c.top('g', 5, 0)).map((t) => t.itemId)).toEqual(['a']);
      await c.incrementBatch([{ itemId: 'b', segment: 'g', weight: 2, atMs: 0 }]);
      expect((await c.top('g', 5, 0)).map((t) => t.itemId)).toEqual(['a']);
      now = 1000;
      expect((await c.top('g', 5, 0)).map((t) => t.itemId)).toEqual(['b', 'a']);
    });

    it('trims each segment to maxItemsPerSegment, dropping the least popular', async () => {
      const c = new InMemoryPopularityCounters({ refreshMs: 0, maxItemsPerSegment: 2 });
      await c.incrementBatch([1, 2, 3].map((w) => ({ itemId: `i${w}`, segment: 'g', weight: w, atMs: 0 })));
      expect((await c.top('g', 5, 0)).map((t) => t.itemId)).toEqual(['i3', 'i2']);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { ItemCounters } from './ItemCounters.js';

const H = 3_600_000;
const T = 1000 * H;

describe('ItemCounters', () => {
  describe('counts', () => {
    it('sums the buckets inside the window and forgets older ones', () => {
      const c = new ItemCounters({ bucketMs: H, buckets: 3 });
      c.add('v', 'impressions', 10, T);
      c.add('v', 'clicks', 2, T + H);
      c.add('v', 'impressions', 5, T + 2 * H);
      expect(c.counts('v', T + 2 * H)).toMatchObject({ impressions: 15, clicks: 2 });
      expect(c.counts('v', T + 3 * H)).toMatchObject({ impressions: 5, clicks: 2 });
      c.add('v', 'impressions', 1, T + 3 * H); // reuses the oldest slot
      c.add('v', 'impressions', 99, T); // older than the window: ignored
      expect(c.buckets('v', T + 3 * H).map((b) => b.counts.impressions)).toEqual([0, 5, 1]);
      expect(c.counts('x')).toBeUndefined();
      c.remove('v');
      expect(c.counts('v', T + 3 * H)).toBeUndefined();
    });
  });
});

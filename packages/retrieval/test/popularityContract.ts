/** Behaviour shared by every PopularityCounters implementation. */
import { describe, expect, it } from 'vitest';
import type { PopularityCounters } from '../src/PopularityCounters.js';
import { expectCode } from './helpers.js';

const H = 3_600_000;
const T0 = 1_700_000_000_000;

export function popularityContract(make: (halfLifeMs: number) => PopularityCounters | Promise<PopularityCounters>): void {
  describe('top', () => {
    it('orders by decayed weight within a segment, best first, and keeps segments apart', async () => {
      const c = await make(H);
      await c.incrementBatch([
        { itemId: 'a', segment: 'region:US', weight: 1, atMs: T0 },
        { itemId: 'b', segment: 'region:US', weight: 3, atMs: T0 },
        { itemId: 'a', segment: 'region:US', weight: 1, atMs: T0 },
        { itemId: 'z', segment: 'region:FR', weight: 9, atMs: T0 },
      ]);
      const top = await c.top('region:US', 10, T0);
      expect(top.map((t) => t.itemId)).toEqual(['b', 'a']);
      expect(top[0]?.score).toBeCloseTo(3, 6);
      expect(top[1]?.score).toBeCloseTo(2, 6);
      expect((await c.top('region:US', 1, T0)).map((t) => t.itemId)).toEqual(['b']);
      expect(await c.top('category:none', 5, T0)).toEqual([]);
    });

    it('halves a score per half-life, and lets recent events overtake older bigger ones', async () => {
      const c = await make(H);
      await c.incrementBatch([{ itemId: 'old', segment: 'global', weight: 4, atMs: T0 }]);
      expect((await c.top('global', 1, T0 + H))[0]?.score).toBeCloseTo(2, 6);
      expect((await c.top('global', 1, T0 + 2 * H))[0]?.score).toBeCloseTo(1, 6);
      await c.incrementBatch([{ itemId: 'new', segment: 'global', weight: 1.5, atMs: T0 + 2 * H }]);
      const top = await c.top('global', 2, T0 + 2 * H);
      expect(top.map((t) => t.itemId)).toEqual(['new', 'old']);
    });

    it('stays correct across a landmark renormalisation far in the future', async () => {
      const c = await make(H);
      await c.incrementBatch([{ itemId: 'a', segment: 'global', weight: 1, atMs: T0 }]);
      const later = T0 + 100 * H; // exponent 100·ln2 ≈ 69 > threshold
      await c.incrementBatch([
        { itemId: 'b', segment: 'global', weight: 1, atMs: later },
        { itemId: 'a', segment: 'global', weight: 0.5, atMs: later },
      ]);
      const top = await c.top('global', 5, later);
      expect(top.map((t) => t.itemId)).toEqual(['b', 'a']);
      expect(top[0]?.score).toBeCloseTo(1, 6);
      expect(top[1]?.score).toBeCloseTo(0.5, 6);
    });

    it('rejects an empty segment and k ≤ 0', async () => {
      const c = await make(H);
      await expectCode(() => c.top('', 3), 'RECSPINE_ERR_POPULARITY_INPUT');
      await expectCode(() => c.top('global', 0), 'RECSPINE_ERR_ANN_BAD_K');
    });
  });

  describe('incrementBatch', () => {
    it('rejects a malformed update and writes nothing of the batch', async () => {
      const c = await make(H);
      const bad = [
        { itemId: 'a', segment: 'global', weight: 1, atMs: T0 },
        { itemId: 'b', segment: 'global', weight: Number.NaN, atMs: T0 },
      ];
      await expectCode(() => c.incrementBatch(bad), 'RECSPINE_ERR_POPULARITY_INPUT');
      await expectCode(() => c.incrementBatch([{ itemId: '', segment: 'global', weight: 1, atMs: T0 }]), 'RECSPINE_ERR_POPULARITY_INPUT');
      await expectCode(
        () => c.incrementBatch([{ itemId: 'a', segment: 'global', weight: 1, atMs: Infinity }]),
        'RECSPINE_ERR_POPULARITY_INPUT',
      );
      expect(await c.top('global', 5, T0)).toEqual([]);
      await c.incrementBatch([]);
    });
  });

  describe('removeItem', () => {
    it('drops a taken-down item from every segment and ignores later updates for it', async () => {
      const c = await make(H);
      await c.incrementBatch([
        { itemId: 'x', segment: 'global', weight: 5, atMs: T0 },
        { itemId: 'x', segment: 'region:US', weight: 5, atMs: T0 },
        { itemId: 'y', segment: 'global', weight: 1, atMs: T0 },
      ]);
      await c.removeItem('x');
      await c.incrementBatch([{ itemId: 'x', segment: 'global', weight: 5, atMs: T0 }]);
      expect((await c.top('global', 5, T0)).map((t) => t.itemId)).toEqual(['y']);
      expect(await c.top('region:US', 5, T0)).toEqual([]);
      await expectCode(() => c.removeItem(''), 'RECSPINE_ERR_POPULARITY_INPUT');
    });
  });
}

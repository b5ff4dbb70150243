import { describe, expect, it } from 'vitest';
import { ctxFor, expectCode } from '../test/helpers.js';
import { FreshContentSource } from './FreshContentSource.js';

const H = 3_600_000;
const NOW = 1_700_000_000_000;
const v = (...xs: number[]): Float32Array => new Float32Array(xs);

function source(history: Record<string, string[]> = {}, catalog: Record<string, Float32Array> = {}): FreshContentSource {
  return new FreshContentSource({
    dims: 3,
    maxAgeMs: 24 * H,
    history: async (_ctx, userId) => history[userId],
    embeddingOf: (id) => catalog[id],
    clock: () => NOW,
  });
}

describe('FreshContentSource', () => {
  describe('retrieve', () => {
    it('ranks fresh items by similarity to the mean of the user history embeddings', async () => {
      const s = source({ u: ['old-sports', 'old-sports-2'] }, { 'old-sports': v(1, 0, 0), 'old-sports-2': v(0.9, 0.1, 0) });
      s.addItem({ itemId: 'new-cooking', publishedAtMs: NOW - H, embedding: v(0, 1, 0) });
      s.addItem({ itemId: 'new-sports', publishedAtMs: NOW - 2 * H, embedding: v(1, 0.05, 0), meta: { category: 'sports' } });
      s.addItem({ itemId: 'new-music', publishedAtMs: NOW - H, embedding: v(0, 0, 1) });
      const got = await s.retrieve(ctxFor({ userId: 'u' }), 2);
      expect(got.map((g) => g.itemId)).toEqual(['new-sports', 'new-cooking']);
      expect(got[0]?.meta?.category).toBe('sports');
    });

    it('makes an item the two-tower model never saw findable seconds after publication', async () => {
      const s = source({ u: ['seen'] }, { seen: v(0, 0, 1) });
      expect(await s.retrieve(ctxFor({ userId: 'u' }), 5)).toEqual([]);
      s.addItem({ itemId: 'just-published', publishedAtMs: NOW - 1000, embedding: v(0.1, 0, 1) });
      expect((await s.retrieve(ctxFor({ userId: 'u' }), 5))[0]?.itemId).toBe('just-published');
    });

    it('serves the newest items to users without history, and never items past maxAge', async () => {
      const s = source();
      s.addItem({ itemId: 'a', publishedAtMs: NOW - 3 * H, embedding: v(1, 0, 0) });
      s.addItem({ itemId: 'b', publishedAtMs: NOW - H, embedding: v(1, 0, 0) });
      s.addItem({ itemId: 'stale', publishedAtMs: NOW - 30 * H, embedding: v(1, 0, 0) });
      expect((await s.retrieve(ctxFor({}), 10)).map((g) => g.itemId)).toEqual(['b', 'a']);
      expect((await s.retrieve(ctxFor({ userId: 'no-history' }), 10)).map((g) => g.itemId)).toEqual(['b', 'a']);
      expect(s.prune(NOW)).toBe(1);
      expect(s.size).toBe(2);
    });
  });

  describe('addItem', () => {
    it('answers empty without reading the history when every item is past maxAge, and serves again once one is young', async () => {
      let reads = 0;
      const s = new FreshContentSource({
        dims: 3,
        maxAgeMs: 24 * H,
        history: async () => {
          reads++;
          return ['x'];
        },
        embeddingOf: () => v(1, 0, 0),
        clock: () => NOW,
      });
      s.addItem({ itemId: 'old', publishedAtMs: NOW - 30 * H, embedding: v(1, 0, 0) });
      expect(await s.retrieve(ctxFor({ userId: 'u' }), 5)).toEqual([]);
      expect(reads).toBe(0);
      // a request whose clock is in the item's window still finds it
      expect((await s.retrieve(ctxFor({ userId: 'u', context: { nowMs: NOW - 20 * H } }), 5)).map((h) => h.itemId)).toEqual(['old']);
      s.addItem({ itemId: 'young', publishedAtMs: NOW - H, embedding: v(1, 0, 0) });
      expect((await s.retrieve(ctxFor({ userId: 'u' }), 5)).map((h) => h.itemId)).toEqual(['young']);
      expect(reads).toBe(2);
    });

    it('rejects malformed items with RECSPINE_ERR_RETRIEVAL_BAD_ITEM and keeps the index unchanged', async () => {
      const s = source();
      await expectCode(() => s.addItem({ itemId: '', publishedAtMs: NOW, embedding: v(1, 0, 0) }), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
      await expectCode(
        () => s.addItem({ itemId: 'x', publishedAtMs: Number.NaN, embedding: v(1, 0, 0) }),
        'RECSPINE_ERR_RETRIEVAL_BAD_ITEM',
      );
      await expectCode(() => s.addItem({ itemId: 'x', publishedAtMs: NOW, embedding: v(1, 0) }), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
      await expectCode(
        () => s.addItem({ itemId: 'x', publishedAtMs: NOW, embedding: v(1, Number.NaN, 0) }),
        'RECSPINE_ERR_RETRIEVAL_BAD_ITEM',
      );
      expect(s.size).toBe(0);
    });

    it('evicts the oldest items beyond maxItems', async () => {
      const s = new FreshContentSource({ dims: 3, maxItems: 2, history: async () => undefined, clock: () => NOW });
      for (let i = 0; i < 3; i++) s.addItem({ itemId: `i${i}`, publishedAtMs: NOW - (10 - i) * 1000, embedding: v(1, i, 0) });
      expect(s.size).toBe(2);
      expect((await s.retrieve(ctxFor({}), 5)).map((g) => g.itemId)).toEqual(['i2', 'i1']);
    });
  });

  describe('removeItem', () => {
    it('takes an item down and ignores unknown ids', async () => {
      const s = source();
      s.addItem({ itemId: 'a', publishedAtMs: NOW - H, embedding: v(1, 0, 0) });
      s.removeItem('a');
      s.removeItem('never');
      expect(await s.retrieve(ctxFor({}), 5)).toEqual([]);
    });
  });
});

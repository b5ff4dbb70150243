import { describe, expect, it } from 'vitest';
import { ctxFor, expectCode } from '../test/helpers.js';
import { ExactIndex } from './ExactIndex.js';
import { QuerySource } from './QuerySource.js';

const items = [
  { itemId: 'v1', title: 'Learn TypeScript in one hour', tags: ['programming', 'typescript'] },
  { itemId: 'v2', title: 'Cooking pasta like an Italian', tags: ['cooking', 'food'] },
  { itemId: 'v3', title: 'Guitar lesson for beginners', tags: ['music', 'guitar'], text: 'chords and strumming' },
  { itemId: 'v4', title: 'Advanced TypeScript generics', tags: ['programming'] },
];

describe('QuerySource', () => {
  describe('retrieve', () => {
    it('finds items by title and tags, best first, with fuzzy and prefix matching', async () => {
      const s = new QuerySource();
      s.addAll(items);
      const got = await s.retrieve(ctxFor({ slot: 'search', query: 'typescript' }), 10);
      expect(got.map((g) => g.itemId).sort()).toEqual(['v1', 'v4']);
      expect((await s.retrieve(ctxFor({ query: 'gitar' }), 10))[0]?.itemId).toBe('v3');
      expect((await s.retrieve(ctxFor({ query: 'cook' }), 10))[0]?.itemId).toBe('v2');
      expect((await s.retrieve(ctxFor({ query: 'strumming' }), 10))[0]?.itemId).toBe('v3');
    });

    it('returns nothing without a query', async () => {
      const s = new QuerySource();
      s.addAll(items);
      expect(await s.retrieve(ctxFor({}), 10)).toEqual([]);
      expect(await s.retrieve(ctxFor({ query: '   ' }), 10)).toEqual([]);
    });

    it('fuses text ranks with embedding similarity', async () => {
      const index = new ExactIndex({ dims: 2, metric: 'cos' });
      index.upsertBatch(['v1', 'v2', 'v3', 'v4'], new Float32Array([1, 0, 0, 1, 0.7, 0.7, 0.9, 0.1]));
      const s = new QuerySource({
        embedding: { encode: async (q) => (q.includes('food') ? new Float32Array([0, 1]) : undefined), index, weight: 2 },
      });
      s.addAll(items);
      // 'italian food': text finds v2; the embedding also puts v2 first: v2 wins, semantic-only v3 follows
      const got = await s.retrieve(ctxFor({ query: 'italian food' }), 3);
      expect(got[0]?.itemId).toBe('v2');
      expect(got.map((g) => g.itemId)).toContain('v3');
    });
  });

  describe('addItem', () => {
    it('replaces an existing item, removes on takedown, and rejects malformed items', async () => {
      const s = new QuerySource();
      s.addAll(items);
      s.addItem({ itemId: 'v2', title: 'Baking bread' });
      expect(await s.retrieve(ctxFor({ query: 'pasta' }), 5)).toEqual([]);
      s.removeItem('v1');
      s.removeItem('unknown');
      expect((await s.retrieve(ctxFor({ query: 'typescript' }), 5)).map((g) => g.itemId)).toEqual(['v4']);
      expect(s.size).toBe(3);
      await expectCode(() => s.addItem({ itemId: '', title: 'x' }), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
      await expectCode(() => s.addItem({ itemId: 'x', title: 'x', tags: [1 as never] }), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
    });
  });
});

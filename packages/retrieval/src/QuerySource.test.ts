import fc from 'fast-check';
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

    it('ranks items matching more of the query words first', async () => {
      const s = new QuerySource({ fuzzy: 0, prefix: false });
      s.addAll([
        // one word, in both title and tags (a high single-word score)
        { itemId: 'a', title: 'pasta pasta pasta', tags: ['pasta'] },
        { itemId: 'b', title: 'quick dinner', tags: [] },
        { itemId: 'c', title: 'quick pasta dinner for two', tags: ['food'] },
        { itemId: 'd', title: 'something else', tags: ['quick'] },
      ]);
      const got = (await s.retrieve(ctxFor({ query: 'quick pasta' }), 10)).map((g) => g.itemId);
      expect(got[0]).toBe('c'); // the only item with both words
      expect(got.slice(1).sort()).toEqual(['a', 'b', 'd']);
    });

    it('matches prefixes of every word when prefix is on, and only whole words when off', async () => {
      const on = new QuerySource({ fuzzy: 0 });
      on.addAll(items);
      expect((await on.retrieve(ctxFor({ query: 'typ gener' }), 10)).map((g) => g.itemId)).toEqual(['v4', 'v1']);
      const off = new QuerySource({ fuzzy: 0, prefix: false });
      off.addAll(items);
      expect(await off.retrieve(ctxFor({ query: 'typ' }), 10)).toEqual([]);
      expect((await off.retrieve(ctxFor({ query: 'typescript' }), 10)).map((g) => g.itemId).sort()).toEqual(['v1', 'v4']);
    });

    it('tolerates typos within round(fuzzy × length) edits, sharing the first letter', async () => {
      const s = new QuerySource({ prefix: false });
      s.addAll(items);
      expect((await s.retrieve(ctxFor({ query: 'gitar' }), 10)).map((g) => g.itemId)).toEqual(['v3']); // 1 edit, 5 letters
      expect((await s.retrieve(ctxFor({ query: 'typescrpit' }), 10)).map((g) => g.itemId).sort()).toEqual(['v1', 'v4']); // 2 edits
      // Semantic difference from MiniSearch (documented): a typo in the first letter is not matched
      expect(await s.retrieve(ctxFor({ query: 'cuitar' }), 10)).toEqual([]);
      const exact = new QuerySource({ fuzzy: 0, prefix: false });
      exact.addAll(items);
      expect(await exact.retrieve(ctxFor({ query: 'gitar' }), 10)).toEqual([]);
    });

    it('caps the variants per word (maxExpansions)', async () => {
      const s = new QuerySource({ fuzzy: 0, maxExpansions: 2 });
      s.addAll(['alpha', 'alps', 'altitude', 'alto', 'alum'].map((w, i) => ({ itemId: `w${i}`, title: w })));
      expect(await s.retrieve(ctxFor({ query: 'al' }), 10)).toHaveLength(2);
      const all = new QuerySource({ fuzzy: 0 });
      all.addAll(['alpha', 'alps', 'altitude', 'alto', 'alum'].map((w, i) => ({ itemId: `w${i}`, title: w })));
      expect(await all.retrieve(ctxFor({ query: 'al' }), 10)).toHaveLength(5);
    });

    it('reads at most maxPostings postings: past it, only the newest items are scored', async () => {
      const s = new QuerySource({ fuzzy: 0, prefix: false, maxPostings: 3 });
      s.addAll(Array.from({ length: 10 }, (_, i) => ({ itemId: `n${i}`, title: 'common words here' })));
      expect((await s.retrieve(ctxFor({ query: 'common' }), 10)).map((g) => g.itemId).sort()).toEqual(['n7', 'n8', 'n9']);
      // two words share the budget over one window of newest items: 2 postings per item, 3 allowed → 1 item
      expect((await s.retrieve(ctxFor({ query: 'common words' }), 10)).map((g) => g.itemId)).toEqual(['n9']);
    });

    it('finds exactly the live items holding a query word, scores descending (property)', async () => {
      const vocab = ['red', 'blue', 'green', 'fast', 'slow', 'cat', 'dog', 'live'];
      const word = fc.constantFrom(...vocab);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ title: fc.array(word, { minLength: 1, maxLength: 4 }), tags: fc.array(word, { maxLength: 3 }) }), {
            minLength: 1,
            maxLength: 40,
          }),
          fc.array(fc.nat(39), { maxLength: 10 }),
          fc.array(word, { minLength: 1, maxLength: 3 }),
          async (docs, removed, query) => {
            const s = new QuerySource({ fuzzy: 0, prefix: false });
            docs.forEach((d, i) => s.addItem({ itemId: `d${i}`, title: d.title.join(' '), tags: d.tags }));
            for (const r of removed) s.removeItem(`d${r}`);
            const gone = new Set(removed.map((r) => `d${r}`));
            const want = docs
              .map((d, i) => ({ id: `d${i}`, words: new Set([...d.title, ...d.tags]) }))
              .filter((d) => !gone.has(d.id) && query.some((q) => d.words.has(q)))
              .map((d) => d.id)
              .sort();
            const got = await s.retrieve(ctxFor({ query: query.join(' ') }), 100);
            expect(got.map((g) => g.itemId).sort()).toEqual(want);
            for (let i = 1; i < got.length; i++) expect(got[i - 1]!.score).toBeGreaterThanOrEqual(got[i]!.score);
            expect(s.size).toBe(docs.length - gone.size + [...gone].filter((g) => Number(g.slice(1)) >= docs.length).length);
          },
        ),
        { numRuns: 150 },
      );
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
      await expectCode(() => s.addItem({ itemId: 'x', title: 'x', text: 3 as never }), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
      await expectCode(() => s.addItem({ itemId: 'x', title: undefined as never }), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
    });

    it('keeps results right across tombstone compaction (many removals and replacements)', async () => {
      const s = new QuerySource({ fuzzy: 0, prefix: false });
      s.addAll(Array.from({ length: 3000 }, (_, i) => ({ itemId: `x${i}`, title: i % 2 === 0 ? 'even item' : 'odd item' })));
      for (let i = 0; i < 2800; i++) s.removeItem(`x${i}`); // tombstones outnumber live items: compacts
      for (let i = 2800; i < 2900; i++) s.addItem({ itemId: `x${i}`, title: 'replaced item' });
      expect(s.size).toBe(200);
      expect((await s.retrieve(ctxFor({ query: 'even' }), 1000)).map((g) => g.itemId).sort()).toEqual(
        Array.from({ length: 50 }, (_, j) => `x${2900 + 2 * j}`).sort(),
      );
      expect(await s.retrieve(ctxFor({ query: 'replaced' }), 1000)).toHaveLength(100);
      expect(await s.retrieve(ctxFor({ query: 'item' }), 1000)).toHaveLength(200);
    });
  });

  describe('options', () => {
    it('rejects bad options with RECSPINE_ERR_RETRIEVAL_CONFIG', async () => {
      const code = 'RECSPINE_ERR_RETRIEVAL_CONFIG';
      await expectCode(() => new QuerySource({ fuzzy: 1 }), code);
      await expectCode(() => new QuerySource({ fuzzy: -0.1 }), code);
      await expectCode(() => new QuerySource({ maxPostings: 0 }), code);
      await expectCode(() => new QuerySource({ maxExpansions: 1.5 }), code);
      await expectCode(() => new QuerySource({ maxQueryWords: 9 }), code);
      await expectCode(() => new QuerySource({ boost: { title: -1 } }), code);
      await expectCode(() => new QuerySource({ boost: { tags: Number.NaN } }), code);
      await expectCode(() => new QuerySource({ embedding: { encode: undefined as never, index: new ExactIndex({ dims: 2 }) } }), code);
    });

    it('uses at most maxQueryWords words', async () => {
      const s = new QuerySource({ fuzzy: 0, prefix: false, maxQueryWords: 1 });
      s.addAll(items);
      expect(await s.retrieve(ctxFor({ query: 'zzz typescript' }), 10)).toEqual([]);
      expect(await s.retrieve(ctxFor({ query: 'typescript zzz' }), 10)).toHaveLength(2);
    });
  });
});

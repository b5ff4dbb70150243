import { describe, expect, it } from 'vitest';
import { annContract } from '../test/annContract.js';
import { randomItems, row } from '../test/helpers.js';
import { ExactIndex } from './ExactIndex.js';
import { cosine, dot } from './internal/vector.js';

describe('ExactIndex', () => {
  annContract('exact', (dims, metric) => new ExactIndex({ dims, metric }));

  describe('search', () => {
    it('equals a plain-JS brute force top-k (ip and cos)', () => {
      const D = 16;
      const { ids, vectors } = randomItems(500, D, 9);
      // de-normalise so ip and cos differ
      for (let i = 0; i < vectors.length; i++) vectors[i] = (vectors[i] as number) * (1 + (i % 7));
      for (const metric of ['ip', 'cos'] as const) {
        const idx = new ExactIndex({ dims: D, metric });
        idx.upsertBatch(ids, vectors);
        const q = randomItems(1, D, 77).vectors;
        const f = metric === 'ip' ? dot : cosine;
        const brute = ids
          .map((id, i) => ({ id, s: f(q, row(vectors, i, D)) }))
          .sort((a, b) => b.s - a.s)
          .slice(0, 20);
        const hits = idx.search(q, 20);
        expect(hits.map((h) => h.itemId)).toEqual(brute.map((b) => b.id));
        hits.forEach((h, i) => expect(h.score).toBeCloseTo((brute[i] as { s: number }).s, 3));
      }
    });

    it('stays exact after removals (the last row moves into the hole)', () => {
      const D = 8;
      const { ids, vectors } = randomItems(50, D);
      const idx = new ExactIndex({ dims: D });
      idx.upsertBatch(ids, vectors);
      idx.remove('i0');
      idx.remove('i49');
      idx.remove('i10');
      expect(idx.size).toBe(47);
      expect(idx.search(row(vectors, 48, D), 1)[0]?.itemId).toBe('i48');
      expect(idx.vectorOf('i48')).toEqual(row(vectors, 48, D));
      expect(idx.search(row(vectors, 10, D), 47).map((h) => h.itemId)).not.toContain('i10');
    });
  });

  describe('search with subarray queries', () => {
    it('reads a query that starts mid-buffer correctly (usearch exactSearch ignores byteOffset)', () => {
      const D = 8;
      const { ids, vectors } = randomItems(200, D);
      const idx = new ExactIndex({ dims: D });
      idx.upsertBatch(ids, vectors);
      const view = vectors.subarray(37 * D, 38 * D);
      expect(view.byteOffset).toBeGreaterThan(0);
      expect(idx.search(view, 5)).toEqual(idx.search(view.slice(), 5));
      expect(idx.search(view, 1)[0]?.itemId).toBe('i37');
      expect(idx.searchBatch(vectors.subarray(5 * D, 7 * D), 1).map((h) => h[0]?.itemId)).toEqual(['i5', 'i6']);
    });
  });

  describe('searchBatch', () => {
    it('matches single searches', () => {
      const D = 8;
      const { ids, vectors } = randomItems(100, D);
      const idx = new ExactIndex({ dims: D });
      idx.upsertBatch(ids, vectors);
      const qs = vectors.slice(0, 3 * D);
      const batch = idx.searchBatch(qs, 5);
      for (let i = 0; i < 3; i++) expect(batch[i]).toEqual(idx.search(row(vectors, i, D), 5));
    });
  });
});

/** The behaviour every AnnIndex backend must show; each backend's test file runs it. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnnIndex, AnnMetric } from '../src/AnnIndex.js';
import { ExactIndex } from '../src/ExactIndex.js';
import { loadAnnIndex } from '../src/loadAnnIndex.js';
import { expectCode, randomItems, row } from './helpers.js';

export function annContract(name: string, make: (dims: number, metric: AnnMetric, ef?: number) => AnnIndex): void {
  const D = 8;
  const tmp = mkdtempSync(join(tmpdir(), `recspine-${name}-`));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  describe('search', () => {
    it('finds an item as its own nearest neighbour, best first, without duplicates', () => {
      // A search width of the catalogue size (HNSW ef 300, every IVF list): an approximate backend
      // answers this exactly, given a graph that reaches every node. usearch's multi-threaded batch
      // insert once built one that missed i17 itself at ef 64 and once at ef 300 (CI, 27 Nov), so
      // its test builds this case on one thread; recall has its own tests.
      const idx = make(D, 'cos', 300);
      const { ids, vectors } = randomItems(300, D);
      idx.upsertBatch(ids, vectors);
      expect(idx.size).toBe(300);
      const hits = idx.search(row(vectors, 17, D), 20);
      expect(hits[0]?.itemId).toBe('i17');
      expect(hits[0]?.score).toBeCloseTo(1, 2);
      expect(new Set(hits.map((h) => h.itemId)).size).toBe(hits.length);
      for (let i = 1; i < hits.length; i++)
        expect((hits[i - 1] as { score: number }).score).toBeGreaterThanOrEqual((hits[i] as { score: number }).score - 1e-3);
    });

    it('returns every item when k exceeds the size, and nothing from an empty index', () => {
      const idx = make(D, 'ip');
      expect(idx.search(new Float32Array(D).fill(0.1), 5)).toEqual([]);
      const { ids, vectors } = randomItems(30, D);
      idx.upsertBatch(ids, vectors);
      expect(idx.search(row(vectors, 0, D), 2000)).toHaveLength(30);
    });

    it('scores inner product as the dot product', () => {
      const idx = make(4, 'ip');
      idx.upsertBatch(['a', 'b'], new Float32Array([1, 0, 0, 0, 0.5, 0.5, 0, 0]));
      const hits = idx.search(new Float32Array([2, 0, 0, 0]), 2);
      expect(hits.map((h) => h.itemId)).toEqual(['a', 'b']);
      if (idx.quantization === 'f32') expect(hits[0]?.score).toBeCloseTo(2, 3);
    });

    it('rejects k ≤ 0, fractional k and k above maxK with RECSPINE_ERR_ANN_BAD_K', async () => {
      const idx = make(D, 'cos');
      const { ids, vectors } = randomItems(10, D);
      idx.upsertBatch(ids, vectors);
      for (const k of [0, -1, 1.5, Number.NaN, idx.maxK + 1])
        await expectCode(() => idx.search(row(vectors, 0, D), k), 'RECSPINE_ERR_ANN_BAD_K');
    });

    it('rejects a query of the wrong dimension or with NaN/Infinity', async () => {
      const idx = make(D, 'cos');
      const { ids, vectors } = randomItems(10, D);
      idx.upsertBatch(ids, vectors);
      await expectCode(() => idx.search(new Float32Array(D + 1), 3), 'RECSPINE_ERR_ANN_DIMENSION');
      const q = row(vectors, 0, D);
      q[3] = Number.NaN;
      await expectCode(() => idx.search(q, 3), 'RECSPINE_ERR_ANN_NON_FINITE');
      q[3] = Number.POSITIVE_INFINITY;
      await expectCode(() => idx.search(q, 3), 'RECSPINE_ERR_ANN_NON_FINITE');
    });

    it('applies a predicate: only accepted items come back, up to k of them', () => {
      const idx = make(D, 'cos');
      const { ids, vectors } = randomItems(400, D);
      idx.upsertBatch(ids, vectors);
      const allowed = (id: string): boolean => Number(id.slice(1)) % 10 === 3; // 40 items
      const hits = idx.search(row(vectors, 0, D), 25, { predicate: allowed });
      expect(hits).toHaveLength(25);
      for (const h of hits) expect(allowed(h.itemId)).toBe(true);
      expect(idx.search(row(vectors, 0, D), 100, { predicate: allowed }).length).toBeLessThanOrEqual(40);
      expect(idx.search(row(vectors, 0, D), 10, { predicate: () => false })).toEqual([]);
    });
  });

  describe('upsertBatch', () => {
    it('rejects a wrong dimension or a non-finite value and leaves the index unchanged', async () => {
      const idx = make(D, 'cos');
      const { ids, vectors } = randomItems(5, D);
      idx.upsertBatch(ids, vectors);
      await expectCode(() => idx.upsertBatch(['x', 'y'], new Float32Array(D * 2 - 1)), 'RECSPINE_ERR_ANN_DIMENSION');
      const bad = new Float32Array(D * 2).fill(0.3);
      bad[D + 2] = Number.NaN;
      await expectCode(() => idx.upsertBatch(['x', 'y'], bad), 'RECSPINE_ERR_ANN_NON_FINITE');
      await expectCode(() => idx.upsertBatch(['', 'y'], new Float32Array(D * 2).fill(0.3)), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
      expect(idx.size).toBe(5);
      expect(idx.has('x')).toBe(false);
      expect(idx.has('y')).toBe(false);
    });

    it('replaces the vector of an existing id', () => {
      const idx = make(4, 'cos');
      idx.upsertBatch(['a', 'b'], new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]));
      idx.upsert('a', new Float32Array([0, 0, 1, 0]));
      expect(idx.size).toBe(2);
      expect(idx.search(new Float32Array([0, 0, 1, 0]), 1)[0]?.itemId).toBe('a');
      expect(idx.search(new Float32Array([1, 0, 0, 0]), 2).map((h) => h.itemId)).not.toContain(undefined);
    });
  });

  describe('remove', () => {
    it('hides a removed item from search, and a later upsert brings it back', () => {
      const idx = make(D, 'cos');
      const { ids, vectors } = randomItems(100, D);
      idx.upsertBatch(ids, vectors);
      idx.remove('i7');
      expect(idx.has('i7')).toBe(false);
      expect(idx.size).toBe(99);
      expect(idx.search(row(vectors, 7, D), 99).map((h) => h.itemId)).not.toContain('i7');
      idx.upsert('i7', row(vectors, 7, D));
      expect(idx.search(row(vectors, 7, D), 1)[0]?.itemId).toBe('i7');
      expect([...idx.ids()]).toHaveLength(100);
    });

    it('rejects an unknown or already removed item with RECSPINE_ERR_ANN_UNKNOWN_ITEM', async () => {
      const idx = make(D, 'cos');
      const { ids, vectors } = randomItems(3, D);
      idx.upsertBatch(ids, vectors);
      await expectCode(() => idx.remove('nope'), 'RECSPINE_ERR_ANN_UNKNOWN_ITEM');
      idx.remove('i1');
      await expectCode(() => idx.remove('i1'), 'RECSPINE_ERR_ANN_UNKNOWN_ITEM');
    });
  });

  describe('save', () => {
    it('round-trips through disk with the same results, removals included', async () => {
      const idx = make(D, 'cos');
      const { ids, vectors } = randomItems(200, D);
      idx.upsertBatch(ids, vectors);
      idx.remove('i3');
      const dir = join(tmp, 'rt');
      await idx.save(dir);
      const back = await loadAnnIndex(dir);
      expect(back.backend).toBe(idx.backend);
      expect(back.quantization).toBe(idx.quantization);
      expect(back.size).toBe(199);
      expect(back.has('i3')).toBe(false);
      const q = row(vectors, 5, D);
      expect(back.search(q, 10).map((h) => h.itemId)).toEqual(idx.search(q, 10).map((h) => h.itemId));
      back.upsert('new', q);
      expect(back.search(q, 2).map((h) => h.itemId)).toContain('new');
    });

    it('replaces an existing directory atomically', async () => {
      const dir = join(tmp, 'replace');
      const a = make(D, 'cos');
      a.upsertBatch(['a'], new Float32Array(D).fill(0.5));
      await a.save(dir);
      const b = make(D, 'cos');
      b.upsertBatch(['b', 'c'], new Float32Array(2 * D).fill(0.5));
      await b.save(dir);
      expect((await loadAnnIndex(dir)).size).toBe(2);
    });
  });

  describe('loadAnnIndex', () => {
    async function saved(sub: string): Promise<string> {
      const idx = make(D, 'cos');
      const { ids, vectors } = randomItems(150, D);
      idx.upsertBatch(ids, vectors);
      const dir = join(tmp, sub);
      await idx.save(dir);
      return dir;
    }

    it('rejects a truncated index file with RECSPINE_ERR_ANN_CORRUPT_FILE instead of crashing', async () => {
      const dir = await saved('trunc');
      const f = join(dir, 'index.bin');
      const buf = readFileSync(f);
      writeFileSync(f, buf.subarray(0, Math.floor(buf.length / 2)));
      await expectCode(() => loadAnnIndex(dir), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
    });

    it('rejects a flipped byte, a missing manifest and garbage ids', async () => {
      const dir = await saved('flip');
      const f = join(dir, 'index.bin');
      const buf = readFileSync(f);
      buf[buf.length >> 1] = (buf[buf.length >> 1] as number) ^ 0xff;
      writeFileSync(f, buf);
      await expectCode(() => loadAnnIndex(dir), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
      const dir2 = await saved('nomanifest');
      unlinkSync(join(dir2, 'manifest.json'));
      await expectCode(() => loadAnnIndex(dir2), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
      await expectCode(() => loadAnnIndex(join(tmp, 'does-not-exist')), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
      expect(existsSync(dir2)).toBe(true);
    });
  });

  describe('property: agreement with exact search', () => {
    // Stated bound: every random catalog ≥ 0.8, and ≥ 0.95 on average over the runs. The graph
    // build is not seeded (level assignment is random in the library), so one small random graph
    // can occasionally miss a neighbour or two at top-10 (seen once in CI: 0.84); the average is
    // what the ANN promises, the per-case floor catches a broken search.
    it('top-10 at high ef agrees with exact top-10 on random small catalogs: each ≥ 0.8, mean ≥ 0.95', () => {
      const recalls: number[] = [];
      fc.assert(
        fc.property(
          fc.integer({ min: 20, max: 400 }),
          fc.integer({ min: 2, max: 16 }),
          fc.integer({ min: 1, max: 1e6 }),
          (n, dims, seed) => {
            const { ids, vectors } = randomItems(n, dims, seed);
            const ann = make(dims, 'cos', 200);
            const exact = new ExactIndex({ dims, metric: 'cos' });
            ann.upsertBatch(ids, vectors);
            exact.upsertBatch(ids, vectors);
            const k = Math.min(10, n);
            let recall = 0;
            const queries = 5;
            for (let q = 0; q < queries; q++) {
              const query = randomItems(1, dims, seed * 31 + q, 'q').vectors;
              const truth = new Set(exact.search(query, k).map((h) => h.itemId));
              recall += ann.search(query, k).filter((h) => truth.has(h.itemId)).length / k;
            }
            recalls.push(recall / queries);
            expect(recall / queries).toBeGreaterThanOrEqual(0.8);
          },
        ),
        { numRuns: 25, seed: 4242 },
      );
      expect(recalls.reduce((a, b) => a + b, 0) / recalls.length).toBeGreaterThanOrEqual(0.95);
    });
  });
}

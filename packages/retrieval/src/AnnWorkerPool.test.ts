import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCode, randomItems, row } from '../test/helpers.js';
import { AnnWorkerPool } from './AnnWorkerPool.js';
import { ExactIndex } from './ExactIndex.js';
import { HnswlibIndex } from './HnswlibIndex.js';
import { UsearchIndex } from './UsearchIndex.js';

const D = 8;
const tmp = mkdtempSync(join(tmpdir(), 'recspine-pool-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('AnnWorkerPool', () => {
  for (const backend of ['usearch', 'hnswlib'] as const) {
    describe(`search (${backend})`, () => {
      it('answers from worker threads with the same results as the in-process index', async () => {
        const { ids, vectors } = randomItems(800, D);
        const index = backend === 'usearch' ? new UsearchIndex({ dims: D, quantization: 'f16' }) : new HnswlibIndex({ dims: D });
        index.upsertBatch(ids, vectors);
        index.remove('i5');
        const dir = join(tmp, backend);
        await index.save(dir);
        const pool = await AnnWorkerPool.start({ dir, workers: 2 });
        try {
          expect(pool.workers).toBe(2);
          const qs = [0, 1, 2, 3].map((i) => row(vectors, i, D));
          const got = await Promise.all(qs.map((q) => pool.search(q, 25)));
          got.forEach((hits, i) => expect(hits.map((h) => h.itemId)).toEqual(index.search(qs[i] as Float32Array, 25).map((h) => h.itemId)));
          expect((await pool.search(row(vectors, 5, D), 800)).map((h) => h.itemId)).not.toContain('i5');
          const filtered = await pool.search(qs[0] as Float32Array, 10, { predicate: (id) => id.endsWith('7') });
          expect(filtered).toHaveLength(10);
          expect(filtered.every((h) => h.itemId.endsWith('7'))).toBe(true);
          // deltas reach every worker
          const v = randomItems(1, D, 999).vectors;
          pool.upsert('fresh', v);
          const after = await Promise.all([pool.search(v, 1), pool.search(v, 1), pool.search(v, 1)]);
          for (const a of after) expect(a[0]?.itemId).toBe('fresh');
          pool.remove('fresh');
          expect((await pool.search(v, 3)).map((h) => h.itemId)).not.toContain('fresh');
          await expectCode(() => pool.remove('fresh'), 'RECSPINE_ERR_ANN_UNKNOWN_ITEM');
          await expectCode(() => pool.search(new Float32Array(D + 1), 3), 'RECSPINE_ERR_ANN_DIMENSION');
          await expectCode(() => pool.search(v, 0), 'RECSPINE_ERR_ANN_BAD_K');
        } finally {
          await pool.close();
        }
        await expectCode(() => pool.search(row(vectors, 0, D), 3), 'RECSPINE_ERR_ANN_WORKER');
      });
    });
  }

  describe('reload', () => {
    it('moves to another saved version, and refuses a corrupt one while the old keeps serving', async () => {
      const a = randomItems(300, D, 1, 'a');
      const b = randomItems(300, D, 2, 'b');
      const ia = new UsearchIndex({ dims: D });
      ia.upsertBatch(a.ids, a.vectors);
      const ib = new UsearchIndex({ dims: D });
      ib.upsertBatch(b.ids, b.vectors);
      await ia.save(join(tmp, 'A'));
      await ib.save(join(tmp, 'B'));
      const pool = await AnnWorkerPool.start({ dir: join(tmp, 'A') });
      try {
        const q = row(a.vectors, 0, D);
        expect((await pool.search(q, 1))[0]?.itemId).toBe('a0');
        const f = join(tmp, 'B', 'index.bin');
        const good = readFileSync(f);
        writeFileSync(f, good.subarray(0, 64));
        await expectCode(() => pool.reload(join(tmp, 'B')), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
        expect((await pool.search(q, 1))[0]?.itemId).toBe('a0');
        writeFileSync(f, good);
        await pool.reload(join(tmp, 'B'));
        expect((await pool.search(row(b.vectors, 0, D), 1))[0]?.itemId).toBe('b0');
      } finally {
        await pool.close();
      }
    });
  });

  describe('start', () => {
    it('rejects bad options and exact indexes', async () => {
      await expectCode(() => AnnWorkerPool.start({ dir: join(tmp, 'nothing') }), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
      const e = new ExactIndex({ dims: D });
      e.upsert('x', new Float32Array(D).fill(1));
      await e.save(join(tmp, 'exact'));
      await expectCode(() => AnnWorkerPool.start({ dir: join(tmp, 'exact') }), 'RECSPINE_ERR_ANN_CONFIG');
      await expectCode(() => AnnWorkerPool.start({ dir: join(tmp, 'exact'), workers: 0 }), 'RECSPINE_ERR_ANN_CONFIG');
    });
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusteredItems, userQueries } from '../bench/data.js';
import { annContract } from '../test/annContract.js';
import { expectCode, randomItems, row } from '../test/helpers.js';
import { ExactIndex } from './ExactIndex.js';
import { IvfIndex } from './IvfIndex.js';
import { loadAnnIndex } from './loadAnnIndex.js';

describe('IvfIndex', () => {
  // Untrained: below trainAt every search is an exact scan of one list.
  describe('contract, untrained', () => {
    annContract('ivf-flat', (dims, metric) => new IvfIndex({ dims, metric }));
  });
  // Trained at 16 items into 4 lists; "high ef" probes every list.
  describe('contract, trained', () => {
    annContract('ivf', (dims, metric, ef) => new IvfIndex({ dims, metric, lists: 4, trainAt: 16, probes: ef === undefined ? 2 : 4 }));
  });
  // The same two, with the int8 scan (and the exact re-scoring).
  describe('contract, untrained, i8', () => {
    annContract('ivf-flat-i8', (dims, metric) => new IvfIndex({ dims, metric, quantization: 'i8' }));
  });
  describe('contract, trained, i8', () => {
    annContract(
      'ivf-i8',
      (dims, metric, ef) => new IvfIndex({ dims, metric, quantization: 'i8', lists: 4, trainAt: 16, probes: ef === undefined ? 2 : 4 }),
    );
  });

  const tmp = mkdtempSync(join(tmpdir(), 'recspine-ivf-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const D = 24;
  const world = clusteredItems(6000, D, { clusters: 40, seed: 5 });
  const queries = userQueries(world, 20, 9);

  function truthOf(exact: ExactIndex, q: Float32Array, k: number): Set<string> {
    return new Set(exact.search(q, k).map((h) => h.itemId));
  }

  it('trains on reaching trainAt, then answers with high recall at few probes and exactly at all probes', () => {
    const ivf = new IvfIndex({ dims: D, lists: 64, trainAt: 4000, probes: 8 });
    const exact = new ExactIndex({ dims: D });
    ivf.upsertBatch(world.ids.slice(0, 3000), world.vectors.subarray(0, 3000 * D));
    expect(ivf.isTrained).toBe(false);
    expect(ivf.info().lists).toBe(1);
    ivf.upsertBatch(world.ids.slice(3000), world.vectors.subarray(3000 * D));
    expect(ivf.isTrained).toBe(true);
    expect(ivf.info()).toMatchObject({ backend: 'ivf', lists: 64, probes: 8, size: 6000, filterMode: 'post' });
    exact.upsertBatch(world.ids, world.vectors);
    let recall = 0;
    for (const q of queries) {
      const truth = truthOf(exact, q, 100);
      recall += ivf.search(q, 100).filter((h) => truth.has(h.itemId)).length / 100;
      const all = ivf.searchExact(q, 100);
      expect(all.filter((h) => truth.has(h.itemId)).length).toBeGreaterThanOrEqual(99); // ties at the boundary aside
      const e = exact.search(q, 100);
      expect(all[0]?.score).toBeCloseTo(e[0]?.score as number, 4);
    }
    expect(recall / queries.length).toBeGreaterThanOrEqual(0.9);
    ivf.setProbes(64);
    for (const q of queries.slice(0, 5)) {
      expect(ivf.search(q, 50).map((h) => h.itemId)).toEqual(ivf.searchExact(q, 50).map((h) => h.itemId));
    }
  });

  it('scans more lists when the probed ones hold fewer than k items', () => {
    const ivf = new IvfIndex({ dims: D, lists: 64, trainAt: 6000, probes: 1 });
    ivf.upsertBatch(world.ids, world.vectors);
    expect(ivf.search(queries[0] as Float32Array, 2000)).toHaveLength(2000);
  });

  it.each(['f32', 'i8'] as const)('keeps every item findable through list growth, moves, compaction and removals (%s)', (quantization) => {
    const ivf = new IvfIndex({ dims: D, lists: 16, trainAt: 500, probes: 16, quantization });
    const exact = new ExactIndex({ dims: D });
    // One at a time: lists fill, move to the end of the slab with twice the room, and compact.
    for (let i = 0; i < 3000; i++) {
      const v = row(world.vectors, i, D);
      ivf.upsert(world.ids[i] as string, v);
      exact.upsert(world.ids[i] as string, v);
    }
    for (let i = 0; i < 3000; i += 3) {
      ivf.remove(world.ids[i] as string);
      exact.remove(world.ids[i] as string);
    }
    // Re-upsert some with other vectors (they may change list).
    for (let i = 1; i < 600; i += 7) {
      const v = row(world.vectors, 5999 - i, D);
      ivf.upsert(world.ids[i] as string, v);
      exact.upsert(world.ids[i] as string, v);
    }
    expect(ivf.size).toBe(exact.size);
    expect(new Set(ivf.ids())).toEqual(new Set(exact.ids()));
    for (const q of queries.slice(0, 8)) {
      const a = ivf.search(q, 200);
      const truth = truthOf(exact, q, 200);
      expect(a.filter((h) => truth.has(h.itemId)).length).toBeGreaterThanOrEqual(198);
    }
    // Every live item is its own nearest neighbour.
    for (let i = 1; i < 3000; i += 97) {
      if (i % 3 === 0) continue;
      const id = world.ids[i] as string;
      const v = i < 600 && (i - 1) % 7 === 0 ? row(world.vectors, 5999 - i, D) : row(world.vectors, i, D);
      expect(ivf.search(v, 1)[0]?.score).toBeCloseTo(1, 4);
      expect(ivf.search(v, 5).some((h) => h.itemId === id)).toBe(true);
    }
    // All lists probed: the search is exact, so it must agree with the f32 scan of every row (for
    // i8, only if every int8 row and scale moved with its f32 row).
    for (const q of queries.slice(0, 8)) {
      expect(ivf.search(q, 50).map((h) => h.itemId)).toEqual(ivf.searchExact(q, 50).map((h) => h.itemId));
    }
  });

  it.each(['f32', 'i8'] as const)('retrain() re-clusters the current items and search stays exact at all probes (%s)', (quantization) => {
    const ivf = new IvfIndex({ dims: D, lists: 32, trainAt: 1000, probes: 32, quantization });
    ivf.upsertBatch(world.ids.slice(0, 1000), world.vectors.subarray(0, 1000 * D));
    ivf.upsertBatch(world.ids.slice(1000), world.vectors.subarray(1000 * D));
    const before = ivf.search(queries[1] as Float32Array, 30).map((h) => h.itemId);
    ivf.retrain();
    expect(ivf.size).toBe(6000);
    expect(ivf.search(queries[1] as Float32Array, 30).map((h) => h.itemId)).toEqual(before);
  });

  it('starts trained from given centroids: a rebuild needs no training and lands items in the same lists', async () => {
    const a = new IvfIndex({ dims: D, lists: 32, trainAt: 6000, probes: 4 });
    a.upsertBatch(world.ids, world.vectors);
    const centroids = a.centroids() as Float32Array;
    expect(centroids).toHaveLength(32 * D);
    const b = new IvfIndex({ dims: D, probes: 4, centroids });
    expect(b.isTrained).toBe(true);
    expect(b.info().lists).toBe(32);
    for (let off = 0; off < 6000; off += 32) b.upsertBatch(world.ids.slice(off, off + 32), world.vectors.subarray(off * D, (off + 32) * D));
    expect(b.centroids()).toEqual(centroids);
    for (const q of queries.slice(0, 6)) expect(b.search(q, 100).map((h) => h.itemId)).toEqual(a.search(q, 100).map((h) => h.itemId));
    expect(new IvfIndex({ dims: D }).centroids()).toBeUndefined();
    await expectCode(() => new IvfIndex({ dims: D, centroids: new Float32Array(D + 1) }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 2, centroids: new Float32Array([1, Number.NaN]) }), 'RECSPINE_ERR_ANN_NON_FINITE');
  });

  it.each(['f32', 'i8'] as const)('scores ip as raw dot products (no normalisation) (%s)', (quantization) => {
    const ivf = new IvfIndex({ dims: 4, metric: 'ip', lists: 2, trainAt: 4, probes: 2, quantization });
    ivf.upsertBatch(['a', 'b', 'c', 'd'], new Float32Array([3, 0, 0, 0, 0, 2, 0, 0, 1, 0.5, 0, 0, 0, 0, 5, 0]));
    const hits = ivf.search(new Float32Array([1, 1, 0, 0]), 4);
    expect(hits.map((h) => h.itemId)).toEqual(['a', 'b', 'c', 'd']);
    expect(hits.map((h) => h.score)).toEqual([3, 2, 1.5, 0].map((x) => expect.closeTo(x, 5)));
  });

  it('round-trips a trained index with its probes, or probes given at load', async () => {
    const ivf = new IvfIndex({ dims: D, lists: 32, trainAt: 2000, probes: 6 });
    ivf.upsertBatch(world.ids, world.vectors);
    ivf.remove('item-7');
    const dir = join(tmp, 'trained');
    await ivf.save(dir);
    const back = (await loadAnnIndex(dir)) as IvfIndex;
    expect(back.info()).toMatchObject({ backend: 'ivf', lists: 32, probes: 6, size: 5999 });
    for (const q of queries.slice(0, 5)) expect(back.search(q, 100)).toEqual(ivf.search(q, 100));
    const wide = (await loadAnnIndex(dir, { probes: 32 })) as IvfIndex;
    expect(wide.probes).toBe(32);
    await expectCode(() => loadAnnIndex(dir, { expansionSearch: 100 }), 'RECSPINE_ERR_ANN_CONFIG');
  });

  it('maps loaded ids through internIds (the caller’s own strings), and refuses a mapping to another id', async () => {
    const ivf = new IvfIndex({ dims: D, lists: 32, trainAt: 2000, probes: 6 });
    ivf.upsertBatch(world.ids, world.vectors);
    ivf.remove('item-7');
    const dir = join(tmp, 'intern');
    await ivf.save(dir);
    const mine = new Map(world.ids.map((id) => [id, id]));
    const asked: string[] = [];
    const back = (await loadAnnIndex(dir, {
      internIds: (id) => {
        asked.push(id);
        return mine.get(id) ?? id;
      },
    })) as IvfIndex;
    expect(new Set(asked).size).toBe(5999);
    expect(asked).not.toContain('item-7');
    for (const q of queries.slice(0, 5)) expect(back.search(q, 100)).toEqual(ivf.search(q, 100));
    await expectCode(() => loadAnnIndex(dir, { internIds: (id) => (id === 'item-3' ? 'item-4' : id) }), 'RECSPINE_ERR_ANN_CONFIG');
  });

  it('rejects a saved file whose list sizes do not add up, even with valid checksums', async () => {
    const ivf = new IvfIndex({ dims: 4, lists: 2, trainAt: 4 });
    const { ids, vectors } = randomItems(10, 4);
    ivf.upsertBatch(ids, vectors);
    const dir = join(tmp, 'sizes');
    await ivf.save(dir);
    // Rewrite the last list size and fix the manifest's checksum: only the layout check can catch it.
    const f = join(dir, 'index.bin');
    const buf = readFileSync(f);
    buf.writeUInt32LE(buf.readUInt32LE(buf.length - 4) + 1, buf.length - 4);
    writeFileSync(f, buf);
    const { createHash } = await import('node:crypto');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: { index: { sha256: string } } };
    m.files.index.sha256 = createHash('sha256').update(buf).digest('hex');
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    await expectCode(() => loadAnnIndex(dir), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
  });

  it('rejects bad options and bad probes with RECSPINE_ERR_ANN_CONFIG', async () => {
    await expectCode(() => new IvfIndex({ dims: 0 }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 4, metric: 'l2' as never }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 4, lists: 0 }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 4, lists: 64, trainAt: 10 }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 4, probes: 1.5 }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 4 }).setProbes(0), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 4 }).upsertBatch([''], new Float32Array(4)), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
    await expectCode(() => new IvfIndex({ dims: 4, quantization: 'f16' as never }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 4, quantization: 'int8' as never }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IvfIndex({ dims: 4, rescore: { oversample: 2 } }), 'RECSPINE_ERR_ANN_CONFIG'); // f32 needs none
    for (const oversample of [0.5, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, '2' as never]) {
      await expectCode(() => new IvfIndex({ dims: 4, quantization: 'i8', rescore: { oversample } }), 'RECSPINE_ERR_ANN_CONFIG');
    }
    await expectCode(() => new IvfIndex({ dims: 4, quantization: 'i8', rescore: null as never }), 'RECSPINE_ERR_ANN_CONFIG');
    expect(new IvfIndex({ dims: 4, quantization: 'i8', rescore: { oversample: 1 } }).info().rescoreOversample).toBe(1);
  });

  describe('quantization: i8', () => {
    // The same world (24 dims: not a multiple of 16), and an f32 index and i8 indexes sharing its
    // centroids, so every item sits in the same list and only the scan differs.
    const f32 = new IvfIndex({ dims: D, lists: 64, trainAt: 6000, probes: 8 });
    f32.upsertBatch(world.ids, world.vectors);
    const centroids = f32.centroids() as Float32Array;
    const i8Of = (oversample?: number): IvfIndex => {
      const ix = new IvfIndex({
        dims: D,
        probes: 8,
        centroids,
        quantization: 'i8',
        ...(oversample === undefined ? {} : { rescore: { oversample } }),
      });
      ix.upsertBatch(world.ids, world.vectors);
      return ix;
    };
    const i8 = i8Of();
    const exact = new ExactIndex({ dims: D });
    exact.upsertBatch(world.ids, world.vectors);
    const recallOf = (ix: IvfIndex, k: number): number => {
      let r = 0;
      for (const q of queries) {
        const truth = truthOf(exact, q, k);
        r += ix.search(q, k).filter((h) => truth.has(h.itemId)).length / k;
      }
      return r / queries.length;
    };

    it('recall@100 at the same probes is within 0.01 of f32 (and within 0.02 re-scoring only k + 32 candidates)', () => {
      const base = recallOf(f32, 100);
      expect(base).toBeGreaterThanOrEqual(0.9);
      expect(Math.abs(recallOf(i8, 100) - base)).toBeLessThanOrEqual(0.01);
      // oversample 1: 132 candidates of the ≈ 750 rows probed. A broken approximate score (sign,
      // scale, stale rows) leaves the true top 100 outside them and recall falls far below f32's.
      expect(recallOf(i8Of(1), 100)).toBeGreaterThanOrEqual(base - 0.02);
      expect(Math.abs(recallOf(i8, 10) - recallOf(f32, 10))).toBeLessThanOrEqual(0.01);
    });

    it('returns exact f32 scores: the f32 index’s hits and scores, and searchExact is the f32 scan', () => {
      for (const q of queries) {
        const a = i8.search(q, 100);
        const b = f32.search(q, 100);
        expect(a.map((h) => h.itemId)).toEqual(b.map((h) => h.itemId));
        const qn = Math.hypot(...q);
        for (let j = 0; j < a.length; j++) {
          const hit = a[j] as { itemId: string; score: number };
          expect(hit.score).toBeCloseTo((b[j] as { score: number }).score, 6);
          // …and the cosine itself, computed here in f64 from the inserted vector.
          const i = Number(hit.itemId.slice(5));
          const v = row(world.vectors, i, D);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += (v[d] as number) * (q[d] as number);
          expect(hit.score).toBeCloseTo(dot / (Math.hypot(...v) * qn), 5);
        }
        expect(i8.searchExact(q, 100)).toEqual(f32.searchExact(q, 100));
      }
    });

    it('a predicate filters the re-scored hits', () => {
      const even = (id: string): boolean => Number(id.slice(5)) % 2 === 0;
      for (const q of queries.slice(0, 5)) {
        const a = i8.search(q, 60, { predicate: even });
        expect(a).toHaveLength(60);
        expect(a.every((h) => even(h.itemId))).toBe(true);
        expect(a.map((h) => h.itemId)).toEqual(f32.search(q, 60, { predicate: even }).map((h) => h.itemId));
      }
    });

    it('info() reports the quantization and the oversample; memory grows by the int8 rows and scales', () => {
      expect(i8.info()).toMatchObject({ backend: 'ivf', quantization: 'i8', rescoreOversample: 1.5, lists: 64, probes: 8, size: 6000 });
      expect(i8.quantization).toBe('i8');
      expect(f32.info().quantization).toBe('f32');
      expect(f32.info()).not.toHaveProperty('rescoreOversample');
      // 24 dims: f32 rows padded to 32 floats (128 B), int8 rows to 32 B, plus a 4 B scale per slot
      // (against an f32 index filled the same way, so both have the same lists and slack).
      const same = new IvfIndex({ dims: D, probes: 8, centroids });
      same.upsertBatch(world.ids, world.vectors);
      const f32Rows = same.info().bytesEstimate - 128 * (1 + 64); // the query and the centroids before the slab
      const extra = i8.info().bytesEstimate - same.info().bytesEstimate;
      expect(f32Rows).toBeGreaterThanOrEqual(6000 * 128);
      expect(extra / f32Rows).toBeGreaterThan(36 / 128 - 0.005);
      expect(extra / f32Rows).toBeLessThan(36 / 128 + 0.005);
    });

    it('round-trips through save/load (quantization and oversample in the manifest, { rescore } at load)', async () => {
      const ix = i8Of(1.25);
      ix.remove('item-7');
      const dir = join(tmp, 'i8');
      await ix.save(dir);
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { quantization: string; options: Record<string, number> };
      expect(m.quantization).toBe('i8');
      expect(m.options.rescoreOversample).toBe(1.25);
      const back = (await loadAnnIndex(dir)) as IvfIndex;
      expect(back.info()).toMatchObject({ quantization: 'i8', rescoreOversample: 1.25, lists: 64, probes: 8, size: 5999 });
      for (const q of queries.slice(0, 5)) expect(back.search(q, 100)).toEqual(ix.search(q, 100));
      const wide = (await loadAnnIndex(dir, { rescore: { oversample: 3 }, probes: 64 })) as IvfIndex;
      expect(wide.info()).toMatchObject({ rescoreOversample: 3, probes: 64 });
      for (const q of queries.slice(0, 3)) expect(wide.search(q, 50)).toEqual(wide.searchExact(q, 50));
      await expectCode(() => loadAnnIndex(dir, { rescore: { oversample: 0.5 } }), 'RECSPINE_ERR_ANN_CONFIG');
      await expectCode(() => loadAnnIndex(dir, { rescore: { oversample: 2, vectors: exact } }), 'RECSPINE_ERR_ANN_CONFIG');
      // The file holds the f32 rows either way: the same bytes as the f32 index's.
      const f32dir = join(tmp, 'i8-f32');
      const f = new IvfIndex({ dims: D, probes: 8, centroids });
      f.upsertBatch(world.ids, world.vectors);
      f.remove('item-7');
      await f.save(f32dir);
      expect(readFileSync(join(dir, 'index.bin')).equals(readFileSync(join(f32dir, 'index.bin')))).toBe(true);
      await expectCode(() => loadAnnIndex(f32dir, { rescore: { oversample: 2 } }), 'RECSPINE_ERR_ANN_CONFIG');
    });

    it('loads a manifest written before quantization existed as f32, and refuses an unknown quantization', async () => {
      const dir = join(tmp, 'old-manifest');
      await f32.save(dir);
      const path = join(dir, 'manifest.json');
      const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      delete m.quantization;
      writeFileSync(path, JSON.stringify(m));
      const back = (await loadAnnIndex(dir)) as IvfIndex;
      expect(back.quantization).toBe('f32');
      for (const q of queries.slice(0, 3)) expect(back.search(q, 100)).toEqual(f32.search(q, 100));
      writeFileSync(path, JSON.stringify({ ...m, quantization: 'f16' }));
      await expectCode(() => loadAnnIndex(dir), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
    });

    it('rejects an i8 file one row short even with valid checksums', async () => {
      const ix = new IvfIndex({ dims: 4, lists: 2, trainAt: 4, quantization: 'i8' });
      const { ids, vectors } = randomItems(10, 4);
      ix.upsertBatch(ids, vectors);
      const dir = join(tmp, 'i8-short');
      await ix.save(dir);
      const f = join(dir, 'index.bin');
      const buf = readFileSync(f);
      const cut = Buffer.concat([buf.subarray(0, buf.length - 2 * 4 - 16), buf.subarray(buf.length - 2 * 4)]); // drop the last row
      writeFileSync(f, cut);
      const { createHash } = await import('node:crypto');
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: { index: { sha256: string; bytes: number } } };
      m.files.index.sha256 = createHash('sha256').update(cut).digest('hex');
      m.files.index.bytes = cut.length;
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
      await expectCode(() => loadAnnIndex(dir), 'RECSPINE_ERR_ANN_CORRUPT_FILE');
    });
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusteredItems, userQueries } from '../bench/data.js';
import { expectCode, randomItems } from '../test/helpers.js';
import { ExactIndex } from './ExactIndex.js';
import { HnswlibIndex } from './HnswlibIndex.js';
import { loadAnnIndex } from './loadAnnIndex.js';
import { type RescoreVectors, UsearchIndex, type UsearchRescoreOptions } from './UsearchIndex.js';
import { cosine } from './internal/vector.js';

const dims = 32;
// Clustered data: many near-ties around the k-th score, which is where i8 quantisation reorders.
const data = clusteredItems(3000, dims, { clusters: 20, seed: 5 });
const queries = userQueries(data, 12, 9);
const exact = new ExactIndex({ dims, metric: 'cos' });
exact.upsertBatch(data.ids, data.vectors);
const k = 200;

function recall(hits: readonly { itemId: string }[], truth: readonly { itemId: string }[]): number {
  const t = new Set(truth.map((h) => h.itemId));
  return hits.filter((h) => t.has(h.itemId)).length / t.size;
}

// ef well above the catalogue size: the graph walk is exhaustive, so any recall loss is quantisation.
function i8(rescore?: UsearchRescoreOptions): UsearchIndex {
  const idx = new UsearchIndex({
    dims,
    quantization: 'i8',
    expansionSearch: 4000,
    buildThreads: 1,
    ...(rescore === undefined ? {} : { rescore }),
  });
  idx.upsertBatch(data.ids, data.vectors);
  return idx;
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('UsearchIndex rescore', () => {
  it('makes an exhaustive i8 search exact: recall 1 and f32 scores, where plain i8 loses recall', () => {
    const plain = i8();
    const rescored = i8({ oversample: 2, vectors: exact });
    let plainRecall = 0;
    let rescoredRecall = 0;
    for (const q of queries) {
      const truth = exact.search(q, k);
      const hits = rescored.search(q, k);
      for (const h of hits) expect(h.score).toBeCloseTo(cosine(q, exact.vectorOf(h.itemId) as Float32Array), 5);
      rescoredRecall += recall(hits, truth) / queries.length;
      plainRecall += recall(plain.search(q, k), truth) / queries.length;
    }
    // Measured (single-threaded build, so deterministic): plain i8 0.985, rescored 1.
    expect(rescoredRecall).toBeGreaterThanOrEqual(0.999);
    expect(plainRecall).toBeLessThan(0.995);
  });

  it('rescores f16 and inner product too', () => {
    const idx = new UsearchIndex({
      dims,
      metric: 'ip',
      quantization: 'f16',
      expansionSearch: 4000,
      buildThreads: 1,
      rescore: { oversample: 1.5, vectors: exact },
    });
    idx.upsertBatch(data.ids, data.vectors);
    const exactIp = new ExactIndex({ dims, metric: 'ip' });
    exactIp.upsertBatch(data.ids, data.vectors);
    const q = queries[0] as Float32Array;
    const hits = idx.search(q, k);
    expect(recall(hits, exactIp.search(q, k))).toBeGreaterThanOrEqual(0.99);
    for (const h of hits) expect(h.score).toBeCloseTo(exactIp.search(q, k).find((e) => e.itemId === h.itemId)?.score ?? Number.NaN, 5);
    expect(idx.info().expansionSearch).toBe(4000);
  });

  it('honours predicates and removals', () => {
    const idx = i8({ oversample: 2, vectors: exact });
    const q = queries[1] as Float32Array;
    const before = idx.search(q, k);
    const gone = before.slice(0, 10).map((h) => h.itemId);
    for (const id of gone) idx.remove(id);
    const after = idx.search(q, k, { predicate: (id) => !id.endsWith('7') });
    expect(after).toHaveLength(k);
    for (const h of after) {
      expect(gone).not.toContain(h.itemId);
      expect(h.itemId.endsWith('7')).toBe(false);
    }
    const scores = after.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('rejects bad rescore options with coded errors', async () => {
    await expectCode(() => new UsearchIndex({ dims, quantization: 'i8', rescore: { oversample: 0.5 } }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new UsearchIndex({ dims, quantization: 'i8', rescore: { oversample: Number.NaN } }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(
      () => new UsearchIndex({ dims, quantization: 'i8', rescore: { oversample: 2, vectors: {} as RescoreVectors } }),
      'RECSPINE_ERR_ANN_CONFIG',
    );
  });

  it('keeps its own f32 copy, so upserts (deltas) are rescored exactly and a replaced vector is used', () => {
    const idx = i8({ oversample: 2 });
    const q = queries[4] as Float32Array;
    // A delta item equal to the query: the best hit, with score 1; then move an item onto the query too.
    idx.upsert('delta', q);
    const moved = data.ids[17] as string;
    idx.upsert(moved, q);
    const hits = idx.search(q, 5);
    expect(
      hits
        .slice(0, 2)
        .map((h) => h.itemId)
        .sort(),
    ).toEqual(['delta', moved].sort());
    for (const h of hits.slice(0, 2)) expect(h.score).toBeCloseTo(1, 6);
    expect(idx.info().bytesEstimate).toBeGreaterThan(i8().info().bytesEstimate + data.ids.length * dims * 4 - 1);
  });

  it('is given its vectors again on load (they are not saved), all of them, and only for usearch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recspine-rescore-'));
    dirs.push(dir);
    await i8({ oversample: 2 }).save(join(dir, 'u'));
    const q = queries[3] as Float32Array;
    await expectCode(() => loadAnnIndex(join(dir, 'u'), { rescore: { oversample: 2 } }), 'RECSPINE_ERR_ANN_CONFIG');
    const known = new Set(data.ids.slice(0, 1500));
    const partial: RescoreVectors = { vectorOf: (id) => (known.has(id) ? exact.vectorOf(id) : undefined) };
    await expectCode(() => loadAnnIndex(join(dir, 'u'), { rescore: { oversample: 2, vectors: partial } }), 'RECSPINE_ERR_ANN_CONFIG');
    const short: RescoreVectors = { vectorOf: () => new Float32Array(dims - 1) };
    await expectCode(() => loadAnnIndex(join(dir, 'u'), { rescore: { oversample: 2, vectors: short } }), 'RECSPINE_ERR_ANN_DIMENSION');
    const nan: RescoreVectors = { vectorOf: () => new Float32Array(dims).fill(Number.NaN) };
    await expectCode(() => loadAnnIndex(join(dir, 'u'), { rescore: { oversample: 2, vectors: nan } }), 'RECSPINE_ERR_ANN_NON_FINITE');
    const loaded = await loadAnnIndex(join(dir, 'u'), { rescore: { oversample: 2, vectors: exact } });
    const hits = loaded.search(q, k);
    expect(recall(hits, exact.search(q, k))).toBeGreaterThanOrEqual(0.99);
    for (const h of hits) expect(h.score).toBeCloseTo(cosine(q, exact.vectorOf(h.itemId) as Float32Array), 5);
    const h = new HnswlibIndex({ dims, initialCapacity: 100 });
    const { ids, vectors } = randomItems(100, dims);
    h.upsertBatch(ids, vectors);
    await h.save(join(dir, 'h'));
    await expectCode(() => loadAnnIndex(join(dir, 'h'), { rescore: { oversample: 2, vectors: exact } }), 'RECSPINE_ERR_ANN_CONFIG');
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusteredItems, userQueries } from '../bench/data.js';
import { expectCode, row } from '../test/helpers.js';
import type { AnnIndex, AnnSearcher } from './AnnIndex.js';
import { ExactIndex } from './ExactIndex.js';
import { HnswlibIndex } from './HnswlibIndex.js';
import { IndexManager, type AnnBuildSpec } from './IndexManager.js';
import { UsearchIndex } from './UsearchIndex.js';

const D = 16;
const K = 50;
// A small clustered catalogue whose clusters are interleaved in input order (as in bench/data.ts).
const data = clusteredItems(4000, D, { clusters: 40, seed: 11 });
const queries = userQueries(data, 60, 3);
const exact = new ExactIndex({ dims: D, metric: 'cos' });
exact.upsertBatch(data.ids, data.vectors);
const truth = queries.map((q) => new Set(exact.search(q, K).map((h) => h.itemId)));

async function recall(index: AnnSearcher): Promise<number> {
  let sum = 0;
  for (let i = 0; i < queries.length; i++) {
    const hits = await index.search(queries[i] as Float32Array, K);
    const t = truth[i] as Set<string>;
    sum += hits.filter((h) => t.has(h.itemId)).length / K;
  }
  return sum / queries.length;
}

/** The ids in label (= insertion, = storage) order. */
function labelOrder(index: AnnIndex): readonly string[] {
  return (index as unknown as { idMap: { labels: string[] } }).idMap.labels;
}

const tmp = mkdtempSync(join(tmpdir(), 'recspine-build-order-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("buildOrder: 'locality'", () => {
  const backends: [string, (order: 'input' | 'locality') => AnnIndex][] = [
    ['hnswlib', (buildOrder) => new HnswlibIndex({ dims: D, connectivity: 16, expansionSearch: 100, initialCapacity: 4096, buildOrder })],
    ['usearch', (buildOrder) => new UsearchIndex({ dims: D, connectivity: 16, expansionSearch: 100, buildOrder })],
  ];

  it.each(backends)('%s: same recall as the input order, ids keep their meaning', async (_name, make) => {
    const plain = make('input');
    plain.upsertBatch(data.ids, data.vectors);
    const local = make('locality');
    local.upsertBatch(data.ids, data.vectors);
    expect(local.size).toBe(data.ids.length);
    // stored in another order than given …
    expect(labelOrder(plain)).toEqual(data.ids);
    expect(labelOrder(local)).not.toEqual(data.ids);
    expect([...labelOrder(local)].sort()).toEqual([...data.ids].sort());
    // … with results of unchanged meaning: an item's own vector finds that item first.
    for (const i of [0, 1234, 3999]) {
      expect(local.search(row(data.vectors, i, D), 1)[0]?.itemId).toBe(data.ids[i]);
    }
    // Same recall level. Bound: within 0.03 of the input order, both ≥ 0.9 (measured: both ≈ 0.99).
    const r0 = await recall(plain);
    const r1 = await recall(local);
    expect(r0).toBeGreaterThanOrEqual(0.9);
    expect(r1).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(r1 - r0)).toBeLessThanOrEqual(0.03);
  });

  it('leaves small batches in the order given', () => {
    const idx = new HnswlibIndex({ dims: D, buildOrder: 'locality' });
    idx.upsertBatch(data.ids.slice(0, 500), data.vectors.subarray(0, 500 * D));
    expect(labelOrder(idx)).toEqual(data.ids.slice(0, 500));
  });

  it('rejects a bad order or tuning with RECSPINE_ERR_ANN_CONFIG', async () => {
    await expectCode(() => new HnswlibIndex({ dims: D, buildOrder: 'random' as never }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(
      () => new UsearchIndex({ dims: D, buildOrder: 'locality', localityOrder: { scaffold: 2 } }),
      'RECSPINE_ERR_ANN_CONFIG',
    );
    await expectCode(
      () => new IndexManager({ dims: D, metric: 'cos', spec: { backend: 'hnswlib', buildOrder: 'sorted' as never } }),
      'RECSPINE_ERR_ANN_CONFIG',
    );
  });

  it.each([
    ['worker', 'hnswlib'],
    ['worker', 'usearch'],
    ['main', 'hnswlib'],
  ] as const)('IndexManager builds a locality-ordered version (%s thread, %s)', async (buildIn, backend) => {
    const spec: AnnBuildSpec = { backend, connectivity: 16, expansionSearch: 100, buildOrder: 'locality' };
    const m = new IndexManager({
      dims: D,
      metric: 'cos',
      spec,
      buildIn,
      buildChunk: 700,
      validation: { k: 20, probes: 20, minRecall: 0.9 },
      worker: { tmpDir: tmp },
    });
    const r = await m.rebuild({ ids: data.ids, vectors: data.vectors, version: 'l1' });
    expect(r.accepted, JSON.stringify(r)).toBe(true);
    expect(await recall(m)).toBeGreaterThanOrEqual(0.9);
    for (const i of [0, 2000, 3999]) expect(m.search(row(data.vectors, i, D), 1)[0]?.itemId).toBe(data.ids[i]);
    if (buildIn === 'main') {
      // the whole input ordered once, not each 700-row slice
      const labels = labelOrder(m.current());
      expect(labels).not.toEqual(data.ids);
      const pos = new Map(data.ids.map((id, i) => [id, i]));
      const firstSlice = labels.slice(0, 700).map((id) => pos.get(id) as number);
      expect(Math.max(...firstSlice)).toBeGreaterThan(700);
    }
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusteredItems, userQueries } from '../bench/data.js';
import { renumberHnswlibFile } from '../bench/hnswlibRenumber.js';
import { HnswlibIndex } from '../src/HnswlibIndex.js';
import { IdMap } from '../src/internal/IdMap.js';
import type { Manifest } from '../src/internal/persist.js';
import { localityOrder } from '../src/localityOrder.js';

const tmp = mkdtempSync(join(tmpdir(), 'recspine-renumber-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('renumberHnswlibFile (bench tool)', () => {
  it('moves nodes without changing the graph: same results for every query', async () => {
    const data = clusteredItems(3000, 16, { clusters: 30, seed: 2 });
    const index = new HnswlibIndex({ dims: 16, connectivity: 8, expansionSearch: 64, initialCapacity: 3000 });
    index.upsertBatch(data.ids, data.vectors);
    await index.save(join(tmp, 'a'));
    const file = readFileSync(join(tmp, 'a', 'index.bin'));
    const order = localityOrder(data.vectors, 16, 'cos', { scaffold: 0 });
    const out = renumberHnswlibFile(file, order);
    expect(out.byteLength).toBe(file.byteLength);
    expect(Buffer.compare(Buffer.from(out), file)).not.toBe(0);
    writeFileSync(join(tmp, 'b.bin'), out);
    const manifest = JSON.parse(readFileSync(join(tmp, 'a', 'manifest.json'), 'utf8')) as Manifest;
    const renumbered = HnswlibIndex.restore(manifest, join(tmp, 'b.bin'), { ids: [], dead: [] });
    const ids = new IdMap();
    for (const id of data.ids) ids.labelFor(id);
    renumbered.adoptIdMap(ids);
    for (const q of userQueries(data, 30, 5)) {
      const a = index.search(q, 50).map((h) => h.itemId);
      const b = renumbered.search(q, 50).map((h) => h.itemId);
      expect(b).toEqual(a);
    }
    expect(() => renumberHnswlibFile(file, order.subarray(1))).toThrow(/order has/);
    expect(() => renumberHnswlibFile(file.subarray(0, file.byteLength - 3), order)).toThrow(/hnswlib file/);
  });
});

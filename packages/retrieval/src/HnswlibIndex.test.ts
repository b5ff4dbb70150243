import { describe, expect, it } from 'vitest';
import { annContract } from '../test/annContract.js';
import { expectCode, randomItems, row } from '../test/helpers.js';
import { HnswlibIndex } from './HnswlibIndex.js';

describe('HnswlibIndex', () => {
  annContract('hnswlib', (dims, metric, ef) => new HnswlibIndex({ dims, metric, expansionSearch: ef ?? 64, initialCapacity: 16 }));

  describe('constructor', () => {
    it('rejects bad options with RECSPINE_ERR_ANN_CONFIG', async () => {
      await expectCode(() => new HnswlibIndex({ dims: -1 }), 'RECSPINE_ERR_ANN_CONFIG');
      await expectCode(() => new HnswlibIndex({ dims: 8, expansionSearch: 0 }), 'RECSPINE_ERR_ANN_CONFIG');
    });
  });

  describe('search', () => {
    it('pre-filters inside the graph walk and grows past its initial capacity', () => {
      const idx = new HnswlibIndex({ dims: 8, initialCapacity: 4 });
      const { ids, vectors } = randomItems(2500, 8);
      idx.upsertBatch(ids, vectors);
      expect(idx.info().filterMode).toBe('native');
      const seen: string[] = [];
      const hits = idx.search(row(vectors, 0, 8), 2000, {
        predicate: (id) => {
          seen.push(id);
          return id !== 'i0';
        },
      });
      expect(seen.length).toBeGreaterThan(0);
      expect(hits.map((h) => h.itemId)).not.toContain('i0');
      expect(hits).toHaveLength(2000);
    });
  });

  describe('setExpansionSearch', () => {
    it('rejects a non-positive ef', async () => {
      const idx = new HnswlibIndex({ dims: 8 });
      await expectCode(() => idx.setExpansionSearch(0), 'RECSPINE_ERR_ANN_CONFIG');
      idx.setExpansionSearch(300);
      expect(idx.info().expansionSearch).toBe(300);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { columnarFeatureBatch, emptyFeatureBatch, featureRowsFromColumns, type FeatureColumn } from './FeatureBatch.js';

const columns = new Map<string, FeatureColumn>([
  ['views', { type: 'number', values: Float64Array.of(3, 0, 5), present: Uint8Array.of(1, 0, 1) }],
  ['emb', { type: 'vector', dim: 2, values: Float32Array.of(1, 2, 0, 0, 5, 6), present: Uint8Array.of(1, 0, 1) }],
  ['cat', { type: 'category', values: [undefined, 'news', 'music'], present: Uint8Array.of(0, 1, 1) }],
  ['tags', { type: 'idList', values: [['a'], undefined, []], present: Uint8Array.of(1, 0, 1) }],
]);

describe('FeatureBatch', () => {
  describe('featureRowsFromColumns', () => {
    it('builds one row per item holding exactly the present cells, vectors as views of the column', () => {
      const rows = featureRowsFromColumns(3, columns);
      expect(rows).toEqual([
        { views: 3, emb: Float32Array.of(1, 2), tags: ['a'] },
        { cat: 'news' },
        { views: 5, emb: Float32Array.of(5, 6), cat: 'music', tags: [] },
      ]);
      const emb = rows[2]?.emb as Float32Array;
      expect(emb.buffer).toBe((columns.get('emb') as { values: Float32Array }).values.buffer);
    });
  });

  describe('columnarFeatureBatch', () => {
    it('exposes the columns and builds items once, on first access', () => {
      const b = columnarFeatureBatch({ userId: 'u', itemIds: ['a', 'b', 'c'], user: { age: 3 }, columns, missingGroups: new Map() });
      expect(b.columns).toBe(columns);
      const first = b.items;
      expect(first).toHaveLength(3);
      expect(first[1]).toEqual({ cat: 'news' });
      expect(b.items).toBe(first);
      expect({ ...b, items: b.items }).toMatchObject({ userId: 'u', itemIds: ['a', 'b', 'c'], user: { age: 3 } });
    });
  });

  describe('emptyFeatureBatch', () => {
    it('has one empty row per item and no columns', () => {
      const b = emptyFeatureBatch(undefined, ['a', 'b']);
      expect(b.items).toEqual([{}, {}]);
      expect(b.columns).toBeUndefined();
    });
  });
});

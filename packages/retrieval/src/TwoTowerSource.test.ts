import type { FeatureRow } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { ctxFor, expectCode, randomItems, row } from '../test/helpers.js';
import { matMulModel } from '../test/onnxModel.js';
import { IndexManager } from './IndexManager.js';
import { OnnxUserTower } from './OnnxUserTower.js';
import { TwoTowerSource } from './TwoTowerSource.js';
import { UsearchIndex } from './UsearchIndex.js';

const D = 8;

async function setup(rows: Record<string, FeatureRow>) {
  const items = randomItems(500, D);
  const manager = new IndexManager({ dims: D, metric: 'cos', create: () => new UsearchIndex({ dims: D }) });
  await manager.rebuild(items);
  // user tower = mean of recent watches' item vectors, through an identity MatMul
  const W = new Float32Array(D * D);
  for (let i = 0; i < D; i++) W[i * D + i] = 1;
  const encoder = await OnnxUserTower.create({
    model: matMulModel(D, D, W),
    features: [{ name: 'recent', kind: 'ids', table: { ids: items.ids, vectors: items.vectors, dims: D }, decay: 0.3 }],
    normalize: true,
  });
  let reads = 0;
  const source = new TwoTowerSource({
    userFeatures: async (_ctx, userId) => {
      reads++;
      return rows[userId];
    },
    encoder,
    index: manager,
  });
  return { source, items, manager, reads: () => reads };
}

describe('TwoTowerSource', () => {
  describe('retrieve', () => {
    it('retrieves the nearest items to the user embedding and leaves it in ctx.state', async () => {
      const { source, items } = await setup({ u1: { recent: ['i42'] } });
      const ctx = ctxFor({ userId: 'u1' });
      const got = await source.retrieve(ctx, 20);
      expect(got).toHaveLength(20);
      expect(got[0]?.itemId).toBe('i42');
      const emb = ctx.state.get('userEmbedding') as Float32Array;
      expect(emb).toBeInstanceOf(Float32Array);
      const expected = row(items.vectors, 42, D);
      for (let i = 0; i < D; i++) expect(emb[i]).toBeCloseTo(expected[i] as number, 4);
    });

    it('reflects a watch from seconds ago in the next query', async () => {
      const rows: Record<string, FeatureRow> = { u1: { recent: ['i1'] } };
      const { source } = await setup(rows);
      expect((await source.retrieve(ctxFor({ userId: 'u1' }), 5))[0]?.itemId).toBe('i1');
      rows.u1 = { recent: ['i300', 'i1'] };
      expect((await source.retrieve(ctxFor({ userId: 'u1' }), 5))[0]?.itemId).toBe('i300');
    });

    it('returns nothing, quickly, for anonymous users and users without features', async () => {
      const { source, reads } = await setup({ empty: {} });
      expect(await source.retrieve(ctxFor({}), 10)).toEqual([]);
      expect(reads()).toBe(0);
      expect(await source.retrieve(ctxFor({ userId: 'nobody' }), 10)).toEqual([]);
      const ctx = ctxFor({ userId: 'empty' });
      expect(await source.retrieve(ctx, 10)).toEqual([]);
      expect(ctx.state.has('userEmbedding')).toBe(false);
    });

    it('stops once the deadline signal fired', async () => {
      const { source } = await setup({ u1: { recent: ['i1'] } });
      const ac = new AbortController();
      ac.abort();
      expect(await source.retrieve(ctxFor({ userId: 'u1' }, { signal: ac.signal }), 10)).toEqual([]);
    });

    it('applies the per-request predicate (e.g. a region restriction)', async () => {
      const { items, manager } = await setup({});
      const source = new TwoTowerSource({
        userFeatures: async () => ({ v: row(items.vectors, 0, D) }),
        encoder: { encode: async (r) => r.v as Float32Array },
        index: manager,
        predicate: (ctx) => (ctx.request.context?.region === 'FR' ? (id) => id !== 'i0' : undefined),
      });
      expect((await source.retrieve(ctxFor({ userId: 'u', context: { region: 'US' } }), 3))[0]?.itemId).toBe('i0');
      const fr = await source.retrieve(ctxFor({ userId: 'u', context: { region: 'FR' } }), 3);
      expect(fr.map((h) => h.itemId)).not.toContain('i0');
      expect(fr).toHaveLength(3);
    });

    it('rejects (so the runner cuts it off) when the index has no version', async () => {
      const manager = new IndexManager({ dims: D, metric: 'cos', create: () => new UsearchIndex({ dims: D }) });
      const source = new TwoTowerSource({
        userFeatures: async () => ({ x: 1 }),
        encoder: { encode: async () => new Float32Array(D).fill(1) },
        index: manager,
      });
      await expectCode(() => source.retrieve(ctxFor({ userId: 'u' }), 5), 'RECSPINE_ERR_ANN_NO_INDEX');
      await expectCode(() => new TwoTowerSource({} as never), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    });
  });
});

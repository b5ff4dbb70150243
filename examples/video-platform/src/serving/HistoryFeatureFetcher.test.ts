import { describe, expect, it } from 'vitest';
import type { FeatureBatch, FeatureFetcher, MissingReason, StageContext } from '@recspine/core';
import { columnarFeatureBatch } from '@recspine/core';
import { HistoryFeatureFetcher } from './HistoryFeatureFetcher.js';

/** An inner fetcher that reports the given missing groups (what StoreFeatureFetcher returns when reads fail). */
function inner(missing: ReadonlyMap<string, MissingReason>): FeatureFetcher {
  return {
    name: 'store',
    fetch: (_ctx, userId, itemIds): Promise<FeatureBatch> =>
      Promise.resolve({ userId, itemIds, user: { recent_items: ['a'] }, items: itemIds.map(() => ({})), missingGroups: missing }),
  };
}

const ctx = { signal: new AbortController().signal } as unknown as StageContext;
const dims = { dim: 2, categories: 2, historyLength: 5 };
const fetcher = (missing: ReadonlyMap<string, MissingReason>): HistoryFeatureFetcher =>
  new HistoryFeatureFetcher(
    inner(missing),
    () => Float32Array.of(1, 0),
    () => 0,
    dims,
    'user_stream',
  );

describe('HistoryFeatureFetcher', () => {
  describe('fetch', () => {
    it('fails the whole fetch when a group read errored (store down → degraded model, breaker counts it)', async () => {
      await expect(fetcher(new Map([['item_stats', 'error']])).fetch(ctx, 'u1', ['v1'])).rejects.toMatchObject({
        code: 'RECSPINE_ERR_VP_FEATURES_DOWN',
      });
    });

    it('keeps a late group as missing (slow store → defaults with missing indicators)', async () => {
      const b = await fetcher(new Map([['item_stats', 'timeout']])).fetch(ctx, 'u1', ['v1']);
      expect(b.missingGroups.get('item_stats')).toBe('timeout');
      expect(b.user['history_len']).toBe(1);
    });

    it('keeps a columnar batch columnar (its lazy items survive the derived history)', async () => {
      const columns = new Map([['impressions', { type: 'number' as const, values: Float64Array.of(3, 4), present: Uint8Array.of(1, 1) }]]);
      const columnar: FeatureFetcher = {
        name: 'store',
        fetch: (_ctx, userId, itemIds) =>
          Promise.resolve(columnarFeatureBatch({ userId, itemIds, user: { recent_items: ['a'] }, columns, missingGroups: new Map() })),
      };
      const b = await new HistoryFeatureFetcher(
        columnar,
        () => Float32Array.of(1, 0),
        () => 0,
        dims,
        'user_stream',
      ).fetch(ctx, 'u1', ['v1', 'v2']);
      expect(b.columns).toBe(columns);
      expect(b.items.map((r) => r['impressions'])).toEqual([3, 4]);
      expect(b.user['history_len']).toBe(1);
    });

    it('fails every fetch while switched off (simulated outage)', async () => {
      const f = fetcher(new Map());
      f.setAvailable(false);
      await expect(f.fetch(ctx, 'u1', [])).rejects.toMatchObject({ code: 'RECSPINE_ERR_VP_FEATURES_DOWN' });
      f.setAvailable(true);
      expect((await f.fetch(ctx, 'u1', [])).user['history_len']).toBe(1);
    });
  });
});

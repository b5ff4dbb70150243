import type { StageContext } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { testSchema } from '../test/fixtures.js';
import { InMemoryFeatureStore } from './InMemoryFeatureStore.js';
import { StoreFeatureFetcher } from './StoreFeatureFetcher.js';

function ctx(signal: AbortSignal, nowMs = Date.UTC(2024, 0, 1, 13)): StageContext {
  return {
    request: { slot: 'home', limit: 10, userId: 'u1', context: { region: 'BR', nowMs } },
    requestId: 'r1',
    stage: 'home/features',
    signal,
    deadlineAt: performance.now() + 25,
    remainingMs: () => 25,
    state: new Map(),
    params: {},
  };
}

describe('StoreFeatureFetcher', () => {
  describe('fetch', () => {
    it('reads user, context, items and creators (via creatorOf) in one batch', async () => {
      const store = new InMemoryFeatureStore(testSchema());
      await store.write([
        { entity: 'user', id: 'u1', group: 'user_profile', set: { tenure_days: 4 } },
        { entity: 'creator', id: 'c1', group: 'creator_profile', set: { followers: 3 } },
        { entity: 'item', id: 'v1', group: 'item_profile', set: { f1: 2 } },
      ]);
      const f = new StoreFeatureFetcher(store, { creatorOf: (id) => (id === 'v1' ? 'c1' : undefined) });
      const b = await f.fetch(ctx(new AbortController().signal), 'u1', ['v1', 'v2']);
      expect(b.user).toEqual({ tenure_days: 4, region: 'BR', hour_of_day: 13 });
      expect(b.items).toEqual([{ f1: 2, creator_followers: 3 }, {}]);
      expect(b.missingGroups.size).toBe(0);
    });

    it('honours the stage signal', async () => {
      const f = new StoreFeatureFetcher(new InMemoryFeatureStore(testSchema()));
      const ac = new AbortController();
      ac.abort(new Error('deadline'));
      await expect(f.fetch(ctx(ac.signal), 'u1', ['v1'])).rejects.toMatchObject({ code: 'RECSPINE_ERR_FEATURES_ABORTED' });
    });
  });
});

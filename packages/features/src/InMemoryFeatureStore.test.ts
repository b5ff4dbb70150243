import { describe, expect, it, vi } from 'vitest';
import { storeContract } from '../test/storeContract.js';
import { itemProfile, testSchema } from '../test/fixtures.js';
import { InMemoryFeatureStore } from './InMemoryFeatureStore.js';

describe('InMemoryFeatureStore', () => {
  describe('FeatureStore contract', () => {
    storeContract(() => Promise.resolve(new InMemoryFeatureStore(testSchema())), {
      creatorIdFrom: () => Promise.resolve(new InMemoryFeatureStore(testSchema({ creatorIdFrom: true }))),
    });
  });

  describe('read', () => {
    it('serves stable item groups from the LRU tier, counts hits and misses, and invalidates on write', async () => {
      const store = new InMemoryFeatureStore(testSchema(), { cache: { max: 100, ttlMs: 60_000 } });
      await store.write([{ entity: 'item', id: 'a', group: 'item_profile', set: itemProfile(1) }]);
      await store.read({ itemIds: ['a', 'b'], groups: ['item_profile'] });
      expect(store.stats()).toMatchObject({ cacheHits: 0, cacheMisses: 2 });
      const b = await store.read({ itemIds: ['a', 'b'], groups: ['item_profile'] });
      expect(store.stats()).toMatchObject({ cacheHits: 2, cacheMisses: 2 });
      expect((b.items[0] as Record<string, unknown>).f0).toBe(100);
      await store.write([{ entity: 'item', id: 'a', group: 'item_profile', set: { f0: 7 } }]);
      const c = await store.read({ itemIds: ['a'], groups: ['item_profile'] });
      expect(c.items[0]).toEqual({ f0: 7 });
    });

    it('arms no timer for cache lookups (lru-cache ttlResolution 0), and a cached record still expires after ttlMs', async () => {
      const store = new InMemoryFeatureStore(testSchema(), { cache: { max: 100, ttlMs: 40 } });
      await store.write([{ entity: 'item', id: 'a', group: 'item_profile', set: itemProfile(1) }]);
      await store.read({ itemIds: ['a'], groups: ['item_profile'] });
      const spy = vi.spyOn(globalThis, 'setTimeout');
      try {
        for (let i = 0; i < 20; i++) await store.read({ itemIds: ['a'], groups: ['item_profile'] });
        // lru-cache's default ttlResolution (1 ms) arms a 1 ms timer whenever it refreshes its clock
        expect(spy).not.toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
      expect(store.stats()).toMatchObject({ cacheHits: 20, cacheMisses: 1 });
      await new Promise((r) => setTimeout(r, 60));
      await store.read({ itemIds: ['a'], groups: ['item_profile'] });
      expect(store.stats()).toMatchObject({ cacheHits: 20, cacheMisses: 2 });
    });

    it('never caches hot groups', async () => {
      const store = new InMemoryFeatureStore(testSchema());
      await store.read({ itemIds: ['a'], groups: ['item_stream'] });
      await store.read({ itemIds: ['a'], groups: ['item_stream'] });
      expect(store.stats()).toMatchObject({ cacheHits: 0, cacheMisses: 0 });
    });

    it('expires records after the group ttl', async () => {
      let now = 1_000;
      const store = new InMemoryFeatureStore(testSchema(), { clock: () => now });
      await store.write([{ entity: 'user', id: 'u', group: 'user_stream', set: { clicks_24h: 1 } }]);
      expect(store.keys()).toHaveLength(1);
      now += 31 * 24 * 3_600_000;
      expect(store.keys()).toHaveLength(0);
    });
  });
});

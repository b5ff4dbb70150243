import { expect, it } from 'vitest';
import type { FeatureColumn } from '@recspine/core';
import type { FeatureStore } from '../src/index.js';
import { itemProfile } from './fixtures.js';

/**
 * Behaviour every FeatureStore must show; run against the in-memory store (unit tests) and real
 * Redis / Redis Cluster (integration tests). `fresh()` returns an empty store with a unique key
 * prefix and the test schema (testSchema()).
 */
export function storeContract(fresh: () => Promise<FeatureStore>, opts: { creatorIdFrom?: () => Promise<FeatureStore> } = {}): void {
  it('reads one user plus a batch of items aligned with itemIds, absent records as empty rows', async () => {
    const store = await fresh();
    const ids = Array.from({ length: 200 }, (_, i) => `v${i}`);
    await store.write(
      ids.filter((_, i) => i % 10 !== 3).map((id, k) => ({ entity: 'item' as const, id, group: 'item_profile', set: itemProfile(k) })),
    );
    await store.write([{ entity: 'user', id: 'u1', group: 'user_profile', set: { age_bucket: '25-34', tenure_days: 12 } }]);
    const b = await store.read({ userId: 'u1', itemIds: ids, context: { region: 'US', hour_of_day: 'x' } });
    expect(b.itemIds).toBe(ids);
    expect(b.items).toHaveLength(200);
    // no creator ids in the request and no creatorIdFrom in the schema: creator groups are skipped
    expect(b.missingGroups).toEqual(
      new Map([
        ['creator_profile', 'skipped'],
        ['creator_stream', 'skipped'],
      ]),
    );
    expect(b.user).toEqual({ age_bucket: '25-34', tenure_days: 12, region: 'US' }); // malformed context value → absent
    expect(b.items[3]).toEqual({});
    const row0 = b.items[0] as Record<string, unknown>;
    expect(row0.f0).toBe(0);
    expect(row0.f43).toBe(43);
    expect(row0.embedding).toBeInstanceOf(Float32Array);
    expect(row0.tags).toEqual(['t0', 't0']);
    expect(Object.keys(row0)).toHaveLength(48);
    await store.close();
  });

  it('decodes straight into columns (typed arrays + presence) that agree with the lazily built rows', async () => {
    const store = await fresh();
    const n = 40;
    const ids = Array.from({ length: n }, (_, i) => `col${i}`);
    const t0 = 1_700_000_000_000;
    await store.write(
      ids.flatMap((id, i) => [
        ...(i % 4 === 1 ? [] : [{ entity: 'item' as const, id, group: 'item_profile', set: itemProfile(i) }]),
        ...(i % 3 === 0
          ? [
              {
                entity: 'item' as const,
                id,
                group: 'item_stream',
                incr: { clicks_total: i + 0.25 },
                decay: { atMs: t0, add: { clicks_recent: 2 } },
              },
            ]
          : []),
      ]),
    );
    await store.write([{ entity: 'creator', id: 'cA', group: 'creator_profile', set: { followers: 77, country: 'BR' } }]);
    const creatorIds = ids.map((_, i) => (i % 2 === 0 ? 'cA' : i % 5 === 0 ? undefined : 'cB'));
    const b = await store.read({ itemIds: ids, creatorIds, nowMs: t0 });
    expect(b.missingGroups.size).toBe(0);
    const cols = b.columns as ReadonlyMap<string, FeatureColumn>;
    expect(cols).toBeDefined();
    const col = (name: string): FeatureColumn => {
      const c = cols.get(name);
      if (c === undefined) throw new Error(`no column ${name}`);
      expect(c.present).toHaveLength(n);
      return c;
    };
    const f43 = col('f43');
    const emb = col('embedding');
    const tags = col('tags');
    const clicks = col('clicks_total');
    const recent = col('clicks_recent');
    const followers = col('creator_followers');
    const country = col('creator_country');
    if (f43.type !== 'number' || emb.type !== 'vector' || tags.type !== 'idList' || clicks.type !== 'number' || recent.type !== 'number')
      throw new Error('wrong column types');
    if (followers.type !== 'number' || country.type !== 'category') throw new Error('wrong creator column types');
    expect(emb.dim).toBe(16);
    expect(emb.values).toHaveLength(16 * n);
    for (let i = 0; i < n; i++) {
      const hasProfile = i % 4 !== 1;
      expect(f43.present[i]).toBe(hasProfile ? 1 : 0);
      if (hasProfile) {
        expect(f43.values[i]).toBe(i * 100 + 43);
        expect(Array.from(emb.values.subarray(i * 16, i * 16 + 16))).toEqual(Array.from(itemProfile(i).embedding as Float32Array));
        expect(tags.values[i]).toEqual(itemProfile(i).tags);
      }
      expect(clicks.present[i]).toBe(i % 3 === 0 ? 1 : 0);
      if (i % 3 === 0) {
        expect(clicks.values[i]).toBe(i + 0.25);
        expect(recent.values[i]).toBeCloseTo(2, 9);
      }
      // creator cA exists, cB has no record, some items have no creator
      expect(followers.present[i]).toBe(i % 2 === 0 ? 1 : 0);
      expect(country.values[i]).toBe(i % 2 === 0 ? 'BR' : undefined);
      if (i % 2 === 0) expect(followers.values[i]).toBe(77);
    }
    // features never written have a column with nothing present
    expect(Array.from(col('completions_total').present).every((p) => p === 0)).toBe(true);
    // the row view holds exactly the present cells
    for (let i = 0; i < n; i++) {
      const row = b.items[i] as Record<string, unknown>;
      const expected = [...cols].filter(([, c]) => c.present[i] === 1).map(([k]) => k);
      expect(Object.keys(row).sort()).toEqual(expected.sort());
      if (i % 2 === 0) expect(row.creator_followers).toBe(77);
    }
    // a request limited to some groups has columns for those groups only
    const only = await store.read({ itemIds: ids, groups: ['item_stream'], nowMs: t0 });
    expect([...(only.columns?.keys() ?? [])].every((k) => !k.startsWith('f') && !k.startsWith('creator_'))).toBe(true);
    expect(only.columns?.get('clicks_total')?.present[3]).toBe(1);
    await store.close();
  });

  it('joins creator features into item rows with the creator_ prefix', async () => {
    const store = await fresh();
    await store.write([
      { entity: 'creator', id: 'c1', group: 'creator_profile', set: { followers: 10, country: 'BR' } },
      { entity: 'item', id: 'a', group: 'item_profile', set: { f0: 1 } },
    ]);
    const b = await store.read({ itemIds: ['a', 'b', 'c'], creatorIds: ['c1', undefined, 'c1'] });
    expect(b.items[0]).toEqual({ f0: 1, creator_followers: 10, creator_country: 'BR' });
    expect(b.items[1]).toEqual({});
    expect(b.items[2]).toEqual({ creator_followers: 10, creator_country: 'BR' });
    expect(b.user).toEqual({});
    await store.close();
  });

  if (opts.creatorIdFrom !== undefined) {
    const make = opts.creatorIdFrom;
    it('reads creator ids from the item group when the request carries none', async () => {
      const store = await make();
      await store.write([
        { entity: 'creator', id: 'c9', group: 'creator_profile', set: { followers: 5 } },
        { entity: 'item', id: 'a', group: 'item_profile', set: { creator_id: 'c9' } },
      ]);
      const b = await store.read({ itemIds: ['a', 'b'] });
      expect(b.items).toEqual([{ creator_id: 'c9', creator_followers: 5 }, {}]);
      await store.close();
    });
  }

  it('applies incr, decay and set on hash groups, and guards make replays no-ops', async () => {
    const store = await fresh();
    const t0 = 1_700_000_000_000;
    const HL = 6 * 3_600_000;
    const m = (seq: number, fromSeq = seq) => ({
      entity: 'item' as const,
      id: 'v1',
      group: 'item_stream',
      incr: { clicks_total: 2 },
      decay: { atMs: t0, add: { clicks_recent: 1 } },
      guard: { stream: 's:0', seq, fromSeq },
    });
    expect(await store.write([m(5)])).toEqual(['applied']);
    expect(await store.write([m(5)])).toEqual(['skipped']);
    expect(await store.write([m(3)])).toEqual(['skipped']);
    expect(await store.write([m(9, 4)])).toEqual(['conflict']);
    expect(await store.write([m(9, 6)])).toEqual(['applied']);
    // an older event decays into the counter at its own age
    await store.write([{ entity: 'item', id: 'v1', group: 'item_stream', decay: { atMs: t0 - HL, add: { clicks_recent: 1 } } }]);
    const b = await store.read({ itemIds: ['v1'], nowMs: t0 + HL, groups: ['item_stream'] });
    const row = b.items[0] as Record<string, number>;
    expect(row.clicks_total).toBe(4);
    expect(row.clicks_recent).toBeCloseTo((2 + 0.5) / 2, 9);
    await store.close();
  });

  it('rejects bad writes with coded errors before touching the store', async () => {
    const store = await fresh();
    await expect(store.write([{ entity: 'item', id: 'x', group: 'nope', set: {} }])).rejects.toMatchObject({
      code: 'RECSPINE_ERR_FEATURES_UNKNOWN_GROUP',
    });
    await expect(store.write([{ entity: 'item', id: 'x', group: 'item_profile', set: { f0: NaN } }])).rejects.toMatchObject({
      code: 'RECSPINE_ERR_FEATURES_BAD_VALUE',
    });
    await expect(store.write([{ entity: 'item', id: 'x', group: 'item_profile', incr: { f0: 1 } }])).rejects.toMatchObject({
      code: 'RECSPINE_ERR_FEATURES_UNSUPPORTED_OP',
    });
    await expect(
      store.write([{ entity: 'item', id: 'x', group: 'item_profile', set: { embedding: new Float32Array(3) } }]),
    ).rejects.toMatchObject({
      code: 'RECSPINE_ERR_FEATURES_BAD_VALUE',
    });
    await expect(store.read({ itemIds: Array.from({ length: 1001 }, (_, i) => `v${i}`) })).rejects.toMatchObject({
      code: 'RECSPINE_ERR_FEATURES_BATCH_TOO_LARGE',
    });
    const b = await store.read({ itemIds: ['x'] });
    expect(b.items[0]).toEqual({});
    await store.close();
  });

  it('deleteEntity removes every group and the aux state of the entity', async () => {
    const store = await fresh();
    await store.write([
      { entity: 'user', id: 'u7', group: 'user_profile', set: { tenure_days: 3 } },
      { entity: 'user', id: 'u7', group: 'user_stream', set: { clicks_24h: 1 }, aux: '{"v":1}' },
    ]);
    expect(await store.readAux('user', 'u7', 'user_stream')).toBe('{"v":1}');
    await store.deleteEntity('user', 'u7');
    const b = await store.read({ userId: 'u7', itemIds: [] });
    expect(b.user).toEqual({});
    expect(await store.readAux('user', 'u7', 'user_stream')).toBeUndefined();
    await store.close();
  });

  it('rejects with RECSPINE_ERR_FEATURES_ABORTED when the signal has fired', async () => {
    const store = await fresh();
    const ac = new AbortController();
    ac.abort();
    await expect(store.read({ itemIds: ['a'] }, { signal: ac.signal })).rejects.toMatchObject({ code: 'RECSPINE_ERR_FEATURES_ABORTED' });
    await store.close();
  });
}

import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, itemProfile, testSchema } from '../test/fixtures.js';
import { hasBinary, requireServer, startRedis, startRedisCluster, tcpOpen, type RedisProc } from '../test/servers.js';
import { storeContract } from '../test/storeContract.js';
import { RedisFeatureStore } from './RedisFeatureStore.js';
import { StreamAggregator } from './StreamAggregator.js';

const HOW = 'a Redis server on 127.0.0.1:6379 and `redis-server`/`redis-cli` on PATH (for the private cluster)';
const available = requireServer('Redis', (await tcpOpen(6379)) && (await hasBinary('redis-server')) && (await hasBinary('redis-cli')), HOW);
const run = `t${process.pid}x${Date.now().toString(36)}`;
let seq = 0;
const prefix = (): string => `rs:test:${run}:${seq++}:`;

async function keysOf(r: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    // COUNT 20 000: a shared development Redis may hold millions of keys (a 1M-item bench seeds ~4M)
    const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 20_000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

describe.skipIf(!available)('RedisFeatureStore (single node, 127.0.0.1:6379)', () => {
  const admin = available ? new Redis(6379, '127.0.0.1', { lazyConnect: true }) : undefined;
  afterAll(async () => {
    if (admin === undefined) return;
    await admin.connect().catch(() => undefined);
    const keys = await keysOf(admin, `rs:test:${run}:*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });

  describe('FeatureStore contract', () => {
    const make = async (creatorIdFrom: boolean): Promise<RedisFeatureStore> => {
      const s = new RedisFeatureStore(testSchema({ creatorIdFrom }), { keyPrefix: prefix() });
      await s.ready();
      return s;
    };
    storeContract(() => make(false), { creatorIdFrom: () => make(true) });
  });

  describe('batched writes and raw-encoded reads', () => {
    it('applies a write of many hash mutations in order: repeated guarded records, replays, conflicts, > 64 records', async () => {
      const p = prefix();
      const store = new RedisFeatureStore(testSchema(), { keyPrefix: p, cache: false });
      const viaHash = new RedisFeatureStore(testSchema(), { keyPrefix: p, cache: false, hashSnapshots: 'write' });
      await Promise.all([store.ready(), viaHash.ready()]);
      const at = Date.now();
      const items = Array.from({ length: 100 }, (_, i) => `bw-${i}`);
      const muts = [
        ...items.map((id, i) => ({
          entity: 'item' as const,
          id,
          group: 'item_stream',
          incr: { impressions_total: i },
          decay: { atMs: at, add: { impressions_recent: 1 } },
          guard: { stream: 'p0', seq: i },
        })),
        // one record 30 times in one write: applied in order, each guard above the last
        ...Array.from({ length: 30 }, (_, k) => ({
          entity: 'creator' as const,
          id: 'bw-c',
          group: 'creator_stream',
          incr: { views_total: 1 },
          guard: { stream: 'p0', seq: k + 1 },
        })),
        { entity: 'creator' as const, id: 'bw-c', group: 'creator_stream', incr: { views_total: 100 }, guard: { stream: 'p0', seq: 5 } },
        {
          entity: 'creator' as const,
          id: 'bw-c',
          group: 'creator_stream',
          incr: { views_total: 100 },
          guard: { stream: 'p0', seq: 32, fromSeq: 28 },
        },
        ...Array.from({ length: 20 }, (_, k) => ({
          entity: 'user' as const,
          id: `bw-u${k}`,
          group: 'user_stream',
          set: { clicks_24h: k },
          aux: `{"k":${k}}`,
        })),
      ];
      const res = await store.write(muts);
      expect(res).toEqual([...Array<string>(130).fill('applied'), 'skipped', 'conflict', ...Array<string>(20).fill('applied')]);
      const a = await store.read({
        itemIds: items,
        creatorIds: items.map(() => 'bw-c'),
        groups: ['item_stream', 'creator_stream'],
        nowMs: at,
      });
      const b = await viaHash.read({
        itemIds: items,
        creatorIds: items.map(() => 'bw-c'),
        groups: ['item_stream', 'creator_stream'],
        nowMs: at,
      });
      expect(a.items).toEqual(b.items);
      expect(a.items.map((r) => r.impressions_total)).toEqual(items.map((_, i) => i));
      expect(a.items.every((r) => r.creator_views_total === 30 && r.impressions_recent === 1)).toBe(true);
      expect(store.stats().snapshotFallbacks).toBe(0);
      // a replay of the whole write changes nothing: every guarded record is skipped
      const again = await store.write(muts.filter((m) => m.entity !== 'user'));
      expect(again.slice(0, 130).every((r) => r === 'skipped')).toBe(true);
      expect((await store.read({ itemIds: ['bw-7'], groups: ['item_stream'], nowMs: at })).items[0]?.impressions_total).toBe(7);
      for (let k = 0; k < 20; k++) expect(await store.readAux('user', `bw-u${k}`, 'user_stream')).toBe(`{"k":${k}}`);
      const u = await store.read({ userId: 'bw-u3', itemIds: [], groups: ['user_stream'] });
      expect(u.user.clicks_24h).toBe(3);
      await Promise.all([store.close(), viaHash.close()]);
    });

    it('recovers from a crash between the item and the user write without double counting (guard conflict path, real Redis)', async () => {
      const store = new RedisFeatureStore(testSchema(), { keyPrefix: prefix(), cache: false });
      const agg = new StreamAggregator({ store, categories: CATEGORIES });
      const t0 = Date.now();
      const batch = Array.from({ length: 6 }, (_, i) => ({
        event: { id: `gc-${i}`, type: 'click' as const, userId: 'gc-u', itemId: 'gc-v', atMs: t0 + i },
        stream: 's:0',
        seq: i,
      }));
      // A first consumer applied events 0..2 to the item, then died before writing the user state.
      await store.write([
        { entity: 'item', id: 'gc-v', group: 'item_stream', incr: { clicks_total: 3 }, guard: { stream: 's:0', seq: 2, fromSeq: 0 } },
      ]);
      await agg.handle(batch); // straddles the item's mark: re-applied one event at a time
      await agg.handle(batch); // a plain redelivery: skipped
      const r = await store.read({ userId: 'gc-u', itemIds: ['gc-v'], groups: ['item_stream', 'user_stream'] });
      expect(r.items[0]?.clicks_total).toBe(6);
      expect(r.user.clicks_24h).toBe(6);
      expect(agg.stats().guardConflicts).toBe(1);
      await store.close();
    });

    it('reads ids with multi-byte UTF-8 and braces through the raw MGET encoding, and through a client with its own keyPrefix', async () => {
      const p = prefix();
      const ids = ['ü-ß', '😀x', 'a}b', '{c}', 'x'.repeat(300), 'plain'];
      const store = new RedisFeatureStore(testSchema(), { keyPrefix: p, cache: false });
      await store.ready();
      await store.write(ids.map((id, i) => ({ entity: 'item' as const, id, group: 'item_profile', set: itemProfile(i) })));
      const want = ids.map((_, i) => itemProfile(i).f3);
      const got = await store.read({ itemIds: [...ids, 'absent'], groups: ['item_profile'] });
      expect(got.items.map((r) => r.f3)).toEqual([...want, undefined]);
      // a caller-supplied client with ioredis keyPrefix: the store's prefix goes after it
      const client = new Redis(6379, '127.0.0.1', { keyPrefix: p });
      const inner = new RedisFeatureStore(testSchema(), { client, keyPrefix: '', cache: false });
      await inner.ready();
      const viaPrefix = await inner.read({ itemIds: ids, groups: ['item_profile'] });
      expect(viaPrefix.items.map((r) => r.f3)).toEqual(want);
      await Promise.all([store.close(), inner.close()]);
      client.disconnect();
    });
  });

  describe('deleteUser (CCPA)', () => {
    it('leaves no key of the user in Redis', async () => {
      const p = prefix();
      const store = new RedisFeatureStore(testSchema(), { keyPrefix: p });
      const agg = new StreamAggregator({ store, categories: CATEGORIES });
      await store.write([{ entity: 'user', id: 'gone', group: 'user_profile', set: { tenure_days: 1 } }]);
      await agg.handle([
        {
          event: { id: 'e1', type: 'watch', userId: 'gone', itemId: 'v1', atMs: Date.now(), watchMs: 3, completed: true },
          stream: 's',
          seq: 1,
        },
        { event: { id: 'e2', type: 'search', userId: 'gone', query: 'x', atMs: Date.now() }, stream: 's', seq: 2 },
      ]);
      await admin?.connect().catch(() => undefined);
      expect((await keysOf(admin as Redis, `${p}*gone*`)).length).toBe(2);
      await agg.handle([{ event: { id: 'e3', type: 'opt_out', userId: 'gone', atMs: Date.now() }, stream: 's', seq: 3 }]);
      expect(await keysOf(admin as Redis, `${p}*gone*`)).toEqual([]);
      // anonymous item counters stay: the item_stream hash and its packed snapshot
      expect((await keysOf(admin as Redis, `${p}*{v1}*`)).sort()).toEqual([`${p}i:{v1}:item_stream`, `${p}i:{v1}:item_stream~p`]);
      await agg.removeItem('v1');
      expect(await keysOf(admin as Redis, `${p}*{v1}*`)).toEqual([]);
      await store.close();
    });
  });
});

describe.skipIf(!available)('RedisFeatureStore group timeouts (private redis-server with DEBUG)', () => {
  let server: RedisProc | undefined;
  beforeAll(async () => {
    server = await startRedis(7120, ['--enable-debug-command', 'yes']);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('marks a group that misses its sub-deadline missing and returns the rest', async () => {
    // item groups get 30 ms, user groups 3 s; Redis is made slow for real with DEBUG SLEEP.
    const store = new RedisFeatureStore(testSchema({ itemTimeoutMs: 30, userTimeoutMs: 3000 }), {
      url: 'redis://127.0.0.1:7120',
      cache: false,
    });
    await store.write([
      { entity: 'user', id: 'u1', group: 'user_profile', set: { tenure_days: 5 } },
      { entity: 'item', id: 'v1', group: 'item_profile', set: itemProfile(1) },
    ]);
    const sleeper = new Redis(7120, '127.0.0.1');
    const sleeping = sleeper.call('DEBUG', 'SLEEP', '0.3');
    await new Promise((r) => setTimeout(r, 20));
    const b = await store.read({ userId: 'u1', itemIds: ['v1'], creatorIds: ['c1'] });
    await sleeping;
    expect(b.user).toEqual({ tenure_days: 5 });
    expect(b.items).toEqual([{}]);
    expect(b.missingGroups.get('item_profile')).toBe('timeout');
    expect(b.missingGroups.get('item_stream')).toBe('timeout');
    expect(b.missingGroups.has('user_profile')).toBe(false);
    expect(store.stats().groupTimeouts).toBeGreaterThanOrEqual(2);
    sleeper.disconnect();
    await store.close();
  });

  it('rejects with STORE_UNAVAILABLE when the server is gone', async () => {
    const store = new RedisFeatureStore(testSchema(), {
      url: 'redis://127.0.0.1:7129',
      cache: false,
      redisOptions: { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null },
    });
    await expect(store.read({ userId: 'u', itemIds: ['v'], creatorIds: ['c'] })).rejects.toMatchObject({
      code: 'RECSPINE_ERR_FEATURES_STORE_UNAVAILABLE',
    });
    await store.close();
  });
});

describe.skipIf(!available)('RedisFeatureStore on a 3-master Redis Cluster', () => {
  let cluster: { stop(): Promise<void> } | undefined;
  const nodes = [7101, 7102, 7103].map((port) => ({ host: '127.0.0.1', port }));
  beforeAll(async () => {
    cluster = await startRedisCluster([7101, 7102, 7103]);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  describe('FeatureStore contract', () => {
    const make = async (creatorIdFrom: boolean): Promise<RedisFeatureStore> => {
      const s = new RedisFeatureStore(testSchema({ creatorIdFrom }), { clusterNodes: nodes, keyPrefix: prefix() });
      await s.ready();
      return s;
    };
    storeContract(() => make(false), { creatorIdFrom: () => make(true) });
  });

  it('reads hot item groups from packed snapshots spread over the slots, equal to reading the hashes', async () => {
    const p = prefix();
    const store = new RedisFeatureStore(testSchema(), { clusterNodes: nodes, keyPrefix: p, cache: false });
    const viaHash = new RedisFeatureStore(testSchema(), { clusterNodes: nodes, keyPrefix: p, cache: false, hashSnapshots: 'write' });
    await Promise.all([store.ready(), viaHash.ready()]);
    const at = Date.now();
    const ids = Array.from({ length: 120 }, (_, i) => `hot-${i}`);
    await store.write(
      ids.map((id, i) => ({
        entity: 'item' as const,
        id,
        group: 'item_stream',
        incr: { impressions_total: i, clicks_total: i % 7 },
        decay: { atMs: at - i * 60_000, add: { impressions_recent: i + 0.5 } },
      })),
    );
    const req = { itemIds: ids, groups: ['item_stream'], nowMs: at };
    const a = await store.read(req);
    const b = await viaHash.read(req);
    expect(a.missingGroups.size).toBe(0);
    expect(a.items).toEqual(b.items);
    expect(a.items.map((r) => r.impressions_total)).toEqual(ids.map((_, i) => i));
    expect(store.stats()).toMatchObject({ snapshotReads: 120, snapshotFallbacks: 0 });
    await store.deleteEntity('item', 'hot-3');
    const c = await store.read({ itemIds: ['hot-3'], groups: ['item_stream'], nowMs: at });
    expect(c.items[0]).toEqual({});
    await store.close();
    await viaHash.close();
  });

  /** The backend's cluster read counters (internal diagnostics, not part of the public API). */
  const clusterStats = (s: RedisFeatureStore): { scriptCalls: number; fallbacks: number; scriptDisabled: boolean } =>
    (s as unknown as { backend: { clusterReadStats: { scriptCalls: number; fallbacks: number; scriptDisabled: boolean } } }).backend
      .clusterReadStats;
  const clientOf = (s: RedisFeatureStore): Cluster => (s as unknown as { backend: { client: Cluster } }).backend.client;

  it('reads a packed group with one script call per master, loading the script on NOSCRIPT', async () => {
    const pfx = prefix();
    const store = new RedisFeatureStore(testSchema(), { clusterNodes: nodes, keyPrefix: pfx, cache: false });
    await store.ready();
    const ids = Array.from({ length: 200 }, (_, i) => `per-node-${i}`);
    await store.write(ids.map((id, i) => ({ entity: 'item' as const, id, group: 'item_profile', set: itemProfile(i) })));
    // a script cache emptied under us (a restarted node) must cost an EVAL, not a failed read
    for (const n of nodes) {
      const r = new Redis(n.port, n.host);
      await r.script('FLUSH');
      r.disconnect();
    }
    const before = clusterStats(store).scriptCalls;
    const b = await store.read({ itemIds: [...ids, 'per-node-absent'], groups: ['item_profile'] });
    expect(b.missingGroups.size).toBe(0);
    expect(b.items.map((r) => r.f0)).toEqual([...ids.map((_, i) => i * 100), undefined]);
    expect(b.items[7]).toMatchObject({ category: itemProfile(7).category, tags: itemProfile(7).tags });
    // 201 keys in ~200 slots: at most one call per master, not one MGET per slot
    expect(clusterStats(store).scriptCalls - before).toBeLessThanOrEqual(3);
    expect(clusterStats(store)).toMatchObject({ fallbacks: 0, scriptDisabled: false });
    // the per-slot path reads the same records
    const bySlot = new RedisFeatureStore(testSchema(), { client: store.client, keyPrefix: pfx, cache: false, clusterReads: 'slot' });
    const c = await bySlot.read({ itemIds: [...ids, 'per-node-absent'], groups: ['item_profile'] });
    expect(c.items).toEqual(b.items);
    expect(clusterStats(bySlot).scriptCalls).toBe(0);
    await store.close();
  });

  it('refuses an unknown clusterReads mode with a coded error, before connecting', () => {
    expect(() => new RedisFeatureStore(testSchema(), { clusterNodes: nodes, clusterReads: 'node' as 'slot' })).toThrow(
      expect.objectContaining({ code: 'RECSPINE_ERR_FEATURES_BAD_VALUE' }),
    );
  });

  it('falls back to per-slot MGETs when its slot map is stale (a key the node does not serve), and still returns every record', async () => {
    const store = new RedisFeatureStore(testSchema(), { clusterNodes: nodes, keyPrefix: prefix(), cache: false });
    await store.ready();
    const ids = Array.from({ length: 40 }, (_, i) => `stale-${i}`);
    await store.write(ids.map((id, i) => ({ entity: 'item' as const, id, group: 'item_profile', set: itemProfile(i) })));
    await store.read({ itemIds: ids, groups: ['item_profile'] });
    // Point one key's slot at the wrong master, as a resharding the client has not seen yet would.
    const client = clientOf(store);
    const slot = calculateSlot(store.key('item', 'stale-0', 'item_profile'));
    const right = client.slots[slot]?.[0] as string;
    const masters = client.nodes('master').map((r) => `${r.options.host ?? ''}:${r.options.port ?? ''}`);
    client.slots[slot] = [masters.find((m) => m !== right) as string];
    const b = await store.read({ itemIds: ids, groups: ['item_profile'] });
    expect(b.missingGroups.size).toBe(0);
    expect(b.items.map((r) => r.f0)).toEqual(ids.map((_, i) => i * 100));
    expect(clusterStats(store).fallbacks).toBeGreaterThanOrEqual(1);
    expect(clusterStats(store).scriptDisabled).toBe(false);
    await store.close();
  });

  it('spreads a batch over all three masters and reads it back', async () => {
    const store = new RedisFeatureStore(testSchema(), { clusterNodes: nodes, keyPrefix: prefix(), cache: false });
    const ids = Array.from({ length: 300 }, (_, i) => `item-${i}`);
    await store.write(ids.map((id, i) => ({ entity: 'item' as const, id, group: 'item_profile', set: itemProfile(i) })));
    const b = await store.read({ itemIds: ids, groups: ['item_profile'] });
    expect(b.items.map((r) => r.f0)).toEqual(ids.map((_, i) => i * 100));
    const counts = await Promise.all(
      nodes.map(async (n) => {
        const r = new Redis(n.port, n.host);
        const c = await r.dbsize();
        r.disconnect();
        return c;
      }),
    );
    expect(counts.every((c) => c > 0)).toBe(true);
    await store.close();
  });
});

import { Redis } from 'ioredis';
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
    const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
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

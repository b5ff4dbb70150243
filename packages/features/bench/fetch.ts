/**
 * Feature fetch benchmark: one user + N items (~60 item features + creator features each) read
 * through the FeatureStore from (1) the in-memory store (baseline), (2) a single Redis on
 * 127.0.0.1:6379, (3) a private 3-master Redis Cluster on loopback (started here).
 *
 *   npx tsx bench/fetch.ts [--items 200] [--iters 2000] [--warmup 300] [--cache false]
 *
 * Closed loop, one read at a time (the latency of one request's feature stage). The local LRU
 * tier is off by default so every read goes to the backend.
 */
import { Redis } from 'ioredis';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { InMemoryFeatureStore, RedisFeatureStore, type FeatureMutation, type FeatureStore } from '../src/index.js';
import { itemProfile, testSchema } from '../test/fixtures.js';
import { startRedisCluster, tcpOpen } from '../test/servers.js';

const flags = parseFlags();
const ITEMS = Number(flags.items ?? 200);
const ITERS = Number(flags.iters ?? 2000);
const WARMUP = Number(flags.warmup ?? 300);
const CACHE = flags.cache === 'true';
const CLUSTER_PORTS = [7111, 7112, 7113];

const schema = testSchema();
const itemIds = Array.from({ length: ITEMS }, (_, i) => `bench-item-${i}`);
const creatorIds = itemIds.map((_, i) => `bench-creator-${i % 50}`);
const now = Date.now();
const featuresPerItem = ['item', 'creator']
  .flatMap((e) => schema.groupsOf(e as 'item' | 'creator'))
  .reduce((a, g) => a + g.features.length, 0);

async function seed(store: FeatureStore): Promise<void> {
  const muts = itemIds.flatMap((id, i) => [
    { entity: 'item' as const, id, group: 'item_profile', set: itemProfile(i) },
    {
      entity: 'item' as const,
      id,
      group: 'item_stream',
      incr: { impressions_total: 100 + i, clicks_total: i, views_total: 50, completions_total: 10, reports_total: 0, likes_total: 3 },
      decay: {
        atMs: now,
        add: {
          impressions_recent: 10,
          clicks_recent: 2,
          views_recent: 5,
          completions_recent: 1,
          reports_recent: 0,
          likes_recent: 1,
          watch_seconds_recent: 60,
        },
      },
      set: { published_at_ms: now - i * 1000 },
    },
  ]);
  const creators: FeatureMutation[] = [...new Set(creatorIds)].flatMap((id): FeatureMutation[] => [
    { entity: 'creator' as const, id, group: 'creator_profile', set: { followers: 1000, country: 'US' } },
    { entity: 'creator' as const, id, group: 'creator_stream', incr: { views_total: 10, reports_total: 0, uploads_total: 3 } },
  ]);
  const user: FeatureMutation[] = [
    {
      entity: 'user' as const,
      id: 'bench-user',
      group: 'user_profile',
      set: { age_bucket: '25-34', user_embedding: new Float32Array(16).fill(0.1), tenure_days: 100 },
    },
    {
      entity: 'user' as const,
      id: 'bench-user',
      group: 'user_stream',
      set: { recent_items: itemIds.slice(0, 50), clicks_24h: 4, session_id: 's' },
    },
  ];
  for (let i = 0; i < muts.length; i += 500) await store.write(muts.slice(i, i + 500));
  await store.write([...creators, ...user]);
}

async function measure(name: string, store: FeatureStore): Promise<ReturnType<LatencyRecorder['summaryMs']> & { features: number }> {
  await seed(store);
  const rec = new LatencyRecorder();
  let features = 0;
  for (let i = 0; i < WARMUP + ITERS; i++) {
    const t = performance.now();
    const b = await store.read({ userId: 'bench-user', itemIds, creatorIds, context: { region: 'US', hour_of_day: 12 } });
    const dt = performance.now() - t;
    if (b.missingGroups.size > 0) throw new Error(`${name}: groups missing: ${[...b.missingGroups].join(',')}`);
    if (i >= WARMUP) rec.recordMs(dt);
    features = b.items.reduce((a, r) => a + Object.keys(r).length, Object.keys(b.user).length);
  }
  return { ...rec.summaryMs(), features };
}

const cacheOpt = CACHE ? { max: 100_000, ttlMs: 60_000 } : (false as const);
const rows: Record<string, string | number>[] = [];
const mem = await measure('memory', new InMemoryFeatureStore(schema, { cache: cacheOpt }));
rows.push({ store: 'in-memory (baseline)', p50: mem.p50, p99: mem.p99, p999: mem.p999, max: mem.max, 'p99 ×': 1, features: mem.features });

if (!(await tcpOpen(6379))) throw new Error('Redis is not running on 127.0.0.1:6379');
const prefix = `rs:bench:${process.pid}:`;
const single = new RedisFeatureStore(schema, { keyPrefix: prefix, cache: cacheOpt });
await single.ready();
const red = await measure('redis', single);
rows.push({
  store: 'redis (single node)',
  p50: red.p50,
  p99: red.p99,
  p999: red.p999,
  max: red.max,
  'p99 ×': red.p99 / mem.p99,
  features: red.features,
});
await single.close();
const cleaner = new Redis(6379, '127.0.0.1');
const keys = await cleaner.keys(`${prefix}*`);
for (let i = 0; i < keys.length; i += 1000) await cleaner.del(...keys.slice(i, i + 1000));
cleaner.disconnect();

const cluster = await startRedisCluster(CLUSTER_PORTS);
let clu: Awaited<ReturnType<typeof measure>>;
try {
  const cs = new RedisFeatureStore(schema, { clusterNodes: [{ host: '127.0.0.1', port: CLUSTER_PORTS[0] as number }], cache: cacheOpt });
  await cs.ready();
  clu = await measure('cluster', cs);
  await cs.close();
} finally {
  await cluster.stop();
}
rows.push({
  store: 'redis cluster (3 masters)',
  p50: clu.p50,
  p99: clu.p99,
  p999: clu.p999,
  max: clu.max,
  'p99 ×': clu.p99 / mem.p99,
  features: clu.features,
});

printTable(`feature fetch: 1 user + ${ITEMS} items (${featuresPerItem} item+creator features/item), ${ITERS} reads, ms`, rows);
const file = writeResult(
  'features-fetch',
  { items: ITEMS, iters: ITERS, warmup: WARMUP, cache: CACHE },
  {
    items: ITEMS,
    featuresPerItem,
    featuresReturned: red.features,
    memoryP50Ms: mem.p50,
    memoryP99Ms: mem.p99,
    redisP50Ms: red.p50,
    redisP99Ms: red.p99,
    redisP999Ms: red.p999,
    clusterP50Ms: clu.p50,
    clusterP99Ms: clu.p99,
    clusterP999Ms: clu.p999,
  },
);
console.log(`\nwrote ${file}`);

/**
 * Feature fetch benchmark: one user + N items (~60 item features + creator features each) read
 * through the FeatureStore from (1) the in-memory store (baseline), (2) a single Redis on
 * 127.0.0.1:6379, (3) a private 3-master Redis Cluster on loopback (started here).
 *
 *   npx tsx bench/fetch.ts [--items 200] [--iters 2000] [--warmup 300] [--warmup-ms 3000] [--cache false]
 *                          [--stores memory,redis,cluster,cluster-slot] [--snapshots read|write]
 *
 * Closed loop, one read at a time (the latency of one request's feature stage). The local LRU
 * tier is off by default so every read goes to the backend. Per store, three modes run
 * interleaved (so machine noise hits them alike):
 *   fetch              `store.read(...)` only;
 *   fetch+assemble     read, then rank's FeatureAssembler builds the model's input tensor from
 *                      the batch's columns (what the fine ranker does per request);
 *   fetch+assemble rows  the same from the batch's row objects (the pre-columnar path; the
 *                      rows are built lazily from the columns), so the columnar win is measured
 *                      end to end, not just moved from the store into the assembler;
 *   fetch via HMGET    (Redis stores) `store.read(...)` on a second store over the same keys and
 *                      client with `hashSnapshots: 'write'`: the hot hash groups are read with one
 *                      `HMGET` per record instead of one `MGET` of packed snapshots — the read
 *                      path before snapshots, measured in the same run.
 * GC pause time per store comes from a `gc` PerformanceObserver.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { FeatureBatch, FeatureRow } from '@recspine/core';
import { Redis } from 'ioredis';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
// Relative import: the benchmark measures the real assembler without making features depend on rank.
import { FeatureAssembler } from '../../rank/src/FeatureAssembler.js';
import type { FeatureAssemblerSpec, FeatureSpec as ModelFeature } from '../../rank/src/FeatureSpec.js';
import { InMemoryFeatureStore, RedisFeatureStore, type FeatureMutation, type FeatureSchema, type FeatureStore } from '../src/index.js';
import { CATEGORIES, itemProfile, testSchema } from '../test/fixtures.js';
import { startRedisCluster, tcpOpen } from '../test/servers.js';

const flags = parseFlags();
const ITEMS = Number(flags.items ?? 200);
const ITERS = Number(flags.iters ?? 2000);
const WARMUP = Number(flags.warmup ?? 300);
/**
 * Each store warms up for at least `--warmup` reads and `--warmup-ms` of reading (default 3 000 ms),
 * so the figures are a serving process's steady state, not its first seconds. With 300 reads
 * (≈ 0.15 s) and no time floor, 40 of the 48 reads over 1.5 ms in a 4 000-read run fell in the first
 * 1.2 s after the warm-up (27 Nov, single Redis): V8 still tiering up the decode paths and the heap
 * growing through its first mark-compacts (`--trace-gc`: at 0.7, 1.1 and 1.4 s). `--warmup-ms 0`
 * measures that cold window.
 */
const WARMUP_MS = Number(flags['warmup-ms'] ?? 3000);
const CACHE = flags.cache === 'true';
const STORES = new Set((flags.stores ?? 'memory,redis,cluster').split(','));
const CLUSTER_PORTS = [7111, 7112, 7113];
/** `write`: the Redis stores read hot hash groups with HMGET in every mode (GC per read of that path). */
/**
 * `--fetch-only true`: run only the plain fetch mode. The interleaved modes (especially rows+asm)
 * leave garbage whose collection lands on whichever read comes next, so the fetch p99 of the
 * interleaved run includes other modes' GC; this isolates it.
 */
const FETCH_ONLY = flags['fetch-only'] === 'true';
const SNAPSHOTS = flags.snapshots === 'write' ? 'write' : 'read';
/**
 * `--raw true` (single Redis): between store reads, the same records fetched with bare ioredis
 * `mgetBuffer` calls (one per stored group, all in one tick, no decode): the floor a store read
 * cannot go below on this machine — the round trip, Redis and ioredis's reply parsing.
 */
const RAW = flags.raw === 'true';

const schema = testSchema();
const itemIds = Array.from({ length: ITEMS }, (_, i) => `bench-item-${i}`);
const creatorIds = itemIds.map((_, i) => `bench-creator-${i % 50}`);
const now = Date.now();
const featuresPerItem = ['item', 'creator']
  .flatMap((e) => schema.groupsOf(e as 'item' | 'creator'))
  .reduce((a, g) => a + g.features.length, 0);

/** A model input over every item-row feature of the schema plus the user·item affinity. */
function modelSpec(s: FeatureSchema): FeatureAssemblerSpec {
  const features: ModelFeature[] = [
    { kind: 'numeric', name: 'u_tenure', from: 'user', key: 'tenure_days', normalize: { kind: 'log1p' }, group: 'user_profile' },
    { kind: 'dot', name: 'affinity', a: { from: 'user', key: 'user_embedding' }, b: { from: 'item', key: 'embedding' } },
  ];
  for (const g of [...s.groupsOf('item'), ...s.groupsOf('creator')]) {
    g.features.forEach((f, i) => {
      const key = g.outputNames[i] as string;
      const base = { name: `x_${key}`, from: 'item' as const, key, group: g.name };
      if (f.type === 'number') features.push({ kind: 'numeric', ...base, normalize: { kind: 'log1p' } });
      else if (f.type === 'vector') features.push({ kind: 'vector', ...base, dim: f.dim as number });
      else if (f.type === 'idList') features.push({ kind: 'idList', ...base, encoding: 'hashedBag', buckets: 8 });
      else if (key === 'category') features.push({ kind: 'category', ...base, vocabulary: [...CATEGORIES], encoding: 'onehot' });
      else features.push({ kind: 'category', ...base, vocabulary: ['US', 'BR'], encoding: 'index' });
    });
  }
  return { maxBatch: Math.max(ITEMS, 1), features };
}
const assembler = new FeatureAssembler(modelSpec(schema));

/** The batch without its columns: the assembler falls back to (lazily built) row objects. */
function rowsOnly(b: FeatureBatch): FeatureBatch {
  return {
    userId: b.userId,
    itemIds: b.itemIds,
    user: b.user,
    missingGroups: b.missingGroups,
    get items(): readonly FeatureRow[] {
      return b.items;
    },
  };
}

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

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

type Summary = ReturnType<LatencyRecorder['summaryMs']>;
interface Measured {
  fetch: Summary;
  /** Same read through the HMGET path (Redis stores only). */
  fetchHmget: Summary | undefined;
  assemble: Summary;
  assembleRows: Summary;
  features: number;
  gcMsPerRead: number;
  /** This process's CPU (user + system) per read: less sensitive to the machine's load than latency. */
  cpuMsPerRead: number;
}

let rawSummary: Summary | undefined;

async function measure(name: string, store: FeatureStore, viaHmget?: FeatureStore, raw?: () => Promise<unknown>): Promise<Measured> {
  await seed(store);
  const recs = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()] as const;
  const rawRec = new LatencyRecorder();
  let features = 0;
  let gcStart = 0;
  let cpuStart = process.cpuUsage();
  // GC entries reach the observer on a later macrotask; let them in before reading the total.
  const flushGc = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
  const warmStart = performance.now();
  let warm = -1; // reads of the warm-up, fixed when it ends
  for (let i = 0; warm < 0 || i < warm + ITERS; i++) {
    if (warm < 0 && i >= WARMUP && performance.now() - warmStart >= WARMUP_MS) {
      warm = i;
      await flushGc();
      gcStart = gcMs;
      cpuStart = process.cpuUsage();
    }
    const measured = warm >= 0;
    for (let mode = 0; mode < (FETCH_ONLY ? 1 : viaHmget === undefined ? 3 : 4); mode++) {
      const t = performance.now();
      const b = await (mode === 3 ? (viaHmget as FeatureStore) : store).read({
        userId: 'bench-user',
        itemIds,
        creatorIds,
        context: { region: 'US', hour_of_day: 12 },
      });
      if (mode === 1 || mode === 2) {
        const lease = assembler.assemble({ batch: mode === 1 ? b : rowsOnly(b) });
        lease.release();
      }
      const dt = performance.now() - t;
      if (b.missingGroups.size > 0) throw new Error(`${name}: groups missing: ${[...b.missingGroups].join(',')}`);
      if (measured) (recs[mode] as LatencyRecorder).recordMs(dt);
      if (mode === 0 && raw !== undefined) {
        const tr = performance.now();
        await raw();
        if (measured) rawRec.recordMs(performance.now() - tr);
      }
      if (measured && i === warm + ITERS - 1 && mode === 0) {
        features = Object.keys(b.user).length;
        for (const c of b.columns?.values() ?? []) for (const p of c.present) features += p;
      }
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  if (raw !== undefined) rawSummary = rawRec.summaryMs();
  const reads = (FETCH_ONLY ? 1 : viaHmget === undefined ? 3 : 4) * ITERS;
  await flushGc();
  return {
    cpuMsPerRead: (cpu.user + cpu.system) / 1000 / reads,
    fetch: recs[0].summaryMs(),
    fetchHmget: viaHmget === undefined ? undefined : recs[3].summaryMs(),
    assemble: recs[1].summaryMs(),
    assembleRows: recs[2].summaryMs(),
    features,
    gcMsPerRead: (gcMs - gcStart) / reads,
  };
}

const cacheOpt = CACHE ? { max: 100_000, ttlMs: 60_000 } : (false as const);
const rows: Record<string, string | number>[] = [];
const results = new Map<string, Measured>();
const report = (label: string, m: Measured): void => {
  const base = results.get('memory');
  rows.push({
    store: label,
    p50: m.fetch.p50,
    p99: m.fetch.p99,
    p999: m.fetch.p999,
    'p99 × mem': base === undefined ? NaN : m.fetch.p99 / base.fetch.p99,
    'hmget p50': m.fetchHmget?.p50 ?? NaN,
    'hmget p99': m.fetchHmget?.p99 ?? NaN,
    'hmget p999': m.fetchHmget?.p999 ?? NaN,
    '+asm p50': m.assemble.p50,
    '+asm p99': m.assemble.p99,
    '+asm p999': m.assemble.p999,
    'rows+asm p50': m.assembleRows.p50,
    'rows+asm p99': m.assembleRows.p99,
    'gc ms/read': m.gcMsPerRead,
    'cpu ms/read': m.cpuMsPerRead,
    features: m.features,
  });
};

if (STORES.has('memory')) {
  const m = await measure('memory', new InMemoryFeatureStore(schema, { cache: cacheOpt }));
  results.set('memory', m);
  report('in-memory (baseline)', m);
}

if (STORES.has('redis')) {
  if (!(await tcpOpen(6379))) throw new Error('Redis is not running on 127.0.0.1:6379');
  const prefix = `rs:bench:${process.pid}:`;
  const single = new RedisFeatureStore(schema, { keyPrefix: prefix, cache: cacheOpt, hashSnapshots: SNAPSHOTS });
  await single.ready();
  const hm = new RedisFeatureStore(schema, { keyPrefix: prefix, cache: cacheOpt, client: single.client, hashSnapshots: 'write' });
  try {
    let raw: (() => Promise<unknown>) | undefined;
    if (RAW) {
      // the keys one read MGETs, by group, from the schema: packed groups, and the packed snapshot
      // (`~p`) of each hot hash group (the key layout of the store's README)
      const byGroup = new Map<string, string[]>();
      for (const [entity, tag, ids] of [
        ['item', 'i', itemIds],
        ['creator', 'c', [...new Set(creatorIds)]],
      ] as const) {
        for (const g of schema.groupsOf(entity)) {
          if (g.encoding === 'hash' && g.cacheable) continue; // read by HMGET, not an MGET
          const suffix = g.encoding === 'hash' ? `${g.name}~p` : g.name;
          byGroup.set(
            suffix,
            ids.map((id) => `${prefix}${tag}:{${id}}:${suffix}`),
          );
        }
      }
      const lists = [...byGroup.values()];
      console.log(`raw: ${lists.length} MGETs of ${lists.map((l) => l.length).join('+')} keys (${[...byGroup.keys()].join(', ')})`);
      const client = single.client as Redis;
      const rawRead = (): Promise<(Buffer | null)[][]> => Promise.all(lists.map((ks) => client.mgetBuffer(ks)));
      raw = rawRead;
      await seed(single);
      const missing = (await rawRead()).flat().filter((b) => b === null).length;
      if (missing > 0) throw new Error(`raw: ${missing} keys of the read are absent (key layout changed?)`);
    }
    const m = await measure('redis', single, hm, raw);
    const st = single.stats();
    if ((st.snapshotFallbacks ?? 0) > 0) throw new Error(`redis: ${st.snapshotFallbacks} snapshot fallbacks`);
    results.set('redis', m);
    report('redis (single node)', m);
  } finally {
    await single.close();
    const cleaner = new Redis(6379, '127.0.0.1');
    const keys = await cleaner.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 1000) await cleaner.del(...keys.slice(i, i + 1000));
    cleaner.disconnect();
  }
}

if (STORES.has('cluster') || STORES.has('cluster-slot')) {
  const cluster = await startRedisCluster(CLUSTER_PORTS);
  try {
    // `cluster`: packed groups by one script call per master (the default); `cluster-slot`: the
    // same store reading them by one MGET per hash slot (`clusterReads: 'slot'`), the baseline.
    for (const [name, clusterReads] of [
      ['cluster', 'script'],
      ['cluster-slot', 'slot'],
    ] as const) {
      if (!STORES.has(name)) continue;
      const cs = new RedisFeatureStore(schema, {
        clusterNodes: [{ host: '127.0.0.1', port: CLUSTER_PORTS[0] as number }],
        cache: cacheOpt,
        hashSnapshots: SNAPSHOTS,
        clusterReads,
      });
      await cs.ready();
      const hm = new RedisFeatureStore(schema, { cache: cacheOpt, client: cs.client, hashSnapshots: 'write', clusterReads });
      const m = await measure(name, cs, hm);
      await cs.close();
      await hm.close(); // does not own the client: a no-op kept for symmetry
      results.set(name, m);
      report(name === 'cluster' ? 'redis cluster (3 masters)' : 'cluster, per-slot MGET', m);
    }
  } finally {
    await cluster.stop();
  }
}

printTable(
  `feature fetch: 1 user + ${ITEMS} items (${featuresPerItem} item+creator features/item), ${ITERS} reads per mode, ms ` +
    `(+asm = fetch + assemble the ${assembler.width}-column model input from columns; rows+asm = same from row objects; hmget = fetch with the hot hash groups read by HMGET, the pre-snapshot path)`,
  rows,
);
const metrics: Record<string, number> = { items: ITEMS, featuresPerItem, modelInputWidth: assembler.width };
const put = (prefix: string, m: Measured | undefined): void => {
  if (m === undefined) return;
  Object.assign(metrics, {
    [`${prefix}P50Ms`]: m.fetch.p50,
    [`${prefix}P99Ms`]: m.fetch.p99,
    [`${prefix}P999Ms`]: m.fetch.p999,
    ...(m.fetchHmget === undefined
      ? {}
      : {
          [`${prefix}HmgetP50Ms`]: m.fetchHmget.p50,
          [`${prefix}HmgetP99Ms`]: m.fetchHmget.p99,
          [`${prefix}HmgetP999Ms`]: m.fetchHmget.p999,
        }),
    [`${prefix}AssembleP50Ms`]: m.assemble.p50,
    [`${prefix}AssembleP99Ms`]: m.assemble.p99,
    [`${prefix}AssembleP999Ms`]: m.assemble.p999,
    [`${prefix}AssembleRowsP50Ms`]: m.assembleRows.p50,
    [`${prefix}AssembleRowsP99Ms`]: m.assembleRows.p99,
    [`${prefix}AssembleRowsP999Ms`]: m.assembleRows.p999,
    [`${prefix}GcMsPerRead`]: m.gcMsPerRead,
    [`${prefix}CpuMsPerRead`]: m.cpuMsPerRead,
  });
};
put('memory', results.get('memory'));
put('redis', results.get('redis'));
put('cluster', results.get('cluster'));
put('clusterSlot', results.get('cluster-slot'));
if (rawSummary !== undefined) {
  console.log(
    `raw ioredis MGETs of the same records (floor): p50 ${rawSummary.p50.toFixed(3)} p99 ${rawSummary.p99.toFixed(3)} p999 ${rawSummary.p999.toFixed(3)} ms`,
  );
  Object.assign(metrics, { rawP50Ms: rawSummary.p50, rawP99Ms: rawSummary.p99, rawP999Ms: rawSummary.p999 });
}
const red = results.get('redis') ?? results.get('memory');
if (red !== undefined) metrics.featuresReturned = red.features;
const file = writeResult(
  FETCH_ONLY ? 'features-fetch-only' : SNAPSHOTS === 'read' ? 'features-fetch' : 'features-fetch-hmget',
  {
    items: ITEMS,
    iters: ITERS,
    warmup: WARMUP,
    warmupMs: WARMUP_MS,
    cache: CACHE,
    stores: [...STORES],
    snapshots: SNAPSHOTS,
    fetchOnly: FETCH_ONLY,
  },
  metrics,
);
console.log(`\nwrote ${file}`);

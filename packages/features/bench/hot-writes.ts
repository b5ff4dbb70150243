/**
 * Write-path cost of hash snapshots: the same writes through a store with `hashSnapshots: 'off'`
 * (the Lua script updates the hash only) and `'read'` (the script also re-packs the record into
 * its `~p` snapshot), interleaved round by round on a PRIVATE redis-server (port 7341, started
 * and stopped here), so `INFO commandstats` deltas are this benchmark's server CPU alone.
 *
 *   npx tsx bench/hot-writes.ts [--rounds 8] [--batch 500]
 *
 * Two workloads:
 *   counters    `store.write` of `item_stream` counter mutations as the aggregator sends them
 *               (2 increments, 2 decayed counters, a guard), 2 000 items, batches of `--batch`;
 *   aggregator  `StreamAggregator.handle` of mixed events (watch/click/impression/like) of
 *               5 000 users on 2 000 items / 200 creators — user, item and creator writes, i.e.
 *               the streaming path's whole store cost per event.
 * Reported per workload: client wall µs per write/event and Redis server µs per write/event
 * (median over rounds), and the ratio snapshot / off.
 */
import { Redis } from 'ioredis';
import { parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { RedisFeatureStore, StreamAggregator, type DeliveredEvent, type FeatureMutation, type RecEvent } from '../src/index.js';
import { CATEGORIES, testSchema } from '../test/fixtures.js';
import { startRedis } from '../test/servers.js';

const flags = parseFlags();
const ROUNDS = Number(flags.rounds ?? 8);
const BATCH = Number(flags.batch ?? 500);
const PORT = 7341;
const ITEMS = 2000;
const USERS = 5000;

const schema = testSchema();
const server = await startRedis(PORT);
const admin = new Redis(PORT, '127.0.0.1');

async function serverUsec(): Promise<number> {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=\d+,usec=(\d+),/gm)) if (m[1] !== 'info') total += Number(m[2]);
  return total;
}

// deterministic PRNG (mulberry32) so both stores get the same streams
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};

interface Side {
  readonly mode: 'off' | 'read';
  readonly store: RedisFeatureStore;
  readonly agg: StreamAggregator;
  seq: number;
  readonly wall: { counters: number[]; aggregator: number[] };
  readonly server: { counters: number[]; aggregator: number[] };
}

const sides: Side[] = (['off', 'read'] as const).map((mode) => {
  const store = new RedisFeatureStore(schema, {
    url: `redis://127.0.0.1:${PORT}`,
    keyPrefix: `hw:${mode}:`,
    hashSnapshots: mode,
    cache: false,
  });
  return {
    mode,
    store,
    agg: new StreamAggregator({ store, categories: CATEGORIES }),
    seq: 0,
    wall: { counters: [], aggregator: [] },
    server: { counters: [], aggregator: [] },
  };
});

function counterBatch(side: Side, round: number): FeatureMutation[] {
  const r = rng(round * 7919 + 1);
  const at = Date.now();
  return Array.from({ length: BATCH }, (): FeatureMutation => {
    const seq = ++side.seq;
    return {
      entity: 'item',
      id: `item-${Math.floor(r() * ITEMS)}`,
      group: 'item_stream',
      incr: { impressions_total: 1, clicks_total: r() < 0.1 ? 1 : 0 },
      decay: { atMs: at, add: { impressions_recent: 1, clicks_recent: r() < 0.1 ? 1 : 0 } },
      guard: { stream: 'p0', seq },
    };
  });
}

function eventBatch(side: Side, round: number): DeliveredEvent[] {
  const r = rng(round * 104729 + 3);
  const at = Date.now();
  return Array.from({ length: BATCH }, (_, k): DeliveredEvent => {
    const seq = ++side.seq;
    const item = Math.floor(r() * ITEMS);
    const base = {
      id: `e-${round}-${k}`,
      userId: `user-${Math.floor(r() * USERS)}`,
      atMs: at,
      itemId: `item-${item}`,
      creatorId: `creator-${item % 200}`,
      category: CATEGORIES[item % CATEGORIES.length] as string,
    };
    const x = r();
    const event: RecEvent =
      x < 0.5
        ? { ...base, type: 'impression' }
        : x < 0.7
          ? { ...base, type: 'click' }
          : x < 0.95
            ? { ...base, type: 'watch', watchMs: Math.floor(r() * 60_000), completed: r() < 0.3 }
            : { ...base, type: 'like' };
    return { event, stream: 'p0', seq };
  });
}

try {
  for (const s of sides) await s.store.ready();
  // round 0 is warm-up (script load, JIT, first-seen records); then alternate which side goes first
  for (let round = 0; round <= ROUNDS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const workload of ['counters', 'aggregator'] as const) {
      for (const s of order) {
        const u0 = await serverUsec();
        const t0 = performance.now();
        if (workload === 'counters') {
          const res = await s.store.write(counterBatch(s, round));
          if (res.some((x) => x !== 'applied')) throw new Error(`${s.mode}: a counter write was not applied`);
        } else await s.agg.handle(eventBatch(s, round));
        const wall = ((performance.now() - t0) * 1000) / BATCH;
        const srv = ((await serverUsec()) - u0) / BATCH;
        if (round > 0) {
          s.wall[workload].push(wall);
          s.server[workload].push(srv);
        }
      }
    }
  }
  // both sides hold the same counters (snapshots change nothing in the hash)
  const probe = Array.from({ length: 1000 }, (_, i) => `item-${i}`);
  const got = await Promise.all(sides.map((s) => s.store.read({ itemIds: probe, groups: ['item_stream'], nowMs: Date.now() })));
  const tot = (i: number): string => JSON.stringify(got[i]?.items.map((row) => row.impressions_total));
  if (tot(0) !== tot(1) || !/\d/.test(tot(0))) throw new Error('the two stores disagree');
  const snapKeys = (await admin.keys('hw:read:*~p')).length;
  const offSnapKeys = (await admin.keys('hw:off:*~p')).length;

  const rows: Record<string, string | number>[] = [];
  const metrics: Record<string, number> = { snapshotKeys: snapKeys, snapshotKeysWithOff: offSnapKeys };
  for (const workload of ['counters', 'aggregator'] as const) {
    const [off, snap] = sides as [Side, Side];
    const w0 = median(off.wall[workload]);
    const w1 = median(snap.wall[workload]);
    const s0 = median(off.server[workload]);
    const s1 = median(snap.server[workload]);
    rows.push({
      workload,
      'wall µs off': w0,
      'wall µs snap': w1,
      'wall ratio': w1 / w0,
      'redis µs off': s0,
      'redis µs snap': s1,
      'redis ratio': s1 / s0,
    });
    Object.assign(metrics, {
      [`${workload}WallUsOff`]: w0,
      [`${workload}WallUsSnapshot`]: w1,
      [`${workload}WallRatio`]: w1 / w0,
      [`${workload}RedisUsOff`]: s0,
      [`${workload}RedisUsSnapshot`]: s1,
      [`${workload}RedisRatio`]: s1 / s0,
    });
  }
  printTable(
    `hash snapshot write cost: ${ROUNDS} rounds × ${BATCH} per workload (median µs per write / per event; counters = item_stream ` +
      `mutations, aggregator = StreamAggregator.handle); ${snapKeys} snapshot keys written (off: ${offSnapKeys})`,
    rows,
  );
  const file = writeResult('features-hot-writes', { rounds: ROUNDS, batch: BATCH, items: ITEMS, users: USERS }, metrics);
  console.log(`\nwrote ${file}`);
} finally {
  for (const s of sides) await s.store.close();
  admin.disconnect();
  await server.stop();
}

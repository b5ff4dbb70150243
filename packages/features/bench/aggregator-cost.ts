/**
 * The streaming write path's cost per event, without Kafka: `StreamAggregator.handle` of batches of
 * mixed events (impressions and clicks of `--users` users on 20 000 items / 200 creators, like the
 * freshness bench's load) against a PRIVATE redis-server (port 7346, started and stopped here), so
 * Redis's own CPU (`INFO cpu`, the whole process: parsing, Lua, replies) is this run's alone.
 *
 *   npx tsx bench/aggregator-cost.ts [--batches 40] [--batch 500] [--users 50000] [--snapshots read|off] [--src ../src]
 *
 * Reports per event: client CPU (this process, user + system), Redis CPU and wall time. CPU
 * times move far less with the machine's load than latency does; to compare two revisions, run
 * this alternately for each (`--src` another copy of the sources, e.g. exported from an earlier
 * commit) and compare the medians of the ratios.
 */
import { Redis } from 'ioredis';
import { parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import type * as Features from '../src/index.js';
import { CATEGORIES, testSchema } from '../test/fixtures.js';
import { startRedis } from '../test/servers.js';

const flags = parseFlags();
const BATCHES = Number(flags.batches ?? 40);
const BATCH = Number(flags.batch ?? 500);
const USERS = Number(flags.users ?? 50_000);
const SNAPSHOTS = (flags.snapshots ?? 'read') as 'read' | 'off';
const SRC = flags.src ?? '../src';
const PORT = 7346;
const { RedisFeatureStore, StreamAggregator } = (await import(`${SRC}/index.js`)) as typeof Features;

const server = await startRedis(PORT);
const admin = new Redis(PORT, '127.0.0.1');
const redisCpuUs = async (): Promise<number> => {
  const c = await admin.info('cpu');
  return (Number(/used_cpu_user:([\d.]+)/.exec(c)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(c)?.[1])) * 1e6;
};
// deterministic LCG so every run (and revision) gets the same events
let r = 12345;
const rnd = (): number => (r = (r * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
let seq = 0;
const batch = (): Features.DeliveredEvent[] =>
  Array.from({ length: BATCH }, (_, k) => {
    const item = Math.floor(rnd() * 20_000);
    const s = ++seq;
    const event: Features.RecEvent = {
      id: `e${s}`,
      type: k % 3 === 0 ? 'click' : 'impression',
      userId: `user-${Math.floor(rnd() * USERS)}`,
      itemId: `item-${item}`,
      creatorId: `creator-${item % 200}`,
      category: CATEGORIES[item % CATEGORIES.length] as string,
      atMs: Date.now(),
    };
    return { event, stream: 'p0', seq: s };
  });

const store = new RedisFeatureStore(testSchema(), { url: `redis://127.0.0.1:${PORT}`, cache: false, hashSnapshots: SNAPSHOTS });
try {
  await store.ready();
  const agg = new StreamAggregator({ store, categories: CATEGORIES });
  for (let i = 0; i < 20; i++) await agg.handle(batch()); // warm-up: JIT, script load
  const r0 = await redisCpuUs();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < BATCHES; i++) await agg.handle(batch());
  const wallUs = ((performance.now() - t0) * 1000) / (BATCHES * BATCH);
  const c = process.cpuUsage(c0);
  const clientUs = (c.user + c.system) / (BATCHES * BATCH);
  const redisUs = ((await redisCpuUs()) - r0) / (BATCHES * BATCH);
  if (agg.stats().applied !== (BATCHES + 20) * BATCH) throw new Error(`applied ${agg.stats().applied} events`);
  printTable(`aggregator cost per event (${BATCHES} × ${BATCH} events, snapshots ${SNAPSHOTS}, src ${SRC}), µs`, [
    { 'client cpu': clientUs, 'redis cpu': redisUs, wall: wallUs },
  ]);
  const file = writeResult(
    'features-aggregator-cost',
    { batches: BATCHES, batch: BATCH, users: USERS, snapshots: SNAPSHOTS, src: SRC },
    { clientCpuUsPerEvent: clientUs, redisCpuUsPerEvent: redisUs, wallUsPerEvent: wallUs },
  );
  console.log(`\nwrote ${file}`);
} finally {
  await store.close();
  admin.disconnect();
  await server.stop();
}

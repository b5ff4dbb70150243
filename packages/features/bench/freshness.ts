/**
 * Streaming freshness through real Kafka: event timestamp at produce → its effect durable (and
 * readable) in the Redis feature store, via KafkaEventBus → StreamAggregator → RedisFeatureStore.
 *
 *   scripts/kafka.sh up
 *   npx tsx bench/freshness.ts [--rates 1000,2500,5000,7500,10000,15000,20000] [--seconds 8]
 *                              [--partitions 6] [--users 50000] [--warmup 2] [--all] [--commit-interval 100]
 *                              [--src ../src]
 *
 * Open loop: a producer in a child process (like the API servers of a real deployment) sends
 * `rate/100` events every 10 ms regardless of the consumer. The first `--warmup` seconds (default 2)
 * of each rate are not recorded: each rate starts a fresh topic, consumer group and aggregator,
 * whose first second is JIT, Lua script loading and the group join. A rate is **sustained** when the lag does not grow: after
 * the producer stops, the backlog drains within 1 s, and freshness p50 in the last quarter of the
 * window is within 500 ms of the first quarter's. `maxSustainedEventsPerSec` is the highest sustained
 * rate; the ladder stops after the first rate that is not sustained (`--all` runs every rate).
 * Freshness p50/p99 are reported at 5 000 events/s (or the closest measured rate).
 *
 * Per step it also prints where the time goes: `deliver` = produce → handed to the aggregator
 * (producer, broker, fetch, queueing behind the previous batch), `handle` = the aggregator's
 * Redis round trips and CPU per batch.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { CATEGORIES, testSchema } from '../test/fixtures.js';
import { tcpOpen } from '../test/servers.js';
import type * as Features from '../src/index.js';

const flags = parseFlags();
const RATES = (flags.rates ?? '1000,2500,5000,7500,10000,15000,20000').split(',').map(Number);
const SECONDS = Number(flags.seconds ?? 8);
const PARTITIONS = Number(flags.partitions ?? 6);
const USERS = Number(flags.users ?? 50_000);
const ALL = flags.all === 'true';
const WARMUP = Number(flags.warmup ?? 2);
const COMMIT_INTERVAL = flags['commit-interval'] === undefined ? undefined : Number(flags['commit-interval']);
const ITEMS = 20_000;
// --src <dir>: measure another copy of the package sources (e.g. `git show`-exported from an earlier
// commit into a directory inside packages/features), to compare revisions in the same load window
const SRC = flags.src ?? '../src';
/** The store's hot-group snapshot mode (`read`, the default, keeps packed snapshots; `off` writes plain hashes only). */
const SNAPSHOTS = (flags.snapshots ?? 'read') as 'read' | 'write' | 'off';
const { KafkaEventBus, RedisFeatureStore, StreamAggregator } = (await import(`${SRC}/index.js`)) as typeof Features;
const BROKER = `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`;

if (!(await tcpOpen(Number(BROKER.split(':')[1])))) throw new Error(`Kafka is not running on ${BROKER}: run scripts/kafka.sh up`);
if (!(await tcpOpen(6379))) throw new Error('Redis is not running on 127.0.0.1:6379');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface StepResult {
  rate: number;
  produced: number;
  applied: number;
  p50: number;
  p99: number;
  p999: number;
  drainMs: number;
  earlyP50: number;
  lateP50: number;
  deliverP50: number;
  deliverP99: number;
  handleP50: number;
  handleP99: number;
  batches: number;
  meanBatch: number;
  sustained: boolean;
}

async function step(rate: number): Promise<StepResult> {
  const run = `fresh${process.pid}r${rate}t${Date.now().toString(36)}`;
  const prefix = `rs:bench:${run}:`;
  const store = new RedisFeatureStore(testSchema(), { keyPrefix: prefix, cache: false, hashSnapshots: SNAPSHOTS });
  await store.ready();
  const agg = new StreamAggregator({ store, categories: CATEGORIES });
  const bus = new KafkaEventBus({
    brokers: [BROKER],
    topic: `recspine.bench.${run}`,
    groupId: run,
    partitions: PARTITIONS,
    ...(COMMIT_INTERVAL === undefined ? {} : { commitIntervalMs: COMMIT_INTERVAL }),
  });
  await bus.start();
  const rec = new LatencyRecorder();
  const early = new LatencyRecorder();
  const late = new LatencyRecorder();
  const recDeliver = new LatencyRecorder();
  const recHandle = new LatencyRecorder();
  let applied = 0;
  let batches = 0;
  // the measured window: [from, to) in event time, set once the producer reports its start
  let from = Infinity;
  let to = Infinity;
  await bus.subscribe(async (batch) => {
    const t0 = Date.now();
    await agg.handle(batch);
    // the batch's writes are durable in Redis now: visible to every reader
    const now = Date.now();
    let measured = 0;
    for (const d of batch) {
      const at = d.event.atMs;
      if (at < from || at >= to) continue;
      measured++;
      rec.recordMs(now - at);
      recDeliver.recordMs(t0 - at);
      const q = (at - from) / (to - from);
      if (q < 0.25) early.recordMs(now - at);
      else if (q >= 0.75) late.recordMs(now - at);
    }
    if (measured > 0) {
      recHandle.recordMs(now - t0);
      batches++;
    }
    applied += batch.length;
  });
  const child = fork(
    join(import.meta.dirname, 'freshness-producer.ts'),
    [
      JSON.stringify({
        brokers: [BROKER],
        topic: bus.topic,
        rate,
        seconds: SECONDS + WARMUP,
        users: USERS,
        items: ITEMS,
        categories: [...CATEGORIES],
        prefix: `b${process.pid}r${rate}`,
      }),
    ],
    { execArgv: ['--import', 'tsx'] },
  );
  const done = new Promise<{ produced: number; failed: number }>((resolve, reject) => {
    child.on('message', (m: { type: string; atMs: number; produced: number; failed: number }) => {
      if (m.type === 'ready') {
        const t = Date.now();
        from = t + WARMUP * 1_000; // warm-up: JIT, Lua script load, first fetches
        to = t + (SECONDS + WARMUP) * 1_000;
        child.send('go');
      } else if (m.type === 'done') resolve(m);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`producer exited with ${code}`)));
  });
  const { produced, failed } = await done;
  if (failed > 0) console.warn(`  producer: ${failed} events failed to send`);
  const stopAt = performance.now();
  while (applied < produced && performance.now() - stopAt < 30_000) await sleep(10);
  const drainMs = performance.now() - stopAt;
  const s = rec.summaryMs();
  await bus.close();
  await store.close();
  const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [bus.topic, bus.deadLetterTopic] }).catch(() => undefined);
  await admin.disconnect();
  const r = new Redis(6379, '127.0.0.1');
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
  const earlyP50 = early.pMs(50);
  const lateP50 = late.pMs(50);
  return {
    rate,
    produced,
    applied,
    p50: s.p50,
    p99: s.p99,
    p999: s.p999,
    drainMs,
    earlyP50,
    lateP50,
    deliverP50: recDeliver.pMs(50),
    deliverP99: recDeliver.pMs(99),
    handleP50: recHandle.pMs(50),
    handleP99: recHandle.pMs(99),
    batches,
    meanBatch: rec.count / Math.max(1, batches),
    sustained: applied >= produced && drainMs <= 1000 && lateP50 <= earlyP50 + 500,
  };
}

const results: StepResult[] = [];
for (const rate of RATES) {
  const r = await step(rate);
  results.push(r);
  console.log(
    `rate ${rate}/s: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, drain ${r.drainMs.toFixed(0)} ms, ` +
      `p50 first/last quarter ${r.earlyP50.toFixed(0)}/${r.lateP50.toFixed(0)} ms, sustained ${r.sustained}\n` +
      `  deliver p50 ${r.deliverP50.toFixed(1)} / p99 ${r.deliverP99.toFixed(1)} ms; handle per batch p50 ${r.handleP50.toFixed(1)} / ` +
      `p99 ${r.handleP99.toFixed(1)} ms; ${r.batches} batches of ${r.meanBatch.toFixed(0)} events on average`,
  );
  if (!r.sustained && !ALL) break;
}
printTable(
  `freshness: produce → visible in Redis via Kafka (${PARTITIONS} partitions), ${SECONDS} s per rate, ms`,
  results.map((r) => ({
    'events/s': r.rate,
    produced: r.produced,
    p50: r.p50,
    p99: r.p99,
    p999: r.p999,
    'deliver p99': r.deliverP99,
    'handle p99': r.handleP99,
    'mean batch': Math.round(r.meanBatch),
    'drain ms': Math.round(r.drainMs),
    sustained: String(r.sustained),
  })),
);
const at = results.reduce((best, r) => (Math.abs(r.rate - 5000) < Math.abs(best.rate - 5000) ? r : best), results[0] as StepResult);
const maxSustained = Math.max(0, ...results.filter((r) => r.sustained).map((r) => r.rate));
const file = writeResult(
  'features-freshness',
  {
    rates: RATES,
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    partitions: PARTITIONS,
    users: USERS,
    items: ITEMS,
    commitIntervalMs: COMMIT_INTERVAL ?? 100,
    producer: 'child process',
    src: SRC,
    hashSnapshots: SNAPSHOTS,
  },
  {
    eventsPerSec: at.rate,
    freshnessP50Ms: at.p50,
    freshnessP99Ms: at.p99,
    freshnessP999Ms: at.p999,
    maxSustainedEventsPerSec: maxSustained,
    steps: results,
  },
);
console.log(`\nwrote ${file}`);

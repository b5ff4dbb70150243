import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { CATEGORIES, testSchema } from '../test/fixtures.js';
import { requireServer, tcpOpen } from '../test/servers.js';
import { KafkaEventBus } from './KafkaEventBus.js';
import type { RecEvent } from './RecEvent.js';
import { RedisFeatureStore } from './RedisFeatureStore.js';
import { StreamAggregator } from './StreamAggregator.js';

const BROKER = `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`;
const available = requireServer(
  'Kafka + Redis',
  (await tcpOpen(Number(BROKER.split(':')[1]))) && (await tcpOpen(6379)),
  '`scripts/kafka.sh up` and a Redis on 127.0.0.1:6379',
);
const run = `k${process.pid}x${Date.now().toString(36)}`;
const T = Date.now();

async function until(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not reached in time');
}

describe.skipIf(!available)('KafkaEventBus + StreamAggregator + RedisFeatureStore (real Kafka, real Redis)', () => {
  const topic = `recspine.test.${run}`;
  const prefix = `rs:test:${run}:`;
  const redis = new Redis(6379, '127.0.0.1', { lazyConnect: true });
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await redis.connect().catch(() => undefined);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
  });

  const users = ['ua', 'ub', 'uc'];
  const events: RecEvent[] = users.flatMap((u) =>
    Array.from({ length: 10 }, (_, i): RecEvent => ({
      id: `${u}-${i}`,
      type: 'click',
      userId: u,
      itemId: 'v1',
      creatorId: 'c1',
      atMs: T + i,
    })),
  );
  const clicksOf = async (store: RedisFeatureStore): Promise<unknown> =>
    (await store.read({ itemIds: ['v1'], groups: ['item_stream'] })).items[0]?.clicks_total;

  it('consumes, aggregates and stores; dead-letters malformed messages; retries a failed batch without loss', async () => {
    const store = new RedisFeatureStore(testSchema(), { keyPrefix: prefix });
    closers.push(() => store.close());
    const agg = new StreamAggregator({ store, categories: CATEGORIES });
    const bus = new KafkaEventBus({ brokers: [BROKER], topic, groupId: `${run}-a`, partitions: 3 });
    closers.push(() => bus.close());
    let failOnce = true;
    await bus.subscribe(async (batch) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('simulated store outage');
      }
      await agg.handle(batch);
    });
    await bus.publish(events);
    await bus.publishRaw([
      { key: 'ua', value: '{not json' },
      { key: 'ub', value: JSON.stringify({ type: 'click', id: 'x', userId: 'ub', atMs: T }) }, // no itemId
    ]);
    await until(async () => (await clicksOf(store)) === 30);
    await until(() => Promise.resolve(bus.stats().deadLettered === 2));
    expect(bus.stats().handlerFailures).toBeGreaterThanOrEqual(1);
    const u = await store.read({ userId: 'ua', itemIds: [] });
    expect(u.user.session_clicks).toBe(10);
    // the dead letters are on the DLQ topic with their error code
    const kafka = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING });
    const c = kafka.consumer({ groupId: `${run}-dlq`, maxWaitTimeInMs: 50 });
    await c.connect();
    await c.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
    const codes: string[] = [];
    await c.run({ eachMessage: ({ message }) => Promise.resolve(void codes.push(String(message.headers?.code))) });
    await until(() => Promise.resolve(codes.length >= 2));
    await c.disconnect();
    expect(codes).toEqual(['RECSPINE_ERR_EVENT_INVALID', 'RECSPINE_ERR_EVENT_INVALID']);
  });

  it('a second consumer group replaying the whole topic (fresh process state) does not double-count', async () => {
    const store = new RedisFeatureStore(testSchema(), { keyPrefix: prefix });
    closers.push(() => store.close());
    const agg = new StreamAggregator({ store, categories: CATEGORIES });
    const bus = new KafkaEventBus({ brokers: [BROKER], topic, groupId: `${run}-b`, partitions: 3 });
    closers.push(() => bus.close());
    let delivered = 0;
    await bus.subscribe(async (batch) => {
      await agg.handle(batch);
      delivered += batch.length;
    });
    await until(() => Promise.resolve(delivered >= 30));
    expect(agg.stats().duplicates).toBe(30);
    expect(await clicksOf(store)).toBe(30);
    const u = await store.read({ userId: 'ub', itemIds: [] });
    expect(u.user.session_clicks).toBe(10);
    const c = await store.read({ itemIds: ['v1'], creatorIds: ['c1'], groups: ['creator_stream'] });
    expect(c.items[0]).toEqual({}); // clicks do not count toward creators; views would

    // opt-out through Kafka purges every key of the user
    await bus.publish([{ id: 'ua-out', type: 'opt_out', userId: 'ua', atMs: Date.now() }]);
    await redis.connect().catch(() => undefined);
    await until(async () => (await redis.keys(`${prefix}*{ua}*`)).length === 0);
    expect(await redis.keys(`${prefix}*{ub}*`)).toHaveLength(1);
  });

  it('tells the handler when a rebalance may have moved its partitions (a second member joins)', async () => {
    const groupId = `${run}-r`;
    let reassigned = 0;
    const a = new KafkaEventBus({ brokers: [BROKER], topic, groupId, partitions: 3 });
    closers.push(() => a.close());
    await a.subscribe(() => Promise.resolve(), { onReassign: () => void reassigned++ });
    expect(reassigned).toBe(1); // the first join
    const b = new KafkaEventBus({ brokers: [BROKER], topic, groupId, partitions: 3 });
    closers.push(() => b.close());
    await b.subscribe(() => Promise.resolve());
    await until(() => Promise.resolve(reassigned >= 2));
  });

  it('an idle subscribed bus does not spin kafkajs request-queue checks (tulios/kafkajs#1556 patched)', async () => {
    const bus = new KafkaEventBus({ brokers: [BROKER], topic, groupId: `${run}-idle`, partitions: 3 });
    closers.push(() => bus.close());
    await bus.subscribe(() => Promise.resolve());
    await bus.publish([]); // connects the producer too
    const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
      prototype: { checkPendingRequests: (this: unknown) => void };
    };
    const check = RequestQueue.prototype.checkPendingRequests;
    const perQueue = new Map<unknown, number>(); // other tests' buses in this file are still open
    RequestQueue.prototype.checkPendingRequests = function (this: unknown): void {
      perQueue.set(this, (perQueue.get(this) ?? 0) + 1);
      check.call(this);
    };
    try {
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      RequestQueue.prototype.checkPendingRequests = check;
    }
    // patched: a queue is checked once per response (fetches held by the broker, heartbeats) — at
    // most a few dozen a second; unpatched, every connection re-checks each ~1 ms (≈ 700–900 a second)
    expect(perQueue.size).toBeGreaterThan(0);
    expect(Math.max(...perQueue.values())).toBeLessThan(150);
  });

  it('commits handled offsets in the background; a restarted member of the group resumes after them', async () => {
    const groupId = `${run}-c`;
    const seen: string[] = [];
    const first = new KafkaEventBus({ brokers: [BROKER], topic, groupId, partitions: 3, commitIntervalMs: 50 });
    await first.subscribe((batch) => Promise.resolve(void seen.push(...batch.map((d) => d.event.id))));
    await until(() => Promise.resolve(seen.length >= 31)); // the 30 clicks + the opt-out of the previous test
    await first.close(); // stops, flushes the pending commits, leaves
    const again: string[] = [];
    const second = new KafkaEventBus({ brokers: [BROKER], topic, groupId, partitions: 3 });
    closers.push(() => second.close());
    await second.subscribe((batch) => Promise.resolve(void again.push(...batch.map((d) => d.event.id))));
    await second.publish([{ id: 'after-restart', type: 'click', userId: 'uc', itemId: 'v2', atMs: Date.now() }]);
    await until(() => Promise.resolve(again.includes('after-restart')));
    expect(again).toEqual(['after-restart']);
    expect(first.stats().commitFailures).toBe(0);
  });
});

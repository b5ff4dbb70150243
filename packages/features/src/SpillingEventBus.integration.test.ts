/**
 * Game-day scenario 3 in miniature, against a PRIVATE Kafka broker (never the shared one on 9092):
 * the broker is stopped while events keep being published through a SpillingEventBus, then
 * restarted on its existing log dir; then it is frozen (SIGSTOP) for 3 s so a timed-out publish lands
 * late and is also drained from the spill. Every event must reach the aggregator exactly once in effect.
 *
 * The test starts the broker itself with `scripts/kafka.sh` on KAFKA_SPILL_TEST_PORT (default 9192,
 * controller port + 1) when it is not already running, and stops it at the end if it started it.
 * Runtime ≈ 40–60 s, dominated by two broker start-ups (~10–17 s each on the 2-core dev box).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, testSchema } from '../test/fixtures.js';
import { hasBinary, requireServer, tcpOpen } from '../test/servers.js';
import { KafkaEventBus } from './KafkaEventBus.js';
import type { RecEvent } from './RecEvent.js';
import { RedisFeatureStore } from './RedisFeatureStore.js';
import { SpillingEventBus } from './SpillingEventBus.js';
import { StreamAggregator } from './StreamAggregator.js';

const run = promisify(execFile);
const PORT = Number(process.env.KAFKA_SPILL_TEST_PORT ?? 9192);
if (PORT === 9092) throw new Error('the spill test stops its broker: never point it at the shared broker on 9092');
const SCRIPT = join(__dirname, '../../../scripts/kafka.sh');
const env = { ...process.env, KAFKA_PORT: String(PORT), KAFKA_CONTROLLER_PORT: String(PORT + 1), KAFKA_KEEP_DATA: '1' };
const kafkaSh = async (cmd: 'up' | 'down'): Promise<void> => void (await run('bash', [SCRIPT, cmd], { env, timeout: 120_000 }));

const available = requireServer(
  'Java (for a private Kafka broker) + Redis',
  (await hasBinary('java').catch(() => false)) && (await tcpOpen(6379)),
  'a JDK 17+ on PATH (scripts/kafka.sh fetches the broker jars) and a Redis on 127.0.0.1:6379',
);

const tag = `spill${process.pid}x${Date.now().toString(36)}`;
const T = Date.now();
const ITEMS = 10;
const event = (i: number): RecEvent => ({
  id: `${tag}-${i}`,
  type: 'click',
  userId: `u${i % 50}`,
  itemId: `v${i % ITEMS}`,
  creatorId: 'c1',
  atMs: T + i,
});

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe.skipIf(!available)('SpillingEventBus over a private Kafka broker that is stopped and restarted', () => {
  const prefix = `rs:test:${tag}:`;
  const dir = mkdtempSync(join(tmpdir(), 'recspine-spill-it-'));
  const closers: (() => Promise<unknown>)[] = [];
  let startedBroker = false;

  beforeAll(async () => {
    if (!(await tcpOpen(PORT))) {
      await kafkaSh('up');
      startedBroker = true;
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    if (startedBroker) await kafkaSh('down').catch(() => undefined);
    const r = new Redis(6379, '127.0.0.1');
    const keys = await r.keys(`${prefix}*`);
    if (keys.length > 0) await r.del(...keys);
    r.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('accepts every event while the broker is down, drains when it is back, and the aggregator counts each exactly once', async () => {
    const brokers = [`127.0.0.1:${PORT}`];
    const topic = `recspine.test.${tag}`;
    const store = new RedisFeatureStore(testSchema(), { keyPrefix: prefix, cache: false });
    closers.push(() => store.close());
    const agg = new StreamAggregator({ store, categories: CATEGORIES });
    const consumerBus = new KafkaEventBus({ brokers, topic, groupId: `${tag}-agg`, partitions: 3 });
    closers.push(() => consumerBus.close());
    await agg.attach(consumerBus);

    const producerBus = new KafkaEventBus({ brokers, topic, partitions: 3, publishTimeoutMs: 2_000 });
    const bus = new SpillingEventBus(producerBus, { dir, maxBytes: 16 * 1024 * 1024, publishTimeoutMs: 1_000, drainIntervalMs: 250 });
    closers.push(() => bus.close());
    await bus.start();

    const clicks = async (): Promise<number> => {
      const b = await store.read({ itemIds: Array.from({ length: ITEMS }, (_, i) => `v${i}`), groups: ['item_stream'] });
      return b.items.reduce((s, r) => s + (typeof r.clicks_total === 'number' ? r.clicks_total : 0), 0);
    };
    // events arrive in calls of 10 every ~25 ms, whatever the broker does
    let n = 0;
    const publishWhile = async (going: () => boolean, atLeast = 0): Promise<void> => {
      const end = n + atLeast;
      while (going() || n < end) {
        await bus.publish(Array.from({ length: 10 }, (_, k) => event(n + k)));
        n += 10;
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const track = (p: Promise<void>): { done: () => boolean; p: Promise<void> } => {
      let done = false;
      return { done: () => done, p: p.finally(() => (done = true)) };
    };

    // 1. healthy: straight through
    await publishWhile(() => false, 200);
    expect(bus.spillStats().directEvents).toBe(200);
    // 2. the broker stops (SIGTERM, waits for exit) while events keep arriving: every publish still resolves
    const t0 = Date.now();
    const stopping = track(kafkaSh('down'));
    await publishWhile(() => !stopping.done(), 50);
    await stopping.p;
    expect(await tcpOpen(PORT)).toBe(false);
    // the Kafka producer itself fails fast against the stopped broker (bounded retries), it does not hang
    const t1 = Date.now();
    await expect(producerBus.publish([{ id: `${tag}-probe`, type: 'search', userId: 'probe', query: 'x', atMs: T }])).rejects.toMatchObject(
      {
        code: 'RECSPINE_ERR_EVENTBUS',
      },
    );
    const failFastMs = Date.now() - t1;
    expect(failFastMs).toBeLessThan(5_000);
    // 3. the broker restarts on the same log dir (~10–17 s here) while events keep arriving
    const starting = track(kafkaSh('up'));
    await publishWhile(() => !starting.done());
    await starting.p;
    const outageMs = Date.now() - t0;
    const N = n;
    const atRestart = bus.spillStats();
    expect(atRestart.spooledEvents).toBeGreaterThan(0);
    expect(atRestart.rejectedEvents).toBe(0);
    // 4. the spool drains and the consumer — never re-subscribed — catches up by itself
    expect(await bus.whenDrained(60_000)).toBe(true);
    const caughtUp = await until(async () => (await clicks()) >= N, 60_000);
    expect(caughtUp, `aggregated clicks ${await clicks()} of ${N} after 60 s (${JSON.stringify(bus.spillStats())})`).toBe(true);
    await new Promise((r) => setTimeout(r, 2_000)); // late duplicates would show up here
    expect(await clicks()).toBe(N);
    const st = bus.spillStats();
    console.log(
      `[spill] ${N} events, broker away ${outageMs} ms, direct Kafka publish failed after ${failFastMs} ms: ${st.directEvents} direct, ${st.spooledEvents} spilled ` +
        `(${st.spooledBytes} B), ${st.drainedEvents} drained; aggregator applied ${agg.stats().applied}, ` +
        `skipped ${agg.stats().duplicates} duplicates (${agg.stats().duplicateIds} by event id)`,
    );
    expect(st.directEvents + st.spooledEvents).toBe(N);
    expect(st.drainedEvents).toBe(st.spooledEvents);
    expect(st).toMatchObject({ pendingEvents: 0, rejectedEvents: 0, tornRecords: 0 });
    expect(agg.stats().applied).toBe(N);
    const u = await store.read({ userId: 'u7', itemIds: [] });
    expect(u.user.session_clicks).toBe(Array.from({ length: N }, (_, i) => i).filter((i) => i % 50 === 7).length);

    // 5. a hung (not stopped) broker: SIGSTOP for 3 s. The publish in flight times out and is spilled,
    //    but the broker writes it when it resumes, so it reaches the topic twice (original + drained
    //    copy, same event ids): the aggregator's event-id dedupe must absorb the copy.
    const pid = Number(readFileSync(join(__dirname, `../../../.cache/kafka/run-${PORT}/kafka.pid`), 'utf8').trim());
    const before = bus.spillStats();
    process.kill(pid, 'SIGSTOP');
    let resumed = false;
    const resume = new Promise<void>((r) =>
      setTimeout(() => {
        process.kill(pid, 'SIGCONT');
        resumed = true;
        r();
      }, 3_000),
    );
    try {
      await publishWhile(() => !resumed);
    } finally {
      await resume;
    }
    const N2 = n;
    expect(bus.spillStats().spooledEvents).toBeGreaterThan(before.spooledEvents);
    expect(await bus.whenDrained(60_000)).toBe(true);
    expect(await until(async () => (await clicks()) >= N2, 60_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await clicks()).toBe(N2);
    expect(agg.stats().applied).toBe(N2);
    console.log(
      `[spill] hung broker: ${N2 - N} more events, ${bus.spillStats().spooledEvents - before.spooledEvents} spilled; ` +
        `aggregator skipped ${agg.stats().duplicateIds} re-published copies by event id`,
    );
    expect(agg.stats().duplicateIds).toBeGreaterThan(0);
  }, 240_000);
});

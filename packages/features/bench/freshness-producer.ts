/**
 * The open-loop event producer of bench/freshness.ts, run as a child process so that producing
 * (JSON + kafkajs encoding) does not share an event loop with the consumer being measured — as in
 * production, where the API servers that publish and the aggregator that consumes are separate
 * processes. Every 10 ms it sends `rate / 100` events stamped with `atMs = Date.now()`.
 * Parameters come as JSON in argv[2]; progress goes back over the IPC channel.
 */
import { Kafka, logLevel } from 'kafkajs';

interface Params {
  brokers: string[];
  topic: string;
  rate: number;
  seconds: number;
  users: number;
  items: number;
  categories: string[];
  prefix: string;
}

const p = JSON.parse(process.argv[2] ?? '{}') as Params;
const post = (m: unknown): void => void process.send?.(m);
const TYPES = ['impression', 'impression', 'impression', 'click', 'watch'] as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let seq = 0;
function event(now: number): Record<string, unknown> {
  const type = TYPES[seq % TYPES.length] as (typeof TYPES)[number];
  const itemId = `v${Math.floor(Math.random() * p.items)}`;
  const base = {
    id: `${p.prefix}-${seq++}`,
    userId: `u${Math.floor(Math.random() * p.users)}`,
    itemId,
    creatorId: `c${itemId.length}`,
    category: p.categories[seq % p.categories.length],
    atMs: now,
    region: 'US',
  };
  return type === 'watch' ? { ...base, type, watchMs: 30_000, completed: seq % 2 === 0 } : { ...base, type };
}

const producer = new Kafka({ brokers: p.brokers, logLevel: logLevel.NOTHING }).producer();
await producer.connect();
let produced = 0;
let failed = 0;
const send = async (n: number): Promise<void> => {
  const now = Date.now();
  const msgs = Array.from({ length: n }, () => {
    const e = event(now);
    return { key: e.userId as string, value: JSON.stringify(e) };
  });
  try {
    await producer.send({ topic: p.topic, acks: 1, messages: msgs });
    produced += n;
  } catch {
    failed += n;
  }
};
const perTick = Math.max(1, Math.round(p.rate / 100));
const inflight: Promise<void>[] = [];
// connected: wait for the go-ahead so the parent knows the window before the first event exists
const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
post({ type: 'ready' });
await go;
const start = performance.now();
for (let tick = 0; tick < p.seconds * 100; tick++) {
  inflight.push(send(perTick));
  const wait = start + (tick + 1) * 10 - performance.now();
  if (wait > 0) await sleep(wait);
}
await Promise.all(inflight);
await producer.disconnect();
post({ type: 'done', produced, failed, atMs: Date.now() });
process.disconnect?.();

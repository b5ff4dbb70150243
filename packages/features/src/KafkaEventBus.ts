import { Kafka, logLevel as KafkaLogLevel, type Admin, type Consumer, type ConsumerConfig, type KafkaConfig, type Producer } from 'kafkajs';
import type { DeadLetter, EventBatchHandler, EventBus, EventBusStats, SubscribeOptions } from './EventBus.js';
import type { DeliveredEvent, RecEvent } from './RecEvent.js';
import { FeaturesErrors } from './errors.js';
import { patchKafkajsIdleLoop } from './internal/kafkajsIdleLoop.js';
import { sleep } from './internal/partition.js';
import { parseEvent, validateEvent } from './validateEvent.js';

/** Options of {@link KafkaEventBus}. */
export interface KafkaEventBusOptions {
  /** Default `['127.0.0.1:9092']` (what `scripts/kafka.sh up` starts). */
  readonly brokers?: readonly string[];
  /** Default `recspine.events`. */
  readonly topic?: string;
  /** Default `<topic>.dlq`. */
  readonly deadLetterTopic?: string;
  /** Consumer group; every aggregator instance of one deployment uses the same id. Default `recspine-aggregator`. */
  readonly groupId?: string;
  /** Partitions of the event topic when the bus creates it: the unit of scale-out. Default 6. */
  readonly partitions?: number;
  readonly clientId?: string;
  /** A new consumer group starts at the oldest retained event (default) or only at new ones. */
  readonly fromBeginning?: boolean;
  /** First redelivery wait after a handler rejection; doubles up to 5 s. Default 100 ms. */
  readonly retryBackoffMs?: number;
  /**
   * Upper bound on one `publish`: past it the call rejects with `RECSPINE_ERR_EVENTBUS` (the send
   * may still land later — a duplicate that the aggregator's event-id dedupe absorbs). Default 5 000 ms.
   */
  readonly publishTimeoutMs?: number;
  /**
   * Producer retries before a send fails (kafkajs backoff from 100 ms, capped at 1 s). Default 2, so
   * a publish to a stopped broker fails within about a second instead of kafkajs's ~30 s, and a
   * `SpillingEventBus` in front can spill it. The consumer keeps kafkajs's own
   * restart-on-failure loop and rejoins by itself when the broker is back.
   */
  readonly producerRetries?: number;
  /**
   * Offsets of handled batches are committed in the background, coalesced over all partitions
   * into one OffsetCommit request at most every `commitIntervalMs` (default 100 ms), instead of
   * one awaited round trip per batch that holds up the next fetch. Only offsets whose handler
   * resolved are ever committed, so delivery stays at-least-once; a crash re-delivers at most the
   * last interval's batches, which the aggregator's offset marks skip. 0 = commit each batch
   * before the next fetch (the pre-tuning behaviour).
   */
  readonly commitIntervalMs?: number;
  /**
   * Stop kafkajs 2.2.x's idle 1 ms timer loop on every broker connection (see
   * `internal/kafkajsIdleLoop.ts`; tulios/kafkajs#1556). Default true. It patches kafkajs's
   * `RequestQueue` for the whole process, once, by the first bus constructed with it on.
   */
  readonly patchIdleLoop?: boolean;
  /** Extra kafkajs client / consumer settings (merged over the latency-tuned defaults). */
  readonly kafka?: Partial<KafkaConfig>;
  readonly consumer?: Partial<ConsumerConfig>;
}

/**
 * Latency-tuned consumer defaults. kafkajs's defaults favour throughput: `maxWaitTimeInMs` is
 * 5 000 ms (a fetch with no new data parks that long on the broker before the next poll). We cap
 * it at 20 ms and take any amount of data (`minBytes: 1`), so an event is fetched within a few ms
 * of its produce; batching still happens naturally under load. Short session/heartbeat intervals
 * make a dead consumer's partitions move within seconds.
 */
export const KAFKA_LATENCY_DEFAULTS: Readonly<Partial<ConsumerConfig>> = Object.freeze({
  maxWaitTimeInMs: 20,
  minBytes: 1,
  maxBytesPerPartition: 1_048_576,
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 10_000,
  allowAutoTopicCreation: false,
});

/**
 * The event bus on Apache Kafka (kafkajs). Events are keyed by `userId`, so one user's events
 * stay in order on one partition and its rolling state lives in one consumer of the group.
 *
 * Delivery: at-least-once. A batch's offsets are committed only after the handler resolved
 * (i.e. the feature writes succeeded); a rejected batch is retried with backoff and the
 * partition does not move past it. Malformed messages go to the dead-letter topic (with the
 * error code, field and source offset in headers), are counted, and never reach the handler.
 *
 * @example
 * ```ts
 * const bus = new KafkaEventBus({ brokers: ['127.0.0.1:9092'], partitions: 12, groupId: 'agg' });
 * await bus.start();
 * await aggregator.attach(bus);   // consumes
 * await bus.publish([event]);     // e.g. from the HTTP server
 * ```
 */
export class KafkaEventBus implements EventBus {
  readonly name = 'kafka';
  readonly topic: string;
  readonly deadLetterTopic: string;
  private readonly kafka: Kafka;
  private readonly opts: KafkaEventBusOptions;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  /** Restarts of a consumer that kafkajs left stopped after a non-retriable crash. */
  private consumerRestarts = 0;
  private started: Promise<void> | undefined;
  private closed = false;
  private readonly counters = { published: 0, delivered: 0, deadLettered: 0, handlerFailures: 0, commitFailures: 0 };
  private readonly pendingCommits = new Map<string, { topic: string; partition: number; offset: string }>();
  private committing: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;

  constructor(opts: KafkaEventBusOptions = {}) {
    this.opts = opts;
    if (opts.patchIdleLoop !== false) patchKafkajsIdleLoop();
    this.topic = opts.topic ?? 'recspine.events';
    this.deadLetterTopic = opts.deadLetterTopic ?? `${this.topic}.dlq`;
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'recspine',
      brokers: [...(opts.brokers ?? ['127.0.0.1:9092'])],
      logLevel: KafkaLogLevel.NOTHING,
      connectionTimeout: 3_000,
      retry: { retries: 5, initialRetryTime: 100 },
      ...opts.kafka,
    });
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'bus is closed'));
    this.started ??= this.connect().catch((e: unknown) => {
      this.started = undefined;
      throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS', `cannot start Kafka bus: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    });
    return this.started;
  }

  private async connect(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    const existing = new Set(await admin.listTopics());
    const topics = [
      { topic: this.topic, numPartitions: this.opts.partitions ?? 6 },
      { topic: this.deadLetterTopic, numPartitions: 1 },
    ].filter((t) => !existing.has(t.topic));
    if (topics.length > 0) await admin.createTopics({ topics, waitForLeaders: true });
    const producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      retry: { retries: this.opts.producerRetries ?? 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    await producer.connect();
    this.producer = producer;
  }

  async publish(events: readonly RecEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i++) {
      const v = validateEvent(events[i]);
      if (!v.ok)
        throw FeaturesErrors.create('RECSPINE_ERR_EVENT_INVALID', `events[${i}]: ${v.error.message}`, {
          field: `events[${i}].${v.error.field ?? ''}`,
          cause: v.error,
        });
    }
    await this.publishRaw(events.map((e) => ({ key: e.userId, value: JSON.stringify(e) })));
  }

  /** Produces raw messages (no validation): for bridging foreign producers and for tests of the dead-letter path. */
  async publishRaw(messages: readonly { key: string; value: string | Buffer }[]): Promise<void> {
    const limitMs = this.opts.publishTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const send = (async () => {
      if (this.producer === undefined) await this.start();
      await (this.producer as Producer).send({
        topic: this.topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value })),
      });
    })();
    send.catch(() => undefined); // a late failure after the timeout is expected
    try {
      await Promise.race([
        send,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no ack within ${limitMs} ms`)), limitMs);
        }),
      ]);
      this.counters.published += messages.length;
    } catch (e) {
      throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS', `publish failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  async subscribe(handler: EventBatchHandler, opts: SubscribeOptions = {}): Promise<void> {
    if (this.consumer !== undefined) throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'this bus already has a handler');
    await this.start();
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId ?? 'recspine-aggregator',
      ...KAFKA_LATENCY_DEFAULTS,
      ...this.opts.consumer,
    });
    this.consumer = consumer;
    const commitEvery = this.opts.commitIntervalMs ?? 100;
    if (!Number.isFinite(commitEvery) || commitEvery < 0)
      throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'commitIntervalMs must be ≥ 0', { field: 'commitIntervalMs' });
    if (commitEvery > 0) {
      this.commitTimer = setInterval(() => void this.flushCommits(), commitEvery);
      this.commitTimer.unref();
    }
    // Every (re)join may have moved partitions: offsets still pending may belong to a partition
    // another member owns now (committing them late could move its offset backwards), so they are
    // dropped — a partition we kept commits again with its next batch; and the handler drops state
    // it cached for the old assignment.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.pendingCommits.clear();
      opts.onReassign?.();
    });
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: this.opts.fromBeginning ?? true });
      const runConfig: Parameters<Consumer['run']>[0] = {
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.opts.partitions ?? 6,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (batch.messages.length === 0) return;
          const stream = `${batch.topic}:${batch.partition}`;
          const valid: DeliveredEvent[] = [];
          const dead: { value: string; headers: Record<string, string> }[] = [];
          for (const m of batch.messages) {
            const seq = Number(m.offset);
            const v = parseEvent(m.value);
            if (v.ok) valid.push({ event: v.event, stream, seq });
            else {
              const letter: DeadLetter = {
                raw: m.value === null ? '' : m.value.toString('utf8'),
                code: v.error.code,
                message: v.error.message,
                field: v.error.field,
                stream,
                seq,
              };
              dead.push({
                value: letter.raw,
                headers: { code: letter.code, message: letter.message, field: letter.field ?? '', source: stream, offset: m.offset },
              });
            }
          }
          let backoff = this.opts.retryBackoffMs ?? 100;
          let deadSent = dead.length === 0;
          for (;;) {
            if (!isRunning() || isStale()) return; // not committed: redelivered to whoever owns the partition next
            try {
              if (!deadSent) {
                await (this.producer as Producer).send({ topic: this.deadLetterTopic, acks: -1, messages: dead });
                this.counters.deadLettered += dead.length;
                deadSent = true;
              }
              if (valid.length > 0) {
                this.counters.delivered += valid.length;
                await handler(valid);
              }
              break;
            } catch {
              this.counters.handlerFailures++;
              await heartbeat().catch(() => undefined);
              await sleep(backoff);
              backoff = Math.min(backoff * 2, 5_000);
            }
          }
          const last = batch.messages[batch.messages.length - 1]?.offset as string;
          resolveOffset(last);
          const done = { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() };
          if (commitEvery > 0) this.pendingCommits.set(`${done.topic}:${done.partition}`, done);
          else await consumer.commitOffsets([done]);
          await heartbeat();
        },
      };
      // kafkajs restarts a crashed consumer by itself only after errors it deems retriable; after any
      // other crash (e.g. a protocol error while a broker restarts) the consumer stays stopped, and
      // nothing would ever consume again. Restart it here, with backoff, until it runs or the bus closes.
      consumer.on(consumer.events.CRASH, (ev) => {
        if (ev.payload.restart || this.closed) return;
        let delay = 500;
        const again = (): void => {
          if (this.closed) return;
          const t = setTimeout(() => {
            if (this.closed) return;
            this.consumerRestarts++;
            consumer
              .connect()
              .then(() => consumer.subscribe({ topic: this.topic, fromBeginning: this.opts.fromBeginning ?? true }))
              .then(() => consumer.run(runConfig))
              .catch(() => {
                delay = Math.min(delay * 2, 10_000);
                again();
              });
          }, delay);
          t.unref();
        };
        again();
      });
      await consumer.run(runConfig);
    } catch (e) {
      throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS', `cannot consume: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(FeaturesErrors.create('RECSPINE_ERR_EVENTBUS', 'consumer did not join its group within 30 s')),
        30_000,
      );
    });
    try {
      await Promise.race([joined, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  stats(): EventBusStats {
    return { ...this.counters, consumerRestarts: this.consumerRestarts };
  }

  /** The underlying kafkajs admin client (after `start`), e.g. to read consumer lag. */
  adminClient(): Admin | undefined {
    return this.admin;
  }

  /** Commits the offsets of every batch handled since the last commit (one request for all partitions). */
  private flushCommits(): Promise<void> {
    this.committing ??= (async () => {
      while (this.pendingCommits.size > 0 && this.consumer !== undefined) {
        const offsets = [...this.pendingCommits.values()];
        this.pendingCommits.clear();
        try {
          await this.consumer.commitOffsets(offsets);
        } catch {
          // e.g. a rebalance moved the partition: its new owner re-reads from the last commit and the
          // aggregator skips what was already applied; a later batch of ours commits past it anyway
          this.counters.commitFailures++;
          return;
        }
      }
    })().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.commitTimer !== undefined) clearInterval(this.commitTimer);
    // let in-flight batches finish, then commit what they handled, then leave the group
    await this.consumer?.stop().catch(() => undefined);
    await this.flushCommits();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}

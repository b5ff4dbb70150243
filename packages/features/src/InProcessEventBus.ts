import type { DeadLetter, EventBatchHandler, EventBus, EventBusStats } from './EventBus.js';
import type { DeliveredEvent, RecEvent } from './RecEvent.js';
import { FeaturesErrors } from './errors.js';
import { partitionOf, sleep } from './internal/partition.js';
import { parseEvent, validateEvent } from './validateEvent.js';

/** Options of {@link InProcessEventBus}. */
export interface InProcessEventBusOptions {
  /** Partitions (streams); events are keyed by `userId`. Default 4. */
  readonly partitions?: number;
  /** Largest batch handed to the handler. Default 500. */
  readonly maxBatch?: number;
  /** Wait before redelivering a batch the handler rejected. Default 50 ms. */
  readonly retryBackoffMs?: number;
  /** Dead letters kept (oldest dropped first; the counter keeps counting). Default 10 000. */
  readonly maxDeadLetters?: number;
  /** Committed messages kept per partition for {@link InProcessEventBus.replay}. Default 100 000. */
  readonly retain?: number;
}

interface Partition {
  readonly log: unknown[];
  /** Offset of `log[0]`. */
  base: number;
  committed: number;
  running: boolean;
}

/**
 * The embedded event bus (demo, unit tests): partitioned in-memory logs with the same delivery
 * contract as {@link KafkaEventBus} — ordered per partition, at-least-once (a rejected batch is
 * redelivered), offsets committed only after the handler resolves, malformed messages
 * dead-lettered to a bounded list and counted.
 *
 * @example
 * ```ts
 * const bus = new InProcessEventBus({ partitions: 2 });
 * await aggregator.attach(bus);
 * await bus.publish(events);
 * await bus.whenIdle(); // every event handled
 * ```
 */
export class InProcessEventBus implements EventBus {
  readonly name = 'in-process';
  private readonly parts: Partition[];
  private readonly maxBatch: number;
  private readonly backoff: number;
  private readonly maxDead: number;
  private readonly retain: number;
  private handler: EventBatchHandler | undefined;
  private closed = false;
  private readonly dead: DeadLetter[] = [];
  private idleWaiters: (() => void)[] = [];
  private readonly counters = { published: 0, delivered: 0, deadLettered: 0, handlerFailures: 0 };

  constructor(opts: InProcessEventBusOptions = {}) {
    const n = opts.partitions ?? 4;
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'partitions must be an integer 1..1024', { field: 'partitions' });
    this.parts = Array.from({ length: n }, () => ({ log: [], base: 0, committed: 0, running: false }));
    this.maxBatch = opts.maxBatch ?? 500;
    this.backoff = opts.retryBackoffMs ?? 50;
    this.maxDead = opts.maxDeadLetters ?? 10_000;
    this.retain = opts.retain ?? 100_000;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  publish(events: readonly RecEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'bus is closed'));
    for (let i = 0; i < events.length; i++) {
      const v = validateEvent(events[i]);
      if (!v.ok)
        return Promise.reject(
          FeaturesErrors.create('RECSPINE_ERR_EVENT_INVALID', `events[${i}]: ${v.error.message}`, {
            field: `events[${i}].${v.error.field ?? ''}`,
            cause: v.error,
          }),
        );
    }
    for (const e of events) this.append(e.userId, e);
    return Promise.resolve();
  }

  /**
   * Appends an unvalidated message, as a producer outside the SDK could (it is validated on
   * delivery and dead-lettered if malformed).
   */
  publishRaw(message: unknown, key = ''): void {
    this.append(key, message);
  }

  private append(key: string, message: unknown): void {
    const p = this.parts[partitionOf(key, this.parts.length)] as Partition;
    p.log.push(message);
    this.counters.published++;
    this.kick(p);
  }

  subscribe(handler: EventBatchHandler): Promise<void> {
    if (this.handler !== undefined)
      return Promise.reject(FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'this bus already has a handler'));
    if (this.closed) return Promise.reject(FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'bus is closed'));
    this.handler = handler;
    for (const p of this.parts) this.kick(p);
    return Promise.resolve();
  }

  /** Resolves when every published message has been handled (or dead-lettered). */
  whenIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Rewinds every partition to the oldest retained message: simulates a consumer restart that lost its commits. */
  replay(): void {
    for (const p of this.parts) {
      p.committed = p.base;
      this.kick(p);
    }
  }

  /** The dead-letter list (most recent last). */
  deadLetters(): readonly DeadLetter[] {
    return this.dead;
  }

  stats(): EventBusStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closed = true;
    this.handler = undefined;
    return Promise.resolve();
  }

  private idle(): boolean {
    return this.parts.every((p) => !p.running && p.committed >= p.base + p.log.length);
  }

  private kick(p: Partition): void {
    if (p.running || this.handler === undefined) return;
    p.running = true;
    // Deliver asynchronously, like a real consumer; drain never rejects.
    setImmediate(() => void this.drain(p));
  }

  private async drain(p: Partition): Promise<void> {
    const stream = `in-process:${this.parts.indexOf(p)}`;
    while (!this.closed && this.handler !== undefined && p.committed < p.base + p.log.length) {
      const start = p.committed;
      const end = Math.min(p.base + p.log.length, start + this.maxBatch);
      const batch: DeliveredEvent[] = [];
      for (let off = start; off < end; off++) {
        const msg = p.log[off - p.base];
        const v = typeof msg === 'string' ? parseEvent(msg) : validateEvent(msg);
        if (v.ok) batch.push({ event: v.event, stream, seq: off });
        else if (off >= this.deadMark(p)) this.deadLetter(msg, v.error, stream, off, p);
      }
      try {
        if (batch.length > 0) {
          this.counters.delivered += batch.length;
          await this.handler(batch);
        }
        p.committed = end;
        const excess = p.committed - p.base - this.retain;
        if (excess > 0) {
          p.log.splice(0, excess);
          p.base += excess;
        }
      } catch {
        this.counters.handlerFailures++;
        await sleep(this.backoff);
      }
    }
    p.running = false;
    if (this.idle()) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  // Dead-letter each malformed offset once, even when its batch is redelivered.
  private readonly deadHigh = new Map<Partition, number>();
  private deadMark(p: Partition): number {
    return this.deadHigh.get(p) ?? 0;
  }

  private deadLetter(
    msg: unknown,
    error: { code: string; message: string; field: string | undefined },
    stream: string,
    seq: number,
    p: Partition,
  ): void {
    this.deadHigh.set(p, seq + 1);
    this.counters.deadLettered++;
    let raw: string;
    try {
      raw = typeof msg === 'string' ? msg : (JSON.stringify(msg) ?? String(msg));
    } catch {
      raw = String(msg);
    }
    this.dead.push({ raw, code: error.code, message: error.message, field: error.field, stream, seq });
    if (this.dead.length > this.maxDead) this.dead.shift();
  }
}

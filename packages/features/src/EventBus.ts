import type { DeliveredEvent, RecEvent } from './RecEvent.js';

/**
 * Receives batches of valid events from one stream (partition), in order. Resolve only after
 * the batch's effects are durable: the bus commits the batch's offsets when it resolves. Reject
 * to have the same batch redelivered (after a backoff) — the stream does not move past it.
 */
export type EventBatchHandler = (batch: readonly DeliveredEvent[]) => Promise<void>;

/** Options of {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /**
   * Called when this consumer's set of streams may have changed (a Kafka rebalance: partitions
   * moved between the group's members), before batches of the new assignment are delivered.
   * A handler that caches per-stream state must drop it here: another member may have advanced
   * it meanwhile.
   */
  readonly onReassign?: () => void;
}

/** A message that failed validation, as kept by a dead-letter list or topic. */
export interface DeadLetter {
  /** The raw message (JSON text, or a placeholder for non-text payloads). */
  readonly raw: string;
  readonly code: string;
  readonly message: string;
  readonly field: string | undefined;
  readonly stream: string;
  readonly seq: number;
}

/** Counters of a bus. */
export interface EventBusStats {
  readonly published: number;
  /** Valid events handed to the handler (counting redeliveries). */
  readonly delivered: number;
  readonly deadLettered: number;
  /** Handler rejections (each one causes a redelivery). */
  readonly handlerFailures: number;
  /** Offset commits that failed (e.g. during a rebalance): those batches may be redelivered. Kafka only. */
  readonly commitFailures?: number;
  /** Consumer restarts after a crash kafkajs would not restart by itself. Kafka only. */
  readonly consumerRestarts?: number;
}

/**
 * Where events enter the streaming path. Delivery is at-least-once and ordered per stream
 * (partition, keyed by `userId`); a malformed message never reaches the handler, never blocks its
 * stream and never crashes the consumer: it is dead-lettered and counted.
 *
 * @example
 * ```ts
 * const bus = new InProcessEventBus();            // or new KafkaEventBus({ brokers: ['127.0.0.1:9092'] })
 * await bus.start();
 * await aggregator.attach(bus);
 * await bus.publish([{ id: 'e1', type: 'click', userId: 'u1', itemId: 'v9', atMs: Date.now() }]);
 * ```
 */
export interface EventBus {
  readonly name: string;
  /** Connects (creates topics where needed). Idempotent. */
  start(): Promise<void>;
  /** Validates every event first (throws `RECSPINE_ERR_EVENT_INVALID`, nothing published), then publishes. */
  publish(events: readonly RecEvent[]): Promise<void>;
  /** Starts delivering to `handler`; resolves once consuming. One handler per bus. */
  subscribe(handler: EventBatchHandler, opts?: SubscribeOptions): Promise<void>;
  stats(): EventBusStats;
  close(): Promise<void>;
}

/**
 * The event schema of the streaming path. Every event has a unique `id` (the dedupe key), a
 * `type`, the `userId` it belongs to (partition key), and `atMs` (ms since epoch, when it
 * happened). Item events may carry the item's `creatorId` and `category` so the aggregator can
 * update creator counters and category features without a lookup.
 */
export interface EventBase {
  readonly id: string;
  readonly userId: string;
  readonly atMs: number;
  readonly sessionId?: string;
  /** Region code, for segment popularity (`region:US`). */
  readonly region?: string;
}

/** Fields of events about one item. */
export interface ItemEventFields {
  readonly itemId: string;
  readonly creatorId?: string;
  readonly category?: string;
}

export interface ImpressionEvent extends EventBase, ItemEventFields {
  readonly type: 'impression';
  readonly slot?: string;
  readonly position?: number;
}
export interface ClickEvent extends EventBase, ItemEventFields {
  readonly type: 'click';
}
export interface WatchEvent extends EventBase, ItemEventFields {
  readonly type: 'watch';
  /** Time watched, ms (≥ 0). */
  readonly watchMs: number;
  /** Item duration, ms, when known. */
  readonly durationMs?: number;
  /** Watched to the end (or the client's completion threshold). */
  readonly completed: boolean;
}
export interface LikeEvent extends EventBase, ItemEventFields {
  readonly type: 'like';
}
export interface ReportEvent extends EventBase, ItemEventFields {
  readonly type: 'report';
  readonly reason?: string;
}
export interface SearchEvent extends EventBase {
  readonly type: 'search';
  readonly query: string;
}
/** A creator (`userId`) published `itemId`. */
export interface PublishEvent extends EventBase {
  readonly type: 'publish';
  readonly itemId: string;
  readonly creatorId: string;
  readonly category?: string;
}
/** The user opted out (CCPA): every feature and aggregate of the user is purged. */
export interface OptOutEvent extends EventBase {
  readonly type: 'opt_out';
}

/** Every event the streaming path accepts. */
export type RecEvent = ImpressionEvent | ClickEvent | WatchEvent | LikeEvent | ReportEvent | SearchEvent | PublishEvent | OptOutEvent;

/** The `type` values. */
export type RecEventType = RecEvent['type'];

/** An event as a bus delivers it: with the stream (e.g. `topic:partition`) and its offset there. */
export interface DeliveredEvent {
  readonly event: RecEvent;
  /** Identifies an ordered stream, e.g. a Kafka topic-partition. */
  readonly stream: string;
  /** Position in `stream`; strictly increasing within a stream. */
  readonly seq: number;
}

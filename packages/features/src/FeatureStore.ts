import type { FeatureBatch, FeatureValue } from '@recspine/core';
import type { FeatureSchema, StoredEntity } from './FeatureSchema.js';

/** One batched read: a user (optional) plus up to `maxItems` items. */
export interface FeatureReadRequest {
  readonly userId?: string | undefined;
  readonly itemIds: readonly string[];
  /**
   * The creator of each item, aligned with `itemIds`. When absent, the store reads it from the
   * schema's `creatorIdFrom` feature (one dependent round trip); without either, creator groups
   * are skipped.
   */
  readonly creatorIds?: readonly (string | undefined)[];
  /** Raw request context (region, device, ...); decoded through the schema's `context` groups. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** Only these groups (default: all). */
  readonly groups?: readonly string[];
  /** Read time for decayed counters. Default `Date.now()`. */
  readonly nowMs?: number;
}

/** Per-read options. */
export interface FeatureReadOptions {
  /** Abandon the read when it fires: the promise rejects with `RECSPINE_ERR_FEATURES_ABORTED`. */
  readonly signal?: AbortSignal;
  /** Caps every group's sub-deadline (e.g. the stage's remaining budget). */
  readonly maxGroupTimeoutMs?: number;
}

/**
 * One atomic update of one record (entity × group). All operations of one mutation apply
 * together or not at all.
 *
 * - `set` overwrites features. On a `packed` group it replaces the whole record (features not
 *   given become absent); on a `hash` group it merges.
 * - `incr` adds to `number` features (absent counts as 0). Hash groups only.
 * - `decay` adds to exponentially decayed counters (features with `halfLifeMs`) as of `atMs`;
 *   order-independent, so concurrent writers converge. Hash groups only.
 * - `guard` makes the mutation idempotent under redelivery: the record remembers the highest
 *   `seq` applied per `stream` (e.g. a Kafka topic-partition). A mutation covering
 *   `fromSeq..seq` is applied when `fromSeq` is above that mark, skipped when `seq` is at or below
 *   it, and reported as a `conflict` (nothing applied) when it straddles the mark.
 * - `aux` stores an opaque string with the record (state of a stream aggregator); never returned
 *   by `read`, removed by `deleteEntity`. Hash groups only.
 */
export interface FeatureMutation {
  readonly entity: StoredEntity;
  readonly id: string;
  readonly group: string;
  readonly set?: Readonly<Record<string, FeatureValue>>;
  readonly incr?: Readonly<Record<string, number>>;
  readonly decay?: { readonly atMs: number; readonly add: Readonly<Record<string, number>> };
  readonly guard?: { readonly stream: string; readonly seq: number; readonly fromSeq?: number };
  readonly aux?: string;
}

/** What happened to one mutation. */
export type MutationResult = 'applied' | 'skipped' | 'conflict';

/** Counters a store keeps about itself. */
export interface FeatureStoreStats {
  readonly reads: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  /** Records or fields that failed to decode and were reported missing. */
  readonly decodeErrors: number;
  readonly groupTimeouts: number;
  readonly groupErrors: number;
  /** Hot hash records read from their packed snapshot (Redis, `hashSnapshots: 'read'`). */
  readonly snapshotReads?: number;
  /** Hot hash records read with `HMGET` because their snapshot was absent or unusable. */
  readonly snapshotFallbacks?: number;
}

/**
 * The online feature store: batched reads of one user plus many items, and the writes and
 * deletes that feed it.
 *
 * Contract:
 * - `read` returns a `FeatureBatch` whose `items` are aligned with `itemIds`; a missing feature
 *   is an absent key (never NaN); a group that misses its sub-deadline (`timeoutMs` in the
 *   schema) or fails is listed in `missingGroups` and absent from every row, and the rest of the
 *   batch is returned;
 * - the batch also carries `columns` (core's `FeatureColumns`): the same item features decoded
 *   straight into one typed column per feature with a presence mask — numbers as `Float64Array`,
 *   vectors as one contiguous `Float32Array`. Every item feature of every group that was read
 *   and succeeded has a column (all-absent when nothing is stored); a missing group has none.
 *   `items` is built from the columns on first access, so consumers that read `columns` (the
 *   model assembler) never pay for row objects;
 * - `read` rejects with `RECSPINE_ERR_FEATURES_STORE_UNAVAILABLE` when every stored group failed
 *   with an error (the store as a whole is down), and with `RECSPINE_ERR_FEATURES_ABORTED` when
 *   the signal fires;
 * - `write` validates every mutation first (coded client errors) and then applies them; the
 *   result is aligned with the input;
 * - `deleteEntity` removes every group and aux state of the entity.
 *
 * @example
 * ```ts
 * const store = new InMemoryFeatureStore(schema);
 * await store.write([{ entity: 'item', id: 'v1', group: 'item_profile', set: { duration_s: 31 } }]);
 * const batch = await store.read({ userId: 'u1', itemIds: ['v1', 'v2'] });
 * batch.items[0]?.duration_s; // 31
 * const col = batch.columns?.get('duration_s'); // { type: 'number', values: Float64Array [31, 0], present: Uint8Array [1, 0] }
 * ```
 */
export interface FeatureStore {
  readonly name: string;
  readonly schema: FeatureSchema;
  read(req: FeatureReadRequest, opts?: FeatureReadOptions): Promise<FeatureBatch>;
  write(mutations: readonly FeatureMutation[]): Promise<MutationResult[]>;
  /** The `aux` string stored with one record, if any. */
  readAux(entity: StoredEntity, id: string, group: string): Promise<string | undefined>;
  deleteEntity(entity: StoredEntity, id: string): Promise<void>;
  stats(): FeatureStoreStats;
  close(): Promise<void>;
}

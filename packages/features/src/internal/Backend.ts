import type { MutationResult } from '../FeatureStore.js';

/** One mutation after validation and encoding: what a backend applies atomically to one key. */
export interface EncodedMutation {
  readonly key: string;
  readonly encoding: 'packed' | 'hash';
  /** Packed: the whole record. */
  readonly packed?: Buffer;
  /** Hash: field/value pairs to HSET. */
  readonly set: readonly (string | Buffer)[];
  /** Hash: field/delta pairs. */
  readonly incr: readonly (string | number)[];
  /** Hash: field, delta, atMs, halfLifeMs quadruples. */
  readonly decay: readonly (string | number)[];
  readonly guard: { readonly stream: string; readonly seq: number; readonly fromSeq: number } | undefined;
  readonly aux: string | undefined;
  readonly ttlMs: number;
  /**
   * Hash groups with a packed snapshot (hot item/creator groups on Redis): where to write it and
   * how to pack it. Backends without snapshot reads ignore it.
   */
  readonly snapshot?: {
    readonly key: string;
    /** The group's packed header, field types and field names for the script (`SnapshotSpec.script`). */
    readonly spec: Buffer;
  };
}

/**
 * The keys of one group's records in a batch read: `head + ids[i] + tail` (e.g. `rs:f:i:{` + id +
 * `}:item_profile`). Passed un-joined so a backend can encode the request without building one key
 * string per record (see `RedisBackend`).
 */
export interface KeyList {
  readonly head: string;
  readonly ids: readonly string[];
  readonly tail: string;
}

export const keyStrings = (k: KeyList): string[] => k.ids.map((id) => k.head + id + k.tail);

/** Storage primitives the shared engine needs; implemented in memory and on Redis. */
export interface Backend {
  /** Aligned with `keys`; `null` for an absent key. */
  getPacked(keys: readonly string[]): Promise<(Buffer | null)[]>;
  /** `getPacked` over `head + id + tail` for each id (a batch read of one packed or snapshot group). */
  getPackedList(keys: KeyList): Promise<(Buffer | null)[]>;
  /** Aligned with `keys`; each row aligned with `fields`. */
  getHash(keys: readonly string[], fields: readonly string[]): Promise<(Buffer | null)[][]>;
  getAux(key: string): Promise<string | undefined>;
  apply(muts: readonly EncodedMutation[]): Promise<MutationResult[]>;
  /** The keys share one hash slot (one entity). */
  del(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export const AUX_FIELD = '~aux';
export const guardField = (stream: string): string => `~o:${stream}`;

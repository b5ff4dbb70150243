import { LRUCache } from 'lru-cache';

/** The counter kinds kept per item and time bucket. */
export type CounterKind = 'impressions' | 'clicks' | 'views' | 'completions' | 'reports' | 'likes';

/** Counts of one item over a window. */
export interface ItemCounts {
  readonly impressions: number;
  readonly clicks: number;
  readonly views: number;
  readonly completions: number;
  readonly reports: number;
  readonly likes: number;
}

/**
 * A synchronous read of per-item counters, e.g. for a Thompson sampler's Beta(clicks+1,
 * impressions-clicks+1). `undefined` when the item has no counts in the window.
 */
export interface ItemCounterReader {
  counts(itemId: string, nowMs?: number): ItemCounts | undefined;
}

/** Options of {@link ItemCounters}. */
export interface ItemCountersOptions {
  /** Bucket width. Default 1 h. */
  readonly bucketMs?: number;
  /** Buckets kept (the window is `bucketMs × buckets`). Default 24. */
  readonly buckets?: number;
  /** Items tracked; least recently updated are dropped first. Default 500 000. */
  readonly maxItems?: number;
}

const KINDS: readonly CounterKind[] = ['impressions', 'clicks', 'views', 'completions', 'reports', 'likes'];
const K = KINDS.length;
const KIND_INDEX: Readonly<Record<CounterKind, number>> = { impressions: 0, clicks: 1, views: 2, completions: 3, reports: 4, likes: 5 };

interface Entry {
  /** Bucket id (floor(atMs / bucketMs)) held in each ring slot; -1 = empty. */
  readonly ids: Float64Array;
  /** `buckets × K` counts. */
  readonly counts: Float64Array;
}

/**
 * In-process item counters per time bucket (a ring of `buckets` slots per item), fed by the
 * {@link StreamAggregator} with each event applied once. Reads are synchronous and allocation-light,
 * for the re-rank stage's exploration policies.
 *
 * Scope: one process sees the events of the partitions it consumes; the demo runs one consumer.
 * The store-backed item features (`item_stream` group) are the cluster-wide view.
 *
 * @example
 * ```ts
 * const counters = new ItemCounters();
 * counters.add('v1', 'impressions', 1, Date.now());
 * const c = counters.counts('v1'); // { impressions: 1, clicks: 0, ... }
 * ```
 */
export class ItemCounters implements ItemCounterReader {
  private readonly bucketMs: number;
  private readonly n: number;
  private readonly items: LRUCache<string, Entry>;

  constructor(opts: ItemCountersOptions = {}) {
    this.bucketMs = opts.bucketMs ?? 3_600_000;
    this.n = opts.buckets ?? 24;
    this.items = new LRUCache({ max: opts.maxItems ?? 500_000 });
  }

  /** Adds `n` to one counter of one item at time `atMs`. Events older than the window are ignored. */
  add(itemId: string, kind: CounterKind, n: number, atMs: number): void {
    if (!Number.isFinite(n) || !Number.isFinite(atMs)) return;
    const b = Math.floor(atMs / this.bucketMs);
    let e = this.items.get(itemId);
    if (e === undefined) {
      e = { ids: new Float64Array(this.n).fill(-1), counts: new Float64Array(this.n * K) };
      this.items.set(itemId, e);
    }
    const slot = b % this.n;
    const held = e.ids[slot] as number;
    if (held > b) return; // older than the window
    if (held < b) {
      e.ids[slot] = b;
      e.counts.fill(0, slot * K, slot * K + K);
    }
    const i = slot * K + KIND_INDEX[kind];
    e.counts[i] = (e.counts[i] as number) + n;
  }

  counts(itemId: string, nowMs: number = Date.now()): ItemCounts | undefined {
    const e = this.items.peek(itemId);
    if (e === undefined) return undefined;
    const cur = Math.floor(nowMs / this.bucketMs);
    const sum = [0, 0, 0, 0, 0, 0];
    let any = false;
    for (let s = 0; s < this.n; s++) {
      const id = e.ids[s] as number;
      if (id < 0 || id <= cur - this.n || id > cur) continue;
      any = true;
      for (let k = 0; k < K; k++) sum[k] = (sum[k] as number) + (e.counts[s * K + k] as number);
    }
    if (!any) return undefined;
    return {
      impressions: sum[0] as number,
      clicks: sum[1] as number,
      views: sum[2] as number,
      completions: sum[3] as number,
      reports: sum[4] as number,
      likes: sum[5] as number,
    };
  }

  /** The non-empty buckets of one item within the window, oldest first. */
  buckets(itemId: string, nowMs: number = Date.now()): { readonly startMs: number; readonly counts: ItemCounts }[] {
    const e = this.items.peek(itemId);
    if (e === undefined) return [];
    const cur = Math.floor(nowMs / this.bucketMs);
    const out: { startMs: number; counts: ItemCounts }[] = [];
    for (let s = 0; s < this.n; s++) {
      const id = e.ids[s] as number;
      if (id < 0 || id <= cur - this.n || id > cur) continue;
      const c = (k: number): number => e.counts[s * K + k] as number;
      out.push({
        startMs: id * this.bucketMs,
        counts: { impressions: c(0), clicks: c(1), views: c(2), completions: c(3), reports: c(4), likes: c(5) },
      });
    }
    return out.sort((a, b) => a.startMs - b.startMs);
  }

  remove(itemId: string): void {
    this.items.delete(itemId);
  }

  get size(): number {
    return this.items.size;
  }
}

import type { RetrievedItem } from '@recspine/core';
import { RetrievalErrors } from './errors.js';
import { RENORMALISE_AT, checkTop, checkUpdates, tauOf } from './internal/popularity.js';
import type { PopularityCounters, PopularityUpdate } from './PopularityCounters.js';

const STAGE = 'retrieval/popularity/memory';

/** Options of {@link InMemoryPopularityCounters}. */
export interface InMemoryPopularityOptions {
  /** Half-life of the decay. Default 6 h. */
  readonly halfLifeMs?: number;
  /** A segment's sorted view is rebuilt at most this often on reads (writes mark it stale). Default 1000 ms. */
  readonly refreshMs?: number;
  /** Items kept per segment (lowest dropped on refresh). Default 50 000. */
  readonly maxItemsPerSegment?: number;
  /** Monotonic-ish clock for refresh throttling. Default `Date.now`. */
  readonly clock?: () => number;
}

interface Segment {
  readonly scores: Map<string, number>;
  sorted: { itemId: string; s: number }[];
  dirty: boolean;
  builtAt: number;
}

/**
 * In-process {@link PopularityCounters}: one map per segment with forward-decayed scores, and a
 * sorted view per segment rebuilt lazily on read (at most every `refreshMs`), so a read is a slice.
 * For a single process or tests; use {@link RedisPopularityCounters} to share counters.
 *
 * @example
 * ```ts
 * const counters = new InMemoryPopularityCounters({ halfLifeMs: 3_600_000 });
 * await counters.incrementBatch([{ itemId: 'v1', segment: 'global', weight: 1, atMs: Date.now() }]);
 * await counters.top('global', 10); // [{ itemId: 'v1', score: ~1 }]
 * ```
 */
export class InMemoryPopularityCounters implements PopularityCounters {
  private readonly tau: number;
  private readonly refreshMs: number;
  private readonly maxItems: number;
  private readonly clock: () => number;
  private readonly segments = new Map<string, Segment>();
  private readonly segmentsOf = new Map<string, Set<string>>();
  private readonly removed = new Set<string>();
  private landmark: number | undefined;

  constructor(options: InMemoryPopularityOptions = {}) {
    this.tau = tauOf(options.halfLifeMs ?? 6 * 3_600_000, STAGE);
    this.refreshMs = options.refreshMs ?? 1000;
    this.maxItems = options.maxItemsPerSegment ?? 50_000;
    if (!(this.refreshMs >= 0) || !Number.isInteger(this.maxItems) || this.maxItems < 1) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'refreshMs must be ≥ 0 and maxItemsPerSegment a positive integer', {
        stage: STAGE,
      });
    }
    this.clock = options.clock ?? Date.now;
  }

  async incrementBatch(updates: readonly PopularityUpdate[]): Promise<void> {
    checkUpdates(updates, STAGE);
    for (const u of updates) {
      if (this.removed.has(u.itemId)) continue;
      if (this.landmark === undefined) this.landmark = u.atMs;
      if ((u.atMs - this.landmark) / this.tau > RENORMALISE_AT) this.renormalise(u.atMs);
      let seg = this.segments.get(u.segment);
      if (seg === undefined) {
        seg = { scores: new Map(), sorted: [], dirty: true, builtAt: Number.NEGATIVE_INFINITY };
        this.segments.set(u.segment, seg);
      }
      seg.scores.set(u.itemId, (seg.scores.get(u.itemId) ?? 0) + u.weight * Math.exp((u.atMs - this.landmark) / this.tau));
      seg.dirty = true;
      let segs = this.segmentsOf.get(u.itemId);
      if (segs === undefined) this.segmentsOf.set(u.itemId, (segs = new Set()));
      segs.add(u.segment);
    }
  }

  async removeItem(itemId: string): Promise<void> {
    if (typeof itemId !== 'string' || itemId.length === 0) {
      throw RetrievalErrors.create('RECSPINE_ERR_POPULARITY_INPUT', 'itemId must be a non-empty string', { stage: STAGE, field: 'itemId' });
    }
    this.removed.add(itemId);
    for (const s of this.segmentsOf.get(itemId) ?? []) {
      const seg = this.segments.get(s);
      if (seg === undefined) continue;
      seg.scores.delete(itemId);
      seg.sorted = seg.sorted.filter((e) => e.itemId !== itemId);
    }
    this.segmentsOf.delete(itemId);
  }

  async top(segment: string, k: number, nowMs?: number): Promise<RetrievedItem[]> {
    checkTop(segment, k, STAGE);
    const seg = this.segments.get(segment);
    if (seg === undefined || this.landmark === undefined) return [];
    const t = this.clock();
    if (seg.dirty && t - seg.builtAt >= this.refreshMs) this.rebuild(seg, t);
    const factor = Math.exp((this.landmark - (nowMs ?? t)) / this.tau);
    const n = Math.min(k, seg.sorted.length);
    const out = new Array<RetrievedItem>(n);
    for (let i = 0; i < n; i++) {
      const e = seg.sorted[i] as { itemId: string; s: number };
      out[i] = { itemId: e.itemId, score: e.s * factor };
    }
    return out;
  }

  private rebuild(seg: Segment, t: number): void {
    const arr: { itemId: string; s: number }[] = [];
    for (const [itemId, s] of seg.scores) arr.push({ itemId, s });
    arr.sort((a, b) => b.s - a.s || (a.itemId < b.itemId ? -1 : 1));
    if (arr.length > this.maxItems) {
      for (const e of arr.slice(this.maxItems)) seg.scores.delete(e.itemId);
      arr.length = this.maxItems;
    }
    seg.sorted = arr;
    seg.dirty = false;
    seg.builtAt = t;
  }

  private renormalise(newLandmark: number): void {
    const f = Math.exp(((this.landmark as number) - newLandmark) / this.tau);
    for (const seg of this.segments.values()) {
      for (const [id, s] of seg.scores) seg.scores.set(id, s * f);
      for (const e of seg.sorted) e.s *= f;
    }
    this.landmark = newLandmark;
  }
}

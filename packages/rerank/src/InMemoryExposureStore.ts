import type { ExposureStore } from './ExposureStore.js';
import { configNumber } from './internal/validate.js';

/** Options of {@link InMemoryExposureStore}. */
export interface InMemoryExposureStoreOptions {
  /** Exposure halves every `halfLifeMs`. Default 1 hour. */
  readonly halfLifeMs?: number;
  /** At most this many creators are kept; the least recently exposed is evicted first. Default 100 000. */
  readonly maxCreators?: number;
}

/**
 * An in-process {@link ExposureStore} with exponential time decay: each creator keeps one
 * `(value, atMs)` pair; reading decays it by `2^(−Δt / halfLife)`. Bounded: beyond `maxCreators`
 * the least recently recorded creator is evicted (a Map kept in recency order).
 *
 * @example
 * ```ts
 * const store = new InMemoryExposureStore({ halfLifeMs: 60_000 });
 * store.record('c1', 0, 4);
 * store.exposure('c1', 60_000); // 2
 * ```
 */
export class InMemoryExposureStore implements ExposureStore {
  private readonly entries = new Map<string, { value: number; atMs: number }>();
  private readonly halfLifeMs: number;
  private readonly maxCreators: number;

  constructor(options: InMemoryExposureStoreOptions = {}) {
    this.halfLifeMs = configNumber(options.halfLifeMs, 3_600_000, 'halfLifeMs', 1, Number.MAX_SAFE_INTEGER);
    this.maxCreators = configNumber(options.maxCreators, 100_000, 'maxCreators', 1, 1e9, true);
  }

  /** Number of creators currently tracked. */
  get size(): number {
    return this.entries.size;
  }

  exposure(creatorId: string, nowMs: number): number {
    const e = this.entries.get(creatorId);
    return e === undefined ? 0 : this.decayed(e, nowMs);
  }

  record(creatorId: string, nowMs: number, amount = 1): void {
    if (!Number.isFinite(amount) || amount <= 0 || !Number.isFinite(nowMs)) return;
    const e = this.entries.get(creatorId);
    const value = (e === undefined ? 0 : this.decayed(e, nowMs)) + amount;
    if (e !== undefined) this.entries.delete(creatorId); // re-insert: Map order = recency
    this.entries.set(creatorId, { value, atMs: e === undefined ? nowMs : Math.max(e.atMs, nowMs) });
    if (this.entries.size > this.maxCreators) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  private decayed(e: { value: number; atMs: number }, nowMs: number): number {
    const dt = nowMs - e.atMs;
    return dt <= 0 ? e.value : e.value * Math.pow(2, -dt / this.halfLifeMs);
  }
}

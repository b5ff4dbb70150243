import type { ItemStats, ItemStatsReader } from './ItemStatsReader.js';

/**
 * A Map-backed {@link ItemStatsReader} for tests, demos and single-process deployments.
 *
 * @example
 * ```ts
 * const stats = new InMemoryItemStats();
 * stats.record('v1', 100, 3); // 100 impressions, 3 clicks
 * stats.get('v1'); // { impressions: 100, clicks: 3 }
 * ```
 */
export class InMemoryItemStats implements ItemStatsReader {
  private readonly map = new Map<string, { impressions: number; clicks: number }>();

  constructor(initial?: Iterable<readonly [string, ItemStats]>) {
    if (initial) for (const [id, s] of initial) this.set(id, s);
  }

  get(itemId: string): ItemStats | undefined {
    return this.map.get(itemId);
  }

  /** Replaces an item's counts. */
  set(itemId: string, stats: ItemStats): void {
    this.map.set(itemId, { impressions: stats.impressions, clicks: stats.clicks });
  }

  /** Adds impressions and clicks to an item's counts. */
  record(itemId: string, impressions: number, clicks = 0): void {
    const s = this.map.get(itemId);
    if (s === undefined) this.map.set(itemId, { impressions, clicks });
    else {
      s.impressions += impressions;
      s.clicks += clicks;
    }
  }

  get size(): number {
    return this.map.size;
  }
}

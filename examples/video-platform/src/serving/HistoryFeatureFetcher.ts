import type { FeatureBatch, FeatureFetcher, StageContext } from '@recspine/core';
import { columnarFeatureBatch } from '@recspine/core';
import { VideoPlatformErrors } from '../errors.js';

/**
 * Local adapter around the features package's `StoreFeatureFetcher`: derives the user features
 * the models read from the stream aggregator's `recent_items` — `history_pool` (mean content
 * embedding of the first `historyLength` ids), `history_categories` and `history_len` — in
 * process, after the fetch. One
 * source of truth (the aggregator's list) and no extra store writes per watch. Also a switch for
 * tests and the offline "feature store down" run: `setAvailable(false)` rejects every fetch like a
 * store whose breaker is open, which sends core down its degraded-model path.
 *
 * Hand-written because no package derives pooled features from an id list at fetch time.
 */
export class HistoryFeatureFetcher implements FeatureFetcher {
  readonly name: string;
  private available = true;

  constructor(
    private readonly inner: FeatureFetcher,
    private readonly contentOf: (itemId: string) => Float32Array | undefined,
    private readonly categoryOf: (itemId: string) => number | undefined,
    private readonly dims: { readonly dim: number; readonly categories: number; readonly historyLength: number },
    private readonly historyGroup: string,
  ) {
    this.name = inner.name;
  }

  /** Simulates (false) or ends (true) a feature-store outage. */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  async fetch(ctx: StageContext, userId: string | undefined, itemIds: readonly string[]): Promise<FeatureBatch> {
    if (!this.available) {
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_FEATURES_DOWN', 'feature store unavailable (simulated outage)', {
        stage: 'features',
      });
    }
    const batch = await this.inner.fetch(ctx, userId, itemIds);
    // A group read that errored (not one that was merely late) means the store is failing, not slow:
    // fail the whole fetch, so core takes its degraded-model path and the features breaker counts
    // it. Otherwise groups served from the store's in-process cache hide an outage and fine rank
    // runs on defaults for everything else.
    for (const reason of batch.missingGroups.values()) {
      if (reason === 'error') {
        throw VideoPlatformErrors.create('RECSPINE_ERR_VP_FEATURES_DOWN', 'feature store failing: a group read errored', {
          stage: 'features',
        });
      }
    }
    if (batch.missingGroups.has(this.historyGroup)) return batch;
    const ids = batch.user['recent_items'];
    if (!Array.isArray(ids)) return batch;
    const user = { ...batch.user, ...derivedHistory(ids as readonly string[], this.contentOf, this.categoryOf, this.dims) };
    // A columnar batch builds `items` lazily from `columns` (a getter, which a spread would drop):
    // keep it columnar so the assembler never pays for row objects.
    if (batch.columns !== undefined) {
      return columnarFeatureBatch({
        userId: batch.userId,
        itemIds: batch.itemIds,
        user,
        columns: batch.columns,
        missingGroups: batch.missingGroups,
      });
    }
    return { ...batch, user };
  }
}

/**
 * `history_pool`, `history_categories` and `history_len` of a recent-items list (most recent
 * first): over its first `historyLength` ids, skipping unknown ones — the same rule as the user
 * tower's `ids` pooling and as the world's logged rows.
 */
export function derivedHistory(
  ids: readonly string[],
  contentOf: (itemId: string) => Float32Array | undefined,
  categoryOf: (itemId: string) => number | undefined,
  dims: { readonly dim: number; readonly categories: number; readonly historyLength: number },
): { history_pool: Float32Array; history_categories: Float32Array; history_len: number } {
  const { dim, categories, historyLength } = dims;
  const pool = new Float32Array(dim);
  const cats = new Float32Array(categories);
  let n = 0;
  for (let k = 0; k < ids.length && k < historyLength; k++) {
    const v = contentOf(ids[k] as string);
    const c = categoryOf(ids[k] as string);
    if (v === undefined || c === undefined) continue;
    for (let d = 0; d < dim; d++) pool[d] = (pool[d] as number) + (v[d] as number);
    cats[c] = (cats[c] as number) + 1;
    n++;
  }
  if (n > 0) {
    for (let d = 0; d < dim; d++) pool[d] = (pool[d] as number) / n;
    for (let c = 0; c < categories; c++) cats[c] = (cats[c] as number) / n;
  }
  return { history_pool: pool, history_categories: cats, history_len: n };
}

import type { RetrievedItem } from '@recspine/core';
import type { PopularityCounters } from '../PopularityCounters.js';

/**
 * Reads the top `k` of each segment in parallel and merges them in segment order: all of the first
 * segment's items, then the next segment's items not seen yet, and so on, until `k`. Scores are
 * made comparable and monotone: `(segments - tier) + p/(1+p)` for decayed popularity `p`, so an
 * item from a more specific segment always outranks a backfill item.
 */
export async function mergedTop(
  counters: PopularityCounters,
  segments: readonly string[],
  k: number,
  nowMs: number,
): Promise<RetrievedItem[]> {
  const lists = await Promise.all(segments.map((s) => counters.top(s, k, nowMs)));
  const out: RetrievedItem[] = [];
  const seen = new Set<string>();
  const tiers = lists.length;
  for (let t = 0; t < tiers && out.length < k; t++) {
    for (const it of lists[t] as RetrievedItem[]) {
      if (seen.has(it.itemId)) continue;
      seen.add(it.itemId);
      const p = Math.max(0, it.score);
      out.push({ itemId: it.itemId, score: tiers - t + p / (1 + p) });
      if (out.length === k) break;
    }
  }
  return out;
}

import type { AnnHit } from '../AnnIndex.js';

/**
 * Applies a predicate to an over-fetched result: fetches `max(4k, k+64)` hits, keeps those the
 * predicate accepts, and widens the fetch ×4 until it has `k` or has seen all `total` items. With
 * a selective predicate this degrades towards a full scan, which is the honest cost of filtering
 * on a backend without native filter support.
 */
export function postFiltered(
  fetch: (n: number) => readonly AnnHit[],
  k: number,
  total: number,
  predicate: (itemId: string) => boolean,
): AnnHit[] {
  let n = Math.min(total, Math.max(k * 4, k + 64));
  for (;;) {
    const raw = fetch(n);
    const out: AnnHit[] = [];
    for (const h of raw) {
      if (predicate(h.itemId)) {
        out.push(h);
        if (out.length === k) return out;
      }
    }
    if (n >= total) return out;
    n = Math.min(total, n * 4);
  }
}

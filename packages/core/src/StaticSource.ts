import type { RetrievedItem } from './Candidate.js';
import type { RetrievalSource } from './RetrievalSource.js';
import type { StageContext } from './StageContext.js';

/**
 * A pass-through retrieval source over a fixed, pre-ranked list (e.g. an editorial pick, or the
 * tiny demo pipeline). Returns the first `k` items.
 *
 * @example
 * ```ts
 * const editorial = new StaticSource('editorial', [{ itemId: 'v1', score: 1 }, { itemId: 'v2', score: 0.5 }]);
 * ```
 */
export class StaticSource implements RetrievalSource {
  private readonly items: readonly RetrievedItem[];
  constructor(
    readonly name: string,
    items: readonly (RetrievedItem | string)[],
  ) {
    this.items = items.map((it, i) => (typeof it === 'string' ? { itemId: it, score: items.length - i } : it));
  }
  retrieve(_ctx: StageContext, k: number): readonly RetrievedItem[] {
    return k >= this.items.length ? this.items : this.items.slice(0, k);
  }
}

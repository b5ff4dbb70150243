import type { RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import type { EvalWorld } from './EvalWorld.js';

/**
 * A non-personalised source over a fixed item order (popularity, or freshness), skipping items
 * not yet published at the request time.
 */
export class ListSource implements RetrievalSource {
  constructor(
    readonly name: string,
    private readonly w: EvalWorld,
    private readonly order: ArrayLike<number>,
  ) {}
  retrieve(ctx: StageContext, k: number): readonly RetrievedItem[] {
    const nowMs = ctx.request.context?.nowMs ?? Date.now();
    const out: RetrievedItem[] = [];
    for (let r = 0; r < this.order.length && out.length < k; r++) {
      const i = this.order[r] as number;
      if (this.w.published(i, nowMs)) out.push({ itemId: this.w.ids[i] as string, score: this.order.length - r });
    }
    return out;
  }
}

/** Items by descending publish time (the `fresh` source's order). */
export function freshOrder(w: EvalWorld): Int32Array {
  const p = w.data.itemPublishedS;
  return Int32Array.from({ length: p.length }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
}

import type { RetrievedItem } from './Candidate.js';
import type { FallbackProvider } from './FallbackProvider.js';
import type { RecRequest } from './RecRequest.js';

/**
 * A precomputed non-personalised fallback: one list per region (`context.region`), plus a
 * global list for requests without a region or with an unknown one. Replace the lists off the
 * request path with {@link StaticFallback.update} (e.g. every minute from popularity counters).
 */
export class StaticFallback implements FallbackProvider {
  private byRegion: ReadonlyMap<string, readonly RetrievedItem[]>;
  private global: readonly RetrievedItem[];

  constructor(global: readonly (RetrievedItem | string)[], byRegion: Readonly<Record<string, readonly (RetrievedItem | string)[]>> = {}) {
    this.global = normalise(global);
    this.byRegion = new Map(Object.entries(byRegion).map(([r, l]) => [r, normalise(l)]));
  }

  update(global: readonly (RetrievedItem | string)[], byRegion: Readonly<Record<string, readonly (RetrievedItem | string)[]>> = {}): void {
    this.global = normalise(global);
    this.byRegion = new Map(Object.entries(byRegion).map(([r, l]) => [r, normalise(l)]));
  }

  slate(request: RecRequest, limit: number): readonly RetrievedItem[] {
    const region = request.context?.region;
    const list = (region !== undefined ? this.byRegion.get(region) : undefined) ?? this.global;
    return list.length <= limit ? list : list.slice(0, limit);
  }
}

function normalise(items: readonly (RetrievedItem | string)[]): readonly RetrievedItem[] {
  return items.map((it, i) => (typeof it === 'string' ? { itemId: it, score: items.length - i } : it));
}

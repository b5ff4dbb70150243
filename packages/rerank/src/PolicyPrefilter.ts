import type { Candidate, PolicyFilter, ReRanker, StageContext } from '@recspine/core';
import { configCheck } from './internal/validate.js';

/**
 * Runs policy filters **early**, as the first re-ranker of a chain, so that diversity, caps and
 * exploration spend slate positions only on items that will be shown. Give it the same filter
 * instances as the recommender's `shared.policy` / slot `policy`.
 *
 * It does not replace the core's always-last policy pass, which still runs on every path
 * (including when this re-ranker is skipped or the fallback slate is served): it makes that pass
 * remove nothing on the happy path, so the slate the chain built (its caps, its explored share) is
 * the slate served. A filter that throws rejects the item (fail closed), as in the core.
 *
 * @example
 * ```ts
 * const policy = [new KidsContentFilter(), new RegionRestrictionFilter(), new MisinformationFilter()];
 * createRecommender({ ..., shared: { policy },
 *   slots: { homepage: { ..., rerank: [new PolicyPrefilter(policy), mmr, explore, caps] } } });
 * ```
 */
export class PolicyPrefilter implements ReRanker {
  readonly name: string;
  private readonly filters: readonly PolicyFilter[];

  constructor(filters: readonly PolicyFilter[], name = 'policy-prefilter') {
    configCheck(Array.isArray(filters), 'filters', 'must be an array of PolicyFilter');
    filters.forEach((f, i) => configCheck(f !== null && typeof f?.allows === 'function', `filters[${i}]`, 'must be a PolicyFilter'));
    this.filters = filters.slice();
    this.name = name;
  }

  rerank(ctx: StageContext, ranked: Candidate[], _limit: number): Candidate[] {
    const fs = this.filters;
    if (fs.length === 0) return ranked;
    const out: Candidate[] = [];
    outer: for (const c of ranked) {
      for (const f of fs) {
        try {
          if (f.allows(ctx, c) !== true) continue outer;
        } catch {
          continue outer;
        }
      }
      out.push(c);
    }
    return out;
  }
}

import type { Candidate, PolicyFilter, ReRanker } from '@recspine/core';
import { CapReranker, type CapRule } from './CapReranker.js';
import { CreatorFairnessReranker } from './CreatorFairnessReranker.js';
import { ExplorationReranker, type ExplorationPolicy } from './ExplorationReranker.js';
import type { ExposureStore } from './ExposureStore.js';
import { FreshnessBoost, type FreshnessBoostOptions } from './FreshnessBoost.js';
import type { ItemStatsReader } from './ItemStatsReader.js';
import { MmrReranker } from './MmrReranker.js';
import { PolicyPrefilter } from './PolicyPrefilter.js';
import { SlateMetricsReporter } from './SlateMetricsReporter.js';
import type { SlateMetricsSink } from './SlateMetricsSink.js';

/** Options shared by every recommended chain. */
export interface ChainCommonOptions {
  /** The same filters as the recommender's policy; run early by a {@link PolicyPrefilter}. */
  readonly policy: readonly PolicyFilter[];
  /** If given, a {@link SlateMetricsReporter} ends the chain. */
  readonly metrics?: SlateMetricsSink;
  /** Freshness boost options, or `false` for none. */
  readonly freshness?: FreshnessBoostOptions | false;
}

/** Options of {@link RecommendedChains.homepage}. */
export interface HomepageChainOptions extends ChainCommonOptions {
  /** Streaming item counters for exploration. */
  readonly stats: ItemStatsReader;
  /** Default 0.7. */
  readonly mmrLambda?: number;
  /** Default 0.1. */
  readonly exploreFraction?: number;
  /** Default `thompson`. */
  readonly explorePolicy?: ExplorationPolicy;
  /** Which candidates may be explored (e.g. the cold-start source's). Default: all. */
  readonly exploreEligible?: (c: Candidate) => boolean;
  /** Content-based prior pCTR. Default: the CTR head, else 0.05. */
  readonly explorePrior?: (c: Candidate) => number | undefined;
  /** Default 0.02. */
  readonly graduationWidth?: number;
  readonly seed?: number;
  /** Default: ≤ 1 per creator in any 4 positions and ≤ 3 per category in any 6. */
  readonly caps?: readonly CapRule[];
}

/** Options of {@link RecommendedChains.endOfVideo}. */
export interface EndOfVideoChainOptions extends ChainCommonOptions {
  readonly exposure: ExposureStore;
  /** Default 0.5. */
  readonly fairnessStrength?: number;
}

/** Options of {@link RecommendedChains.search}. */
export interface SearchChainOptions extends Omit<ChainCommonOptions, 'freshness'> {
  /** Light diversity: default 0.9. */
  readonly mmrLambda?: number;
  /** Default: ≤ 2 per creator in any 5 positions. */
  readonly caps?: readonly CapRule[];
}

/**
 * The recommended re-rank chain per slot shape. Each returns a fresh `ReRanker[]` for a slot's
 * `rerank`. Order matters and is the point:
 *
 * | slot | chain | why |
 * |---|---|---|
 * | homepage (10–20 items) | prefilter → freshness → MMR(λ 0.7) → exploration (Thompson, ≤ 10%) → caps (creator 1/4, category 3/6) → metrics | freshness changes scores, so it goes first; MMR chooses a diverse slate; exploration then swaps reserve items into bounded slots; caps go last so nothing reorders after them |
 * | end-of-video (1 item) | prefilter → freshness (light) → creator fairness → metrics | with one slot, diversity is meaningless and fairness across creators over time is the constraint |
 * | search | prefilter → MMR(λ 0.9) → caps (creator 2/5) → metrics | relevance first, light diversity, no exploration on explicit intent |
 *
 * The core still applies the same policy filters last, on every path.
 *
 * @example
 * ```ts
 * const policy = [new KidsContentFilter(), new RegionRestrictionFilter(), new MisinformationFilter()];
 * createRecommender({ ..., shared: { policy }, slots: {
 *   homepage: { sources, coarseKeep: 200, rerank: RecommendedChains.homepage({ policy, stats }) },
 *   'end-of-video': { sources, coarseKeep: 150, rerank: RecommendedChains.endOfVideo({ policy, exposure }) },
 *   search: { sources, coarseKeep: 200, rerank: RecommendedChains.search({ policy }) },
 * } });
 * ```
 */
export const RecommendedChains = {
  homepage(o: HomepageChainOptions): ReRanker[] {
    const chain: ReRanker[] = [new PolicyPrefilter(o.policy)];
    if (o.freshness !== false) chain.push(new FreshnessBoost(o.freshness ?? {}));
    chain.push(new MmrReranker({ lambda: o.mmrLambda ?? 0.7 }));
    chain.push(
      new ExplorationReranker({
        policy: o.explorePolicy ?? 'thompson',
        fraction: o.exploreFraction ?? 0.1,
        stats: o.stats,
        ...(o.exploreEligible ? { eligible: o.exploreEligible } : {}),
        ...(o.explorePrior ? { prior: o.explorePrior } : {}),
        ...(o.graduationWidth !== undefined ? { graduationWidth: o.graduationWidth } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
      }),
    );
    chain.push(
      new CapReranker({
        rules: o.caps ?? [
          { by: 'creator', maxPerWindow: 1, window: 4 },
          { by: 'category', maxPerWindow: 3, window: 6 },
        ],
      }),
    );
    if (o.metrics) chain.push(new SlateMetricsReporter({ sink: o.metrics }));
    return chain;
  },

  endOfVideo(o: EndOfVideoChainOptions): ReRanker[] {
    const chain: ReRanker[] = [new PolicyPrefilter(o.policy)];
    if (o.freshness !== false) chain.push(new FreshnessBoost(o.freshness ?? { weight: 0.05 }));
    chain.push(new CreatorFairnessReranker({ store: o.exposure, strength: o.fairnessStrength ?? 0.5 }));
    if (o.metrics) chain.push(new SlateMetricsReporter({ sink: o.metrics }));
    return chain;
  },

  search(o: SearchChainOptions): ReRanker[] {
    const chain: ReRanker[] = [
      new PolicyPrefilter(o.policy),
      new MmrReranker({ lambda: o.mmrLambda ?? 0.9 }),
      new CapReranker({ rules: o.caps ?? [{ by: 'creator', maxPerWindow: 2, window: 5 }] }),
    ];
    if (o.metrics) chain.push(new SlateMetricsReporter({ sink: o.metrics }));
    return chain;
  },
} as const;

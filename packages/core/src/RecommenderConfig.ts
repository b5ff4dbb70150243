import type { BreakerOptions } from './CircuitBreaker.js';
import type { Degrader } from './Degrader.js';
import type { FallbackProvider } from './FallbackProvider.js';
import type { FeatureFetcher } from './FeatureFetcher.js';
import type { ItemCatalog } from './ItemCatalog.js';
import type { MetricsSink } from './MetricsSink.js';
import type { PolicyFilter } from './PolicyFilter.js';
import type { Ranker } from './Ranker.js';
import type { ReRanker } from './ReRanker.js';
import type { RetrievalSource } from './RetrievalSource.js';

/** Per-stage budgets in ms. Each stage gets min(its budget, time left for the request). */
export interface StageBudgets {
  readonly retrieval: number;
  readonly coarse: number;
  readonly features: number;
  readonly fine: number;
  readonly rerank: number;
}

/** A source with its own sub-budget and fetch size. */
export interface SourceSpec {
  readonly source: RetrievalSource;
  /** Sub-budget in ms; defaults to the retrieval stage budget. Capped by it. */
  readonly budgetMs?: number;
  /** How many items to ask for; defaults to the slot's `retrieveK`. */
  readonly k?: number;
}

/** One slot (homepage, end-of-video, search…). Slots share the feature fetcher and the fine ranker. */
export interface SlotConfig {
  readonly sources: readonly (RetrievalSource | SourceSpec)[];
  /** Default number of items asked of each source. Default 500. */
  readonly retrieveK?: number;
  /** How many candidates coarse rank passes on (~200). Adjustable at run time. */
  readonly coarseKeep: number;
  /** Overrides `shared.coarse` for this slot. */
  readonly coarse?: Ranker;
  /** The re-rank chain, in order. */
  readonly rerank?: readonly ReRanker[];
  /** Slot-specific policy filters, applied after the shared ones. */
  readonly policy?: readonly PolicyFilter[];
  /**
   * Also apply the policy filters right after retrieval, so rejected items take no coarse,
   * feature or fine-rank capacity (the final pass still runs last, always). Default true.
   */
  readonly policyEarly?: boolean;
  /**
   * Backfill a short slate from the candidates coarse rank trimmed away. Those never went
   * through the re-rank chain, so set false when re-rankers make hard promises (caps) that must
   * hold even when the slate comes out short. Default true.
   */
  readonly backfillFromTail?: boolean;
  /** Overrides of the shared budgets and SLA. */
  readonly slaMs?: number;
  readonly budgets?: Partial<StageBudgets>;
}

/** Shared dependencies of all slots. */
export interface SharedStages {
  /** Online feature lookup for fine rank. Without it, fine rank gets an empty batch. */
  readonly features?: FeatureFetcher;
  /** The coarse ranker (slots may override). Without one, coarse keeps the top by fused retrieval score. */
  readonly coarse?: Ranker;
  /** The multi-task fine ranker. Without it, the slate is ordered by coarse score. */
  readonly fine?: Ranker;
  /** Degraded-mode ranker, trained on feature-deprived inputs; used when features are unavailable. */
  readonly degraded?: Ranker;
  /** Hard filters; always run last, on every path. */
  readonly policy?: readonly PolicyFilter[];
  /** In-process item metadata, hydrated onto candidates after retrieval. */
  readonly catalog?: ItemCatalog;
  /** Non-personalised slate for when everything failed. */
  readonly fallback?: FallbackProvider;
}

/** The whole recommender. Validated once by `createRecommender`; invalid keys throw `RECSPINE_ERR_CONFIG`. */
export interface RecommenderConfig {
  /** The request's end-to-end deadline in ms (the SDK's share of the SLA). */
  readonly slaMs: number;
  readonly budgets: StageBudgets;
  readonly shared?: SharedStages;
  readonly slots: Readonly<Record<string, SlotConfig>>;
  /**
   * Time kept back from every stage for the policy filters, backfill and response framing, ms.
   * Default 2.
   */
  readonly finalizeReserveMs?: number;
  /**
   * An optional stage is skipped (tier `skip_optional`) when less than this many ms are left for it.
   * Default 1.
   */
  readonly minStageMs?: number;
  /** Largest `limit` a request may ask for. Default 100. */
  readonly maxLimit?: number;
  /** Breaker thresholds: `default`, or per dependency name (`features`, `fine`, `degraded`, `coarse`, source names). */
  readonly breakers?: Readonly<Record<string, BreakerOptions>>;
  readonly metrics?: MetricsSink;
  readonly degrader?: Degrader;
  /**
   * A stage whose result arrives later than its deadline plus this many ms counts as an overrun.
   * Default 1.
   */
  readonly overrunToleranceMs?: number;
}

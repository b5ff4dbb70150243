/**
 * The failure modes the runner recognises. Each has its own designed response (see
 * {@link DegradationTier} and `DefaultDegrader`), visible on the response and in metrics.
 */
export type FailureMode =
  /** One retrieval source missed its sub-budget. */
  | 'source_timeout'
  /** One retrieval source threw or rejected. */
  | 'source_error'
  /** One retrieval source's breaker is open (e.g. ANN index unhealthy). */
  | 'source_breaker_open'
  /** The coarse ranker failed or timed out. */
  | 'coarse_failed'
  /** The feature store failed, timed out, or its breaker is open. */
  | 'features_unavailable'
  /** Some feature groups missed their sub-deadline; the rest of the batch came back. */
  | 'feature_groups_missing'
  /** The fine (or degraded-mode) ranker failed, timed out, or returned bad scores. */
  | 'fine_failed'
  /** A re-ranker threw or timed out. */
  | 'rerank_failed'
  /** A stage finished, but past its deadline (synchronous work cannot be interrupted). */
  | 'stage_overrun'
  /** Too little time was left for an optional stage. */
  | 'deadline_near'
  /** Every source failed or returned nothing. */
  | 'no_candidates'
  /** An unexpected error in the runner itself. */
  | 'internal_error';

/**
 * The designed responses (the "tiers"). One failure maps to one tier.
 *
 * | tier | what the runner does |
 * |---|---|
 * | `drop_source` | the slate is built from the other sources |
 * | `retrieval_order` | coarse rank skipped; candidates kept by fused retrieval score |
 * | `degraded_model` | online features skipped; the degraded-mode ranker scores the candidates |
 * | `defaults_with_missing` | missing groups become defaults + missing indicators for the fine model |
 * | `coarse_order` | fine rank skipped; the slate is ordered by coarse score |
 * | `skip_reranker` | that re-ranker is skipped; the chain goes on |
 * | `skip_optional` | remaining optional stages skipped; best ordering so far is returned |
 * | `fallback` | the non-personalised fallback slate is served |
 * | `none` | recorded only (e.g. an overrun whose result was still used) |
 */
export type DegradationTier =
  | 'drop_source'
  | 'retrieval_order'
  | 'degraded_model'
  | 'defaults_with_missing'
  | 'coarse_order'
  | 'skip_reranker'
  | 'skip_optional'
  | 'fallback'
  | 'none';

/** One degradation event on a response. */
export interface Degradation {
  readonly mode: FailureMode;
  readonly tier: DegradationTier;
  /** Stage path, e.g. `retrieval/two-tower`, `features`, `fine`. */
  readonly stage: string;
  /** Stable error code of the underlying failure, when there was an error. */
  readonly code?: string;
  readonly detail?: string;
}

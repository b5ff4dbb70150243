import type { DegradationTier, FailureMode } from './Degradation.js';

/** What the runner knows when it asks a {@link Degrader} for a decision. */
export interface FailureInfo {
  readonly mode: FailureMode;
  /** Stage path where it happened. */
  readonly stage: string;
  /** Whether a degraded-mode ranker is configured. */
  readonly hasDegradedRanker: boolean;
  /** Whether a fallback provider is configured. */
  readonly hasFallback: boolean;
}

/**
 * Decides the designed response to each failure mode. The runner asks it on failure paths only,
 * then carries out the tier it returns. Not every tier is legal for every mode; the runner maps
 * an illegal answer to the default for that mode (see `DefaultDegrader`).
 *
 * Legal tiers per mode:
 * - `source_*` → `drop_source`
 * - `coarse_failed` → `retrieval_order`
 * - `features_unavailable` → `degraded_model` | `coarse_order` | `fallback`
 * - `feature_groups_missing` → `defaults_with_missing` | `degraded_model`
 * - `fine_failed` → `coarse_order` | `fallback`
 * - `rerank_failed` → `skip_reranker` | `skip_optional`
 * - `deadline_near` → `skip_optional`
 * - `no_candidates`, `internal_error` → `fallback`
 * - `stage_overrun` → `none` | `skip_optional`
 */
export interface Degrader {
  decide(failure: FailureInfo): DegradationTier;
}

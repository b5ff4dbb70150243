import type { DegradationTier, FailureMode } from './Degradation.js';
import type { Degrader, FailureInfo } from './Degrader.js';

/** Legal tiers per mode; the first is the default. Exported for the runner's guard. */
export const LEGAL_TIERS: Readonly<Record<FailureMode, readonly DegradationTier[]>> = {
  source_timeout: ['drop_source'],
  source_error: ['drop_source'],
  source_breaker_open: ['drop_source'],
  coarse_failed: ['retrieval_order'],
  features_unavailable: ['degraded_model', 'coarse_order', 'fallback'],
  feature_groups_missing: ['defaults_with_missing', 'degraded_model'],
  fine_failed: ['coarse_order', 'fallback'],
  rerank_failed: ['skip_reranker', 'skip_optional'],
  deadline_near: ['skip_optional'],
  stage_overrun: ['none', 'skip_optional'],
  no_candidates: ['fallback'],
  internal_error: ['fallback'],
};

/**
 * The degradation table of DESIGN.md §4:
 *
 * | failure | response |
 * |---|---|
 * | one source slow or failing (incl. ANN unhealthy) | drop it; the others carry the slot |
 * | feature store slow or down | degraded-mode model (or coarse order if none is configured) |
 * | one feature group slow | defaults + missing indicators |
 * | fine ranker fails or times out | coarse order |
 * | total deadline about to pass | skip remaining optional stages |
 * | everything failed | fallback slate |
 */
export class DefaultDegrader implements Degrader {
  decide(f: FailureInfo): DegradationTier {
    if (f.mode === 'features_unavailable') return f.hasDegradedRanker ? 'degraded_model' : 'coarse_order';
    return LEGAL_TIERS[f.mode][0] ?? 'none';
  }
}

/**
 * The error registry of `@recspine/rerank`. Codes are stable and listed in `docs/errors.md`
 * (section `## @recspine/rerank`); `errors.test.ts` keeps the two in sync both ways.
 */
import { defineErrors } from '@recspine/core';

export const RerankErrors = defineErrors({
  RECSPINE_ERR_RERANK_CONFIG: {
    category: 'client',
    description: 'A re-ranker or policy filter was constructed with an invalid option; `field` names it. Thrown at build time only.',
  },
  RECSPINE_ERR_RERANK_PARAM: {
    category: 'client',
    description:
      'A per-request override in `ctx.params` (e.g. `mmrLambda`, `exploreFraction`) has the wrong type or is out of range; the runner skips that re-ranker.',
  },
  RECSPINE_ERR_RERANK_EXPOSURE_STORE: {
    category: 'dependency',
    description: 'The creator-exposure store threw; the fairness re-ranker is skipped for this request.',
  },
  RECSPINE_ERR_RERANK_ITEM_STATS: {
    category: 'dependency',
    description:
      'The item-statistics reader (streaming item counters) or the exploration pool predicate threw; the exploration re-ranker is skipped for this request.',
  },
});

/** The codes of `@recspine/rerank`. */
export type RerankErrorCode = (typeof RerankErrors.codes)[number];
